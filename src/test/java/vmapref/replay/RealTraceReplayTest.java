// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vmapref.replay.Replayer.Level;
import vmapref.trace.TraceFormatException;

/** The real Debian traces (shared/traces, captured under QEMU) against the model of their own kernel. */
class RealTraceReplayTest {

    static final Path TRACES = Path.of("src/test/resources/traces");
    static final List<String> NAMES = List.of("basic-smp1-nokaslr", "smp2-smp2", "stale-smp1", "rand-seed1-smp1",
            "rand-seed1-smp2");

    static Stream<Arguments> allTraces() {
        return Stream.of("linux-6.1", "linux-6.12").flatMap(k -> NAMES.stream().map(n -> Arguments.of(k, n)));
    }

    static Path trace(String kernel, String name) {
        return TRACES.resolve(kernel).resolve(name + ".jsonl");
    }

    @ParameterizedTest(name = "{0}/{1}")
    @MethodSource("allTraces")
    void everyRealTraceReplaysAtStructureLevelWithZeroDivergence(String kernel, String name) throws Exception {
        Replayer.Verdict v = Replayer.replay(trace(kernel, name), Level.STRUCTURE);
        assertThat(v.conforms()).as(v.line()).isTrue();
        assertThat(v.profile()).isEqualTo(kernel);
    }

    @ParameterizedTest(name = "linux-6.12/{0}")
    @MethodSource("names")
    void the612TracesMeetTheSpecification(String name) throws Exception {
        Replayer.Verdict v = Replayer.replay(trace("linux-6.12", name), Level.SPEC);
        assertThat(v.conforms()).as(v.line()).isTrue();
    }

    static Stream<String> names() {
        return NAMES.stream();
    }

    /** Debian 6.1.192 lacks fc1e0d980037: vm_unmap_aliases() misses fully used blocks (notes section 7). */
    @ParameterizedTest(name = "linux-6.1/{0} fails spec at line {1}")
    @MethodSource("stale61")
    void the61TracesLeaveStaleRangesAfterVmUnmapAliases(String name, int line) throws Exception {
        Replayer.Verdict v = Replayer.replay(trace("linux-6.1", name), Level.SPEC);
        assertThat(v.conforms()).isFalse();
        assertThat(v.divergence().rule()).isEqualTo("aliases-no-stale");
        assertThat(v.divergence().line()).isEqualTo(line);
        assertThat(v.line()).contains(name + ".jsonl:" + line).contains("aliases-no-stale");
    }

    static Stream<Arguments> stale61() {
        return Stream.of(Arguments.of("stale-smp1", 85), Arguments.of("basic-smp1-nokaslr", 98),
                Arguments.of("rand-seed1-smp1", 205), Arguments.of("rand-seed1-smp2", 1163));
    }

    /** smp2-smp2 never unmaps from a full block before vm_unmap_aliases(), so 6.1 meets the rule there. */
    @Test
    void smp2TraceOn61MeetsTheSpecification() throws Exception {
        assertThat(Replayer.replay(trace("linux-6.1", "smp2-smp2"), Level.SPEC).conforms()).isTrue();
    }

    @ParameterizedTest(name = "{0}/{1} claimed as {2}")
    @MethodSource("wrongProfiles")
    void aTraceClaimedAsAnotherKernelWhereTheyDifferDiverges(String kernel, String name, String claimed,
                                                               @TempDir Path dir) throws Exception {
        Path copy = withProfile(trace(kernel, name), claimed, dir);
        Replayer.Verdict v = Replayer.replay(copy, Level.STRUCTURE);
        assertThat(v.conforms()).as("%s replayed as %s", kernel, claimed).isFalse();
        assertThat(v.divergence().rule()).isIn("aliases-flush-covers", "block-offset");
    }

    static Stream<Arguments> wrongProfiles() {
        return Stream.concat(NAMES.stream().map(n -> Arguments.of("linux-6.12", n, "linux-6.1")),
                NAMES.stream().map(n -> Arguments.of("linux-6.1", n, "linux-6.12")));
    }

    @Test
    void exactLevelNeedsAnExclusiveTrace() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> Replayer.replay(trace("linux-6.12", "basic-smp1-nokaslr"), Level.EXACT))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("basic-smp1-nokaslr.jsonl:1: not-exclusive");
    }

    @Test
    void anUnknownProfileIsAHeaderError(@TempDir Path dir) throws Exception {
        Path copy = withProfile(trace("linux-6.12", "smp2-smp2"), "linux-9.9", dir);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Replayer.replay(copy, Level.STRUCTURE))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining(":1: bad-header-field: unknown profile 'linux-9.9'");
    }

    static Path withProfile(Path src, String profile, Path dir) throws IOException {
        List<String> lines = Files.readAllLines(src);
        lines.set(0, lines.get(0).replaceFirst("\"profile\":\"[^\"]*\"", "\"profile\":\"" + profile + "\""));
        Path out = dir.resolve(src.getFileName());
        Files.write(out, lines);
        return out;
    }
}
