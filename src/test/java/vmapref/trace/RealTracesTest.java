// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every captured kernel trace under src/test/resources/traces parses completely. */
class RealTracesTest {
    static final Path TRACES = Path.of("src/test/resources/traces");
    static final List<String> OPS = List.of("map", "unmap", "aliases", "flush", "busy");

    static Stream<Path> traces() throws IOException {
        try (Stream<Path> s = Files.walk(TRACES)) {
            List<Path> files = s.filter(p -> p.toString().endsWith(".jsonl")).sorted().collect(Collectors.toList());
            assertThat(files).as("traces under " + TRACES.toAbsolutePath()).hasSizeGreaterThanOrEqualTo(10);
            return files.stream();
        }
    }

    /** What {@code grep -c '"op":"OP"'} says, per op. */
    static Map<String, Long> grepCounts(Path file) throws IOException {
        Map<String, Long> counts = new TreeMap<>();
        List<String> lines = Files.readAllLines(file);
        for (String op : OPS) {
            counts.put(op, lines.stream().filter(l -> l.contains("\"op\":\"" + op + "\"")).count());
        }
        return counts;
    }

    static Map<String, Long> readCounts(Path file) throws Exception {
        Map<String, Long> counts = new TreeMap<>();
        OPS.forEach(op -> counts.put(op, 0L));
        try (TraceReader r = TraceReader.open(file)) {
            assertThat(r.headerLine()).isEqualTo(1);
            for (TraceEvent e; (e = r.next()) != null; ) {
                counts.merge(e.op(), 1L, Long::sum);
                assertThat(e.line()).isPositive();
            }
        }
        return counts;
    }

    @ParameterizedTest
    @MethodSource("traces")
    void parsesFully(Path file) throws Exception {
        assertThat(readCounts(file)).isEqualTo(grepCounts(file));
    }

    @ParameterizedTest
    @MethodSource("traces")
    void headerMatchesDirectory(Path file) throws Exception {
        try (TraceReader r = TraceReader.open(file)) {
            TraceHeader h = r.header();
            assertThat(h.profile()).isEqualTo(file.getParent().getFileName().toString());
            assertThat(h.version()).isEqualTo(1);
            assertThat(h.pageSize()).isEqualTo(4096);
            assertThat(h.vmallocStart()).isEqualTo(0xffffc90000000000L);
            assertThat(h.vmallocEnd()).isEqualTo(0xffffe8ffffffffffL);
            assertThat(h.nrCpus()).isEqualTo(8192);
            assertThat(h.bitsPerLong()).isEqualTo(64);
            assertThat(h.flushes()).isTrue();
            assertThat(h.exclusive()).isFalse();
            assertThat(h.kernel()).startsWith(h.profile().substring("linux-".length()));
            assertThat(h.source()).contains("qemu");
            assertThat(h.extra()).containsKeys("scenario", "smp", "blockPages");
            assertThat(h.onlineCpus()).hasSize(h.extra().get("smp").intValue());
        }
    }

    @Test
    void totalsOverAllTraces() throws Exception {
        Map<String, Long> total = new TreeMap<>();
        for (Path f : traces().collect(Collectors.toList())) {
            readCounts(f).forEach((op, n) -> total.merge(op, n, Long::sum));
        }
        assertThat(total).containsExactlyInAnyOrderEntriesOf(
                Map.of("map", 6047L, "unmap", 6047L, "aliases", 273L, "flush", 307L, "busy", 1271L));
    }

    @Test
    void firstEventsOfBasic61() throws Exception {
        try (TraceReader r = TraceReader.open(TRACES.resolve("linux-6.1/basic-smp1-nokaslr.jsonl"))) {
            TraceEvent first = r.next();
            assertThat(first).isEqualTo(new TraceEvent.Busy(3, 0xffffc90000000000L, 0xffffc90000005000L, null,
                    "after insmod: irq_init_percpu_irqstack+0xf0/0x120 vmap"));
            TraceEvent e;
            while (!((e = r.next()) instanceof TraceEvent.Map)) {
                assertThat(e).isNotNull();
            }
            assertThat(e).isEqualTo(new TraceEvent.Map(e.line(), 0, 1, 0xffffc90000700000L, null, null, 4L, null));
        }
    }
}
