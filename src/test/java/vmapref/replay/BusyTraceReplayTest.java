// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import vmapref.replay.Replayer.Level;

/**
 * Captures of Debian's 6.12.117 and 7.2.13 on two CPUs with background load ({@code capture --load}):
 * random programs of 2000 calls among thousands of other tasks' vm_map_ram(), vm_unmap_ram() and
 * vm_unmap_aliases() calls and vmap-node shrinker runs. They replay at structure level with zero
 * divergence and meet the specification, and diverge without the other tasks' events and as the other
 * kernel.
 */
class BusyTraceReplayTest {

    static Stream<Arguments> busy() {
        // kernel, name, other tasks' calls, shrinker runs
        return Stream.of(Arguments.of("linux-6.12", "busy-all-seed2-smp2", 13747, 39),
                Arguments.of("linux-6.12", "busy-modules-seed3-smp2", 864, 0),
                Arguments.of("linux-7.2", "busy-all-seed3-smp2", 9012, 41),
                Arguments.of("linux-7.2", "busy-erofs-seed5-smp2", 7525, 25));
    }

    /** Version 2 captures of a busy kernel, apart from the quiet ones in {@code traces/}. */
    static final Path BUSY = Path.of("src/test/resources/traces-busy");

    static Path trace(String kernel, String name) {
        return BUSY.resolve(kernel).resolve(name + ".jsonl");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("busy")
    void aBusyCaptureReplaysAtStructureLevelWithZeroDivergence(String kernel, String name, int others, int shrinks) throws Exception {
        List<String> lines = Files.readAllLines(trace(kernel, name));
        long foreignCalls = lines.stream().filter(l -> l.contains("\"by\":\"other\"") && !l.contains("\"op\":\"flush\"")).count();
        long shrinkerRuns = lines.stream().filter(l -> l.contains("\"op\":\"shrink\"")).count();
        assertThat(foreignCalls).isEqualTo(others);
        assertThat(shrinkerRuns).isEqualTo(shrinks);
        Replayer.Verdict v = Replayer.replay(trace(kernel, name), Level.STRUCTURE);
        assertThat(v.conforms()).as(v.line()).isTrue();
    }

    /** What other tasks unmapped while the program's vm_unmap_aliases() ran may stay stale; nothing else does. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("busy")
    void aBusyCaptureMeetsTheSpecification(String kernel, String name, int others, int shrinks) throws Exception {
        Replayer.Verdict v = Replayer.replay(trace(kernel, name), Level.SPEC);
        assertThat(v.conforms()).as(v.line()).isTrue();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("busy")
    void withoutTheOtherTasksEventsItDiverges(String kernel, String name, int others, int shrinks, @TempDir Path dir) throws Exception {
        Path quiet = dir.resolve(name + ".jsonl");
        Files.write(quiet, Files.readAllLines(trace(kernel, name)).stream()
                .filter(l -> !l.contains("\"by\":\"other\"") && !l.contains("\"op\":\"shrink\"")).toList());
        Replayer.Verdict v = Replayer.replay(quiet, Level.STRUCTURE);
        assertThat(v.conforms()).as(v.line()).isFalse();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("busy")
    void claimedAsTheOtherKernelItDiverges(String kernel, String name, int others, int shrinks, @TempDir Path dir) throws Exception {
        Replayer.Verdict v = Replayer.replay(RealTraceReplayTest.withProfile(trace(kernel, name),
                kernel.equals("linux-7.2") ? "linux-6.12" : "linux-7.2", dir), Level.STRUCTURE);
        assertThat(v.conforms()).as(v.line()).isFalse();
    }
}
