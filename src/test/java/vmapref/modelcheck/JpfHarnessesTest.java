// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vmapref.modelcheck.Expectations.Case;
import vmapref.modelcheck.jpf.JpfHome;

/**
 * Java PathFinder on every case of {@link Expectations#cases()}: each harness's {@code .jpf} file
 * under {@code jpf-configs/}, explored completely, must give the expected verdict. Needs a jpf-core
 * build ({@code JPF_HOME=... mvn -Pjpf test}); each test skips with {@link JpfHome}'s message
 * otherwise. JPF runs the compiled classes in {@code target/classes}.
 */
@Tag("jpf")
class JpfHarnessesTest {
    /** The project root: surefire runs the tests there. */
    static final Path ROOT = Path.of("").toAbsolutePath();
    /** Kernel functions the fast path reports as steps; a violation's table must show at least one. */
    static final String[] KERNEL_FUNCTIONS = {"vb_alloc", "vb_free", "_vm_unmap_aliases"};

    /** The verdict lines, in order, printed together at the end (docs/modelcheck.md quotes them). */
    private static final List<String> LINES = new ArrayList<>();
    private static Duration total = Duration.ZERO;

    /** Per test rather than @BeforeAll, so that each case is reported as skipped, with the reason. */
    @BeforeEach
    void jpf() {
        JpfHome.Lookup home = JpfHome.locate();
        Assumptions.assumeTrue(home.found(), home.problem());
    }

    static Stream<Arguments> cases() {
        return Expectations.cases().stream().map(c -> Arguments.of(Named.of(c.label(), c)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void jpfGivesTheExpectedVerdict(Case c) {
        ModelChecker.Verdict v = ModelChecker.jpf(c.harness(), c.profile(), c.mutant(), ROOT);
        System.out.println(v.line());
        synchronized (LINES) {
            LINES.add(v.line());
            total = total.plus(v.time());
        }
        if (v.violation()) {
            System.out.println(v.interleaving());
        }

        assertThat(v.failed()).as("JPF gave no verdict for %s: %s%n%s", c.label(), v.line(), v.report()).isNull();
        if (c.expected().equals("pass")) {
            assertThat(v.violation()).as("%s should pass, but:%n%s%n%s%n%s", c.label(), v.line(), v.interleaving(),
                    v.report()).isFalse();
        } else {
            assertThat(v.violation()).as("%s should break %s, but: %s%n%s", c.label(), c.expected(), v.line(),
                    v.report()).isTrue();
            assertThat(c.accepts(v.rule())).as("%s names rule \"%s\", expected \"%s\"; its report:%n%s", c.label(),
                    v.rule(), c.expected(), v.report()).isTrue();
            assertThat(v.interleaving()).as("the interleaving of %s", c.label())
                    .contains(c.harness().threadNames)
                    .containsAnyOf(KERNEL_FUNCTIONS);
        }
    }

    @AfterAll
    static void summary() {
        if (LINES.isEmpty()) {
            return;
        }
        System.out.println("JPF verdicts:");
        LINES.forEach(System.out::println);
        System.out.printf("%d runs, %.1f s in all%n", LINES.size(), total.toMillis() / 1000.0);
    }
}
