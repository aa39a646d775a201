// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.cli.MainTest.TRACES;
import static vmapref.cli.MainTest.run;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import vmapref.check.Configs;
import vmapref.check.StepEvents;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Vmalloc;
import vmapref.replay.Replayer;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceWriter;

/** {@code vmapref render}: the pictures' content, SVG and PNG, and one-line errors. */
class RenderCommandTest {
    static final String RAND_61 = TRACES.resolve("linux-6.1/rand-seed1-smp2.jsonl").toString();
    static final String SMP2_612 = TRACES.resolve("linux-6.12/smp2-smp2.jsonl").toString();

    @TempDir
    Path tmp;

    static Document xml(Path svg) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return f.newDocumentBuilder().parse(svg.toFile());
    }

    /** The {@code <g>} elements whose class is {@code cls}. */
    static List<Element> groups(Document d, String cls) {
        List<Element> out = new ArrayList<>();
        NodeList l = d.getElementsByTagName("g");
        for (int i = 0; i < l.getLength(); i++) {
            Element e = (Element) l.item(i);
            if (e.getAttribute("class").equals(cls)) {
                out.add(e);
            }
        }
        return out;
    }

    static int pixels(BufferedImage img, int rgb) {
        int n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                if ((img.getRGB(x, y) & 0xffffff) == rgb) {
                    n++;
                }
            }
        }
        return n;
    }

    @Test
    void rangeSvgHasOneGroupPerBlockTheLegendAndTheOutlinedMapping() throws Exception {
        Path out = tmp.resolve("range.svg");
        MainTest.Run r = run("render", RAND_61, "--line", "1500", "--out", out.toString());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.outLines()).singleElement().asString().startsWith("wrote " + out + ": The vmalloc range after line 1500");
        Document d = xml(out);
        int blocks = Replayer.snapshot(Path.of(RAND_61), Replayer.Level.STRUCTURE, 1500).kernel().blocks().size();
        assertThat(blocks).isGreaterThan(10);
        List<Element> drawn = groups(d, "block");
        assertThat(drawn).hasSize(blocks);
        assertThat(drawn).allMatch(g -> g.getAttribute("id").startsWith("block-0xffffc9"));
        assertThat(groups(d, "area large")).isNotEmpty();
        String text = d.getDocumentElement().getTextContent();
        assertThat(text).contains("page mapped by a live vm_map_ram() mapping")
                .contains("unmapped (dirty): not reused until the whole block is freed")
                .contains("top stripe: block owned by CPU 0 (vb->cpu)").contains("top stripe: block owned by CPU 1 (vb->cpu)")
                .contains("stale: unmapped, no TLB flush since")
                .contains("outlined: line 1500, vm_unmap_ram(0xffffc90002290000, 8) on CPU 0")
                .contains("Address space held: ").contains("35 vmap blocks (CPU 0: 16, CPU 1: 19)");
    }

    @Test
    void rangePngHasTheSvgsSizeAndItsColours() throws Exception {
        Path svg = tmp.resolve("range.svg");
        Path png = tmp.resolve("range.png");
        assertThat(run("render", RAND_61, "--line", "1500", "--out", svg.toString()).code()).isZero();
        assertThat(run("render", RAND_61, "--line", "1500", "--out", png.toString()).code()).isZero();
        Element root = xml(svg).getDocumentElement();
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1200).isEqualTo((int) Double.parseDouble(root.getAttribute("width")));
        assertThat(img.getHeight()).isEqualTo((int) Double.parseDouble(root.getAttribute("height"))).isGreaterThan(400);
        assertThat(pixels(img, 0x2ca02c)).as("live pages").isGreaterThan(1000);
        assertThat(pixels(img, 0xff8c1a)).as("dirty pages").isGreaterThan(1000);
        assertThat(pixels(img, 0xd62728)).as("stale bars").isGreaterThan(100);
    }

    @Test
    void timelineWithoutNullsSaysSo() throws Exception {
        Path out = tmp.resolve("t.svg");
        MainTest.Run r = run("render", SMP2_612, "--out", out.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Document d = xml(out);
        assertThat(groups(d, "series held")).hasSize(1);
        assertThat(groups(d, "series live")).hasSize(1);
        assertThat(groups(d, "nulls").get(0).getElementsByTagName("path").getLength()).isZero();
        assertThat(d.getDocumentElement().getTextContent()).contains("34 calls").contains("vm_map_ram() never returned NULL")
                .contains("address space held: vmap blocks (all of each) and large areas");
    }

    /** A trace of the model on a 4 MiB window: twelve 64-page maps fill three blocks, then three NULLs. */
    Path runsOut() throws IOException {
        KernelConfig cfg = new KernelConfig(Profile.LINUX_6_12, 12, KernelConfig.X86_64_VMALLOC_START,
                KernelConfig.X86_64_VMALLOC_START + (4 << 20) - 1, 8192, 1, List.of(0), List.of(0), 64);
        Path file = tmp.resolve("runs-out.jsonl");
        KernelState k = KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT);
        int nulls = 0;
        try (TraceWriter w = TraceWriter.create(file)) {
            w.header(Configs.header(cfg));
            for (int i = 0; i < 15; i++) {
                Call call = new Call.Map(0, 64);
                Vmalloc.Step st = Vmalloc.step(k, call);
                nulls += st.outcome() instanceof Outcome.Null ? 1 : 0;
                for (TraceEvent e : StepEvents.of(call, st)) {
                    w.event(e);
                }
                k = st.state();
            }
        }
        assertThat(nulls).isEqualTo(3);
        return file;
    }

    @Test
    void timelineMarksEveryNullReturn() throws Exception {
        Path trace = runsOut();
        Path svg = tmp.resolve("t.svg");
        MainTest.Run r = run("render", trace.toString(), "--level", "exact", "--out", svg.toString());
        assertThat(r.code()).as(r.err()).isZero();
        Document d = xml(svg);
        Element nulls = groups(d, "nulls").get(0);
        assertThat(nulls.getElementsByTagName("path").getLength()).as("one marker per NULL").isEqualTo(3);
        assertThat(d.getDocumentElement().getTextContent())
                .contains("vm_map_ram() returned NULL 3 times; the first at call 13 (line 14) with 3 MiB held and 3 MiB live")
                .contains("first NULL: call 13 (line 14), vm_map_ram(count=64)")
                .contains("the vmalloc window: 4.0 MiB");
        Path png = tmp.resolve("t.png");
        assertThat(run("render", trace.toString(), "--out", png.toString()).code()).isZero();
        BufferedImage img = ImageIO.read(png.toFile());
        assertThat(img.getWidth()).isEqualTo(1200);
        assertThat(img.getHeight()).isEqualTo((int) Double.parseDouble(d.getDocumentElement().getAttribute("height")));
        assertThat(pixels(img, 0xd62728)).as("red NULL markers").isGreaterThan(20);
    }

    @Test
    void explainNamesARenderCommandThatWorks() throws IOException {
        MainTest.Run x = run("explain", "--level", "spec", ExplainCommandTest.STALE_61);
        String command = "vmapref render " + ExplainCommandTest.STALE_61 + " --line 85 --level spec --out block-0xffffc90000700000.svg";
        assertThat(x.out()).contains("Picture of this state (block 0xffffc90000700000 among the others): " + command);
        Path out = tmp.resolve("block-0xffffc90000700000.svg");
        MainTest.Run r = run("render", ExplainCommandTest.STALE_61, "--line", "85", "--level", "spec", "--out", out.toString());
        assertThat(r.code()).as("the trace diverges at that line").isEqualTo(1);
        assertThat(r.out()).contains("The vmalloc range just before line 85 (the first divergence, aliases-no-stale)");
        assertThat(Files.readString(out)).contains("id='block-0xffffc90000700000'");
    }

    @Test
    void badInputIsOneLineAndExit2() throws IOException {
        String png = tmp.resolve("x.png").toString();
        MainTest.Run missing = run("render", tmp.resolve("none.jsonl").toString(), "--out", png);
        assertThat(missing.code()).isEqualTo(2);
        assertThat(missing.errLines()).singleElement().asString().endsWith("none.jsonl: cannot read: no such file");

        MainTest.Run ext = run("render", SMP2_612, "--out", tmp.resolve("x.jpg").toString());
        assertThat(ext.code()).isEqualTo(2);
        assertThat(ext.errLines()).singleElement().asString().contains("--out must end in .svg or .png");

        MainTest.Run past = run("render", SMP2_612, "--line", "100000", "--out", png);
        assertThat(past.code()).isEqualTo(2);
        assertThat(past.errLines()).singleElement().asString().contains("--line 100000 is past the end of the trace (135 lines)");

        MainTest.Run zero = run("render", SMP2_612, "--line", "0", "--out", png);
        assertThat(zero.code()).isEqualTo(2);
        assertThat(zero.errLines()).hasSize(1);

        MainTest.Run both = run("render", SMP2_612, "--line", "9", "--picture", "timeline", "--out", png);
        assertThat(both.code()).isEqualTo(2);
        assertThat(both.errLines()).hasSize(1);

        Files.writeString(tmp.resolve("file"), "");
        MainTest.Run unwritable = run("render", SMP2_612, "--out", tmp.resolve("file/x.png").toString());
        assertThat(unwritable.code()).isEqualTo(2);
        assertThat(unwritable.errLines()).singleElement().asString().contains("x.png: cannot write: ");

        MainTest.Run noOut = run("render", SMP2_612);
        assertThat(noOut.code()).isEqualTo(2);
        assertThat(noOut.errLines()).singleElement().asString().contains("--out");
        assertThat(Files.exists(Path.of(png))).isFalse();
    }
}
