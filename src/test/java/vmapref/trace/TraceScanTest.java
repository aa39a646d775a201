// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A file's plain event lines are scanned in place; everything else goes through the JSON tree. Both
 * must read the same events, with the same line numbers, whatever ends the lines.
 */
class TraceScanTest {

    static final String HEADER = "{\"vmaptrace\":1,\"profile\":\"linux-6.12\",\"pageSize\":4096,"
            + "\"vmallocStart\":\"0xffffc90000000000\",\"vmallocEnd\":\"0xffffe8ffffffffff\",\"nrCpus\":8192,"
            + "\"nrCpuIds\":2,\"possibleCpus\":[0,1],\"onlineCpus\":[0,1]}";

    static final List<String> EVENTS = List.of(
            "{\"op\":\"map\",\"cpu\":0,\"count\":3,\"ret\":\"0xffffc90000000000\"}",
            " { \"op\" : \"map\" , \"cpu\" : 1 ,\t\"count\":0, \"ret\":null, \"seq\":12, \"note\":null } ",
            "{\"cpu\":1,\"op\":\"map\",\"count\":4294967295,\"ret\":\"0xFFFFC90000001000\",\"prot\":-0,\"seq\":-5}",
            "{\"op\":\"unmap\",\"cpu\":0,\"count\":3,\"addr\":\"0xffffc90000000000\",\"note\":\"a note\"}",
            "# a comment",
            "",
            "{\"op\":\"flush\",\"start\":\"0x0\",\"end\":\"0xffffffffffffffff\",\"note\":\"_vm_unmap_aliases\"}",
            "{\"op\":\"flush\",\"start\":\"0x1000\",\"end\":\"0x2000\",\"cpu\":1}",
            "{\"op\":\"busy\",\"start\":\"0x1000\",\"end\":\"0x2000\",\"seq\":1}",
            "{\"op\":\"aliases\",\"cpu\":1,\"seq\":null}",
            "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"bug\":\"kernel BUG at mm/vmalloc.c\"}");

    /** The same line with a field nothing reads, which sends it through the JSON tree. */
    static String viaTree(String line) {
        int brace = line.indexOf('{');
        return brace < 0 ? line : line.substring(0, brace + 1) + "\"unread\":[1],"
                + line.substring(brace + 1);
    }

    static List<TraceEvent> read(TraceReader r) throws Exception {
        List<TraceEvent> out = new ArrayList<>();
        try (r) {
            for (TraceEvent e; (e = r.next()) != null; ) {
                out.add(e);
            }
        }
        return out;
    }

    @Test
    void scannedLinesReadAsTheTreeReadsThem(@TempDir Path dir) throws Exception {
        List<String> tree = EVENTS.stream().map(TraceScanTest::viaTree).toList();
        for (String eol : List.of("\n", "\r\n", "\r")) {
            Path scanned = dir.resolve("scanned.jsonl");
            Files.writeString(scanned, HEADER + eol + String.join(eol, EVENTS), StandardCharsets.UTF_8); // no final newline
            Path other = dir.resolve("tree.jsonl");
            Files.writeString(other, HEADER + eol + String.join(eol, tree) + eol, StandardCharsets.UTF_8);
            List<TraceEvent> a = read(TraceReader.open(scanned));
            assertThat(a).as("end of line %s", eol.replace("\r", "\\r").replace("\n", "\\n")).hasSize(9)
                    .isEqualTo(read(TraceReader.open(other)))
                    .isEqualTo(read(TraceReader.of("reader", new StringReader(HEADER + eol + String.join(eol, EVENTS)))));
            assertThat(a.get(a.size() - 1).line()).isEqualTo(12);
        }
    }

    @Test
    void aLineLongerThanTheReadBufferIsOneLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("long.jsonl");
        String note = "x".repeat(200_000);
        Files.writeString(f, HEADER + "\n{\"op\":\"aliases\",\"cpu\":0,\"note\":\"" + note + "\"}\n"
                + EVENTS.get(0) + "\n");
        List<TraceEvent> events = read(TraceReader.open(f));
        assertThat(events).hasSize(2);
        assertThat(events.get(0).note()).isEqualTo(note);
        assertThat(events.get(1).line()).isEqualTo(3);
    }
}
