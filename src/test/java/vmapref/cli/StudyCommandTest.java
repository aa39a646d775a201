// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.cli.MainTest.run;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vmapref study fragmentation} on a small budget: the document's sections, pictures and commands. */
class StudyCommandTest {
    @TempDir
    Path tmp;

    @Test
    void fragmentationWritesTheDocumentItsPicturesAndTraces() throws IOException {
        Path doc = tmp.resolve("docs/frag.md");
        Path traces = tmp.resolve("traces");
        String[] args = {"study", "fragmentation", "--out", doc.toString(), "--traces", traces.toString(),
            "--calls-32", "11000", "--calls-64", "2000"};
        MainTest.Run r = run(args);
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).startsWith("wrote " + doc + " (15 runs");
        String text = Files.readString(doc);
        assertThat(text).contains("# Fragmentation of the vmalloc range by vm_map_ram()", "## The workload",
                "## 32-bit: mixed against separated lifetimes", "## The same workload served by large areas", "## 64-bit",
                "## linux-4.8, linux-6.1, linux-6.12 and the new-block-at-list-head mutant", "## What to take away",
                "--calls-32 11000 --calls-64 2000", "VMAP_PURGE_THRESHOLD", "a09fad96ffb1");
        // mixed lifetimes run out within the budget while most of the window holds no live data; separated ones do not
        Matcher m = Pattern.compile("Mixed: the first NULL at call (\\d+) \\(trace line \\d+\\), with [0-9.]+ MiB held and "
                + "[0-9.]+ MiB live, ([0-9.]+)% of the window").matcher(text);
        assertThat(m.find()).as(text).isTrue();
        assertThat(Double.parseDouble(m.group(2))).isLessThan(50);
        assertThat(text).contains("Separated: no NULL in 11000 calls");
        // every picture exists, is a PNG, and is followed by the render command that draws it
        Matcher img = Pattern.compile("!\\[[^]]*\\]\\((frag/[^)]+\\.png)\\)\\n\\n`java -jar target/vmapref.jar render (\\S+) (.*) "
                + "--out (\\S+)`").matcher(text);
        int pictures = 0;
        while (img.find()) {
            pictures++;
            assertThat(Path.of(img.group(4))).isEqualTo(doc.resolveSibling(img.group(1)));
            BufferedImage png = ImageIO.read(doc.resolveSibling(img.group(1)).toFile());
            assertThat(png.getWidth()).isEqualTo(1200);
            assertThat(Files.exists(Path.of(img.group(2)))).as(img.group(2)).isTrue();
        }
        assertThat(pictures).isEqualTo(6);
        assertThat(Files.list(doc.resolveSibling("frag")).count()).isEqualTo(6);
        // seeded: a second run writes the same document
        assertThat(run(args).code()).isZero();
        assertThat(Files.readString(doc)).isEqualTo(text);
    }

    @Test
    void badArgumentsAreOneLineAndExit2() {
        for (List<String> a : List.of(List.of("study", "other"), List.of("study", "fragmentation", "--out", "x.txt"),
                List.of("study", "fragmentation", "--calls-32", "5"))) {
            MainTest.Run r = run(a.toArray(String[]::new));
            assertThat(r.code()).as(a.toString()).isEqualTo(2);
            assertThat(r.errLines()).as(a.toString()).hasSize(1);
        }
    }
}
