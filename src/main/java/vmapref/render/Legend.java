// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.awt.Color;
import java.util.List;

/** The legend under a picture: a swatch and a sentence per item, in columns. */
final class Legend {
    static final int LINE = 19;

    private Legend() {
    }

    /** How an item's swatch is drawn. */
    enum Kind { BOX, BAR, STRIPE, FRAME, LINE, MARK }

    record Item(Kind kind, Color color, float size, String text) {
        static Item box(Color c, String text) {
            return new Item(Kind.BOX, c, 0, text);
        }

        static Item bar(Color c, float height, String text) {
            return new Item(Kind.BAR, c, height, text);
        }

        static Item stripe(Color c, String text) {
            return new Item(Kind.STRIPE, c, 4, text);
        }

        static Item frame(Color c, float stroke, String text) {
            return new Item(Kind.FRAME, c, stroke, text);
        }

        static Item line(Color c, float stroke, String text) {
            return new Item(Kind.LINE, c, stroke, text);
        }

        static Item mark(Color c, String text) {
            return new Item(Kind.MARK, c, 0, text);
        }
    }

    static int height(List<Item> items, int columns) {
        return 20 + (items.size() + columns - 1) / columns * LINE;
    }

    /** Draws the items from (x, y), column by column. */
    static void draw(Canvas c, List<Item> items, double x, double y, int columns, double width) {
        c.beginGroup("legend", "legend");
        c.text("Legend", Canvas.TEXT, RangePainter.INK, x, y + 12);
        int perColumn = (items.size() + columns - 1) / columns;
        double colWidth = width / columns;
        for (int i = 0; i < items.size(); i++) {
            Item it = items.get(i);
            double ix = x + (i / perColumn) * colWidth;
            double iy = y + 20 + (i % perColumn) * LINE;
            swatch(c, it, ix, iy);
            c.text(it.text(), Canvas.SMALL, RangePainter.INK, ix + 30, iy + 11);
        }
        c.endGroup();
    }

    private static void swatch(Canvas c, Item it, double x, double y) {
        switch (it.kind()) {
            case BOX -> {
                c.fill(it.color(), x, y, 22, 13);
                c.frame(RangePainter.FRAME, 0.6f, x, y, 22, 13);
            }
            case BAR -> c.fill(it.color(), x, y + 6, 22, it.size());
            case STRIPE -> {
                c.fill(it.color(), x, y, 22, 5);
                c.frame(RangePainter.FRAME, 0.6f, x, y, 22, 13);
            }
            case FRAME -> c.frame(it.color(), it.size(), x + 1, y + 1, 20, 11);
            case LINE -> c.line(it.color(), it.size(), x, y + 7, x + 22, y + 7);
            case MARK -> TimelinePainter.marker(c, it.color(), x + 11, y + 7);
        }
    }
}
