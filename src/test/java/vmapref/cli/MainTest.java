// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The command line run in-process: exit codes, verdict lines, one-line errors. Every run also checks that no
 * output shows a Java exception or a stack trace.
 */
class MainTest {
    static final Path TRACES = Path.of("src/test/resources/traces");

    @TempDir
    Path tmp;

    /** What one command line printed and returned. */
    record Run(int code, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }

        List<String> errLines() {
            return err.lines().toList();
        }
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter o = new PrintWriter(out);
        PrintWriter e = new PrintWriter(err);
        int code = Main.commandLine(o, e).execute(args);
        o.flush();
        e.flush();
        Run r = new Run(code, out.toString(), err.toString());
        assertThat(r.out() + r.err()).as("output of %s", List.of(args))
                .doesNotContain("Exception").doesNotContain("\tat ");
        return r;
    }

    static String[] tracesOf(String profile) throws IOException {
        try (Stream<Path> s = Files.list(TRACES.resolve(profile))) {
            return s.filter(p -> p.toString().endsWith(".jsonl")).sorted().map(Path::toString).toArray(String[]::new);
        }
    }

    static String[] args(String first, String... more) {
        List<String> l = new ArrayList<>(List.of(first.split(" ")));
        l.addAll(List.of(more));
        return l.toArray(String[]::new);
    }

    // ------------------------------------------------------------------ replay

    @ParameterizedTest
    @ValueSource(strings = {"spec", "structure"})
    void realLinux612TracesConform(String level) throws IOException {
        String[] files = tracesOf("linux-6.12");
        assertThat(files).hasSizeGreaterThanOrEqualTo(5);
        Run r = run(args("replay --level " + level, files));
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.outLines()).hasSize(files.length).allMatch(l -> l.startsWith("PASS " + level + " "));
    }

    @Test
    void defaultLevelIsStructure() throws IOException {
        Run r = run(args("replay", tracesOf("linux-6.1")));
        assertThat(r.code()).isZero();
        assertThat(r.outLines()).allMatch(l -> l.startsWith("PASS structure "));
    }

    @Test
    void staleTlbOn61FailsTheSpecAtLine85() {
        Run r = run("replay", "--level", "spec", TRACES.resolve("linux-6.1/stale-smp1.jsonl").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.outLines()).singleElement().satisfies(l -> assertThat(l)
                .startsWith("FAIL spec ").contains("stale-smp1.jsonl:85 ").contains("aliases-no-stale"));
    }

    /** A busy 7.2 capture replays with fewer interleavings followed, but not with none. */
    @Test
    void worldsBoundsTheInterleavingsFollowed() {
        String busy = Path.of("src/test/resources/traces-busy/linux-7.2/busy-erofs-seed5-smp2.jsonl").toString();
        Run r = run("replay", "--quiet", "--worlds", "8", busy);
        assertThat(r.code()).as(r.err()).isEqualTo(0);
        Run none = run("replay", "--worlds", "0", busy);
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("--worlds must be at least 1");
    }

    @Test
    void malformedTraceIsExit2NamingFileAndLine() throws IOException {
        Path bad = tmp.resolve("bad.jsonl");
        Files.writeString(bad, header("linux-6.12") + "\n{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"12ab\"}\n");
        Run r = run("replay", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().satisfies(l -> assertThat(l).startsWith(bad + ":2: "));
    }

    @Test
    void brokenJsonAndBadUtf8NameTheLine() throws IOException {
        Path json = tmp.resolve("json.jsonl");
        Files.writeString(json, header("linux-6.12") + "\n# comment\n{\"op\":\n");
        Path utf = tmp.resolve("utf.jsonl");
        Files.write(utf, (header("linux-6.12") + "\n{\"op\":\"aliases\",\"cpu\":0,\"note\":\"\u00e9\"}\n").getBytes(
                StandardCharsets.UTF_8));
        byte[] b = Files.readAllBytes(utf);
        b[b.length - 4] = (byte) 0xff; // inside the note on line 2
        Files.write(utf, b);
        Run r = run("replay", json.toString(), utf.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(2);
        assertThat(r.errLines().get(0)).startsWith(json + ":3: ");
        assertThat(r.errLines().get(1)).startsWith(utf + ":2: ");
    }

    @Test
    void missingFileIsExit2() {
        Path missing = tmp.resolve("missing.jsonl");
        Run r = run("replay", missing.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly(missing + ": cannot read: no such file");
    }

    @Test
    void keepsGoingAndReturnsTheWorst() {
        String good = TRACES.resolve("linux-6.12/smp2-smp2.jsonl").toString();
        String stale = TRACES.resolve("linux-6.1/stale-smp1.jsonl").toString();
        Run r = run("replay", "--level", "spec", good, tmp.resolve("none.jsonl").toString(), stale, tmp.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.outLines()).hasSize(2);
        assertThat(r.outLines().get(0)).startsWith("PASS spec " + good);
        assertThat(r.outLines().get(1)).startsWith("FAIL spec " + stale + ":85");
        assertThat(r.errLines()).containsExactly(tmp.resolve("none.jsonl") + ": cannot read: no such file",
                tmp + ": cannot read: is a directory");
        Run divergeOnly = run("replay", "--level", "spec", good, stale);
        assertThat(divergeOnly.code()).isEqualTo(1);
    }

    @Test
    void exactLevelNeedsAnExclusiveTrace() {
        String real = TRACES.resolve("linux-6.12/smp2-smp2.jsonl").toString();
        Run r = run("replay", "--level", "exact", real);
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.errLines()).singleElement().satisfies(l -> assertThat(l).startsWith(real + ":1: not-exclusive"));
    }

    @Test
    void badLevelIsOneLineExit2() {
        Run r = run("replay", "--level", "bogus", "x.jsonl");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.errLines()).singleElement().satisfies(l -> assertThat(l)
                .contains("bogus").contains("spec, structure or exact").endsWith("Try 'vmapref replay --help'"));
    }

    @Test
    void otherArgumentErrorsAreOneLineExit2() {
        for (String[] a : List.of(new String[] {"replay"}, new String[] {"replay", "--frob", "x"},
                new String[] {"frob"}, new String[] {}, new String[] {"explore", "--steps", "many"})) {
            Run r = run(a);
            assertThat(r.code()).as(List.of(a).toString()).isEqualTo(2);
            assertThat(r.out()).isEmpty();
            assertThat(r.errLines()).as(List.of(a).toString()).singleElement()
                    .satisfies(l -> assertThat(l).startsWith("vmapref").contains("Try 'vmapref"));
        }
    }

    // ------------------------------------------------------------------ explore

    @Test
    void explore612FindsNothing() {
        Run r = run("explore", "--steps", "3000");
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("linux-6.12").contains("3000 steps").contains("steps/s").contains("NULL returns: 0")
                .contains("created").contains("retired").contains("MiB").contains("peak live mappings")
                .contains("violations: 0");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void explore61FindsTheStaleTlb() {
        Run r = run("explore", "--profile", "linux-6.1", "--steps", "3000");
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("violations: 1, at step ").contains("rule aliases-no-stale")
                .contains("vm_unmap_aliases() on CPU").contains("<- breaks aliases-no-stale");
        // the calls before it, numbered by step
        assertThat(r.outLines().stream().filter(l -> l.matches("  \\d+\\. vm_.*"))).hasSize(9);
    }

    @Test
    void exploreRejectsBadArguments() {
        Run profile = run("explore", "--profile", "linux-5.0");
        assertThat(profile.code()).isEqualTo(2);
        assertThat(profile.errLines()).singleElement().satisfies(l -> assertThat(l)
                .contains("linux-5.0").contains("linux-4.8, linux-6.1, linux-6.12"));
        for (String[] a : List.of(new String[] {"--cpus", "0"}, new String[] {"--cpus", "65"},
                new String[] {"--steps", "0"}, new String[] {"--full-check-every", "0"})) {
            Run r = run(args("explore", a));
            assertThat(r.code()).as(List.of(a).toString()).isEqualTo(2);
            assertThat(r.out()).isEmpty();
            assertThat(r.errLines()).singleElement().satisfies(l -> assertThat(l).contains(a[0]));
        }
        Run trace = run("explore", "--steps", "10", "--trace", tmp.resolve("no/such/dir/t.jsonl").toString());
        assertThat(trace.code()).isEqualTo(2);
        assertThat(trace.errLines()).singleElement().satisfies(l -> assertThat(l).contains("cannot write the trace"));
    }

    @Test
    void traceOfACleanRunPassesEveryLevel() {
        Path t = tmp.resolve("clean.jsonl");
        Run r = run("explore", "--steps", "3000", "--seed", "3", "--trace", t.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("trace: " + t);
        for (String level : List.of("spec", "structure", "exact")) {
            Run replay = run("replay", "--level", level, t.toString());
            assertThat(replay.code()).as(level + ": " + replay.out() + replay.err()).isZero();
            assertThat(replay.outLines()).singleElement().satisfies(l -> assertThat(l)
                    .startsWith("PASS " + level + " " + t + " (linux-6.12): 3000 calls"));
        }
    }

    @Test
    void traceOfAViolatingRunFailsTheSpecAtTheSameLine() throws IOException {
        Path t = tmp.resolve("stale.jsonl");
        Run r = run("explore", "--profile", "linux-6.1", "--cpus", "3", "--steps", "3000", "--trace", t.toString());
        assertThat(r.code()).isEqualTo(1);
        Matcher m = Pattern.compile("violations: 1, at step (\\d+) \\(trace line (\\d+)\\)").matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        long step = Long.parseLong(m.group(1));
        int line = Integer.parseInt(m.group(2));
        List<String> lines = Files.readAllLines(t);
        assertThat(lines.get(line - 1)).startsWith("{\"op\":\"aliases\"");
        assertThat(lines.stream().filter(l -> l.matches("\\{\"op\":\"(map|unmap|aliases)\".*"))).hasSize((int) step);

        Run spec = run("replay", "--level", "spec", t.toString());
        assertThat(spec.code()).isEqualTo(1);
        assertThat(spec.outLines()).singleElement().satisfies(l -> assertThat(l)
                .startsWith("FAIL spec " + t + ":" + line + " (linux-6.1): aliases-no-stale:"));
        for (String level : List.of("structure", "exact")) {
            Run replay = run("replay", "--level", level, t.toString());
            assertThat(replay.code()).as(level + ": " + replay.out() + replay.err()).isZero();
            assertThat(replay.outLines()).singleElement().satisfies(l -> assertThat(l)
                    .startsWith("PASS " + level + " " + t + " (linux-6.1): " + step + " calls"));
        }
    }

    // ------------------------------------------------------------------ help and version

    @ParameterizedTest
    @ValueSource(strings = {"--help", "-h", "replay --help", "replay -h", "explore --help", "explore -h"})
    void helpWorks(String a) {
        Run r = run(a.split(" "));
        assertThat(r.code()).isZero();
        String cmd = a.contains(" ") ? "vmapref " + a.split(" ")[0] : "vmapref";
        assertThat(r.out()).contains("Usage: " + cmd + " [-hV]").contains("Exit codes");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void helpListsTheCommands() {
        assertThat(run("--help").out()).contains("replay").contains("explore");
    }

    @Test
    void versionWorks() {
        Run r = run("--version");
        assertThat(r.code()).isZero();
        assertThat(r.out()).startsWith("vmapref ").contains("linux-4.8, linux-6.1, linux-6.12");
    }

    static String header(String profile) {
        return "{\"vmaptrace\":1,\"profile\":\"" + profile + "\",\"pageSize\":4096,\"vmallocStart\":\"0xffffc90000000000\","
                + "\"vmallocEnd\":\"0xffffe8ffffffffff\",\"nrCpus\":8192,\"nrCpuIds\":1,\"possibleCpus\":[0],"
                + "\"onlineCpus\":[0]}";
    }
}
