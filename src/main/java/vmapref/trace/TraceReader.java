// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Streams a trace line by line and checks each line against docs/trace-format.md (the header, then the
 * events). Memory is proportional to one line. Blank lines and lines whose first non-blank
 * character is {@code #} are skipped, also before the header. Unknown fields are ignored (unknown header fields
 * are kept in {@link TraceHeader#extra()}); every problem is a {@link TraceFormatException} naming file, line
 * and rule.
 *
 * <pre>{@code
 * try (TraceReader r = TraceReader.open(path)) {
 *     for (TraceEvent e; (e = r.next()) != null; ) { ... }
 * }
 * }</pre>
 */
public final class TraceReader implements AutoCloseable {
    /** The largest {@code count}: {@code vm_map_ram} takes an {@code unsigned int}. */
    public static final long MAX_COUNT = 0xffffffffL;

    private final String name;
    private final BufferedReader in;
    private final ObjectMapper mapper = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    private final TraceHeader header;
    private final int headerLine;
    private final BitSet online = new BitSet();
    private int lineNo;
    private TraceEvent crashed;
    /** Lines arrive as ISO-8859-1 (one char per byte) and are decoded as UTF-8 here. */
    private final boolean bytesAsLatin1;

    private TraceReader(String name, Reader reader, boolean bytesAsLatin1) throws IOException, TraceFormatException {
        this.name = name;
        this.bytesAsLatin1 = bytesAsLatin1;
        this.in = reader instanceof BufferedReader b ? b : new BufferedReader(reader);
        ObjectNode first = nextObject();
        if (first == null) {
            throw new TraceFormatException(name, lineNo + 1, "empty-trace",
                    "no header line (expected {\"vmaptrace\":1,...})");
        }
        this.headerLine = lineNo;
        this.header = parseHeader(first);
        header.onlineCpus().forEach(online::set);
    }

    /**
     * Opens a UTF-8 trace file and reads its header. The bytes are read one line at a time and
     * decoded per line, so invalid UTF-8 is reported with its own line number.
     */
    public static TraceReader open(Path file) throws IOException, TraceFormatException {
        return of(file.toString(), Files.newBufferedReader(file, StandardCharsets.ISO_8859_1), true);
    }

    /** Reads a trace from {@code reader}, called {@code name} in messages, starting with its header. */
    public static TraceReader of(String name, Reader reader) throws IOException, TraceFormatException {
        return of(name, reader, false);
    }

    private static TraceReader of(String name, Reader reader, boolean bytesAsLatin1)
            throws IOException, TraceFormatException {
        try {
            return new TraceReader(name, reader, bytesAsLatin1);
        } catch (IOException | TraceFormatException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    public TraceHeader header() {
        return header;
    }

    /** The 1-based line the header is on (after any leading blank or comment lines). */
    public int headerLine() {
        return headerLine;
    }

    /** The last line read so far (1-based; 0 before any). */
    public int lineNumber() {
        return lineNo;
    }

    /** The next event, or null at the end of the trace. */
    public TraceEvent next() throws IOException, TraceFormatException {
        ObjectNode o = nextObject();
        if (o == null) {
            return null;
        }
        if (crashed != null) {
            throw error("event-after-bug", "nothing may follow the crashed " + crashed.op() + " on line "
                    + crashed.line());
        }
        TraceEvent e = parseEvent(o);
        if (e.bug() != null) {
            crashed = e;
        }
        return e;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }

    // ---- lines ----

    /** The next non-blank, non-comment line as a JSON object, or null at end of input. */
    private ObjectNode nextObject() throws IOException, TraceFormatException {
        String text;
        do {
            try {
                text = in.readLine();
            } catch (java.nio.charset.CharacterCodingException e) {
                throw new TraceFormatException(name, lineNo + 1, "not-utf8",
                        "the line is not valid UTF-8 (" + e.getMessage() + ")", e);
            }
            if (text == null) {
                return null;
            }
            lineNo++;
            if (bytesAsLatin1) {
                text = utf8(text);
            }
        } while (text.isBlank() || text.stripLeading().startsWith("#"));
        JsonNode node;
        try (JsonParser p = mapper.createParser(text)) {
            node = mapper.readTree(p);
            if (p.nextToken() != null) {
                throw error("not-json", "more than one JSON value on the line (column "
                        + p.currentTokenLocation().getColumnNr() + ")");
            }
        } catch (JacksonException e) {
            JsonLocation at = e.getLocation();
            String msg = String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse("malformed JSON")
                    .replaceAll("\\s*\\[Source:.*$", "").replaceAll("\\s*at \\[Source:.*$", "");
            throw new TraceFormatException(name, lineNo, "not-json",
                    msg + (at != null && at.getColumnNr() > 0 ? " (column " + at.getColumnNr() + ")" : ""), e);
        }
        if (!(node instanceof ObjectNode o)) {
            throw error("not-object", "each line must be a JSON object, got " + show(node));
        }
        return o;
    }

    private String utf8(String latin1) throws TraceFormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(latin1.getBytes(StandardCharsets.ISO_8859_1))).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new TraceFormatException(name, lineNo, "not-utf8", "the line is not valid UTF-8 text", e);
        }
    }

    // ---- header ----

    private TraceHeader parseHeader(ObjectNode o) throws TraceFormatException {
        JsonNode v = o.get("vmaptrace");
        if (v == null) {
            throw error("bad-header", "the first line must be the header {\"vmaptrace\":1,...}, got "
                    + (o.has("op") ? "a " + show(o.get("op")) + " event" : show(o)));
        }
        if (!v.isIntegralNumber()) {
            throw error("bad-field-type", "\"vmaptrace\" must be an integer, got " + show(v));
        }
        if (!v.canConvertToInt() || v.intValue() < TraceHeader.VERSION || v.intValue() > TraceHeader.MAX_VERSION) {
            throw error("unsupported-version", "vmaptrace " + v + " is not supported (this reader reads versions "
                    + TraceHeader.VERSION + " and " + TraceHeader.MAX_VERSION + ")");
        }
        String profile = text(o, "profile", true);
        String kernel = text(o, "kernel", false);
        long pageSize = positiveLong(o, "pageSize");
        long start = address(o, "vmallocStart");
        long end = address(o, "vmallocEnd");
        int nrCpus = integer(o, "nrCpus", true, 0);
        int nrCpuIds = integer(o, "nrCpuIds", true, 0);
        List<Integer> possible = cpuList(o, "possibleCpus");
        List<Integer> onlineCpus = cpuList(o, "onlineCpus");
        int bits = integer(o, "bitsPerLong", false, 64);
        boolean flushes = bool(o, "flushes");
        boolean exclusive = bool(o, "exclusive");
        String source = text(o, "source", false);
        Map<String, JsonNode> extra = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> f : o.properties()) {
            if (!TraceHeader.FIELDS.contains(f.getKey())) {
                extra.put(f.getKey(), f.getValue());
            }
        }
        try {
            return new TraceHeader(v.intValue(), profile, pageSize, start, end, nrCpus, nrCpuIds, possible,
                    onlineCpus, bits, flushes, exclusive, kernel, source, extra);
        } catch (IllegalArgumentException e) {
            throw error("bad-header-field", e.getMessage());
        }
    }

    private long positiveLong(ObjectNode o, String field) throws TraceFormatException {
        JsonNode v = required(o, field);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw error("bad-field-type", quote(field) + " must be an integer, got " + show(v));
        }
        return v.longValue();
    }

    private List<Integer> cpuList(ObjectNode o, String field) throws TraceFormatException {
        JsonNode v = required(o, field);
        if (!v.isArray()) {
            throw error("bad-field-type", quote(field) + " must be a list of CPU numbers, got " + show(v));
        }
        List<Integer> cpus = new ArrayList<>(v.size());
        for (JsonNode c : v) {
            if (!c.isIntegralNumber() || !c.canConvertToInt()) {
                throw error("bad-field-type", quote(field) + " must be a list of CPU numbers, got " + show(c)
                        + " in it");
            }
            cpus.add(c.intValue());
        }
        return cpus;
    }

    private boolean bool(ObjectNode o, String field) throws TraceFormatException {
        JsonNode v = optional(o, field);
        if (v == null) {
            return false;
        }
        if (!v.isBoolean()) {
            throw error("bad-field-type", quote(field) + " must be true or false, got " + show(v));
        }
        return v.booleanValue();
    }

    // ---- events ----

    private TraceEvent parseEvent(ObjectNode o) throws TraceFormatException {
        if (o.has("vmaptrace") && !o.has("op")) {
            throw error("bad-header", "a second header; the header must be the first line only");
        }
        String op = text(o, "op", true);
        Long seq = optionalLong(o, "seq");
        String note = text(o, "note", false);
        switch (op) {
            case "map": {
                int cpu = cpu(o, true);
                long count = count(o);
                String bug = text(o, "bug", false);
                JsonNode ret = o.get("ret");
                if (ret != null && bug != null) {
                    throw error("ret-and-bug", "a crashed map carries \"bug\" in place of \"ret\", not both");
                }
                if (ret == null && bug == null) {
                    throw error("missing-field", "map needs \"ret\" (an address or null) or \"bug\"");
                }
                Long addr = ret == null || ret.isNull() ? null : address(o, "ret");
                return new TraceEvent.Map(lineNo, cpu, count, addr, bug, optionalLong(o, "prot"), seq, note, by(o));
            }
            case "unmap": {
                int cpu = cpu(o, true);
                long addr = address(o, "addr");
                long count = count(o);
                return new TraceEvent.Unmap(lineNo, cpu, addr, count, text(o, "bug", false), seq, note, by(o));
            }
            case "aliases":
                return new TraceEvent.Aliases(lineNo, cpu(o, true), text(o, "bug", false), seq, note, probes(o), by(o));
            case "flush": {
                long[] r = range(o);
                Integer cpu = optional(o, "cpu") == null ? null : cpu(o, false);
                return new TraceEvent.Flush(lineNo, r[0], r[1], cpu, seq, note, path(o));
            }
            case "busy": {
                long[] r = range(o);
                return new TraceEvent.Busy(lineNo, r[0], r[1], seq, note);
            }
            case "shrink":
                if (header.version() >= 2) {
                    return new TraceEvent.Shrink(lineNo, optional(o, "cpu") == null ? null : cpu(o, false), seq, note);
                }
                // fall through: version 1 has no shrink
            default:
                throw error("unknown-op", "unknown op " + show(o.get("op")) + (header.version() >= 2
                        ? " (expected map, unmap, aliases, flush, busy or shrink)"
                        : " (expected map, unmap, aliases, flush or busy)"));
        }
    }

    /** Version 2: {@code "by":"other"} marks another kernel user's call; version 1 ignores the field. */
    private boolean by(ObjectNode o) throws TraceFormatException {
        JsonNode v = header.version() >= 2 ? optional(o, "by") : null;
        if (v == null) {
            return false;
        }
        if (!v.isTextual() || !v.textValue().equals("other")) {
            throw error("bad-field-type", "\"by\" must be \"other\" (another kernel user's call), got " + show(v));
        }
        return true;
    }

    /** Version 2: a flush's {@code "path"}; version 1 ignores the field. */
    private String path(ObjectNode o) throws TraceFormatException {
        JsonNode v = header.version() >= 2 ? optional(o, "path") : null;
        if (v == null) {
            return null;
        }
        if (!v.isTextual() || !TraceEvent.Flush.PATHS.contains(v.textValue())) {
            throw error("bad-field-type", "\"path\" must be one of " + TraceEvent.Flush.PATHS + ", got " + show(v));
        }
        return v.textValue();
    }

    /** An aliases event's optional {@code probes}: [{"addr":"0x...","readable":true}, ...]. */
    private List<TraceEvent.Probe> probes(ObjectNode o) throws TraceFormatException {
        JsonNode v = optional(o, "probes");
        if (v == null) {
            return null; // not probed
        }
        if (!v.isArray()) {
            throw error("bad-field-type", "\"probes\" must be an array of {\"addr\", \"readable\"} objects, not " + show(v));
        }
        List<TraceEvent.Probe> out = new ArrayList<>();
        for (JsonNode p : v) {
            if (!(p instanceof ObjectNode po)) {
                throw error("bad-field-type", "a probe must be an object with \"addr\" and \"readable\", not " + show(p));
            }
            JsonNode readable = po.get("readable");
            if (readable == null || !readable.isBoolean()) {
                throw error("bad-field-type", "a probe's \"readable\" must be true or false");
            }
            out.add(new TraceEvent.Probe(address(po, "addr"), readable.booleanValue()));
        }
        return out;
    }

    private int cpu(ObjectNode o, boolean required) throws TraceFormatException {
        JsonNode v = required ? required(o, "cpu") : o.get("cpu");
        if (!v.isNumber()) {
            throw error("bad-field-type", "\"cpu\" must be a CPU number, got " + show(v));
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 0) {
            throw error("bad-cpu", "\"cpu\" must be a non-negative integer, got " + show(v));
        }
        if (!online.get(v.intValue())) {
            throw error("bad-cpu", "CPU " + v.intValue() + " is not online (onlineCpus " + header.onlineCpus()
                    + ")");
        }
        return v.intValue();
    }

    private long count(ObjectNode o) throws TraceFormatException {
        JsonNode v = required(o, "count");
        if (!v.isNumber()) {
            throw error("bad-field-type", "\"count\" must be a number, got " + show(v));
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0 || v.longValue() > MAX_COUNT) {
            throw error("bad-count", "\"count\" must be an integer from 0 to " + MAX_COUNT
                    + " (unsigned int), got " + show(v));
        }
        return v.longValue();
    }

    /** {@code [start, end)} of a flush or busy event. */
    private long[] range(ObjectNode o) throws TraceFormatException {
        long start = address(o, "start");
        long end = address(o, "end");
        if (Long.compareUnsigned(start, end) > 0) {
            throw error("bad-range", "\"start\" " + Hex.format(start) + " is above \"end\" " + Hex.format(end));
        }
        return new long[] {start, end};
    }

    // ---- fields ----

    private long address(ObjectNode o, String field) throws TraceFormatException {
        JsonNode v = required(o, field);
        if (!v.isTextual()) {
            throw error("bad-field-type", quote(field) + " must be a string like \"0x1000\", got " + show(v));
        }
        if (!Hex.isAddress(v.textValue())) {
            throw error("bad-address", quote(field) + " must be 0x followed by hex digits, got " + show(v));
        }
        return Hex.parse(v.textValue());
    }

    /** An int field, or {@code dflt} if optional and absent. */
    private int integer(ObjectNode o, String field, boolean required, int dflt) throws TraceFormatException {
        JsonNode v = required ? required(o, field) : optional(o, field);
        if (v == null) {
            return dflt;
        }
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
            throw error("bad-field-type", quote(field) + " must be an integer, got " + show(v));
        }
        return v.intValue();
    }

    private Long optionalLong(ObjectNode o, String field) throws TraceFormatException {
        JsonNode v = optional(o, field);
        if (v == null) {
            return null;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw error("bad-field-type", quote(field) + " must be an integer, got " + show(v));
        }
        return v.longValue();
    }

    /** A string field; an optional one that is absent or null gives null. */
    private String text(ObjectNode o, String field, boolean required) throws TraceFormatException {
        JsonNode v = required ? required(o, field) : optional(o, field);
        if (v == null) {
            return null;
        }
        if (!v.isTextual()) {
            throw error("bad-field-type", quote(field) + " must be a string, got " + show(v));
        }
        return v.textValue();
    }

    private JsonNode required(ObjectNode o, String field) throws TraceFormatException {
        JsonNode v = o.get(field);
        if (v == null) {
            String what = o.has("op") ? "the " + show(o.get("op")) + " event"
                    : o.has("vmaptrace") ? "the header" : "an event";
            throw error("missing-field", what + " needs " + quote(field));
        }
        return v;
    }

    /** An optional field: null if absent or JSON null. */
    private static JsonNode optional(ObjectNode o, String field) {
        JsonNode v = o.get(field);
        return v == null || v.isNull() ? null : v;
    }

    private TraceFormatException error(String rule, String detail) {
        return new TraceFormatException(name, lineNo, rule, detail);
    }

    private static String quote(String field) {
        return "\"" + field + "\"";
    }

    /** A JSON value as it would be written, cut short if long. */
    private static String show(JsonNode v) {
        String s = String.valueOf(v);
        return s.length() <= 60 ? s : s.substring(0, 57) + "...";
    }
}
