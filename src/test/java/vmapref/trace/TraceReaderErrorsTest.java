// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each rule of TraceFormatException, triggered by a small inline trace, with its file:line and rule. */
class TraceReaderErrorsTest {
    static final String H = "{\"vmaptrace\":1,\"profile\":\"linux-6.1\",\"pageSize\":4096,"
            + "\"vmallocStart\":\"0xffffc90000000000\",\"vmallocEnd\":\"0xffffe8ffffffffff\","
            + "\"nrCpus\":64,\"nrCpuIds\":4,\"possibleCpus\":[0,1,2,3],\"onlineCpus\":[0,1]}";
    static final String MAP = "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"0xffffc90000700000\"}";

    /** The base header with {@code field} set to the JSON {@code value}, or removed if {@code value} is null. */
    static String h(String field, String value) {
        try {
            ObjectMapper m = new ObjectMapper();
            ObjectNode o = (ObjectNode) m.readTree(H);
            if (value == null) {
                o.remove(field);
            } else {
                o.set(field, m.readTree(value));
            }
            return m.writeValueAsString(o);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static String trace(String... lines) {
        return String.join("\n", lines) + "\n";
    }

    static TraceFormatException readAll(String text) throws Exception {
        return catchThrowableOfType(TraceFormatException.class, () -> {
            try (TraceReader r = TraceReader.of("t.jsonl", new StringReader(text))) {
                while (r.next() != null) {
                    // drain
                }
            }
        });
    }

    static Stream<Arguments> badTraces() {
        List<Arguments> a = new ArrayList<>();
        // lines, rule, line number
        a.add(arguments(trace(H, "{\"op\":\"map\","), "not-json", 2));
        a.add(arguments(trace(H, MAP, "{\"op\":\"aliases\",\"cpu\":0}{\"op\":\"aliases\",\"cpu\":0}"), "not-json", 3));
        a.add(arguments(trace(H, "{\"op\":\"aliases\",\"cpu\":0,\"cpu\":1}"), "not-json", 2));
        a.add(arguments(trace("{vmaptrace:1}"), "not-json", 1));
        a.add(arguments(trace(H, "[1,2]"), "not-object", 2));
        a.add(arguments(trace("# comment", "42"), "not-object", 2));
        a.add(arguments(trace(H, "\"map\""), "not-object", 2));
        a.add(arguments(trace(MAP), "bad-header", 1));
        a.add(arguments(trace("", "# leading comment", "  ", MAP), "bad-header", 4));
        a.add(arguments(trace(H, H), "bad-header", 2));
        a.add(arguments(trace(h("vmaptrace", "3")), "unsupported-version", 1));
        a.add(arguments(trace(h("vmaptrace", "0")), "unsupported-version", 1));
        a.add(arguments(trace(h("vmaptrace", "\"1\"")), "bad-field-type", 1));
        a.add(arguments(trace(h("pageSize", null)), "missing-field", 1));
        a.add(arguments(trace(h("onlineCpus", null)), "missing-field", 1));
        a.add(arguments(trace(h("profile", null)), "missing-field", 1));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"ret\":null}"), "missing-field", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1}"), "missing-field", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"count\":1,\"ret\":null}"), "missing-field", 2));
        a.add(arguments(trace(H, "{\"op\":\"unmap\",\"cpu\":0,\"count\":1}"), "missing-field", 2));
        a.add(arguments(trace(H, "{\"op\":\"flush\",\"start\":\"0x0\"}"), "missing-field", 2));
        a.add(arguments(trace(H, "{\"cpu\":0}"), "missing-field", 2));
        a.add(arguments(trace(h("pageSize", "\"4096\"")), "bad-field-type", 1));
        a.add(arguments(trace(h("nrCpus", "8192.5")), "bad-field-type", 1));
        a.add(arguments(trace(h("possibleCpus", "0")), "bad-field-type", 1));
        a.add(arguments(trace(h("onlineCpus", "[0,\"1\"]")), "bad-field-type", 1));
        a.add(arguments(trace(h("flushes", "\"yes\"")), "bad-field-type", 1));
        a.add(arguments(trace(h("kernel", "6")), "bad-field-type", 1));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":\"3\",\"ret\":null}"), "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":\"0\",\"count\":3,\"ret\":null}"), "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":\"unmap\",\"cpu\":0,\"addr\":4096,\"count\":1}"), "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":\"aliases\",\"cpu\":0,\"seq\":\"7\"}"), "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":\"aliases\",\"cpu\":0,\"note\":5}"), "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":\"aliases\",\"cpu\":0,\"bug\":true}"), "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":null,\"prot\":\"rw\"}"),
                "bad-field-type", 2));
        a.add(arguments(trace(H, "{\"op\":7}"), "bad-field-type", 2));
        a.add(arguments(trace(h("vmallocStart", "\"ffffc90000000000\"")), "bad-address", 1));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"0x\"}"), "bad-address", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"0x1ffffc90000000000\"}"),
                "bad-address", 2));
        a.add(arguments(trace(H, "{\"op\":\"busy\",\"start\":\"0x0\",\"end\":\"0xfffz\"}"), "bad-address", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":-1,\"ret\":null}"), "bad-count", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1.5,\"ret\":null}"), "bad-count", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":4294967296,\"ret\":null}"), "bad-count", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":99999999999999999999999,\"ret\":null}"),
                "bad-count", 2));
        a.add(arguments(trace(H, "{\"op\":\"unmap\",\"cpu\":0,\"addr\":\"0x1000\",\"count\":-3}"), "bad-count", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":-1,\"count\":1,\"ret\":null}"), "bad-cpu", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":2,\"count\":1,\"ret\":null}"), "bad-cpu", 2));
        a.add(arguments(trace(H, "{\"op\":\"aliases\",\"cpu\":7}"), "bad-cpu", 2));
        a.add(arguments(trace(H, "{\"op\":\"aliases\",\"cpu\":0.5}"), "bad-cpu", 2));
        a.add(arguments(trace(H, "{\"op\":\"flush\",\"start\":\"0x0\",\"end\":\"0x1000\",\"cpu\":3}"), "bad-cpu", 2));
        a.add(arguments(trace(H, MAP, "{\"op\":\"remap\",\"cpu\":0}"), "unknown-op", 3));
        a.add(arguments(trace(H, "{\"op\":\"MAP\",\"cpu\":0}"), "unknown-op", 2));
        a.add(arguments(trace(H, "{\"op\":\"flush\",\"start\":\"0x2000\",\"end\":\"0x1000\"}"), "bad-range", 2));
        a.add(arguments(trace(H, "{\"op\":\"busy\",\"start\":\"0xffffc90000000000\",\"end\":\"0x1000\"}"),
                "bad-range", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":\"0x1000\",\"bug\":\"BUG\"}"),
                "ret-and-bug", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"ret\":null,\"bug\":\"BUG\"}"),
                "ret-and-bug", 2));
        a.add(arguments(trace(H, "{\"op\":\"map\",\"cpu\":0,\"count\":1,\"bug\":\"kernel BUG at mm/vmalloc.c:2094\"}",
                "# a comment is fine", "", "{\"op\":\"aliases\",\"cpu\":0}"), "event-after-bug", 5));
        a.add(arguments(trace(H, "{\"op\":\"unmap\",\"cpu\":0,\"addr\":\"0x1000\",\"count\":1,\"bug\":\"oops\"}",
                "{\"op\":\"flush\",\"start\":\"0x0\",\"end\":\"0x1000\"}"), "event-after-bug", 3));
        a.add(arguments("", "empty-trace", 1));
        a.add(arguments(trace("# only", "", "# comments"), "empty-trace", 4));
        a.add(arguments(trace(h("pageSize", "1000")), "bad-header-field", 1));
        a.add(arguments(trace(h("pageSize", "2048")), "bad-header-field", 1));
        a.add(arguments(trace(h("pageSize", "0")), "bad-header-field", 1));
        a.add(arguments(trace(h("vmallocStart", "\"0xffffc90000000800\"")), "bad-header-field", 1));
        a.add(arguments(trace(h("vmallocEnd", "\"0xffffc8ffffffffff\"")), "bad-header-field", 1));
        a.add(arguments(trace(h("nrCpus", "0")), "bad-header-field", 1));
        a.add(arguments(trace(h("nrCpuIds", "0")), "bad-header-field", 1));
        a.add(arguments(trace(h("nrCpuIds", "65")), "bad-header-field", 1));
        a.add(arguments(trace(h("possibleCpus", "[0,1,2,3,4]")), "bad-header-field", 1));
        a.add(arguments(trace(h("possibleCpus", "[0,0,1]")), "bad-header-field", 1));
        a.add(arguments(trace(h("onlineCpus", "[-1]")), "bad-header-field", 1));
        a.add(arguments(trace(h("possibleCpus", "[1,2]")), "bad-header-field", 1));
        a.add(arguments(trace(h("bitsPerLong", "16")), "bad-header-field", 1));
        a.add(arguments(trace(h("bitsPerLong", "32")), "bad-header-field", 1)); // 64-bit vmalloc range
        a.add(arguments(trace(h("profile", "\"\"")), "bad-header-field", 1));
        return a.stream();
    }

    @ParameterizedTest(name = "{1} at line {2}: {0}")
    @MethodSource("badTraces")
    void reportsRuleFileAndLine(String text, String rule, int line) throws Exception {
        TraceFormatException e = readAll(text);
        assertThat(e).as("no error for %s", text).isNotNull();
        assertThat(e.rule()).as(e.getMessage()).isEqualTo(rule);
        assertThat(e.file()).isEqualTo("t.jsonl");
        assertThat(e.line()).as(e.getMessage()).isEqualTo(line);
        assertThat(e.getMessage()).startsWith("t.jsonl:" + line + ": " + rule + ": ")
                .doesNotContain("\n", "[Source", "com.fasterxml", "Exception");
    }

    @Test
    void messageReadsLikeTheSpec() throws Exception {
        TraceFormatException e = readAll(trace(H, MAP, "{\"op\":\"unmap\",\"cpu\":0,\"addr\":\"12ab\",\"count\":1}"));
        assertThat(e.getMessage())
                .isEqualTo("t.jsonl:3: bad-address: \"addr\" must be 0x followed by hex digits, got \"12ab\"");
        assertThat(e.detail()).isEqualTo("\"addr\" must be 0x followed by hex digits, got \"12ab\"");
    }

    @Test
    void notJsonKeepsTheJacksonCauseButNotItsText() throws Exception {
        TraceFormatException e = readAll(trace(H, "{\"op\":\"map\","));
        assertThat(e.getCause()).isNotNull();
        assertThat(e.getMessage()).startsWith("t.jsonl:2: not-json: ").contains("column");
    }

    @Test
    void acceptsEdgesOfTheFormat() throws Exception {
        String text = trace("", "# leading comment", H.replace("}", ",\"zzz\":[1,{\"a\":2}],\"note\":\"n\"}"),
                "   # indented comment", "   ",
                "{\"op\":\"map\",\"cpu\":0,\"count\":0,\"ret\":null}",
                "{\"op\":\"map\",\"cpu\":1,\"count\":4294967295,\"ret\":\"0xFFFFC90000700000\",\"extra\":1}",
                "{\"op\":\"map\",\"cpu\":1,\"count\":2,\"ret\":\"0xffffc90000800000\",\"prot\":291,\"seq\":null}",
                "{\"op\":\"busy\",\"start\":\"0x1000\",\"end\":\"0x1000\"}",
                "{\"op\":\"flush\",\"start\":\"0x0\",\"end\":\"0xffffffffffffffff\",\"cpu\":null}",
                "{\"op\":\"aliases\",\"cpu\":0,\"seq\":-5,\"note\":\"é ✓\"}",
                "{\"op\":\"unmap\",\"cpu\":1,\"addr\":\"0x0\",\"count\":0,\"bug\":\"kernel BUG\"}",
                "# comments after the crash are fine");
        try (TraceReader r = TraceReader.of("ok.jsonl", new StringReader(text))) {
            assertThat(r.headerLine()).isEqualTo(3);
            assertThat(r.header().extra()).containsOnlyKeys("zzz", "note");
            assertThat(r.header().extraText("note")).isEqualTo("n");
            assertThat(r.next()).isEqualTo(new TraceEvent.Map(6, 0, 0, null, null, null, null, null));
            TraceEvent.Map m = (TraceEvent.Map) r.next();
            assertThat(m.count()).isEqualTo(4294967295L);
            assertThat(m.ret()).isEqualTo(0xffffc90000700000L);
            assertThat(m.returnedNull()).isFalse();
            assertThat(r.next()).isEqualTo(new TraceEvent.Map(8, 1, 2, 0xffffc90000800000L, null, 291L, null, null));
            assertThat(r.next()).isEqualTo(new TraceEvent.Busy(9, 0x1000, 0x1000, null, null));
            assertThat(r.next()).isEqualTo(new TraceEvent.Flush(10, 0, -1, null, null, null));
            assertThat(r.next()).isEqualTo(new TraceEvent.Aliases(11, 0, null, -5L, "é ✓"));
            TraceEvent u = r.next();
            assertThat(u).isEqualTo(new TraceEvent.Unmap(12, 1, 0, 0, "kernel BUG", null, null));
            assertThat(u.isCall()).isTrue();
            assertThat(r.next()).isNull();
            assertThat(r.next()).isNull();
            assertThat(r.lineNumber()).isEqualTo(13);
        }
    }
}
