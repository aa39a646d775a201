// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NotUtf8Test {

    static final String HEADER = "{\"vmaptrace\":1,\"profile\":\"linux-6.12\",\"pageSize\":4096,"
            + "\"vmallocStart\":\"0xffffc90000000000\",\"vmallocEnd\":\"0xffffe8ffffffffff\",\"nrCpus\":8192,"
            + "\"nrCpuIds\":1,\"possibleCpus\":[0],\"onlineCpus\":[0]}\n";

    @Test
    void invalidUtf8IsReportedWithItsOwnLineNumber(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.jsonl");
        byte[] head = (HEADER + "{\"op\":\"aliases\",\"cpu\":0}\n{\"op\":\"aliases\",\"cpu\":0,\"note\":\"").getBytes();
        byte[] bad = {(byte) 0xff, (byte) 0xfe, '"', '}', '\n'};
        byte[] all = new byte[head.length + bad.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(bad, 0, all, head.length, bad.length);
        Files.write(f, all);
        assertThatThrownBy(() -> {
            try (TraceReader r = TraceReader.open(f)) {
                while (r.next() != null) {
                    // read to the end
                }
            }
        }).isInstanceOf(TraceFormatException.class).hasMessageContaining("bad.jsonl:3: not-utf8");
    }

    @Test
    void utf8TextInANoteIsFine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("ok.jsonl");
        Files.writeString(f, HEADER + "{\"op\":\"aliases\",\"cpu\":0,\"note\":\"caf\u00e9 \u2014 ok\"}\n");
        try (TraceReader r = TraceReader.open(f)) {
            org.assertj.core.api.Assertions.assertThat(r.next().note()).isEqualTo("caf\u00e9 \u2014 ok");
        }
    }
}
