// SPDX-License-Identifier: GPL-2.0-only
package vmapref.properties;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vmapref.hunt.Failure;
import vmapref.hunt.Hunter;
import vmapref.hunt.Report;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;
import vmapref.trace.TraceHeader;
import vmapref.trace.TraceReader;

/**
 * Every mutant is caught by random generation (seed 1, linux-6.12, programs of up to 200 calls)
 * within a bounded number of programs, shrinks to a short program, and its trace replays failing
 * at the level the failure belongs to: {@code spec} when the mutant breaks the specification (a
 * crash on a call within the contract counts), {@code exact} when it only behaves differently
 * from the profile; a divergence passes {@code spec}. The bounds are what this seed measured.
 */
class MutantsTest {

    static final long SEED = 1;

    /** mutant, the failure kind, its level, programs tried at most, shrunk calls at most. */
    static Stream<Arguments> mutants() {
        return Stream.of(
                Arguments.of(Mutant.NEW_BLOCK_AT_LIST_HEAD, Failure.DIVERGENCE, Failure.Level.EXACT, 8, 4),
                Arguments.of(Mutant.SIZE_INT_OVERFLOW, "map-in-range", Failure.Level.SPEC, 5, 1),
                Arguments.of(Mutant.ALIGN_SEARCH_NOT_LOWEST, Failure.DIVERGENCE, Failure.Level.EXACT, 18, 7),
                Arguments.of(Mutant.STALE_TLB_FULL_BLOCK, "aliases-no-stale", Failure.Level.SPEC, 19, 4),
                Arguments.of(Mutant.HASH_INDEX_POSSIBLE_MASK, "no-crash-in-contract", Failure.Level.SPEC, 4, 1),
                Arguments.of(Mutant.COUNT_ZERO_NULL, "no-crash-in-contract", Failure.Level.SPEC, 27, 1),
                Arguments.of(Mutant.FLUSH_DIRTY_AGAIN, Failure.DIVERGENCE, Failure.Level.EXACT, 7, 4),
                Arguments.of(Mutant.PURGE_USABLE_BLOCKS, Failure.DIVERGENCE, Failure.Level.EXACT, 18, 3));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("mutants")
    void caughtShrunkAndReplayed(Mutant m, String kind, Failure.Level level, int maxPrograms, int maxCalls,
                                 @TempDir Path dir) throws Exception {
        Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(Profile.LINUX_6_12, m, SEED, 200, 200));
        assertThat(r.found()).as("%s caught within 200 programs", m).isNotNull();
        Hunter.Found f = r.found();
        Failure v = f.failure();
        assertThat(v.kind()).isEqualTo(kind);
        assertThat(v.level()).isEqualTo(level);
        assertThat(f.programsTried()).as("programs until the first counterexample").isLessThanOrEqualTo(maxPrograms);
        assertThat(f.shrunk().size()).as("shrunk calls:%n%s", Report.listing(f.shrunk())).isLessThanOrEqualTo(maxCalls);
        assertThat(f.shrunk().size()).isLessThanOrEqualTo(f.original().size());
        assertThat(v.step()).isEqualTo(f.shrunk().size()); // the failing call is the last one

        Path trace = dir.resolve("hunt.jsonl");
        Report.writeTrace(f.shrunk(), trace, Report.note(r.settings(), f.index()));
        try (TraceReader in = TraceReader.open(trace)) {
            TraceHeader h = in.header();
            assertThat(h.profile()).isEqualTo("linux-6.12");
            assertThat(h.exclusive()).isTrue();
            assertThat(h.flushes()).isTrue();
            assertThat(h.extraText("note")).startsWith("mutant " + m.id() + ": found by vmapref hunt seed " + SEED);
        }
        Replayer.Verdict spec = Replayer.replay(trace, Replayer.Level.SPEC);
        Replayer.Verdict exact = Replayer.replay(trace, Replayer.Level.EXACT);
        assertThat(exact.conforms()).as(exact.line()).isFalse();
        if (level == Failure.Level.SPEC) {
            assertThat(spec.conforms()).as(spec.line()).isFalse();
            assertThat(spec.divergence().rule()).isEqualTo(kind);
        } else {
            assertThat(spec.conforms()).as("a divergence is legal: %s", spec.line()).isTrue();
        }
        assertThat(Report.replayCommand(v, trace)).isEqualTo("java -jar target/vmapref.jar replay --level "
                + level.id() + " " + trace);
    }
}
