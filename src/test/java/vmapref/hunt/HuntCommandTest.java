// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.cli.Main;
import vmapref.kernel.Mutant;

/** {@code vmapref hunt}, run in-process through the real command line. */
class HuntCommandTest {

    record Run(int code, String out, String err) {
    }

    static Run vmapref(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.commandLine(new PrintWriter(out, true), new PrintWriter(err, true)).execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @Test
    void nothingFoundExitsZero() {
        Run r = vmapref("hunt", "--profile", "linux-6.12", "--seed", "3", "--programs", "25", "--time", "60");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("vmapref hunt: linux-6.12\n").contains("seed 3, programs of up to 200 calls, all configurations")
                .contains("no counterexample: 25 programs (");
    }

    @Test
    void aMutantIsFoundShrunkWrittenAndReplayable(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("found.jsonl");
        Run r = vmapref("hunt", "--mutant", "flush-dirty-again", "--seed", "1", "--out", trace.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.out())
                .contains("vmapref hunt: linux-6.12 with mutant flush-dirty-again (fix: a09fad96ffb1")
                .contains("found after ")
                .contains("shrinks to 4 calls:")
                .contains("  1. cpu0 map(1) -> 0x")
                .contains("  2. cpu0 unmap(#1)\n")
                .contains("  4. cpu0 vm_unmap_aliases()\n")
                .contains("  divergence at step 4: ")
                .contains("trace: " + trace)
                .contains("it is legal but not what linux-6.12 does: java -jar target/vmapref.jar replay --level exact "
                        + trace)
                .contains("reproduce: java -jar target/vmapref.jar hunt --profile linux-6.12 --mutant flush-dirty-again "
                        + "--seed 1 --program ");
        assertThat(Files.readAllLines(trace).get(0)).contains("\"profile\":\"linux-6.12\"").contains("\"exclusive\":true")
                .contains("\"note\":\"mutant flush-dirty-again: found by vmapref hunt seed 1 program ");
        assertThat(vmapref("replay", "--level", "exact", trace.toString()).code()).isEqualTo(1);
        assertThat(vmapref("replay", "--level", "spec", trace.toString()).code()).isZero();
    }

    @Test
    void aProgramOfASeedIsReproduced(@TempDir Path dir) {
        Run first = vmapref("hunt", "--profile", "linux-6.1", "--seed", "1", "--out", dir.resolve("a.jsonl").toString());
        assertThat(first.code()).isEqualTo(1);
        String line = first.out().lines().filter(l -> l.startsWith("reproduce: ")).findFirst().orElseThrow();
        String program = line.replaceAll(".*--program (\\d+).*", "$1");
        Run again = vmapref("hunt", "--profile", "linux-6.1", "--seed", "1", "--program", program, "--out",
                dir.resolve("b.jsonl").toString());
        assertThat(again.code()).isEqualTo(1);
        assertThat(again.out()).contains("budget program " + program + " only")
                .contains("found after 1 programs").contains("violation: aliases-no-stale at step");
        assertThat(again.out().substring(again.out().indexOf("  1. "), again.out().indexOf("trace: ")))
                .isEqualTo(first.out().substring(first.out().indexOf("  1. "), first.out().indexOf("trace: ")));
    }

    @Test
    void knownBrokenCanBeIgnored() {
        Run r = vmapref("hunt", "--profile", "linux-6.1", "--seed", "1", "--programs", "30", "--ignore", "known-broken");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("not reported: aliases-no-stale");
    }

    @Test
    void listMutantsNamesEveryMutantAndItsFix() {
        Run r = vmapref("hunt", "--list-mutants");
        assertThat(r.code()).isZero();
        for (Mutant m : Mutant.values()) {
            assertThat(r.out()).contains("\n" + m.id() + "\n  fix:    " + m.fix() + "\n  breaks: " + m.breaks());
        }
    }

    @Test
    void badArgumentsExitTwoWithOneLine() {
        String[][] bad = {
            {"hunt", "--profile", "linux-9.9"},
            {"hunt", "--mutant", "no-such-bug"},
            {"hunt", "--max-steps", "0"},
            {"hunt", "--time", "-1"},
            {"hunt", "--seed", "twelve"},
            {"hunt", "--ignore", "no-such-rule"},
            {"hunt", "--programs", "0"},
            {"hunt", "--bogus"},
        };
        for (String[] args : bad) {
            Run r = vmapref(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err().strip().lines().count()).as(r.err()).isEqualTo(1);
            assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
            assertThat(r.out()).isEmpty();
        }
        assertThat(vmapref("hunt", "--mutant", "no-such-bug").err()).contains("unknown mutant 'no-such-bug'");
    }

    /** The output less its timings. */
    static String untimed(String out) {
        return out.replaceAll("in \\d+\\.\\d+ s", "in T s");
    }

    /** Parallel hunts take their programs in index order: the same seed reports the same, whatever --jobs. */
    @Test
    void jobsDoNotChangeTheReport(@TempDir Path dir) throws Exception {
        Path trace = dir.resolve("t.jsonl");
        java.util.Set<Integer> codes = new java.util.TreeSet<>();
        for (String[] hunt : new String[][] {
                {"--profile", "linux-6.12", "--seed", "3", "--programs", "40"},
                {"--mutant", "flush-dirty-again", "--seed", "1", "--programs", "400"},
                {"--mutant", "stale-tlb-full-block", "--seed", "5", "--programs", "400"},
                {"--profile", "linux-6.1", "--seed", "2", "--programs", "400"}}) {
            String[] common = {"hunt", "--time", "600", "--quiet", "--out", trace.toString()};
            Run one = vmapref(concat(common, concat(hunt, new String[] {"--jobs", "1"})));
            String oneTrace = Files.exists(trace) ? Files.readString(trace) : "";
            Files.deleteIfExists(trace);
            Run four = vmapref(concat(common, concat(hunt, new String[] {"--jobs", "4"})));
            String fourTrace = Files.exists(trace) ? Files.readString(trace) : "";
            Files.deleteIfExists(trace);
            assertThat(four.code()).as(String.join(" ", hunt) + ": " + four.err()).isEqualTo(one.code());
            assertThat(untimed(four.out())).as(String.join(" ", hunt)).isEqualTo(untimed(one.out()));
            assertThat(fourTrace).isEqualTo(oneTrace);
            assertThat(one.err()).isEmpty();
            codes.add(one.code());
        }
        assertThat(codes).containsExactly(0, 1);
    }

    @Test
    void jobsMustBePositive() {
        Run r = vmapref("hunt", "--jobs", "0", "--programs", "1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--jobs must be at least 1");
    }

    static String[] concat(String[] a, String[] b) {
        String[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }
}
