// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import vmapref.modelcheck.jpf.JpfResult.Verdict;

/**
 * Runs real JPF on the toy programs in {@code toy/} ({@code .jpf} files in src/test/resources/jpf).
 * Needs a jpf-core build (-Pjpf with JPF_HOME set); skips with JpfHome's message otherwise.
 */
@Tag("jpf")
class JpfRunnerTest {
    static final Path ROOT = Path.of("").toAbsolutePath();
    static final Path CONFIGS = Path.of("src/test/resources/jpf");
    static JpfRunner runner;

    /** Per test rather than @BeforeAll, so that each test is reported as skipped, with the reason. */
    @BeforeEach
    void jpf() {
        JpfHome.Lookup home = JpfHome.locate();
        Assumptions.assumeTrue(home.found(), home.problem());
        if (runner == null) {
            runner = new JpfRunner(home.require(), ROOT).withTimeout(Duration.ofMinutes(2));
        }
    }

    static JpfResult run(String toy, String... extraArgs) {
        JpfResult r = runner.run(CONFIGS.resolve("toy-" + toy + ".jpf"), extraArgs);
        System.out.println("[jpf] " + toy + " " + String.join(" ", extraArgs) + ": " + r.summary());
        return r;
    }

    @Test
    void aCleanLockedProgramPasses() {
        JpfResult r = run("CleanLocked");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.PASSED);
        assertThat(r.statistics()).hasValueSatisfying(s -> {
            assertThat(s.endStates()).isPositive();
            assertThat(s.newStates()).isPositive();
            assertThat(s.maxDepth()).isPositive();
            assertThat(s.constraintsHit()).isZero();
        });
        assertThat(r.constraints()).isEmpty();
        assertThat(r.exitCode()).isZero();
    }

    @Test
    void aLockOrderDeadlockIsFound() {
        JpfResult r = run("LockOrderDeadlock");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.VIOLATION);
        assertThat(r.property()).isEqualTo("gov.nasa.jpf.vm.NotDeadlockedProperty");
        assertThat(r.errorText()).contains("deadlock encountered").contains("name:a").contains("name:b");
        assertThat(r.hasInterleaving()).isFalse();
    }

    @Test
    void anAssertionInOneInterleavingIsFoundWithItsPrintedInterleaving() {
        JpfResult r = run("LostUpdate");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.VIOLATION);
        assertThat(r.property()).isEqualTo("gov.nasa.jpf.vm.NoUncaughtExceptionsProperty");
        assertThat(r.errorText()).contains("java.lang.AssertionError: lost update: value=1");
        // both threads read 0 before either wrote: the lost update
        assertThat(r.interleaving().lines()).hasSize(5)
                .contains("a read 0", "b read 0", "a wrote 1", "b wrote 1", "value=1, expected 2");
        assertThat(r.interleaving()).doesNotContain("===");
        assertThat(r.trace()).contains("transition #0");
    }

    @Test
    void theInterleavingIsFoundInOutputPrintedAsTheSearchGoesToo() {
        JpfResult r = run("LostUpdate", "+vm.tree_output=true", "+report.console.property_violation=error");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.VIOLATION);
        assertThat(r.interleaving()).endsWith("value=1, expected 2");
        assertThat(r.trace()).isEmpty();
    }

    @Test
    void aMissingTargetClassFails() {
        JpfResult r = run("MissingTarget");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("no results section").contains("vmapref.modelcheck.jpf.toy.NoSuchTarget");
        assertThat(r.exitCode()).as("RunJPF.jar exits 0 even then").isZero();
    }

    @Test
    void aRecordsEqualsEndsEveryPathSoTheRunFails() {
        JpfResult r = run("RecordEquals");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("end=0");
        assertThat(r.output()).contains("no errors detected");
    }

    @Test
    void aHitDepthLimitFails() {
        JpfResult r = run("CleanLocked", "+search.depth_limit=5");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).startsWith("search incomplete").contains("depth limit reached: 5");
        assertThat(r.constraints()).containsExactly("depth limit reached: 5");
    }

    @Test
    void aHitStateBudgetFailsEvenThoughSomePathsEnded() {
        JpfResult r = run("CleanLocked", "+listener=gov.nasa.jpf.listener.BudgetChecker", "+budget.max_new_states=50");
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).contains("max new state count exceeded: 50");
        assertThat(r.statistics()).hasValueSatisfying(s -> assertThat(s.endStates()).isPositive());
    }

    @Test
    void aTimeOutFails() {
        JpfResult r = runner.withTimeout(Duration.ofMillis(300)).run(CONFIGS.resolve("toy-CleanLocked.jpf"));
        assertThat(r.verdict()).as(r.describe()).isEqualTo(Verdict.FAILED);
        assertThat(r.reason()).startsWith("timed out");
        assertThat(r.exitCode()).isEqualTo(-1);
    }
}
