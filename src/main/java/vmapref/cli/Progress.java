// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.PrintWriter;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of a long run on stderr: a progress bar on a terminal ({@code System.console() != null}), else a
 * plain line every {@link #EVERY_NANOS} (the first after as long, so short runs print nothing), nothing when quiet.
 * {@link #at} is called from the thread doing the work.
 */
final class Progress implements AutoCloseable {

    /** How often a plain line is printed. */
    static final long EVERY_NANOS = 5_000_000_000L;

    private final String command;
    private final String unit;
    private final long total;
    private final PrintWriter err;
    private final ProgressBar bar;
    private final boolean quiet;
    private final long start = System.nanoTime();
    private long lastLine = start;

    private Progress(String command, String unit, long total, boolean quiet, PrintWriter err, ProgressBar bar) {
        this.command = command;
        this.unit = unit;
        this.total = total;
        this.quiet = quiet;
        this.err = err;
        this.bar = bar;
    }

    /**
     * @param total the units of work in all, 0 when not known
     */
    static Progress start(String command, String unit, long total, boolean quiet, PrintWriter err) {
        ProgressBar bar = null;
        if (!quiet && System.console() != null) {
            bar = new ProgressBarBuilder().setTaskName(command).setInitialMax(total > 0 ? total : -1).setUnit(" " + unit, 1)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate().build();
        }
        return new Progress(command, unit, total, quiet, err, bar);
    }

    /** {@code done} units of work are done. */
    void at(long done) {
        if (quiet) {
            return;
        }
        if (bar != null) {
            bar.stepTo(done);
            return;
        }
        long now = System.nanoTime();
        if (now - lastLine < EVERY_NANOS) {
            return;
        }
        lastLine = now;
        err.println(line(command, unit, done, total, (now - start) / 1e9));
        err.flush();
    }

    /** {@code explore: 420000/1000000 steps, 480k/s}. */
    static String line(String command, String unit, long done, long total, double seconds) {
        return command + ": " + done + (total > 0 ? "/" + total : "") + " " + unit + ", " + rate(done / seconds) + "/s";
    }

    static String rate(double perSecond) {
        if (perSecond >= 1e6) {
            return String.format(Locale.ROOT, "%.2fM", perSecond / 1e6);
        }
        if (perSecond >= 1e3) {
            return String.format(Locale.ROOT, "%.0fk", perSecond / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", perSecond);
    }

    @Override
    public void close() {
        if (bar != null) {
            bar.close();
        }
    }
}
