// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.cli.MainTest.TRACES;
import static vmapref.cli.MainTest.run;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vmapref explain}: the finding, the history, the model's state, and replay's exit codes. */
class ExplainCommandTest {
    static final String STALE_61 = TRACES.resolve("linux-6.1/stale-smp1.jsonl").toString();
    static final String SMP2_612 = TRACES.resolve("linux-6.12/smp2-smp2.jsonl").toString();

    @TempDir
    Path tmp;

    /** The text of one "== heading ==" section of the output. */
    static String section(String out, String heading) {
        int at = out.indexOf("== " + heading);
        assertThat(at).as("section %s in%n%s", heading, out).isNotNegative();
        int next = out.indexOf("\n== ", at + 1);
        return next < 0 ? out.substring(at) : out.substring(at, next);
    }

    @Test
    void staleTlbOn61AtSpecLevelShowsRuleHistoryAndState() {
        MainTest.Run r = run("explain", "--level", "spec", STALE_61);
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.err()).isEmpty();
        String finding = section(r.out(), "Finding");
        assertThat(finding).contains("line 85: vm_unmap_aliases() on CPU 0").contains("rule:     aliases-no-stale")
                .contains("expected: ").contains("actual:   vm_unmap_aliases() returned while 64 unmapped page(s)");
        String history = section(r.out(), "History");
        assertThat(history).contains("mapping:  [0xffffc90000700000, 0xffffc90000740000) (64 pages), returned at line 78")
                .contains("block:    [0xffffc90000700000, 0xffffc90000800000)")
                .contains("line 78: vm_map_ram(count=64) on CPU 0 -> 0xffffc90000700000")
                .contains("the model creates the block")
                .contains("line 81: vm_map_ram(count=64) on CPU 0 -> 0xffffc900007c0000 (seq 9)  [same block, page offset 192]")
                .contains("line 83: vm_unmap_ram(0xffffc90000700000, 64) on CPU 0 (seq 11)  [unmaps the mapping]")
                .contains("<-- the finding");
        String state = section(r.out(), "Model state before line 85");
        assertThat(state).contains("CPU 0 free list")
                .contains("block 0xffffc90000700000: CPU 0, free 0, dirty 64, dirty range "
                        + "[0xffffc90000700000, 0xffffc90000740000) (page offsets [0, 64)), live 192 pages")
                .contains("Lazily freed areas")
                .contains("Stale ranges (unmapped, no TLB flush since; from the specification): 1, 64 pages")
                .contains("  [0xffffc90000700000, 0xffffc90000740000) 64 pages");
    }

    @Test
    void replaysFailLineEndsWithTheExplainCommandThatShowsIt() {
        MainTest.Run replay = run("replay", "--level", "spec", STALE_61);
        assertThat(replay.outLines()).singleElement().satisfies(l -> assertThat(l)
                .endsWith(" (more: vmapref explain " + STALE_61 + " --line 85 --level spec)"));
        MainTest.Run explain = run("explain", STALE_61, "--line", "85", "--level", "spec");
        assertThat(explain.code()).isEqualTo(1);
        assertThat(section(explain.out(), "Finding")).contains("aliases-no-stale").contains("line 85");
    }

    @Test
    void aConformingTraceIsExit0() {
        MainTest.Run r = run("explain", SMP2_612);
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(section(r.out(), "Finding")).contains("none: the trace conforms at the structure level");
        assertThat(section(r.out(), "Model state at the end of the trace")).contains("CPU 0 free list");
    }

    @Test
    void lineOnAConformingTracePrintsTheStateThere() {
        MainTest.Run r = run("explain", SMP2_612, "--line", "97");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(section(r.out(), "Finding")).contains("none up to line 97")
                .contains("line 97: vm_map_ram(count=1) on CPU 1 -> 0xffffc90001700000");
        assertThat(section(r.out(), "History")).contains("<-- line 97");
        assertThat(section(r.out(), "Model state after line 97"))
                .contains("CPU 0 free list (oldest first): 1 block")
                .contains("block 0xffffc90001600000: free 254, dirty 0, dirty range none, live 2 pages")
                .contains("CPU 1 free list (oldest first): 1 block")
                .contains("block 0xffffc90001700000: free 255, dirty 0, dirty range none, live 1 pages")
                .contains("Stale ranges (unmapped, no TLB flush since; from the specification): none");
    }

    @Test
    void lineBeforeALaterDivergencePointsToIt() {
        MainTest.Run r = run("explain", "--level", "spec", STALE_61, "--line", "80");
        assertThat(r.code()).isZero();
        assertThat(section(r.out(), "Finding")).contains("none up to line 80")
                .contains("the trace diverges later, at line 85 (aliases-no-stale): vmapref explain " + STALE_61
                        + " --line 85 --level spec");
    }

    @Test
    void aTraceClaimedAsTheWrongKernelShowsExpectedAndActual() throws IOException {
        Path src = TRACES.resolve("linux-6.1/smp2-smp2.jsonl");
        List<String> lines = Files.readAllLines(src);
        lines.set(0, lines.get(0).replaceFirst("\"profile\":\"linux-6.1\"", "\"profile\":\"linux-6.12\""));
        Path copy = tmp.resolve("smp2-smp2.jsonl");
        Files.write(copy, lines);
        MainTest.Run r = run("explain", copy.toString());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        String finding = section(r.out(), "Finding");
        assertThat(finding).contains("line 103: vm_map_ram(count=1) on CPU 1 -> 0xffffc90000600000")
                .contains("rule:     block-offset")
                .contains("expected: 0xffffc90000605000 at page offset 5 of block 0xffffc90000600000")
                .contains("actual:   0xffffc90000600000");
        assertThat(section(r.out(), "History")).contains("returns the mapping; <-- the finding");
        assertThat(section(r.out(), "Model state before line 103")).contains("CPU 1 free list (oldest first): 1 block")
                .contains("block 0xffffc90000600000: free 251, dirty 5");
    }

    @Test
    void aMissingFileIsExit2OneLine() {
        Path missing = tmp.resolve("missing.jsonl");
        MainTest.Run r = run("explain", missing.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).containsExactly(missing + ": cannot read: no such file");
    }

    @Test
    void aMalformedTraceIsExit2NamingFileLineAndRule() throws IOException {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, MainTest.header("linux-6.12") + "\n{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"12ab\"}\n");
        MainTest.Run r = run("explain", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().satisfies(l -> assertThat(l).startsWith(bad + ":2: "));
    }

    @Test
    void aLinePastTheEndOrBelowOneIsExit2OneLine() {
        MainTest.Run past = run("explain", SMP2_612, "--line", "100000");
        assertThat(past.code()).isEqualTo(2);
        assertThat(past.errLines()).singleElement().satisfies(l -> assertThat(l)
                .startsWith(SMP2_612 + ": --line 100000 is past the end of the trace"));
        MainTest.Run zero = run("explain", SMP2_612, "--line", "0");
        assertThat(zero.code()).isEqualTo(2);
        assertThat(zero.errLines()).hasSize(1);
    }
}
