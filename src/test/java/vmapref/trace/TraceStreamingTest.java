// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.Reader;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A 2-million-event trace streams through the reader from a generated {@link Reader}: the text is never held
 * anywhere as a whole, so this completes only if the reader keeps one line at a time.
 */
class TraceStreamingTest {
    static final int EVENTS = 2_000_000;

    /** Produces the header and then {@code events} lines, alternating map and unmap, one line at a time. */
    static final class GeneratedTrace extends Reader {
        private final int events;
        private int next = -1; // -1: the header
        private String line = "";
        private int pos;

        GeneratedTrace(int events) {
            this.events = events;
        }

        private String lineFor(int i) {
            if (i < 0) {
                return TraceReaderErrorsTest.H + "\n";
            }
            String addr = Hex.format(0xffffc90000000000L + (i / 2) * 4096L);
            return i % 2 == 0
                    ? "{\"op\":\"map\",\"cpu\":" + (i / 2) % 2 + ",\"count\":1,\"ret\":\"" + addr + "\",\"seq\":" + i
                            + "}\n"
                    : "{\"op\":\"unmap\",\"cpu\":0,\"addr\":\"" + addr + "\",\"count\":1,\"seq\":" + i + "}\n";
        }

        @Override
        public int read(char[] buf, int off, int len) {
            if (pos == line.length()) {
                if (next >= events) {
                    return -1;
                }
                line = lineFor(next++);
                pos = 0;
            }
            int n = Math.min(len, line.length() - pos);
            line.getChars(pos, pos + n, buf, off);
            pos += n;
            return n;
        }

        @Override
        public void close() {}
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void streamsTwoMillionEvents() throws Exception {
        long maps = 0;
        long unmaps = 0;
        TraceEvent last = null;
        try (TraceReader r = TraceReader.of("generated", new GeneratedTrace(EVENTS))) {
            for (TraceEvent e; (e = r.next()) != null; last = e) {
                if (e instanceof TraceEvent.Map) {
                    maps++;
                } else if (e instanceof TraceEvent.Unmap) {
                    unmaps++;
                }
            }
        }
        assertThat(maps).isEqualTo(EVENTS / 2);
        assertThat(unmaps).isEqualTo(EVENTS / 2);
        assertThat(last).isInstanceOf(TraceEvent.Unmap.class);
        assertThat(last.seq()).isEqualTo(EVENTS - 1L);
        assertThat(last.line()).isEqualTo(EVENTS + 1);
    }
}
