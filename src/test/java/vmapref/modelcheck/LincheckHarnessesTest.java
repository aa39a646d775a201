// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Lincheck's model checker on every harness, in the default suite: the unmutated fast path passes
 * (retire-vs-aliases aside: its violation is the open question's answer), every concurrency
 * mutant is caught with the violation the table expects, and the report shows the interleaving
 * one column per thread. Java PathFinder gives the same verdicts ({@code JpfHarnessesTest}, -Pjpf).
 */
class LincheckHarnessesTest {
    /** Interleavings for a harness that must pass: a bounded sample (the CLI's default explores 5,000). */
    static final int PASS_INVOCATIONS = 200;
    /** For a violation: Lincheck stops at the first; every expected one is found well within this. */
    static final int FIND_INVOCATIONS = 1_000;

    static Stream<Expectations.Case> cases() {
        return Expectations.cases().stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lincheckGivesTheExpectedVerdict(Expectations.Case c) {
        ModelChecker.Verdict v = ModelChecker.lincheck(c.harness(), c.profile(), c.mutant(),
                c.expected().equals("pass") ? PASS_INVOCATIONS : FIND_INVOCATIONS);
        System.out.println(v.line());
        if (c.expected().equals("pass")) {
            assertThat(v.violation()).as("%s:%n%s", c.label(), v.report()).isFalse();
            return;
        }
        assertThat(v.violation()).as(c.label()).isTrue();
        assertThat(c.accepts(v.rule())).as("%s: rule %s, expected %s:%n%s", c.label(), v.rule(), c.expected(), v.report())
                .isTrue();
        assertThat(v.interleaving()).contains("The following interleaving leads to the error")
                .containsPattern("\\|\\s+Thread 1\\s+\\|\\s+Thread 2\\s+\\|");
    }
}
