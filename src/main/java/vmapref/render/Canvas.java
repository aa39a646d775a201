// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Line2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.SVGHints;

/** One picture being drawn: the same Java2D calls go to JFreeSVG's SVGGraphics2D or to a PNG image. */
final class Canvas {

    /** The output format, from the file name's extension. */
    enum Format {
        SVG, PNG;

        /** SVG or PNG by the extension of {@code file}, else IllegalArgumentException. */
        static Format of(String file) {
            String f = file.toLowerCase(Locale.ROOT);
            if (f.endsWith(".svg")) {
                return SVG;
            }
            if (f.endsWith(".png")) {
                return PNG;
            }
            throw new IllegalArgumentException("--out must end in .svg or .png, got '" + file + "'");
        }
    }

    static final Font TITLE = new Font(Font.SANS_SERIF, Font.BOLD, 15);
    static final Font TEXT = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    static final Font SMALL = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    static final Font MONO = new Font(Font.MONOSPACED, Font.PLAIN, 11);

    final int width;
    final int height;
    final Graphics2D g;
    private final SVGGraphics2D svg;
    private final BufferedImage image;

    Canvas(Format format, int width, int height) {
        this.width = width;
        this.height = height;
        if (format == Format.SVG) {
            svg = new SVGGraphics2D(width, height);
            image = null;
            g = svg;
        } else {
            svg = null;
            image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
            g = image.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        }
        g.setColor(Color.WHITE);
        g.fill(new Rectangle2D.Double(0, 0, width, height));
    }

    /** Starts an SVG group {@code <g id=... class=...>} (nothing in a PNG); ids must be unique. */
    void beginGroup(String id, String cls) {
        if (svg != null) {
            Map<String, String> attrs = new LinkedHashMap<>();
            attrs.put("id", id);
            attrs.put("class", cls);
            svg.setRenderingHint(SVGHints.KEY_BEGIN_GROUP, attrs);
        }
    }

    void endGroup() {
        if (svg != null) {
            svg.setRenderingHint(SVGHints.KEY_END_GROUP, "");
        }
    }

    /** A tooltip on the next shape drawn (an SVG title; nothing in a PNG). */
    void title(String text) {
        if (svg != null) {
            svg.setRenderingHint(SVGHints.KEY_ELEMENT_TITLE, text);
        }
    }

    void fill(Color c, double x, double y, double w, double h) {
        if (w <= 0 || h <= 0) {
            return;
        }
        g.setColor(c);
        g.fill(new Rectangle2D.Double(x, y, w, h));
    }

    void frame(Color c, float stroke, double x, double y, double w, double h) {
        g.setColor(c);
        g.setStroke(new BasicStroke(stroke));
        g.draw(new Rectangle2D.Double(x, y, w, h));
    }

    void line(Color c, float stroke, double x1, double y1, double x2, double y2) {
        g.setColor(c);
        g.setStroke(new BasicStroke(stroke));
        g.draw(new Line2D.Double(x1, y1, x2, y2));
    }

    void dashed(Color c, double x1, double y1, double x2, double y2) {
        g.setColor(c);
        g.setStroke(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f));
        g.draw(new Line2D.Double(x1, y1, x2, y2));
    }

    /** Text with its baseline at y. */
    void text(String s, Font f, Color c, double x, double y) {
        g.setFont(f);
        g.setColor(c);
        g.drawString(s, (float) x, (float) y);
    }

    /** Text ending at x. */
    void textRight(String s, Font f, Color c, double x, double y) {
        g.setFont(f);
        text(s, f, c, x - g.getFontMetrics().stringWidth(s), y);
    }

    double textWidth(String s, Font f) {
        g.setFont(f);
        return g.getFontMetrics().stringWidth(s);
    }

    /** Writes the picture to {@code out}. */
    void write(Path out) throws IOException {
        try {
            writeFile(out);
        } catch (java.nio.file.AccessDeniedException e) {
            throw new Render.CannotWrite("permission denied", e);
        } catch (java.nio.file.FileSystemException e) {
            String why = e instanceof java.nio.file.NoSuchFileException ? "no such directory"
                    : e instanceof java.nio.file.FileAlreadyExistsException ? "a file is in the way of its directory"
                    : e.getReason() != null ? e.getReason() : "cannot create it";
            throw new Render.CannotWrite(why, e);
        } catch (IOException e) {
            throw new Render.CannotWrite(e.getMessage() == null ? "unexpected I/O failure" : e.getMessage(), e);
        }
    }

    private void writeFile(Path out) throws IOException {
        Path dir = out.toAbsolutePath().getParent();
        if (dir != null) {
            Files.createDirectories(dir);
        }
        if (svg != null) {
            Files.writeString(out, svg.getSVGDocument() + "\n", StandardCharsets.UTF_8);
        } else {
            g.dispose();
            try (OutputStream o = Files.newOutputStream(out)) {
                if (!ImageIO.write(image, "png", o)) {
                    throw new IOException(out + ": no PNG writer in this JDK");
                }
            }
        }
    }
}
