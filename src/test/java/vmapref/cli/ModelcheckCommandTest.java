// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import vmapref.kernel.Mutant;
import vmapref.modelcheck.Harness;

/** {@code vmapref modelcheck}: lists, argument errors and a Lincheck run that finds the open question's window. */
class ModelcheckCommandTest {

    @Test
    void listHarnessesNamesEachHarnessFirst() {
        MainTest.Run r = MainTest.run("modelcheck", "--list-harnesses");
        assertThat(r.code()).isZero();
        for (Harness h : Harness.all()) {
            assertThat(r.out()).containsPattern("(?m)^" + h.name + "  ");
        }
        assertThat(r.out().lines()).hasSize(Harness.all().length);
    }

    @Test
    void listMutantsNamesEachConcurrencyMutantWithItsFix() {
        MainTest.Run r = MainTest.run("modelcheck", "--list-mutants");
        assertThat(r.code()).isZero();
        long concurrent = 0;
        for (Mutant m : Mutant.values()) {
            if (m.concurrent()) {
                concurrent++;
                assertThat(r.out()).containsPattern("(?m)^" + m.id() + "  .*fix: " + java.util.regex.Pattern.quote(m.fix()));
            } else {
                assertThat(r.out()).doesNotContain(m.id() + "  ");
            }
        }
        assertThat(r.out().lines()).hasSize((int) concurrent);
    }

    @Test
    void badArgumentsExitTwoWithOneLine() {
        String[][] bad = {
            {"modelcheck", "--engine", "spin"},
            {"modelcheck", "--harness", "no-such-harness"},
            {"modelcheck", "--mutant", "flush-dirty-again"},
            {"modelcheck", "--mutant", "wrong-vbq-lock", "--profile", "linux-6.1"},
            {"modelcheck", "--profile", "linux-4.8"},
            {"modelcheck", "--invocations", "0"},
            {"modelcheck", "--mutant", "no-such-bug"},
        };
        for (String[] args : bad) {
            MainTest.Run r = MainTest.run(args);
            assertThat(r.code()).as(String.join(" ", args)).isEqualTo(2);
            assertThat(r.err().strip().lines()).as(r.err()).hasSize(1);
            assertThat(r.out()).isEmpty();
        }
    }

    @Test
    void huntRefusesAConcurrencyMutant() {
        MainTest.Run r = MainTest.run("hunt", "--mutant", "publish-before-init");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("modelcheck --mutant publish-before-init");
    }

    @Test
    void lincheckFindsTheRetireWindowAndPrintsTheInterleaving() {
        MainTest.Run r = MainTest.run("modelcheck", "--harness", "retire-vs-aliases", "--invocations", "200");
        assertThat(r.code()).as(r.err()).isEqualTo(1);
        assertThat(r.out()).containsPattern("lincheck +retire-vs-aliases +linux-6.12 +no mutant .*VIOLATION aliases-no-stale")
                .contains("The following interleaving leads to the error")
                .containsPattern("\\|\\s+Thread 1\\s+\\|\\s+Thread 2\\s+\\|")
                .doesNotContain("Detailed trace");
    }
}
