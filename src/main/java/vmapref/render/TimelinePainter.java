// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.geom.Path2D;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import vmapref.kernel.KernelConfig;

/** Draws a {@link TimelineView}: held and live space over the calls, NULL returns marked in red. */
final class TimelinePainter {
    static final int WIDTH = 1200;
    static final int PLOT_LEFT = 90;
    static final int PLOT_RIGHT = 30;
    static final int PLOT_HEIGHT = 340;

    static final Color HELD_FILL = new Color(0xc6, 0xdb, 0xef);
    static final Color HELD = new Color(0x21, 0x66, 0xac);
    static final Color LIVE_FILL = new Color(0x74, 0xc4, 0x76);
    static final Color LIVE = new Color(0x1b, 0x78, 0x37);
    static final Color NULL = new Color(0xd6, 0x27, 0x28);
    static final Color NULL_LINE = new Color(0xd6, 0x27, 0x28, 0x50);
    static final Color WINDOW = new Color(0x33, 0x33, 0x33);
    static final Color GRID = new Color(0xe3, 0xe3, 0xe3);

    private TimelinePainter() {
    }

    /** A downward triangle centred on (x, y). */
    static void marker(Canvas c, Color color, double x, double y) {
        Path2D.Double t = new Path2D.Double();
        t.moveTo(x - 5, y - 5);
        t.lineTo(x + 5, y - 5);
        t.lineTo(x, y + 4);
        t.closePath();
        c.g.setColor(color);
        c.g.fill(t);
    }

    static void paint(TimelineView v, Canvas.Format format, Path out) throws IOException {
        KernelConfig cfg = v.cfg();
        List<Legend.Item> legend = new ArrayList<>();
        legend.add(Legend.Item.box(HELD_FILL, "address space held: vmap blocks (all of each) and large areas, live or lazily freed"));
        legend.add(Legend.Item.box(LIVE_FILL, "live data: pages mapped by live vm_map_ram() mappings"));
        List<TimelineView.NullCall> nulls = v.nulls();
        legend.add(Legend.Item.mark(NULL, "vm_map_ram() returned NULL (" + nulls.size() + " time" + (nulls.size() == 1 ? "" : "s")
                + (nulls.isEmpty() ? ")" : "; the first at call " + nulls.get(0).call() + ", line " + nulls.get(0).line() + ")")));
        long window = v.windowPages();
        long maxData = Math.max(Math.max(v.maxHeld(), v.maxLive()), 1);
        boolean showWindow = window <= 4 * maxData;
        legend.add(Legend.Item.line(WINDOW, 1.2f, "the vmalloc window: " + Units.size(window, cfg)
                + (showWindow ? "" : " (far above this scale)")));
        int top = 28 + (v.notes().size() + 1) * 16 + 14;
        int height = top + PLOT_HEIGHT + 50 + Legend.height(legend, 1);
        Canvas c = new Canvas(format, WIDTH, height);
        c.text(v.title(), Canvas.TITLE, RangePainter.INK, 12, 22);
        int y = 42;
        for (String n : v.notes()) {
            c.text(n, Canvas.TEXT, RangePainter.INK, 12, y);
            y += 16;
        }
        double plotW = WIDTH - PLOT_LEFT - PLOT_RIGHT;
        double yMaxMib = niceCeil(Units.mib(showWindow ? Math.max(maxData, window) : maxData, cfg) * 1.05);
        int calls = Math.max(v.calls(), 1);
        double xMax = Math.max(niceCeil(calls), 5);
        // axes and grid
        double yStep = niceStep(yMaxMib);
        for (double t = 0; t <= yMaxMib + 1e-9; t += yStep) {
            double py = top + PLOT_HEIGHT - t / yMaxMib * PLOT_HEIGHT;
            c.line(GRID, 1f, PLOT_LEFT, py, PLOT_LEFT + plotW, py);
            c.textRight(number(t) + " MiB", Canvas.SMALL, RangePainter.GREY_INK, PLOT_LEFT - 6, py + 4);
        }
        double xStep = Math.max(1, niceStep(xMax));
        for (double t = 0; t <= xMax + 1e-9; t += xStep) {
            double px = PLOT_LEFT + t / xMax * plotW;
            c.line(GRID, 1f, px, top, px, top + PLOT_HEIGHT);
            String s = number(t);
            c.text(s, Canvas.SMALL, RangePainter.GREY_INK, px - c.textWidth(s, Canvas.SMALL) / 2, top + PLOT_HEIGHT + 16);
        }
        c.text("calls in trace order (vm_map_ram, vm_unmap_ram, vm_unmap_aliases)", Canvas.SMALL, RangePainter.GREY_INK,
                PLOT_LEFT + plotW / 2 - 180, top + PLOT_HEIGHT + 34);
        // one column per pixel: the most held and the most live in it
        int cols = (int) Math.ceil(plotW * calls / xMax);
        cols = Math.max(1, Math.min(cols, calls));
        double[] heldCol = new double[cols];
        double[] liveCol = new double[cols];
        for (int i = 0; i < v.calls(); i++) {
            int col = (int) ((long) i * cols / calls);
            heldCol[col] = Math.max(heldCol[col], Units.mib(v.held(i), cfg));
            liveCol[col] = Math.max(liveCol[col], Units.mib(v.live(i), cfg));
        }
        double colW = plotW * calls / xMax / cols;
        c.beginGroup("held", "series held");
        area(c, heldCol, HELD_FILL, HELD, top, colW, yMaxMib);
        c.endGroup();
        c.beginGroup("live", "series live");
        area(c, liveCol, LIVE_FILL, LIVE, top, colW, yMaxMib);
        c.endGroup();
        if (showWindow) {
            double py = top + PLOT_HEIGHT - Units.mib(window, cfg) / yMaxMib * PLOT_HEIGHT;
            c.dashed(WINDOW, PLOT_LEFT, py, PLOT_LEFT + plotW, py);
            c.textRight("vmalloc window " + Units.size(window, cfg), Canvas.SMALL, WINDOW, PLOT_LEFT + plotW - 4, py - 4);
        }
        c.frame(RangePainter.GREY_INK, 1f, PLOT_LEFT, top, plotW, PLOT_HEIGHT);
        // NULL returns: a red mark above the plot and a faint line down, one per pixel column
        c.beginGroup("nulls", "nulls");
        int lastPx = Integer.MIN_VALUE;
        for (TimelineView.NullCall n : nulls) {
            double px = PLOT_LEFT + (n.call() - 0.5) / xMax * plotW;
            if ((int) px == lastPx) {
                continue;
            }
            lastPx = (int) px;
            c.g.setStroke(new BasicStroke(1f));
            c.line(NULL_LINE, 1f, px, top, px, top + PLOT_HEIGHT);
            c.title("vm_map_ram(count=" + n.count() + ") returned NULL at call " + n.call() + " (line " + n.line() + ")");
            marker(c, NULL, px, top - 6);
        }
        c.endGroup();
        if (!nulls.isEmpty()) {
            TimelineView.NullCall f = nulls.get(0);
            String s = "first NULL: call " + f.call() + " (line " + f.line() + "), vm_map_ram(count=" + f.count() + "); held "
                    + Units.size(f.held(), cfg) + ", live " + Units.size(f.live(), cfg) + " = "
                    + Units.percent(f.live(), window) + " of the window";
            double px = PLOT_LEFT + (f.call() - 0.5) / xMax * plotW;
            double tw = c.textWidth(s, Canvas.SMALL);
            double tx = px + 8 + tw > PLOT_LEFT + plotW ? px - 8 - tw : px + 8;
            c.fill(new Color(255, 255, 255, 220), tx - 3, top + 6, tw + 6, 16);
            c.text(s, Canvas.SMALL, NULL, tx, top + 18);
        }
        Legend.draw(c, legend, 12, top + PLOT_HEIGHT + 44, 1, WIDTH - 24);
        c.write(out);
    }

    private static void area(Canvas c, double[] col, Color fill, Color edge, int top, double colW, double yMax) {
        Path2D.Double p = new Path2D.Double();
        double base = top + PLOT_HEIGHT;
        p.moveTo(PLOT_LEFT, base);
        Path2D.Double line = new Path2D.Double();
        for (int i = 0; i < col.length; i++) {
            double py = base - col[i] / yMax * PLOT_HEIGHT;
            double x0 = PLOT_LEFT + i * colW;
            p.lineTo(x0, py);
            p.lineTo(x0 + colW, py);
            if (i == 0) {
                line.moveTo(x0, py);
            } else {
                line.lineTo(x0, py);
            }
            line.lineTo(x0 + colW, py);
        }
        p.lineTo(PLOT_LEFT + col.length * colW, base);
        p.closePath();
        c.g.setColor(fill);
        c.g.fill(p);
        c.g.setColor(edge);
        c.g.setStroke(new BasicStroke(1.4f));
        c.g.draw(line);
    }

    static double niceStep(double max) {
        double raw = max / 6;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        double n = raw / mag;
        double step = n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10;
        return Math.max(step * mag, 1e-9);
    }

    static double niceCeil(double max) {
        if (max <= 0) {
            return 1;
        }
        double step = niceStep(max);
        return Math.ceil(max / step) * step;
    }

    static String number(double v) {
        if (v == Math.rint(v)) {
            return String.format(Locale.ROOT, "%,d", (long) v).replace(',', ' ');
        }
        return String.format(Locale.ROOT, "%.1f", v);
    }
}
