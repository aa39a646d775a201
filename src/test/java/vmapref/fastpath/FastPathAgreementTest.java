// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vmapref.hunt.Execution;
import vmapref.hunt.Hunter;
import vmapref.hunt.Property;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * Part of the layering: the concurrent fast path, run on one thread, computes exactly what the
 * reference implementation computes on every program of the counterexample engine's generator:
 * the same addresses, the same NULLs, the same flushes, block events and WARNs in the same order.
 */
class FastPathAgreementTest {
    static final int PROGRAMS = 1500;

    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void fastPathAgreesWithTheReferenceOnGeneratedPrograms(Profile profile) {
        Hunter.Settings s = Hunter.Settings.programs(profile, null, 20261130L, 120, PROGRAMS)
                .ignoring(Property.knownBroken(profile));
        long calls = 0;
        long flushes = Differential.flushesCompared;
        long nulls = Differential.nullsCompared;
        for (long i = 0; i < PROGRAMS; i++) {
            Execution e = Hunter.generate(s, i);
            String disagreement = Differential.compare(e);
            assertThat(disagreement).as("program %d of seed %d (%s):%n%s", i, s.seed(), profile, e.program().listing())
                    .isNull();
            calls += e.calls();
        }
        assertThat(calls).as("calls compared").isGreaterThan(PROGRAMS * 10L);
        assertThat(Differential.flushesCompared - flushes).as("flushes compared").isGreaterThan(PROGRAMS / 2);
        assertThat(Differential.nullsCompared - nulls).as("NULLs compared").isGreaterThan(10);
        System.out.printf("%s: %d programs, %d calls, %d flushes, %d NULLs agree%n", profile, PROGRAMS, calls,
                Differential.flushesCompared - flushes, Differential.nullsCompared - nulls);
    }

    /** The check can fail: a reference with a sequential mutant disagrees with the plain fast path somewhere. */
    @ParameterizedTest
    @EnumSource(value = Mutant.class, names = {"FLUSH_DIRTY_AGAIN", "PURGE_USABLE_BLOCKS", "NEW_BLOCK_AT_LIST_HEAD", "ALIGN_SEARCH_NOT_LOWEST"})
    void aMutatedReferenceDisagrees(Mutant m) {
        Hunter.Settings s = Hunter.Settings.programs(Profile.LINUX_6_12, m, 7L, 120, 400)
                .ignoring(Set.of(Property.kinds().toArray(new String[0])));
        String found = null;
        for (long i = 0; i < 400 && found == null; i++) {
            found = Differential.compare(Hunter.generate(s, i));
        }
        assertThat(found).as("a disagreement with mutant " + m).isNotNull();
    }
}
