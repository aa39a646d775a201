// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;
import vmapref.trace.TraceReader;
import vmapref.trace.TraceWriter;

/**
 * Version 2 traces: other kernel users' calls, the purge path behind each flush and the vmap-node
 * shrinker, replayed at structure level. Each case passes with its foreign events and diverges without
 * them (the lines marked {@code OTHER}).
 */
class OtherUsersTest {

    static final String B = "0xffffc90000000000"; // the first vmap block (1 MiB)
    static final String OTHER = "OTHER ";

    static String header(int version, String profile, int cpus) {
        String list = cpus == 1 ? "[0]" : "[0,1]";
        return "{\"vmaptrace\":" + version + ",\"profile\":\"" + profile + "\",\"pageSize\":4096,"
                + "\"vmallocStart\":\"0xffffc90000000000\",\"vmallocEnd\":\"0xffffe8ffffffffff\",\"nrCpus\":8192,"
                + "\"nrCpuIds\":" + cpus + ",\"possibleCpus\":" + list + ",\"onlineCpus\":" + list + ",\"flushes\":true}";
    }

    static String map(int count, String ret) {
        return "{\"op\":\"map\",\"cpu\":0,\"count\":" + count + ",\"ret\":\"" + ret + "\"}";
    }

    static String unmap(String addr, int count) {
        return "{\"op\":\"unmap\",\"cpu\":0,\"addr\":\"" + addr + "\",\"count\":" + count + "}";
    }

    static String flush(String start, String end, String path) {
        return "{\"op\":\"flush\",\"start\":\"" + start + "\",\"end\":\"" + end + "\",\"cpu\":0,\"path\":\"" + path + "\"}";
    }

    static String otherAliases() {
        return OTHER + "{\"op\":\"aliases\",\"cpu\":0,\"by\":\"other\"}";
    }

    /** The trace with ({@code withOthers}) or without the lines marked OTHER. */
    static String trace(String header, boolean withOthers, String... lines) {
        StringBuilder b = new StringBuilder(header).append('\n');
        for (String l : lines) {
            if (l.startsWith(OTHER)) {
                if (withOthers) {
                    b.append(l.substring(OTHER.length())).append('\n');
                }
            } else {
                b.append(l).append('\n');
            }
        }
        return b.toString();
    }

    static Replayer.Verdict replay(String text) throws Exception {
        try (TraceReader r = TraceReader.of("t.jsonl", new StringReader(text))) {
            return Replayer.replay("t.jsonl", r, Replayer.Level.STRUCTURE);
        }
    }

    /** Passes with the foreign events, fails with {@code rule} on {@code line} (of the shorter trace) without. */
    static void check(String header, String rule, int line, String... lines) throws Exception {
        Replayer.Verdict with = replay(trace(header, true, lines));
        assertThat(with.conforms()).as(with.line()).isTrue();
        Replayer.Verdict without = replay(trace(header, false, lines));
        assertThat(without.conforms()).as(without.line()).isFalse();
        assertThat(without.divergence().rule()).as(without.line()).isEqualTo(rule);
        assertThat(without.divergence().line()).as(without.line()).isEqualTo(line);
    }

    // 6.1 _vm_unmap_aliases() of another task: purge_fragmented_blocks_allcpus() retires the empty block
    @Test
    void anotherTasksAliasesRetiresTheEmptyBlockOn61() throws Exception {
        check(header(2, "linux-6.1", 1), "block-offset", 4,
                map(1, B),
                unmap(B, 1),
                otherAliases(), // logged when it enters: its flush follows
                OTHER + flush(B, "0xffffc90000100000", "aliases"),
                map(1, B));
    }

    // 6.12 _vm_unmap_aliases(): purge_fragmented_block(force=false) retires a block with free < BITS/4
    @Test
    void anotherTasksAliasesRetiresTheEmptyBlockOn612() throws Exception {
        check(header(2, "linux-6.12", 1), "block-offset", 10,
                map(64, B),
                map(64, "0xffffc90000040000"),
                map(64, "0xffffc90000080000"),
                map(32, "0xffffc900000c0000"),
                unmap(B, 64),
                unmap("0xffffc90000040000", 64),
                unmap("0xffffc90000080000", 64),
                unmap("0xffffc900000c0000", 32),
                otherAliases(), // logged when it enters: its flush follows
                OTHER + flush(B, "0xffffc90000100000", "aliases"),
                map(1, B));
    }

    // 6.12 _vm_unmap_aliases(): "Prevent that this is flushed again": the dirty range is reset
    @Test
    void anotherTasksAliasesResetsTheDirtyRangeOn612() throws Exception {
        check(header(2, "linux-6.12", 1), "aliases-flush-covers", 6,
                map(1, B),
                map(1, "0xffffc90000001000"),
                unmap(B, 1),
                otherAliases(), // logged when it enters: its flush follows
                OTHER + flush(B, "0xffffc90000001000", "aliases"),
                map(1, "0xffffc90000002000"),
                "{\"op\":\"aliases\",\"cpu\":0}");
    }

    // vb_alloc(): another user's vm_map_ram(4) on CPU 0 takes the block's next pages
    @Test
    void anotherUsersMapShiftsTheNextOffset() throws Exception {
        check(header(2, "linux-6.12", 1), "block-offset", 3,
                map(1, B),
                OTHER + "{\"op\":\"map\",\"cpu\":0,\"count\":4,\"ret\":\"0xffffc90000001000\",\"by\":\"other\"}",
                map(1, "0xffffc90000005000"));
        check(header(2, "linux-6.1", 1), "block-offset", 3,
                map(1, B),
                OTHER + "{\"op\":\"map\",\"cpu\":0,\"count\":4,\"ret\":\"0xffffc90000001000\",\"by\":\"other\"}",
                map(1, "0xffffc90000005000"));
    }

    // vmap_node_shrink_scan(): every pool decays fully, with no flush
    @Test
    void theShrinkerEmptiesThePools() throws Exception {
        String a1 = B;
        String a1End = "0xffffc90000064000";
        String a3 = "0xffffc900000c8000";
        String a3End = "0xffffc9000012c000";
        check(header(2, "linux-6.12", 2), "pool-reuse", 11,
                map(100, a1),
                map(100, a1End),
                map(100, a3),
                unmap(a1, 100),
                flush(a1, a1End, "aliases"),
                "{\"op\":\"aliases\",\"cpu\":0}",
                unmap(a3, 100),
                flush(a3, a3End, "aliases"),
                "{\"op\":\"aliases\",\"cpu\":0}",
                OTHER + "{\"op\":\"shrink\"}",
                map(100, a1));
    }

    // alloc_vmap_area()'s overflow path: purge_fragmented_blocks_allcpus() and a full pool decay
    @Test
    void anOverflowPurgeRetiresEmptyBlocks() throws Exception {
        check(header(2, "linux-6.12", 1), "block-offset", 4,
                map(1, B),
                unmap(B, 1),
                OTHER + flush(B, "0xffffc90000100000", "overflow"),
                map(1, B));
        // the same flush from the drain work purges nothing but lazy areas: the block stays
        Replayer.Verdict drain = replay(trace(header(2, "linux-6.12", 1), true,
                map(1, B), unmap(B, 1), flush(B, "0xffffc90000100000", "drain"), map(1, B)));
        assertThat(drain.divergence().rule()).isEqualTo("block-offset");
    }

    @Test
    void version1KnowsNoShrinkAndIgnoresByAndPath() throws Exception {
        assertThatThrownBy(() -> replay(header(1, "linux-6.12", 1) + "\n{\"op\":\"shrink\"}\n"))
                .isInstanceOf(TraceFormatException.class).hasMessageContaining("unknown-op");
        // read as version 1 the foreign map is the program's own, and the model predicts another offset
        Replayer.Verdict v1 = replay(trace(header(1, "linux-6.12", 1), true,
                map(1, B), OTHER + "{\"op\":\"map\",\"cpu\":0,\"count\":4,\"ret\":\"0xffffc90000002000\",\"by\":\"other\"}"));
        assertThat(v1.divergence().rule()).isEqualTo("block-offset");
        assertThatThrownBy(() -> replay(header(2, "linux-6.12", 1)
                + "\n{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":null,\"by\":\"me\"}\n"))
                .isInstanceOf(TraceFormatException.class).hasMessageContaining("bad-field-type");
    }

    @Test
    void version2EventsAreWrittenBackAsRead() throws Exception {
        String text = trace(header(2, "linux-6.12", 2), true,
                map(1, B), OTHER + "{\"op\":\"map\",\"cpu\":0,\"count\":4,\"ret\":\"0xffffc90000001000\",\"by\":\"other\"}",
                flush(B, "0xffffc90000001000", "drain"), OTHER + "{\"op\":\"shrink\",\"cpu\":1}", otherAliases());
        List<TraceEvent> events = new ArrayList<>();
        StringWriter out = new StringWriter();
        readAndWriteBack(text, events, out);
        assertThat(events.get(1).foreign()).isTrue();
        assertThat(((TraceEvent.Flush) events.get(2)).path()).isEqualTo("drain");
        assertThat(events.get(3)).isInstanceOf(TraceEvent.Shrink.class);
        String written = out.toString();
        assertThat(written).startsWith("{\"vmaptrace\":2,").contains("\"by\":\"other\"").contains("\"path\":\"drain\"")
                .contains("{\"op\":\"shrink\",\"cpu\":1}");
        // a version 1 header cannot carry them
        try (TraceReader r = TraceReader.of("t.jsonl", new StringReader(header(1, "linux-6.12", 1) + "\n"));
             TraceWriter w = new TraceWriter(new StringWriter())) {
            w.header(r.header());
            assertThatThrownBy(() -> w.event(new TraceEvent.Shrink(0, null, null, null)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("version 2");
        }
    }

    @Test
    void aFlushSaysWhoMadeItAndATaskItsPid() throws Exception {
        String text = header(2, "linux-6.12", 2) + "\n"
                + "{\"op\":\"aliases\",\"cpu\":1,\"by\":\"other\",\"task\":77}\n"
                + "{\"op\":\"flush\",\"start\":\"" + B + "\",\"end\":\"" + B + "\",\"cpu\":1,\"path\":\"aliases\","
                + "\"by\":\"other\",\"task\":77}\n"
                + "{\"op\":\"flush\",\"start\":\"" + B + "\",\"end\":\"" + B + "\",\"cpu\":0,\"path\":\"aliases\","
                + "\"by\":\"program\"}\n";
        List<TraceEvent> events = new ArrayList<>();
        StringWriter out = new StringWriter();
        readAndWriteBack(text, events, out);
        assertThat(events.get(0).task()).isEqualTo(77L);
        assertThat(((TraceEvent.Flush) events.get(1)).by()).isEqualTo("other");
        assertThat(events.get(1).task()).isEqualTo(77L);
        assertThat(((TraceEvent.Flush) events.get(2)).byProgram()).isTrue();
        assertThat(out.toString()).contains("\"by\":\"other\",\"task\":77").contains("\"by\":\"program\"");
        // bad values name the line and the rule
        assertThatThrownBy(() -> replay(header(2, "linux-6.12", 1) + "\n{\"op\":\"flush\",\"start\":\"" + B
                + "\",\"end\":\"" + B + "\",\"by\":\"me\"}\n"))
                .isInstanceOf(TraceFormatException.class).hasMessageContaining(":2: bad-field-type");
        assertThatThrownBy(() -> replay(header(2, "linux-6.12", 1)
                + "\n{\"op\":\"aliases\",\"cpu\":0,\"by\":\"other\",\"task\":-3}\n"))
                .isInstanceOf(TraceFormatException.class).hasMessageContaining(":2: bad-field-type");
    }

    /** Reads {@code text} into {@code events} and writes each event back to {@code out}. */
    static void readAndWriteBack(String text, List<TraceEvent> events, StringWriter out) throws Exception {
        try (TraceReader r = TraceReader.of("t.jsonl", new StringReader(text)); TraceWriter w = new TraceWriter(out)) {
            w.header(r.header());
            for (TraceEvent e = r.next(); e != null; e = r.next()) {
                events.add(e);
                w.event(e);
            }
        }
    }
}
