// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Flushable;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Writes a trace in the format of docs/trace-format.md: the header, then one compact JSON object per event,
 * {@code \n} line ends, addresses as {@link Hex#format} strings, null fields left out. Fields come
 * in a fixed order: header {@code vmaptrace, profile, kernel, pageSize, vmallocStart, vmallocEnd, nrCpus,
 * nrCpuIds, possibleCpus, onlineCpus, bitsPerLong (if not 64), flushes (if true), exclusive (if true), source},
 * then the extras; events {@code op, cpu, count, addr, ret | bug, start, end, prot, seq, note}. What
 * {@link TraceReader} reads back equals what was written, apart from line numbers.
 */
public final class TraceWriter implements AutoCloseable, Flushable {
    private final Writer out;
    private final ObjectMapper mapper = new ObjectMapper();
    private boolean headerWritten;
    private int version;

    public TraceWriter(Writer out) {
        this.out = out;
    }

    /** Creates (or truncates) a UTF-8 trace file. */
    public static TraceWriter create(Path file) throws IOException {
        return new TraceWriter(Files.newBufferedWriter(file, StandardCharsets.UTF_8));
    }

    /** Writes the header; it must come before any event, once. */
    public void header(TraceHeader h) throws IOException {
        if (headerWritten) {
            throw new IllegalStateException("the header is already written");
        }
        ObjectNode o = mapper.createObjectNode();
        o.put("vmaptrace", h.version());
        version = h.version();
        o.put("profile", h.profile());
        if (h.kernel() != null) {
            o.put("kernel", h.kernel());
        }
        o.put("pageSize", h.pageSize());
        o.put("vmallocStart", Hex.format(h.vmallocStart()));
        o.put("vmallocEnd", Hex.format(h.vmallocEnd()));
        o.put("nrCpus", h.nrCpus());
        o.put("nrCpuIds", h.nrCpuIds());
        h.possibleCpus().forEach(o.putArray("possibleCpus")::add);
        h.onlineCpus().forEach(o.putArray("onlineCpus")::add);
        if (h.bitsPerLong() != 64) {
            o.put("bitsPerLong", h.bitsPerLong());
        }
        if (h.flushes()) {
            o.put("flushes", true);
        }
        if (h.exclusive()) {
            o.put("exclusive", true);
        }
        if (h.source() != null) {
            o.put("source", h.source());
        }
        o.setAll(h.extra());
        line(o);
        headerWritten = true;
    }

    /** Version 2 fields and events under a version 1 header would be misread: refuse them. */
    private void needVersion2(String what) {
        if (version < 2) {
            throw new IllegalStateException(what + " needs a version 2 header (TraceHeader.withVersion(2))");
        }
    }

    /** Writes one event; the header must have been written. */
    public void event(TraceEvent e) throws IOException {
        if (!headerWritten) {
            throw new IllegalStateException("write the header before any event");
        }
        ObjectNode o = mapper.createObjectNode();
        o.put("op", e.op());
        if (e instanceof TraceEvent.Map m) {
            o.put("cpu", m.cpu());
            o.put("count", m.count());
            if (m.bug() != null) {
                o.put("bug", m.bug());
            } else {
                o.put("ret", m.ret() == null ? null : Hex.format(m.ret()));
            }
            if (m.prot() != null) {
                o.put("prot", m.prot());
            }
        } else if (e instanceof TraceEvent.Unmap u) {
            o.put("cpu", u.cpu());
            o.put("count", u.count());
            o.put("addr", Hex.format(u.addr()));
            putIfPresent(o, "bug", u.bug());
        } else if (e instanceof TraceEvent.Aliases a) {
            o.put("cpu", a.cpu());
            putIfPresent(o, "bug", a.bug());

        } else if (e instanceof TraceEvent.Flush f) {
            if (f.cpu() != null) {
                o.put("cpu", f.cpu());
            }
            o.put("start", Hex.format(f.start()));
            o.put("end", Hex.format(f.end()));
        } else if (e instanceof TraceEvent.Busy b) {
            o.put("start", Hex.format(b.start()));
            o.put("end", Hex.format(b.end()));
        } else if (e instanceof TraceEvent.Shrink k) {
            needVersion2("a shrink event");
            if (k.cpu() != null) {
                o.put("cpu", k.cpu());
            }
        }
        if (e.foreign()) {
            needVersion2("another user's call");
            o.put("by", "other");
        }
        if (e instanceof TraceEvent.Flush f && f.path() != null) {
            needVersion2("a flush path");
            o.put("path", f.path());
        }
        if (e instanceof TraceEvent.Flush f && f.by() != null) {
            needVersion2("who made a flush");
            o.put("by", f.by());
        }
        if (e.task() != null) {
            needVersion2("the task of an event");
            o.put("task", e.task());
        }
        if (e.seq() != null) {
            o.put("seq", e.seq());
        }
        putIfPresent(o, "note", e.note());
        if (e instanceof TraceEvent.Aliases a && a.probes() != null) { // capture --probe-stale, after the usual fields
            com.fasterxml.jackson.databind.node.ArrayNode ps = o.putArray("probes");
            for (TraceEvent.Probe p : a.probes()) {
                ps.addObject().put("addr", Hex.format(p.addr())).put("readable", p.readable());
            }
        }
        line(o);
    }

    /** Writes {@code # text}, one comment line per line of {@code text}. */
    public void comment(String text) throws IOException {
        for (String l : text.isEmpty() ? new String[] {""} : text.split("\r\n|\r|\n", -1)) {
            out.write(l.isEmpty() ? "#\n" : "# " + l + "\n");
        }
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    private void line(ObjectNode o) throws IOException {
        out.write(mapper.writeValueAsString(o));
        out.write('\n');
    }

    private static void putIfPresent(ObjectNode o, String field, String value) {
        if (value != null) {
            o.put(field, value);
        }
    }
}
