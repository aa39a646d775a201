// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;
import vmapref.trace.TraceReader;
import vmapref.trace.TraceWriter;

/** The aliases event's probes (capture --probe-stale): read, written back, and judged at spec level. */
class ProbesTest {

    static final String HEADER = "{\"vmaptrace\":1,\"profile\":\"linux-6.12\",\"pageSize\":4096,"
            + "\"vmallocStart\":\"0xffffc90000000000\",\"vmallocEnd\":\"0xffffe8ffffffffff\",\"nrCpus\":8192,"
            + "\"nrCpuIds\":1,\"possibleCpus\":[0],\"onlineCpus\":[0],\"flushes\":true}";

    /** One page mapped and unmapped from a block that stays, then vm_unmap_aliases() flushes it. */
    static String trace(String probes) {
        return String.join("\n", HEADER,
                "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"0xffffc90000000000\"}",
                "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"0xffffc90000001000\"}",
                "{\"op\":\"unmap\",\"cpu\":0,\"addr\":\"0xffffc90000000000\",\"count\":1}",
                "{\"op\":\"flush\",\"start\":\"0xffffc90000000000\",\"end\":\"0xffffc90000001000\",\"cpu\":0}",
                "{\"op\":\"aliases\",\"cpu\":0" + probes + "}") + "\n";
    }

    static Replayer.Verdict replay(String text, Replayer.Level level) throws Exception {
        try (TraceReader r = TraceReader.of("t.jsonl", new StringReader(text))) {
            return Replayer.replay("t.jsonl", r, level);
        }
    }

    @Test
    void aReadThatSucceededOnAnUnmappedPageIsAStaleEntry() throws Exception {
        Replayer.Verdict v = replay(trace(",\"probes\":[{\"addr\":\"0xffffc90000000000\",\"readable\":true}]"),
                Replayer.Level.SPEC);
        assertThat(v.conforms()).isFalse();
        assertThat(v.divergence().rule()).isEqualTo("aliases-no-stale");
        assertThat(v.divergence().line()).isEqualTo(6);
        assertThat(v.line()).contains("stale TLB entry");
    }

    @Test
    void aFailedReadOrAReadOfALivePageIsFine() throws Exception {
        assertThat(replay(trace(",\"probes\":[{\"addr\":\"0xffffc90000000000\",\"readable\":false},"
                + "{\"addr\":\"0xffffc90000001000\",\"readable\":true}]"), Replayer.Level.SPEC).conforms()).isTrue();
        assertThat(replay(trace(""), Replayer.Level.SPEC).conforms()).isTrue();
    }

    @Test
    void probesAreWrittenBackAsRead() throws Exception {
        List<TraceEvent> events;
        try (TraceReader r = TraceReader.of("t.jsonl", new StringReader(
                trace(",\"probes\":[{\"addr\":\"0xffffc90000000000\",\"readable\":true}]")))) {
            r.header();
            events = new java.util.ArrayList<>();
            for (TraceEvent e = r.next(); e != null; e = r.next()) {
                events.add(e);
            }
        }
        TraceEvent.Aliases a = (TraceEvent.Aliases) events.get(events.size() - 1);
        assertThat(a.probes()).containsExactly(new TraceEvent.Probe(0xffffc90000000000L, true));
        StringWriter out2 = new StringWriter();
        try (TraceWriter w = new TraceWriter(out2); TraceReader r = TraceReader.of("t", new StringReader(HEADER + "\n"))) {
            w.header(r.header());
            w.event(a);
        }
        assertThat(out2.toString()).contains("\"probes\":[{\"addr\":\"0xffffc90000000000\",\"readable\":true}]");
    }

    @Test
    void aMalformedProbeIsAnErrorNamingTheLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        Files.writeString(f, trace(",\"probes\":[{\"addr\":\"0xffffc90000000000\",\"readable\":\"yes\"}]"));
        assertThatThrownBy(() -> Replayer.replay(f, Replayer.Level.SPEC))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("bad.jsonl:6: bad-field-type");
    }
}
