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

/** The real Debian traces (captured under QEMU, see the README of the traces) against the model of their own kernel. */
class RealTraceReplayTest {

    static final Path TRACES = Path.of("src/test/resources/traces");
    static final List<String> NAMES = List.of("basic-smp1-nokaslr", "smp2-smp2", "stale-smp1", "rand-seed1-smp1",
            "rand-seed1-smp2");

    /** linux-7.2 has no rand-seed1-smp1; 6.12 and 7.2 have pooldecay-smp2. */
    static List<String> names(String kernel) {
        List<String> out = new java.util.ArrayList<>(NAMES);
        if (kernel.equals("linux-7.2")) {
            out.remove("rand-seed1-smp1");
        }
        if (!kernel.equals("linux-6.1")) {
            out.add("pooldecay-smp2");
        }
        return out;
    }

    static Stream<Arguments> allTraces() {
        return Stream.of("linux-6.1", "linux-6.12", "linux-7.2").flatMap(k -> names(k).stream().map(n -> Arguments.of(k, n)));
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

    @ParameterizedTest(name = "{0}/{1}")
    @MethodSource("traces612And72")
    void the612And72TracesMeetTheSpecification(String kernel, String name) throws Exception {
        Replayer.Verdict v = Replayer.replay(trace(kernel, name), Level.SPEC);
        assertThat(v.conforms()).as(v.line()).isTrue();
    }

    static Stream<Arguments> traces612And72() {
        return allTraces().filter(a -> !a.get()[0].equals("linux-6.1"));
    }

    /**
     * After a purge 6.12.117's decay_va_pool_node() empties a pool of 1 to 3 areas, 7.2's keeps it: the
     * freed 100-page area goes to CPU 1's map under 6.12 and stays in node 0's pool for CPU 0 under 7.2.
     * Each trace passes under its own profile and diverges under the other's, on the pool decision.
     */
    @ParameterizedTest(name = "{0}/pooldecay-smp2 claimed as {1}: {2} at line {3}")
    @MethodSource("poolDecay")
    void thePoolTracesSeparate612From72(String kernel, String claimed, String rule, int line, @TempDir Path dir)
            throws Exception {
        Replayer.Verdict v = Replayer.replay(withProfile(trace(kernel, "pooldecay-smp2"), claimed, dir), Level.STRUCTURE);
        assertThat(v.conforms()).as(v.line()).isFalse();
        assertThat(v.divergence().rule()).isEqualTo(rule);
        assertThat(v.divergence().line()).isEqualTo(line);
    }

    static Stream<Arguments> poolDecay() {
        return Stream.of(Arguments.of("linux-6.12", "linux-7.2", "placement-pooled", 106),
                Arguments.of("linux-7.2", "linux-6.12", "area-lowest-fit", 110));
    }

    @Test
    void aBusyEventSaysAnotherUserTookThePooledArea(@TempDir Path dir) throws Exception {
        Path src = withProfile(trace("linux-6.12", "pooldecay-smp2"), "linux-7.2", dir);
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(src));
        lines.add(105, "{\"op\":\"busy\",\"start\":\"0xffffc90000455000\",\"end\":\"0xffffc900004b9000\"}");
        Path busy = dir.resolve("busy.jsonl");
        Files.write(busy, lines);
        Replayer.Verdict v = Replayer.replay(busy, Level.STRUCTURE);
        assertThat(v.divergence() == null ? null : v.divergence().rule()).isNotEqualTo("placement-pooled");
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
        return Stream.of(Stream.of("linux-6.12", "linux-7.2").flatMap(k -> names(k).stream()
                                .filter(n -> !n.equals("pooldecay-smp2")).map(n -> Arguments.of(k, n, "linux-6.1"))),
                        NAMES.stream().map(n -> Arguments.of("linux-6.1", n, "linux-6.12")),
                        NAMES.stream().map(n -> Arguments.of("linux-6.1", n, "linux-7.2")))
                .flatMap(x -> x);
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
