// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.util.Locale;
import vmapref.kernel.KernelConfig;

/** Sizes as people read them. */
public final class Units {
    private Units() {
    }

    /** {@code pages} pages as KiB, MiB, GiB or TiB with one decimal where it helps. */
    public static String size(long pages, KernelConfig cfg) {
        return bytes(pages << cfg.pageShift());
    }

    public static String bytes(long b) {
        String[] unit = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = b;
        int u = 0;
        while (v >= 1024 && u < unit.length - 1) {
            v /= 1024;
            u++;
        }
        if (u == 0) {
            return b + " bytes";
        }
        return (v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v))
                + " " + unit[u];
    }

    /** {@code part / whole} as a percentage with one decimal. */
    public static String percent(long part, long whole) {
        return whole == 0 ? "0%" : String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
    }

    /** Pages as MiB, a double. */
    public static double mib(long pages, KernelConfig cfg) {
        return (double) (pages << cfg.pageShift()) / (1 << 20);
    }
}
