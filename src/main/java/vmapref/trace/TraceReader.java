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
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Streams a trace line by line and checks each line against docs/trace-format.md (the header, then the
 * events). Memory is proportional to one line. A plain event line (a flat object of known fields) is
 * scanned in place; any other line is read as a JSON tree and checked field by field, which gives
 * every error. Blank lines and lines whose first non-blank
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
    /** A Reader's lines; null when reading a file's bytes. */
    private final BufferedReader in;
    /** A file's bytes; null when reading a Reader. */
    private final InputStream bytes;
    private final ObjectMapper mapper = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** The bytes read ahead: the current line is buf[lineOff, lineOff + lineLen) when {@code lineText} is null. */
    private byte[] buf;
    private int pos;
    private int lim;
    private boolean eof;
    /** The last line ended with '\r': a '\n' right after it belongs to it. */
    private boolean pendingCr;
    private int lineOff;
    private int lineLen;
    /** The current line's bytes are all ASCII. */
    private boolean lineAscii;
    /** The current line as text (a Reader's line, or a file's line with non-ASCII bytes), else null. */
    private String lineText;
    private final TraceHeader header;
    private final int headerLine;
    private final BitSet online = new BitSet();
    private int lineNo;
    private TraceEvent crashed;
    /** Lines arrive as ISO-8859-1 (one char per byte) and are decoded as UTF-8 here. */
    private TraceReader(String name, Reader reader, InputStream bytes) throws IOException, TraceFormatException {
        this.name = name;
        this.in = reader == null || reader instanceof BufferedReader ? (BufferedReader) reader : new BufferedReader(reader);
        this.bytes = bytes;
        this.buf = bytes == null ? null : new byte[1 << 16];
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
        InputStream bytes = Files.newInputStream(file);
        try {
            return new TraceReader(file.toString(), null, bytes);
        } catch (IOException | TraceFormatException | RuntimeException e) {
            bytes.close();
            throw e;
        }
    }

    /** Reads a trace from {@code reader}, called {@code name} in messages, starting with its header. */
    public static TraceReader of(String name, Reader reader) throws IOException, TraceFormatException {
        try {
            return new TraceReader(name, reader, null);
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
        if (!nextLine()) {
            return null;
        }
        TraceEvent e = fastEvent();
        if (e == null) { // not a plain event: the tree and the field checks say what is wrong
            ObjectNode o = parseObject(lineString());
            if (crashed != null) {
                throw afterBug();
            }
            e = parseEvent(o);
        } else if (crashed != null) {
            throw afterBug();
        }
        if (e.bug() != null) {
            crashed = e;
        }
        return e;
    }

    private TraceFormatException afterBug() {
        return error("event-after-bug", "nothing may follow the crashed " + crashed.op() + " on line "
                + crashed.line());
    }

    @Override
    public void close() throws IOException {
        if (in != null) {
            in.close();
        } else {
            bytes.close();
        }
    }

    // ---- lines ----

    /** The next non-blank, non-comment line as a JSON object, or null at end of input. */
    private ObjectNode nextObject() throws IOException, TraceFormatException {
        return nextLine() ? parseObject(lineString()) : null;
    }

    /**
     * Moves to the next non-blank, non-comment line (counting every line); false at the end of input.
     * Lines end as BufferedReader.readLine() ends them: at '\n', '\r' or "\r\n".
     */
    private boolean nextLine() throws IOException, TraceFormatException {
        while (true) {
            if (in != null) {
                String text;
                try {
                    text = in.readLine();
                } catch (java.nio.charset.CharacterCodingException e) {
                    throw new TraceFormatException(name, lineNo + 1, "not-utf8",
                            "the line is not valid UTF-8 (" + e.getMessage() + ")", e);
                }
                if (text == null) {
                    return false;
                }
                lineNo++;
                lineText = text;
            } else {
                if (!nextByteLine()) {
                    return false;
                }
                lineNo++;
                lineText = null;
                if (lineAscii && lineLen > 0 && buf[lineOff] == '{') {
                    return true; // the usual event line
                }
                int end = lineOff + lineLen;
                int first = -1; // the first non-blank byte
                for (int i = lineOff; i < end && first < 0; i++) {
                    if (!Character.isWhitespace((char) buf[i])) {
                        first = i;
                    }
                }
                if (lineAscii) {
                    if (first >= 0 && buf[first] != '#') {
                        return true;
                    }
                    continue;
                }
                lineText = utf8(buf, lineOff, lineLen);
            }
            if (!lineText.isBlank() && !lineText.stripLeading().startsWith("#")) {
                return true;
            }
        }
    }

    /** The current line as text. */
    private String lineString() {
        return lineText != null ? lineText : new String(buf, lineOff, lineLen, StandardCharsets.ISO_8859_1); // ASCII
    }

    /** Reads the next line's bytes into buf[lineOff, lineOff + lineLen); false at the end of input. */
    private boolean nextByteLine() throws IOException {
        if (pendingCr) {
            if (pos == lim && !eof) {
                fill(pos);
            }
            if (pos < lim && buf[pos] == '\n') {
                pos++;
            }
            pendingCr = false;
        }
        int start = pos;
        int i = pos;
        boolean ascii = true;
        while (true) {
            for (; i < lim; i++) {
                byte b = buf[i];
                if (b == '\n' || b == '\r') {
                    lineOff = start;
                    lineLen = i - start;
                    lineAscii = ascii;
                    pos = i + 1;
                    pendingCr = b == '\r';
                    return true;
                }
                if (b < 0) {
                    ascii = false;
                }
            }
            if (eof) {
                pos = i;
                if (i > start) {
                    lineOff = start;
                    lineLen = i - start;
                    lineAscii = ascii;
                    return true;
                }
                return false;
            }
            int kept = lim - start;
            fill(start);
            start = 0;
            i = kept;
        }
    }

    /** Keeps buf[from, lim) at the front of buf and reads more after it (or sets eof). */
    private void fill(int from) throws IOException {
        int kept = lim - from;
        if (from > 0) {
            System.arraycopy(buf, from, buf, 0, kept);
        } else if (kept == buf.length) {
            buf = Arrays.copyOf(buf, buf.length * 2);
        }
        pos = 0;
        lim = kept;
        int n = bytes.read(buf, lim, buf.length - lim);
        if (n < 0) {
            eof = true;
        } else {
            lim += n;
        }
    }

    /** The current line as JSON: a single object. */
    private ObjectNode parseObject(String text) throws IOException, TraceFormatException {
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

    private String utf8(byte[] b, int off, int len) throws TraceFormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b, off, len)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new TraceFormatException(name, lineNo, "not-utf8", "the line is not valid UTF-8 text", e);
        }
    }

    // ---- events, scanned ----

    private static final int F_OP = 1;
    private static final int F_CPU = 2;
    private static final int F_COUNT = 4;
    private static final int F_RET = 8;
    private static final int F_ADDR = 16;
    private static final int F_START = 32;
    private static final int F_END = 64;
    private static final int F_BUG = 128;
    private static final int F_NOTE = 256;
    private static final int F_SEQ = 512;
    private static final int F_PROT = 1024;
    private static final byte[][] FIELDS = {
        bytes("op"), bytes("cpu"), bytes("count"), bytes("ret"), bytes("addr"), bytes("start"), bytes("end"),
        bytes("bug"), bytes("note"), bytes("seq"), bytes("prot")};
    private static final int OP_MAP = 0;
    private static final int OP_UNMAP = 1;
    private static final int OP_ALIASES = 2;
    private static final int OP_BUSY = 4;
    private static final byte[][] OP_BYTES = {bytes("map"), bytes("unmap"), bytes("aliases"), bytes("flush"), bytes("busy")};

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    /** Scan position in {@code buf} and the value just scanned. */
    private int at;
    private long num;
    private int strStart;
    private int strLen;
    private static final int V_NULL = 0;
    private static final int V_INT = 1;
    private static final int V_STRING = 2;

    /**
     * The current line as an event, when it is an ASCII line holding a plain, valid one: a flat
     * object of the fields its op reads, each once, with strings free of escapes and integers of
     * at most 18 digits. Else null, and the JSON tree and {@link #parseEvent} read the line (they
     * give the same event for every line this accepts, and the error for the rest).
     */
    private TraceEvent fastEvent() {
        if (lineText != null) {
            return null;
        }
        int end = lineOff + lineLen;
        at = lineOff;
        if (!skipTo('{', end)) {
            return null;
        }
        int seen = 0;
        int op = -1;
        int cpu = 0;
        long count = 0;
        Long ret = null;
        long addr = 0;
        long start = 0;
        long stop = 0;
        String bug = null;
        String note = null;
        Long seq = null;
        Long prot = null;
        if (!skipTo('"', end)) {
            return null;
        }
        while (true) {
            int field = field(end);
            if (field < 0 || !skipTo(':', end)) {
                return null;
            }
            int bit = 1 << field;
            if ((seen & bit) != 0) {
                return null; // a duplicate
            }
            seen |= bit;
            int v = value(end);
            switch (bit) {
                case F_OP -> {
                    if (v != V_STRING) {
                        return null;
                    }
                    for (int k = 0; k < OP_BYTES.length && op < 0; k++) {
                        if (Arrays.equals(buf, strStart, strStart + strLen, OP_BYTES[k], 0, OP_BYTES[k].length)) {
                            op = k;
                        }
                    }
                    if (op < 0) {
                        return null;
                    }
                }
                case F_CPU -> {
                    if (v != V_INT || num < 0 || num > Integer.MAX_VALUE || !online.get((int) num)) {
                        return null;
                    }
                    cpu = (int) num;
                }
                case F_COUNT -> {
                    if (v != V_INT || num < 0 || num > MAX_COUNT) {
                        return null;
                    }
                    count = num;
                }
                case F_RET, F_ADDR, F_START, F_END -> {
                    if (v == V_NULL && bit == F_RET) {
                        break;
                    }
                    if (v != V_STRING || !hexAddress()) {
                        return null;
                    }
                    if (bit == F_RET) {
                        ret = num;
                    } else if (bit == F_ADDR) {
                        addr = num;
                    } else if (bit == F_START) {
                        start = num;
                    } else {
                        stop = num;
                    }
                }
                case F_BUG, F_NOTE -> {
                    if (v != V_NULL && v != V_STRING) {
                        return null;
                    }
                    String text = v == V_NULL ? null : new String(buf, strStart, strLen, StandardCharsets.ISO_8859_1);
                    if (bit == F_BUG) {
                        bug = text;
                    } else {
                        note = text;
                    }
                }
                default -> { // seq, prot
                    if (v != V_NULL && v != V_INT) {
                        return null;
                    }
                    Long n = v == V_NULL ? null : num;
                    if (bit == F_SEQ) {
                        seq = n;
                    } else {
                        prot = n;
                    }
                }
            }
            int c = nextNonBlank(end);
            if (c == '}') {
                break;
            }
            if (c != ',' || !skipTo('"', end)) {
                return null;
            }
        }
        if (nextNonBlank(end) != -1 || op < 0) {
            return null; // more after the object
        }
        switch (op) {
            case OP_MAP -> {
                if ((seen & (F_CPU | F_COUNT)) != (F_CPU | F_COUNT) || ((seen & F_RET) != 0) == (bug != null)) {
                    return null;
                }
                return new TraceEvent.Map(lineNo, cpu, count, ret, bug, prot, seq, note);
            }
            case OP_UNMAP -> {
                if ((seen & (F_CPU | F_COUNT | F_ADDR)) != (F_CPU | F_COUNT | F_ADDR)) {
                    return null;
                }
                return new TraceEvent.Unmap(lineNo, cpu, addr, count, bug, seq, note);
            }
            case OP_ALIASES -> {
                return (seen & F_CPU) == 0 ? null : new TraceEvent.Aliases(lineNo, cpu, bug, seq, note, null);
            }
            default -> { // flush, busy
                if ((seen & (F_START | F_END)) != (F_START | F_END) || Long.compareUnsigned(start, stop) > 0) {
                    return null;
                }
                if (op == OP_BUSY) {
                    return new TraceEvent.Busy(lineNo, start, stop, seq, note);
                }
                return new TraceEvent.Flush(lineNo, start, stop, (seen & F_CPU) != 0 ? cpu : null, seq, note);
            }
        }
    }

    /** The next byte that is not JSON whitespace (space, tab), or -1 at the end of the line; moves past it. */
    private int nextNonBlank(int end) {
        while (at < end) {
            byte b = buf[at++];
            if (b != ' ' && b != '\t') {
                return b;
            }
        }
        return -1;
    }

    private boolean skipTo(char c, int end) {
        return nextNonBlank(end) == c;
    }

    /** Moves {@code at} to the closing quote of a plain string; false at an escape, a control byte or the end. */
    private boolean toClosingQuote(int end) {
        while (at < end && buf[at] != '"') {
            if (buf[at] == '\\' || buf[at] < 0x20) {
                return false;
            }
            at++;
        }
        return at < end;
    }

    /** A field name after its opening quote: its index in FIELDS, or -1 (unknown, or escaped). */
    private int field(int end) {
        int s = at;
        if (!toClosingQuote(end)) {
            return -1;
        }
        int len = at - s;
        at++;
        int k = switch (len) { // the one candidate of that length and first letter
            case 2 -> 0; // op
            case 3 -> buf[s] == 'c' ? 1 : buf[s] == 'r' ? 3 : buf[s] == 'e' ? 6 : buf[s] == 'b' ? 7 : 9;
            case 4 -> buf[s] == 'a' ? 4 : buf[s] == 'n' ? 8 : 10;
            case 5 -> buf[s] == 'c' ? 2 : 5;
            default -> -1;
        };
        if (k < 0) {
            return -1;
        }
        byte[] name = FIELDS[k];
        for (int i = 0; i < len; i++) {
            if (buf[s + i] != name[i]) {
                return -1;
            }
        }
        return k;
    }

    /** A value: V_STRING (strStart, strLen), V_INT (num) or V_NULL; -1 for anything else. */
    private int value(int end) {
        int c = nextNonBlank(end);
        if (c == '"') {
            strStart = at;
            if (!toClosingQuote(end)) {
                return -1;
            }
            strLen = at - strStart;
            at++;
            return V_STRING;
        }
        int kind;
        if (c == 'n') {
            if (at + 3 > end || buf[at] != 'u' || buf[at + 1] != 'l' || buf[at + 2] != 'l') {
                return -1;
            }
            at += 3;
            kind = V_NULL;
        } else {
            boolean neg = c == '-';
            if (neg) {
                c = at < end ? buf[at++] : -1;
            }
            if (c < '0' || c > '9' || c == '0' && at < end && buf[at] >= '0' && buf[at] <= '9') {
                return -1; // no digits, or a leading zero
            }
            long n = c - '0';
            int digits = 1;
            while (at < end && buf[at] >= '0' && buf[at] <= '9') {
                if (++digits > 18) {
                    return -1;
                }
                n = n * 10 + (buf[at++] - '0');
            }
            num = neg ? -n : n;
            kind = V_INT;
        }
        if (at < end && buf[at] != ' ' && buf[at] != '\t' && buf[at] != ',' && buf[at] != '}') {
            return -1; // a fraction, an exponent, or a longer word
        }
        return kind;
    }

    /** The scanned string as {@link Hex#parse} reads an address, into {@code num}; false if it is none. */
    private boolean hexAddress() {
        if (strLen < 3 || strLen > 18 || buf[strStart] != '0' || buf[strStart + 1] != 'x') {
            return false;
        }
        long a = 0;
        for (int i = strStart + 2; i < strStart + strLen; i++) {
            int b = buf[i];
            int d = b >= '0' && b <= '9' ? b - '0' : b >= 'a' && b <= 'f' ? b - 'a' + 10 : b >= 'A' && b <= 'F' ? b - 'A' + 10 : -1;
            if (d < 0) {
                return false;
            }
            a = a << 4 | d;
        }
        num = a;
        return true;
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
                return new TraceEvent.Aliases(lineNo, cpu(o, true), text(o, "bug", false), seq, note, probes(o), by(o),
                        task(o));
            case "flush": {
                long[] r = range(o);
                Integer cpu = optional(o, "cpu") == null ? null : cpu(o, false);
                return new TraceEvent.Flush(lineNo, r[0], r[1], cpu, seq, note, path(o), flushBy(o), task(o));
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

    /** Version 2: {@code "task"}, the pid of the task that made the event; version 1 ignores the field. */
    private Long task(ObjectNode o) throws TraceFormatException {
        JsonNode v = header.version() >= 2 ? optional(o, "task") : null;
        if (v == null) {
            return null;
        }
        if (!v.canConvertToLong() || !v.isIntegralNumber() || v.longValue() < 0) {
            throw error("bad-field-type", "\"task\" must be a task's pid, a non-negative integer, got " + show(v));
        }
        return v.longValue();
    }

    /** Version 2: a flush's {@code "by"}, "program" or "other"; version 1 ignores the field. */
    private String flushBy(ObjectNode o) throws TraceFormatException {
        JsonNode v = header.version() >= 2 ? optional(o, "by") : null;
        if (v == null) {
            return null;
        }
        if (!v.isTextual() || !TraceEvent.Flush.BY.contains(v.textValue())) {
            throw error("bad-field-type", "a flush's \"by\" must be one of " + TraceEvent.Flush.BY
                    + " (the traced program's call or another task), got " + show(v));
        }
        return v.textValue();
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
