// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import vmapref.hunt.Op;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceHeader;
import vmapref.trace.TraceWriter;

/**
 * Turns what the guest printed into a trace (docs/trace-format.md; version 2 when the module logged other users): the header from the kernel's
 * facts, a busy event per /proc/vmallocinfo area in the vmalloc range, then calls and flushes in the order of the
 * module's global counter; an aliases event carries its stale-TLB probes in {@code "probes"}.
 */
public final class TraceBuilder {

    /** x86's tlb_single_page_flush_ceiling: flush_tlb_kernel_range() of more pages flushes everything. */
    static final int FLUSH_CEILING_PAGES = 33;

    /** How the trace was taken, for the header. */
    public record Meta(String source, int smp, boolean kaslr, boolean probeStale, String program) {
    }

    /** What the trace holds, for the summary line. */
    public record Summary(String profile, String kernel, int calls, int flushes, int busy, int probes,
            int readableProbes, boolean flushesComplete, String crash, int foreignCalls, int shrinks) {
    }

    private TraceBuilder() {
    }

    /** linux-M.m from a kernel release such as 6.1.0-57-amd64 or 7.2.13+deb14-amd64. */
    public static String profileOf(String release) {
        Matcher m = Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        return m.find() ? "linux-" + m.group(1) + "." + m.group(2) : "linux-" + release;
    }

    /** "6.1.192-3 (6.1.0-57-amd64)" from the utsname version's "Debian 6.1.192-3", else the release. */
    public static String kernelText(String release, String version) {
        Matcher m = Pattern.compile("Debian (\\S+)").matcher(version == null ? "" : version);
        return m.find() ? m.group(1) + " (" + release + ")" : release;
    }

    /** VMAP_BBMAP_BITS on 64-bit: min(1024, max(2 * 64, VMALLOC_PAGES / roundup_pow_of_two(NR_CPUS) / 16)). */
    public static int blockPages(int nrCpus, long pageSize) {
        long vmallocPages = (128L << 30) / pageSize;
        long pow = Long.highestOneBit(nrCpus) == nrCpus ? nrCpus : Long.highestOneBit(nrCpus) << 1;
        return (int) Math.min(1024, Math.max(128, vmallocPages / pow / 16));
    }

    /** Writes the trace to {@code out}. */
    public static Summary write(GuestLog log, CallProgram program, Meta meta, Path out) throws IOException {
        Map<String, String> f = log.facts();
        String release = f.get("release");
        int nrCpus = Integer.parseInt(f.get("nr_cpus"));
        long pageSize = Long.parseLong(f.get("page_size"));
        long vStart = GuestLog.hex(f.get("vmalloc_start"));
        long vEnd = GuestLog.hex(f.get("vmalloc_end"));
        boolean complete = "0".equals(log.stats().get("krp_range_missed")) && "0".equals(log.stats().get("krp_all_missed"))
                && "0".equals(log.stats().getOrDefault("krp_others_missed", "0"));
        String profile = profileOf(release);
        // a module that probes other users (its "probes" fact) writes version 2: other users, paths, shrinker
        boolean others = f.containsKey("probes");
        TraceHeader h = new TraceHeader(others ? 2 : TraceHeader.VERSION, profile, pageSize, vStart, vEnd, nrCpus,
                Integer.parseInt(f.get("nr_cpu_ids")), GuestLog.cpuList(f.get("possible")),
                GuestLog.cpuList(f.get("online")), 64, complete, false, kernelText(release, f.get("version")),
                meta.source(), Map.of());
        h = h.withExtra("blockPages", IntNode.valueOf(blockPages(nrCpus, pageSize)))
                .withExtra("smp", IntNode.valueOf(meta.smp()))
                .withExtra("kaslr", BooleanNode.valueOf(meta.kaslr()))
                .withExtra("probeStale", BooleanNode.valueOf(meta.probeStale()))
                .withExtra("program", meta.program());

        List<GuestLog.Rec> events = new ArrayList<>();
        Map<Long, List<GuestLog.Rec>> probes = new HashMap<>();
        GuestLog.Rec stuck = null;
        for (GuestLog.Rec r : log.records()) {
            switch (r.type()) {
                case 'P' -> probes.computeIfAbsent(r.seq(), k -> new ArrayList<>()).add(r);
                case 'X', 'E' -> stuck = stuck == null ? r : stuck;
                default -> events.add(r);
            }
        }
        events.sort(Comparator.comparingLong(GuestLog.Rec::seq));
        Map<Integer, Long> mapped = new HashMap<>();
        int calls = 0;
        int foreign = 0;
        int shrinks = 0;
        int flushes = 0;
        int busy = 0;
        int nProbes = 0;
        int readable = 0;
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        try (TraceWriter w = TraceWriter.create(out)) {
            w.header(h);
            w.comment("captured by vmapref capture: " + program.origin() + "; seq = the module's global event counter");
            if (!complete) {
                w.comment("kretprobes missed flushes (" + log.stats() + "): \"flushes\" is not promised");
            }
            int outside = 0;
            for (GuestLog.VmallocLine v : log.vmallocinfo()) {
                if (Long.compareUnsigned(v.start(), vStart) < 0 || Long.compareUnsigned(v.end() - 1, vEnd) > 0
                        || Long.compareUnsigned(v.start(), v.end()) >= 0) {
                    outside++;
                    continue;
                }
                w.event(new TraceEvent.Busy(0, v.start(), v.end(), null, "after insmod: " + v.what()));
                busy++;
            }
            if (outside > 0) {
                w.comment(outside + " /proc/vmallocinfo areas outside VMALLOC_START..VMALLOC_END (modules) not listed");
            }
            for (GuestLog.Rec r : events) {
                switch (r.type()) {
                    case 'M' -> {
                        if (r.b() != 0) {
                            mapped.put(r.op(), r.b());
                        }
                        w.event(new TraceEvent.Map(0, r.cpu(), r.a(), r.b() == 0 ? null : r.b(), null, null, r.seq(), null));
                        calls++;
                    }
                    case 'U' -> {
                        w.event(new TraceEvent.Unmap(0, r.cpu(), r.a(), r.b(), null, r.seq(), null));
                        calls++;
                    }
                    case 'A' -> {
                        List<TraceEvent.Probe> read = null;
                        if (meta.probeStale()) {
                            read = new ArrayList<>();
                            for (GuestLog.Rec p : probes.getOrDefault(r.seq(), List.of())) {
                                read.add(new TraceEvent.Probe(p.a(), p.b() == 1));
                                nProbes++;
                                readable += p.b() == 1 ? 1 : 0;
                            }
                        }
                        w.event(new TraceEvent.Aliases(0, r.cpu(), null, r.seq(), null, read));
                        calls++;
                    }
                    case 'F', 'T' -> {
                        w.event(new TraceEvent.Flush(0, r.a(), r.b(), r.cpu(), r.seq(), flushNote(r, pageSize),
                                others ? (r.path() == null ? "other" : r.path()) : null,
                                others ? (GuestLog.programTask(r.comm()) ? "program" : "other") : null,
                                others ? r.pid() : null));
                        flushes++;
                    }
                    case 'm' -> {
                        w.event(new TraceEvent.Map(0, r.cpu(), r.a(), r.b() == 0 ? null : r.b(), null, null, r.seq(),
                                "in " + r.comm(), true));
                        foreign++;
                    }
                    case 'u' -> {
                        w.event(new TraceEvent.Unmap(0, r.cpu(), r.a(), r.b(), null, r.seq(), "in " + r.comm(), true));
                        foreign++;
                    }
                    case 'a' -> {
                        w.event(new TraceEvent.Aliases(0, r.cpu(), null, r.seq(), "in " + r.comm(), null, true, r.pid()));
                        foreign++;
                    }
                    case 'B' -> {
                        w.event(new TraceEvent.Busy(0, r.a(), r.b(), r.seq(), "alloc_vmap_area in " + r.comm()));
                        busy++;
                    }
                    case 'K' -> {
                        w.event(new TraceEvent.Shrink(0, r.cpu(), r.seq(), "vmap_node_shrink_scan in " + r.comm()));
                        shrinks++;
                    }
                    default -> {
                    }
                }
            }
            if (stuck != null) {
                String why = stuck.type() == 'E' ? "CPU " + stuck.a() + " is not online in the guest"
                        : log.crash() != null ? log.crash() : "the call did not return";
                if (stuck.type() == 'E') {
                    w.comment("call #" + (stuck.op() + 1) + " not run: " + why);
                } else {
                    w.event(crashed(program.ops().get(stuck.op()), program, mapped, why));
                    calls++;
                }
            }
        }
        return new Summary(profile, kernelText(release, f.get("version")), calls, flushes, busy, nProbes, readable,
                complete, stuck == null ? null : log.crash() != null ? log.crash() : "a call did not return", foreign,
                shrinks);
    }

    private static TraceEvent crashed(Op op, CallProgram program, Map<Integer, Long> mapped, String why) {
        if (op instanceof Op.Map m) {
            return new TraceEvent.Map(0, m.cpu(), m.count(), null, why, null, null, null);
        }
        if (op instanceof Op.Unmap u) {
            long count = ((Op.Map) program.ops().get(u.ref())).count();
            return new TraceEvent.Unmap(0, u.cpu(), mapped.getOrDefault(u.ref(), 0L), count, why, null, null);
        }
        return new TraceEvent.Aliases(0, op.cpu(), why, null, null);
    }

    /** "flush_tlb_kernel_range from CALLER in TASK", noting when x86 turned it into a full flush. */
    static String flushNote(GuestLog.Rec r, long pageSize) {
        if (r.type() == 'T') {
            return "flush_tlb_all from " + r.caller() + " in " + r.comm();
        }
        boolean full = Long.compareUnsigned(r.b() - r.a(), FLUSH_CEILING_PAGES * pageSize) > 0;
        return "flush_tlb_kernel_range from " + r.caller() + " in " + r.comm()
                + (full ? "; x86 did a full flush (range > " + FLUSH_CEILING_PAGES + " pages)" : "");
    }
}
