// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.modelcheck.jpf.JpfResult.Verdict;

/** Reading verdicts from JPF console output captured from real runs; runs without JPF. */
class JpfOutputTest {
    static final String BAR = "====================================================== ";
    static final String BANNER = "JavaPathfinder core system v8.0 (rev 7ea25de453111be77d09e12eb196fecf2dc6d365)\n\n\n"
            + BAR + "system under test\nvmapref.modelcheck.jpf.toy.X.main()\n\n"
            + BAR + "search started: 11/30/26, 7:42 AM\n"
            + "[WARNING] orphan NativePeer method: jdk.internal.misc.Unsafe.getUnsafe()Lsun/misc/Unsafe;\n";

    static String stats(String states, String search) {
        return "\n" + BAR + "statistics\n"
                + "elapsed time:       00:01:02\n"
                + "states:             " + states + "\n"
                + "search:             " + search + "\n"
                + "choice generators:  thread=289 (signal=0,lock=93,sharedRef=142,threadApi=17,reschedule=37), data=0\n"
                + "heap:               new=527,released=62,maxLive=510,gcCycles=500\n"
                + "instructions:       13694\n"
                + "max memory:         388MB\n"
                + "loaded code:        classes=83,methods=1867\n\n"
                + BAR + "search finished: 11/30/26, 7:42 AM\n";
    }

    static final String CLEAN = BANNER + "\n" + BAR + "results\nno errors detected\n"
            + stats("new=289,visited=331,backtracked=620,end=3", "maxDepth=21,constraints=0");

    static final String LOST_UPDATE = BANNER + "\n" + BAR + "error 1\n"
            + "gov.nasa.jpf.vm.NoUncaughtExceptionsProperty\n"
            + "java.lang.AssertionError: lost update: value=1\n"
            + "\tat vmapref.modelcheck.jpf.toy.LostUpdate.main(LostUpdate.java:44)\n\n\n"
            + BAR + "output #1\n"
            + "=== vmapref interleaving ===\na read 0\nb read 0\na wrote 1\nb wrote 1\nvalue=1, expected 2\n"
            + "=== end interleaving ===\n\n"
            + BAR + "trace #1\n"
            + "------------------------------------------------------ transition #0 thread: 0\n"
            + "gov.nasa.jpf.vm.choice.ThreadChoiceFromSet {id:\"ROOT\" ,1/1,isCascaded:false}\n\n"
            + BAR + "snapshot #1\nthread java.lang.Thread:{id:0,name:main,status:RUNNING}\n\n"
            + BAR + "results\n"
            + "error #1: gov.nasa.jpf.vm.NoUncaughtExceptionsProperty \"java.lang.AssertionError: lost update: value=1  at...\"\n"
            + stats("new=184,visited=97,backtracked=254,end=6", "maxDepth=37,constraints=0");

    static JpfResult parse(String output) {
        return JpfRunner.parse(output, 0, Duration.ofSeconds(2));
    }

    @Test
    void cleanRunPasses() {
        JpfResult r = parse(CLEAN);
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.PASSED);
        assertThat(r.statistics()).hasValueSatisfying(s -> {
            assertThat(s.newStates()).isEqualTo(289);
            assertThat(s.visitedStates()).isEqualTo(331);
            assertThat(s.backtracked()).isEqualTo(620);
            assertThat(s.endStates()).isEqualTo(3);
            assertThat(s.maxDepth()).isEqualTo(21);
            assertThat(s.constraintsHit()).isZero();
            assertThat(s.elapsed()).isEqualTo(Duration.ofSeconds(62));
            assertThat(s.maxMemoryMb()).isEqualTo(388);
            assertThat(s.states()).isEqualTo(620);
        });
        assertThat(r.errors()).isEmpty();
        assertThat(r.property()).isEmpty();
        assertThat(r.hasInterleaving()).isFalse();
        assertThat(r.output()).isEqualTo(CLEAN);
    }

    @Test
    void violationCarriesPropertyErrorInterleavingAndTrace() {
        JpfResult r = parse(LOST_UPDATE);
        assertThat(r.verdict()).isEqualTo(Verdict.VIOLATION);
        assertThat(r.property()).isEqualTo("gov.nasa.jpf.vm.NoUncaughtExceptionsProperty");
        assertThat(r.errorText()).contains("java.lang.AssertionError: lost update: value=1");
        assertThat(r.errors()).hasSize(1);
        assertThat(r.reason()).startsWith("error #1: gov.nasa.jpf.vm.NoUncaughtExceptionsProperty");
        assertThat(r.interleaving()).isEqualTo("a read 0\nb read 0\na wrote 1\nb wrote 1\nvalue=1, expected 2");
        assertThat(r.trace()).contains("transition #0 thread: 0");
    }

    @Test
    void interleavingPrintedAsTheSearchGoesIsTakenFromJustBeforeTheError() {
        String out = BANNER
                + "=== vmapref interleaving ===\nfrom an earlier path\n=== end interleaving ===\n"
                + "=== vmapref interleaving ===\nthe violating path\n=== end interleaving ===\n\n"
                + BAR + "error 1\ngov.nasa.jpf.vm.NoUncaughtExceptionsProperty\njava.lang.AssertionError\n\n"
                + BAR + "results\nerror #1: gov.nasa.jpf.vm.NoUncaughtExceptionsProperty \"java.lang.AssertionError\"\n"
                + stats("new=5,visited=0,backtracked=4,end=1", "maxDepth=5,constraints=0");
        assertThat(parse(out).interleaving()).isEqualTo("the violating path");
    }

    @Test
    void aHitDepthLimitIsAnIncompleteSearch() {
        String out = BANNER
                + "\n" + BAR + "search constraint\ndepth limit reached: 5\n"
                + "\n" + BAR + "search constraint\ndepth limit reached: 5\n"
                + "\n" + BAR + "results\nno errors detected\n"
                + stats("new=21,visited=12,backtracked=33,end=0", "maxDepth=5,constraints=15");
        JpfResult r = parse(out);
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).startsWith("search incomplete").contains("depth limit reached: 5").contains("15 hits");
        assertThat(r.constraints()).containsExactly("depth limit reached: 5");
    }

    @Test
    void aBudgetHitWithEndStatesIsStillIncomplete() {
        String out = BANNER
                + "\n" + BAR + "search constraint\nmax new state count exceeded: 50\n"
                + "\n" + BAR + "results\nno errors detected\n"
                + stats("new=51,visited=23,backtracked=60,end=2", "maxDepth=21,constraints=1");
        JpfResult r = parse(out);
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("max new state count exceeded: 50").contains("1 hit)");
    }

    @Test
    void theConstraintCountAloneIsEnough() {
        JpfResult r = parse(BANNER + "\n" + BAR + "results\nno errors detected\n"
                + stats("new=51,visited=23,backtracked=60,end=2", "maxDepth=21,constraints=3"));
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).startsWith("search incomplete");
    }

    @Test
    void noEndStateIsAFailure() {
        JpfResult r = parse(BANNER + "\n" + BAR + "results\nno errors detected\n"
                + stats("new=1,visited=0,backtracked=1,end=0", "maxDepth=1,constraints=0"));
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("end=0");
    }

    @Test
    void aMissingTargetClassIsAFailure() {
        JpfResult r = parse("[SEVERE] cannot load application class vmapref.modelcheck.jpf.toy.Nope\n");
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("no results section")
                .contains("cannot load application class vmapref.modelcheck.jpf.toy.Nope");
        assertThat(r.statistics()).isEmpty();
    }

    @Test
    void aJpfCrashIsAFailureNamingTheException() {
        String out = BANNER
                + "java.lang.NullPointerException: Cannot invoke \"gov.nasa.jpf.vm.ClassInfo.getSuperClass(String)\"\n"
                + "\tat gov.nasa.jpf.jvm.bytecode.VirtualInvocation.getInvokedMethod(VirtualInvocation.java:163)\n"
                + "\tat gov.nasa.jpf.tool.RunJPF.main(RunJPF.java:116)\n";
        JpfResult r = parse(out);
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("no results section").contains("java.lang.NullPointerException");
    }

    @Test
    void aNonZeroExitIsAFailureEvenWithResults() {
        JpfResult r = JpfRunner.parse(CLEAN, 1, Duration.ZERO);
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).startsWith("RunJPF exited with code 1");
    }

    @Test
    void anUnknownResultIsAFailure() {
        JpfResult r = parse(BANNER + "\n" + BAR + "results\nsomething else\n"
                + stats("new=5,visited=0,backtracked=4,end=1", "maxDepth=5,constraints=0"));
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("something else");
    }

    // --- the command line, without running anything

    @TempDir
    Path tmp;

    @Test
    void defaultsComeFirstUnlessTheFileSetsThemAndExtrasComeLast() throws IOException {
        Path jpf = Files.writeString(tmp.resolve("x.jpf"),
                "target=X\n# vm.tree_output=true is only a comment\nreport.console.constraint = constraint,snapshot\n"
                        + "listener+=a.B,\\\n  vm.tree_output=not-a-key\n");
        JpfRunner runner = new JpfRunner(tmp.resolve("home"), tmp);
        List<String> cmd = runner.command(Path.of("x.jpf"), List.of("+search.depth_limit=100"));
        assertThat(cmd.get(0)).endsWith("java");
        assertThat(cmd).containsSubsequence("-jar", tmp.resolve("home/build/RunJPF.jar").toString(),
                "+vm.tree_output=false", "+report.console.property_violation=error,output,trace,snapshot",
                "+search.depth_limit=100", jpf.toString());
        assertThat(cmd).noneMatch(a -> a.startsWith("+report.console.constraint="));
        assertThat(cmd.get(cmd.size() - 1)).isEqualTo(jpf.toString());
        assertThat(JpfRunner.keysSetIn(jpf)).containsExactlyInAnyOrder("target", "report.console.constraint", "listener");
    }

    @Test
    void extraArgumentsMustBePlusKeyEqualsValue() {
        JpfRunner runner = new JpfRunner(tmp, tmp);
        assertThatThrownBy(() -> runner.command(Path.of("x.jpf"), List.of("search.depth_limit=5")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> runner.command(Path.of("x.jpf"), List.of("+=5")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aMissingJpfFileFailsWithoutStartingJpf() {
        JpfResult r = new JpfRunner(tmp, tmp).run(Path.of("missing.jpf"));
        assertThat(r.verdict()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).startsWith("no such .jpf file: ").endsWith("missing.jpf");
    }

    @Test
    void longOutputKeepsItsHeadAndTail() {
        JpfRunner.HeadTail sink = new JpfRunner.HeadTail(4, 6);
        byte[] bytes = "abcdefghijklmnopqrstuvwxyz".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        sink.write(bytes, 3);
        assertThat(sink.text()).isEqualTo("abc");
        sink.write(java.util.Arrays.copyOfRange(bytes, 3, 26), 23);
        assertThat(sink.text()).isEqualTo("abcd\n[... 16 bytes of JPF output dropped ...]\nuvwxyz");
    }

    @Test
    void withMethodsCopy() {
        JpfRunner runner = new JpfRunner(tmp, tmp);
        assertThat(runner.timeout()).isEqualTo(JpfRunner.DEFAULT_TIMEOUT);
        assertThat(runner.withTimeout(Duration.ofSeconds(5)).timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(runner.withTimeout(Duration.ofSeconds(5))).isNotEqualTo(runner);
        assertThatThrownBy(() -> runner.withTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    }
}
