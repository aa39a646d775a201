// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Va;
import vmapref.trace.Hex;

/**
 * Draws a {@link RangeView}: one row per stretch of the vmalloc range (1024 pages, more when the part in use is
 * large), blocks page by page, other areas as bars; rows where nothing changes are cut out.
 */
final class RangePainter {
    static final int WIDTH = 1200;
    static final int LEFT = 150;
    static final int GRID = 1024;
    static final int ROW = 30;
    static final int SEPARATOR = 18;
    static final int MAX_ROWS = 60;

    static final Color LIVE = new Color(0x2c, 0xa0, 0x2c);
    static final Color ROUNDING = new Color(0xa6, 0xdb, 0x9a);
    static final Color DIRTY = new Color(0xff, 0x8c, 0x1a);
    static final Color FREE = Color.WHITE;
    static final Color LARGE = new Color(0x1f, 0x77, 0xb4);
    static final Color LAZY = new Color(0xb3, 0x9d, 0xd6);
    static final Color POOLED = new Color(0x9e, 0xc9, 0xe8);
    static final Color OTHER = new Color(0x6e, 0x6e, 0x6e);
    static final Color SPACE = new Color(0xf0, 0xf0, 0xf0);
    static final Color OUTSIDE = new Color(0xc8, 0xc8, 0xc8);
    static final Color DIRTY_RANGE = new Color(0x8c, 0x45, 0x10);
    static final Color STALE = new Color(0xd6, 0x27, 0x28);
    static final Color FRAME = new Color(0x33, 0x33, 0x33);
    static final Color INK = new Color(0x22, 0x22, 0x22);
    static final Color GREY_INK = new Color(0x66, 0x66, 0x66);
    /** Owner CPU stripes, by CPU number modulo the palette. */
    static final Color[] CPU = {
        new Color(0x7b, 0x32, 0x94), new Color(0x00, 0x80, 0x80), new Color(0xe6, 0xab, 0x02), new Color(0x66, 0x66, 0x66),
        new Color(0xe7, 0x29, 0x8a), new Color(0x1b, 0x9e, 0x77), new Color(0xa6, 0x76, 0x1d), new Color(0x00, 0x00, 0x00)};

    // a row: CPU stripe, page cells, dirty-range line, stale bar
    static final int STRIPE = 5;
    static final int CELLS = 16;
    static final int DIRTY_Y = STRIPE + CELLS + 2;
    static final int STALE_Y = DIRTY_Y + 3;

    private RangePainter() {
    }

    /** One line of the picture: a drawn row starting at page {@code start}, or a cut-out stretch [start, end). */
    record Row(long start, long end, boolean cut) {
    }

    /** The rows that show every area, stale range and the highlight, with stretches of no change cut out. */
    static List<Row> layout(RangeView v, long rowPages) {
        TreeSet<Long> edges = new TreeSet<>();
        int bits = v.cfg().blockPages();
        for (RangeView.Block b : v.blocks()) {
            edges.add(b.base() / rowPages);
        }
        for (RangeView.Area a : v.areas()) {
            edges.add(a.start() / rowPages);
            edges.add((a.end() - 1) / rowPages);
        }
        for (Map.Entry<Long, Long> s : v.stale().entrySet()) {
            edges.add(s.getKey() / rowPages);
            edges.add((s.getValue() - 1) / rowPages);
        }
        if (v.highlight() != null) {
            edges.add(v.highlight()[0] / rowPages);
            edges.add((v.highlight()[1] - 1) / rowPages);
        }
        if (edges.isEmpty()) {
            edges.add(v.cfg().windowStartPage() / rowPages);
        }
        List<Row> rows = new ArrayList<>();
        long prev = -1;
        for (long r : edges) {
            if (prev >= 0 && r - prev > 1) {
                if (r - prev - 1 <= 2) {
                    for (long q = prev + 1; q < r; q++) {
                        rows.add(new Row(q * rowPages, (q + 1) * rowPages, false));
                    }
                } else {
                    rows.add(new Row((prev + 1) * rowPages, r * rowPages, true));
                }
            }
            rows.add(new Row(r * rowPages, (r + 1) * rowPages, false));
            prev = r;
        }
        assert bits <= rowPages;
        return rows;
    }

    /** Pages per row: one block, doubled until the rows fit (or a row is 1024 pages: at most one pixel a page). */
    static long rowPages(RangeView v) {
        long rowPages = v.cfg().blockPages();
        while (rowPages < 1024 && layout(v, rowPages).size() > MAX_ROWS / 2) {
            rowPages *= 2;
        }
        while (layout(v, rowPages).size() > MAX_ROWS && rowPages < (1L << 30)) {
            rowPages *= 2;
        }
        return rowPages;
    }

    static void paint(RangeView v, Canvas.Format format, Path out) throws IOException {
        long rowPages = rowPages(v);
        List<Row> rows = layout(v, rowPages);
        List<Legend.Item> legend = legend(v);
        int headerLines = v.notes().size() + 1;
        int top = 28 + headerLines * 16 + 8;
        int body = 0;
        for (Row r : rows) {
            body += r.cut() ? SEPARATOR : ROW;
        }
        int height = top + body + 16 + Legend.height(legend, 2);
        Canvas c = new Canvas(format, WIDTH, height);
        c.text(v.title(), Canvas.TITLE, INK, 12, 22);
        int y = 28 + 14;
        for (String n : v.notes()) {
            c.text(n, Canvas.TEXT, INK, 12, y);
            y += 16;
        }
        KernelConfig cfg = v.cfg();
        long first = rows.get(0).start();
        long last = rows.get(rows.size() - 1).end();
        c.text("Shown: " + Hex.format(first << cfg.pageShift()) + " to "
                + Hex.format(last << cfg.pageShift()) + "; one row is " + Units.size(rowPages, cfg) + " (" + rowPages
                + " pages); each block is " + cfg.blockPages() + " pages (" + Units.size(cfg.blockPages(), cfg)
                + "); stretches with nothing new are cut out.", Canvas.SMALL, GREY_INK, 12, y);
        y = top;
        for (Row r : rows) {
            if (r.cut()) {
                cut(c, v, r, y);
                y += SEPARATOR;
            } else {
                row(c, v, r, y, rowPages);
                y += ROW;
            }
        }
        Legend.draw(c, legend, 12, y + 16, 2, WIDTH - 24);
        c.write(out);
    }

    private static double x(long page, Row r, long rowPages) {
        return LEFT + (double) (page - r.start()) * GRID / rowPages;
    }

    private static void row(Canvas c, RangeView v, Row r, int y, long rowPages) {
        KernelConfig cfg = v.cfg();
        c.textRight(Hex.format(r.start() << cfg.pageShift()), Canvas.MONO, GREY_INK, LEFT - 8, y + STRIPE + CELLS - 3);
        long ws = Math.max(r.start(), cfg.windowStartPage());
        long we = Math.min(r.end(), cfg.windowEndPage());
        c.fill(OUTSIDE, LEFT, y + STRIPE, GRID, CELLS);
        if (ws < we) {
            c.fill(SPACE, x(ws, r, rowPages), y + STRIPE, x(we, r, rowPages) - x(ws, r, rowPages), CELLS);
        }
        for (RangeView.Area a : v.areas()) {
            long s = Math.max(a.start(), r.start());
            long e = Math.min(a.end(), r.end());
            if (s >= e) {
                continue;
            }
            c.beginGroup("area-" + Hex.format(a.start() << cfg.pageShift()) + "-row-" + Hex.format(r.start() << cfg.pageShift()),
                    "area " + cls(a));
            c.title(describe(a, cfg));
            c.fill(color(a), x(s, r, rowPages), y + STRIPE, x(e, r, rowPages) - x(s, r, rowPages), CELLS);
            c.frame(FRAME, 0.6f, x(s, r, rowPages), y + STRIPE, x(e, r, rowPages) - x(s, r, rowPages), CELLS);
            c.endGroup();
        }
        int bits = cfg.blockPages();
        for (RangeView.Block b : v.blocks()) {
            if (b.base() < r.start() || b.base() >= r.end()) {
                continue;
            }
            c.beginGroup("block-" + Hex.format(b.base() << cfg.pageShift()), "block");
            double bx = x(b.base(), r, rowPages);
            double bw = x(b.base() + bits, r, rowPages) - bx;
            c.title("block " + Hex.format(b.base() << cfg.pageShift()) + ", CPU " + b.cpu()
                    + (b.onFreeList() ? "" : ", on no free list"));
            c.fill(CPU[Math.floorMod(b.cpu(), CPU.length)], bx, y, bw, STRIPE);
            int p = 0;
            while (p < bits) {
                RangeView.Cell cell = b.cells()[p];
                int q = p;
                while (q < bits && b.cells()[q] == cell) {
                    q++;
                }
                c.fill(color(cell), x(b.base() + p, r, rowPages), y + STRIPE,
                        x(b.base() + q, r, rowPages) - x(b.base() + p, r, rowPages), CELLS);
                p = q;
            }
            if (b.hasDirtyRange()) {
                double dx = x(b.base() + b.dirtyMin(), r, rowPages);
                c.fill(DIRTY_RANGE, dx, y + DIRTY_Y, x(b.base() + b.dirtyMax(), r, rowPages) - dx, 2);
            }
            c.frame(FRAME, 0.8f, bx, y, bw, STRIPE + CELLS);
            c.endGroup();
        }
        for (Map.Entry<Long, Long> s : v.stale().entrySet()) {
            long a = Math.max(s.getKey(), r.start());
            long e = Math.min(s.getValue(), r.end());
            if (a < e) {
                c.fill(STALE, x(a, r, rowPages), y + STALE_Y, Math.max(1, x(e, r, rowPages) - x(a, r, rowPages)), 3);
            }
        }
        if (v.highlight() != null) {
            long a = Math.max(v.highlight()[0], r.start());
            long e = Math.min(v.highlight()[1], r.end());
            if (a < e) {
                c.frame(Color.BLACK, 2.2f, x(a, r, rowPages) - 1, y - 1, Math.max(2, x(e, r, rowPages) - x(a, r, rowPages)) + 2,
                        STRIPE + CELLS + 2);
            }
        }
    }

    private static void cut(Canvas c, RangeView v, Row r, int y) {
        KernelConfig cfg = v.cfg();
        long mid = r.start() + (r.end() - r.start()) / 2;
        String what = "free address space";
        for (RangeView.Area a : v.areas()) {
            if (a.start() <= mid && mid < a.end()) {
                what = "inside " + describe(a, cfg);
            }
        }
        if (mid < cfg.windowStartPage() || mid >= cfg.windowEndPage()) {
            what = "outside the vmalloc range";
        }
        c.dashed(GREY_INK, LEFT, y + SEPARATOR / 2.0, LEFT + 40, y + SEPARATOR / 2.0);
        c.text("... " + Units.size(r.end() - r.start(), cfg) + " cut out (" + what + ") ...", Canvas.SMALL, GREY_INK,
                LEFT + 48, y + SEPARATOR / 2.0 + 4);
    }

    static Color color(RangeView.Cell cell) {
        return switch (cell) {
            case LIVE -> LIVE;
            case ROUNDING -> ROUNDING;
            case DIRTY -> DIRTY;
            case FREE -> FREE;
        };
    }

    static Color color(RangeView.Area a) {
        return switch (a.state()) {
            case BUSY -> a.kind() == Va.Kind.OTHER ? OTHER : LARGE;
            case LAZY -> LAZY;
            case POOLED -> POOLED;
        };
    }

    static String cls(RangeView.Area a) {
        return switch (a.state()) {
            case BUSY -> a.kind() == Va.Kind.OTHER ? "other" : "large";
            case LAZY -> "lazy";
            case POOLED -> "pooled";
        };
    }

    static String describe(RangeView.Area a, KernelConfig cfg) {
        String range = "[" + Hex.format(a.start() << cfg.pageShift()) + ", " + Hex.format(a.end() << cfg.pageShift()) + ")";
        String what = switch (a.state()) {
            case BUSY -> a.kind() == Va.Kind.OTHER ? "another user's area" : "the large mapping";
            case LAZY -> a.kind() == Va.Kind.BLOCK ? "a retired block, lazily freed" : "a lazily freed large mapping";
            case POOLED -> "a purged area parked in a node pool";
        };
        return what + " " + range;
    }

    private static List<Legend.Item> legend(RangeView v) {
        KernelConfig cfg = v.cfg();
        List<Legend.Item> l = new ArrayList<>();
        l.add(Legend.Item.box(LIVE, "page mapped by a live vm_map_ram() mapping"));
        l.add(Legend.Item.box(ROUNDING, "held for a live mapping: vb_alloc() rounds up to a power of two"));
        l.add(Legend.Item.box(DIRTY, "unmapped (dirty): not reused until the whole block is freed"));
        l.add(Legend.Item.box(FREE, "not handed out yet: the block can still serve it"));
        l.add(Legend.Item.box(LARGE, "large mapping (> VMAP_MAX_ALLOC = " + cfg.vmapMaxAlloc() + " pages): own area"));
        l.add(Legend.Item.box(LAZY, "lazily freed area (large mapping or retired block), held until purged"));
        boolean pooled = v.areas().stream().anyMatch(a -> a.state() == Va.State.POOLED);
        boolean other = v.areas().stream().anyMatch(a -> a.state() == Va.State.BUSY && a.kind() == Va.Kind.OTHER);
        if (pooled) {
            l.add(Legend.Item.box(POOLED, "purged area parked in a vmap node pool (6.9+)"));
        }
        if (other) {
            l.add(Legend.Item.box(OTHER, "held by another kernel user (a busy line of the trace)"));
        }
        l.add(Legend.Item.box(SPACE, "free address space"));
        l.add(Legend.Item.box(OUTSIDE, "outside the vmalloc range"));
        l.add(Legend.Item.bar(DIRTY_RANGE, 2, "dirty range not flushed yet (vb->dirty_min..dirty_max)"));
        l.add(Legend.Item.bar(STALE, 3, "stale: unmapped, no TLB flush since"));
        TreeSet<Integer> cpus = new TreeSet<>();
        for (RangeView.Block b : v.blocks()) {
            cpus.add(b.cpu());
        }
        for (int cpu : cpus) {
            l.add(Legend.Item.stripe(CPU[Math.floorMod(cpu, CPU.length)], "top stripe: block owned by CPU " + cpu + " (vb->cpu)"));
        }
        l.add(Legend.Item.frame(FRAME, 0.8f, "frame: one vmap block of " + cfg.blockPages() + " pages"));
        if (v.highlight() != null) {
            l.add(Legend.Item.frame(Color.BLACK, 2.2f, "outlined: " + v.highlightLabel()));
        }
        return l;
    }
}
