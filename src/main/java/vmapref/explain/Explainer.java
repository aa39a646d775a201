// SPDX-License-Identifier: GPL-2.0-only
package vmapref.explain;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.replay.Replayer;
import vmapref.spec.Spec;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;

/**
 * The text {@code vmapref explain} prints for a {@link Replayer.Snapshot}: the finding (rule, expected, actual),
 * the history of the mapping and the vmap block involved, and the model's state at that point.
 */
public final class Explainer {
    /** History lines shown at most (the latest ones). */
    static final int MAX_HISTORY = 40;
    /** Calls and flushes shown when there is no address to follow. */
    static final int RECENT = 10;

    private final Replayer.Snapshot s;
    private final KernelConfig cfg;
    private final long pageSize;
    private final StringBuilder out = new StringBuilder();

    private Explainer(Replayer.Snapshot s) {
        this.s = s;
        this.cfg = s.config();
        this.pageSize = cfg.pageSize();
    }

    /**
     * The explanation of {@code s}.
     *
     * @param asked the line given with {@code --line}, or null
     * @param later when the replay stopped at {@code asked} without a finding: the divergence further on, or null
     * @param laterCommand the explain command that shows {@code later}
     */
    public static String explain(Replayer.Snapshot s, Integer asked, Replayer.Divergence later, String laterCommand) {
        return explain(s, asked, later, laterCommand, null);
    }

    /**
     * As above, ending with the render command that draws this state ({@code renderCommand} maps an output file
     * name to that command line; null leaves the line out).
     */
    public static String explain(Replayer.Snapshot s, Integer asked, Replayer.Divergence later, String laterCommand,
                                 java.util.function.Function<String, String> renderCommand) {
        Explainer x = new Explainer(s);
        x.finding(asked, later, laterCommand);
        x.history(asked);
        x.state(asked);
        if (renderCommand != null) {
            String name = x.followedBlock != null ? "block-" + Hex.format(x.addr(x.followedBlock)) + ".svg"
                    : "line-" + s.line() + ".svg";
            x.println("");
            x.println("Picture of this state" + (x.followedBlock != null ? " (block " + Hex.format(x.addr(x.followedBlock))
                    + " among the others)" : "") + ": " + renderCommand.apply(name));
        }
        return x.out.toString();
    }

    /** The base page of the block the history followed, or null. */
    private Long followedBlock;

    private void println(String line) {
        out.append(line).append('\n');
    }

    // ------------------------------------------------------------------ finding

    private void finding(Integer asked, Replayer.Divergence later, String laterCommand) {
        Replayer.Verdict v = s.verdict();
        println("vmapref explain: " + v.file() + " (" + v.profile() + "), " + v.level().id() + " level");
        println("");
        println("== Finding ==");
        Replayer.Divergence d = v.divergence();
        if (d == null) {
            if (asked == null) {
                println("none: the trace conforms at the " + v.level().id() + " level (" + v.calls() + " calls)");
            } else {
                println("none up to line " + s.line() + " (" + v.calls() + " calls replayed)");
                TraceEvent e = s.eventAt(s.line());
                println("line " + s.line() + ": " + (e == null ? "no event (header, comment or blank line)" : describe(e)));
                if (later != null) {
                    println("the trace diverges later, at line " + later.line() + " (" + later.rule() + "): "
                            + laterCommand);
                }
            }
            return;
        }
        TraceEvent e = s.eventAt(d.line());
        println("line " + d.line() + ": " + (e == null ? "the end of the trace" : describe(e)));
        println("rule:     " + d.rule());
        println("expected: " + d.expected());
        println("actual:   " + d.actual());
        if (asked != null && asked > d.line()) {
            println("(the replay stops at this first divergence, before line " + asked
                    + ": past it the model's state would mean nothing)");
        }
    }

    // ------------------------------------------------------------------ history

    /** An address range to follow: [start, start + pages pages), and why. */
    private record Focus(long start, long pages, String why) {
    }

    private Focus focus() {
        TraceEvent e = s.eventAt(s.line());
        if (e instanceof TraceEvent.Map m && m.ret() != null) {
            return new Focus(m.ret(), m.count(), "the address this vm_map_ram() returned");
        }
        if (e instanceof TraceEvent.Unmap u) {
            return new Focus(u.addr(), u.count(), "the address this vm_unmap_ram() gave back");
        }
        if (e instanceof TraceEvent.Aliases || e == null && s.verdict().divergence() != null) {
            Map<Long, Long> stale = s.spec().stalePages().ranges();
            if (!stale.isEmpty()) {
                Map.Entry<Long, Long> first = stale.entrySet().iterator().next();
                return new Focus(addr(first.getKey()), first.getValue() - first.getKey(),
                        "the first stale range" + (stale.size() > 1 ? " (of " + stale.size() + ")" : ""));
            }
            for (VmapBlock vb : s.kernel().blocks().values()) {
                if (vb.hasDirtyRange()) {
                    long base = base(vb);
                    return new Focus(addr(base + vb.dirtyMin()), vb.dirtyMax() - vb.dirtyMin(),
                            "the first block with a dirty range");
                }
            }
            if (!s.kernel().lazy().isEmpty()) {
                Va va = s.kernel().lazy().values().iterator().next();
                return new Focus(addr(va.start()), va.pages(), "the first lazily freed area");
            }
        }
        return null;
    }

    private void history(Integer asked) {
        println("");
        println("== History ==");
        Focus f = focus();
        if (f == null) {
            recent();
            return;
        }
        // the mapping: the latest map whose range holds the focus address
        long mapStart = f.start();
        long mapEnd = f.start() + f.pages() * pageSize;
        Integer mapLine = null;
        long mapCount = f.pages();
        for (TraceEvent e : s.events()) {
            if (e instanceof TraceEvent.Map m && m.ret() != null && within(f.start(), m.ret(), m.ret() + m.count() * pageSize)) {
                mapStart = m.ret();
                mapEnd = m.ret() + m.count() * pageSize;
                mapLine = m.line();
                mapCount = m.count();
            }
        }
        Long blockBase = null;
        if (mapCount <= cfg.vmapMaxAlloc()) {
            long page = mapStart >>> cfg.pageShift();
            blockBase = page - Math.floorMod(page, (long) cfg.blockPages());
        }
        followedBlock = blockBase;
        long blockStart = blockBase == null ? mapStart : addr(blockBase);
        long blockEnd = blockBase == null ? mapEnd : addr(blockBase + cfg.blockPages());
        println("following " + f.why() + ": " + range(f.start(), f.start() + f.pages() * pageSize));
        println("mapping:  " + range(mapStart, mapEnd) + " (" + mapCount + " page" + (mapCount == 1 ? "" : "s") + ")"
                + (mapLine == null ? ", no map in the trace returned it" : ", returned at line " + mapLine));
        if (blockBase != null) {
            VmapBlock vb = s.kernel().blocks().get(blockBase);
            println("block:    " + range(blockStart, blockEnd) + " (" + cfg.blockPages() + " pages"
                    + (vb == null ? "; not live in the model at this point" : ", CPU " + vb.cpu()) + ")");
        } else {
            println("block:    none (a large mapping gets its own vmap area)");
        }
        List<String> lines = new ArrayList<>();
        boolean started = false;
        for (TraceEvent e : s.events()) {
            String why = relevance(e, mapStart, mapEnd, blockBase, blockStart, blockEnd);
            Replayer.BlockChange c = s.changes().get(e.line());
            List<String> notes = new ArrayList<>();
            if (why != null) {
                notes.add(why);
            }
            if (blockBase != null && c != null) {
                if (c.created().contains(blockBase)) {
                    notes.add("the model creates the block");
                }
                if (c.retired().contains(blockBase)) {
                    notes.add("the model retires the block");
                }
            }
            if (notes.isEmpty() && started && e instanceof TraceEvent.Aliases) {
                notes.add("flushes dirty blocks and purges lazily freed areas");
            }
            if (e.line() == s.line()) {
                notes.add(s.verdict().divergence() != null ? "<-- the finding" : "<-- line " + s.line());
            }
            if (notes.isEmpty()) {
                continue;
            }
            started = true;
            lines.add("line " + e.line() + ": " + describe(e) + "  [" + String.join("; ", notes) + "]");
        }
        if (lines.size() > MAX_HISTORY) {
            println("(" + (lines.size() - MAX_HISTORY) + " earlier lines not shown)");
            lines = lines.subList(lines.size() - MAX_HISTORY, lines.size());
        }
        lines.forEach(this::println);
    }

    /** Why event {@code e} matters for the mapping and block, or null. */
    private String relevance(TraceEvent e, long mapStart, long mapEnd, Long blockBase, long blockStart, long blockEnd) {
        if (e instanceof TraceEvent.Map m && m.ret() != null) {
            long end = m.ret() + m.count() * pageSize;
            if (m.ret() == mapStart && end == mapEnd) {
                return "returns the mapping";
            }
            if (overlaps(m.ret(), end, mapStart, mapEnd)) {
                return "overlaps the mapping";
            }
            if (blockBase != null && overlaps(m.ret(), end, blockStart, blockEnd)) {
                return "same block, page offset " + ((m.ret() - blockStart) / pageSize);
            }
            return null;
        }
        if (e instanceof TraceEvent.Unmap u) {
            long end = u.addr() + u.count() * pageSize;
            if (u.addr() == mapStart && end == mapEnd) {
                return "unmaps the mapping";
            }
            if (overlaps(u.addr(), end, mapStart, mapEnd)) {
                return "overlaps the mapping";
            }
            if (blockBase != null && overlaps(u.addr(), end, blockStart, blockEnd)) {
                return "same block, page offset " + ((u.addr() - blockStart) / pageSize);
            }
            return null;
        }
        if (e instanceof TraceEvent.Flush fl) {
            if (!overlaps(fl.start(), fl.end(), blockStart, blockEnd)) {
                return null;
            }
            String what = blockBase == null ? "the mapping" : "the block";
            if (covers(fl.start(), fl.end(), blockStart, blockEnd)) {
                return "covers " + what;
            }
            if (covers(fl.start(), fl.end(), mapStart, mapEnd)) {
                return "covers the mapping";
            }
            return "covers part of " + what;
        }
        if (e instanceof TraceEvent.Busy b) {
            return overlaps(b.start(), b.end(), blockStart, blockEnd) ? "another user held this range" : null;
        }
        return null;
    }

    /** No address to follow: the last calls and flushes. */
    private void recent() {
        println("no address to follow; the last calls and flushes up to line " + s.line() + ":");
        List<TraceEvent> l = new ArrayList<>();
        for (TraceEvent e : s.events()) {
            if (e.isCall() || e instanceof TraceEvent.Flush) {
                l.add(e);
            }
        }
        if (l.isEmpty()) {
            println("(none)");
        }
        for (TraceEvent e : l.subList(Math.max(0, l.size() - RECENT), l.size())) {
            println("line " + e.line() + ": " + describe(e) + (e.line() == s.line() ? "  [<-- line " + s.line() + "]" : ""));
        }
    }

    // ------------------------------------------------------------------ state

    private void state(Integer asked) {
        println("");
        String when;
        if (s.verdict().divergence() != null) {
            when = "before line " + s.line() + " (what the model had when the event came)";
        } else if (asked != null) {
            when = "after line " + s.line();
        } else {
            when = "at the end of the trace";
        }
        println("== Model state " + when + " ==");
        KernelState k = s.kernel();
        if (s.verdict().level() == Replayer.Level.SPEC) {
            println("(the allocator state comes from a structure-level replay run alongside"
                    + (s.kernelStoppedAt() > 0 ? "; it diverged at line " + s.kernelStoppedAt()
                    + ", so it is shown as it was just before that line)" : ")"));
        }
        TreeSet<Integer> cpus = new TreeSet<>(s.header().possibleCpus());
        cpus.addAll(k.freeLists().keySet());
        boolean many = cpus.size() > 16;
        TreeSet<Long> onLists = new TreeSet<>();
        for (int cpu : cpus) {
            List<Long> list = k.freeList(cpu);
            onLists.addAll(list);
            if (list.isEmpty() && many) {
                continue;
            }
            println("CPU " + cpu + " free list (oldest first): " + (list.isEmpty() ? "empty" : list.size() + " block"
                    + (list.size() == 1 ? "" : "s")));
            for (long base : list) {
                VmapBlock vb = k.blocks().get(base);
                println("  " + (vb == null ? "block " + Hex.format(addr(base)) + ": not in vmap_blocks" : block(base, vb, false)));
            }
        }
        if (many) {
            println("(the other " + cpus.size() + " possible CPUs have empty free lists)");
        }
        List<String> off = new ArrayList<>();
        for (Map.Entry<Long, VmapBlock> b : k.blocks().entrySet()) {
            if (!onLists.contains(b.getKey())) {
                off.add("  " + block(b.getKey(), b.getValue(), true));
            }
        }
        println("Blocks on no free list (full, or being freed): " + (off.isEmpty() ? "none" : off.size()));
        off.forEach(this::println);
        println("Lazily freed areas (vmap_lazy_nr " + k.lazyNr() + " pages): " + (k.lazy().isEmpty() ? "none" : k.lazy().size()));
        for (Va va : k.lazy().values()) {
            println("  " + range(addr(va.start()), addr(va.end())) + " " + va.pages() + " pages, "
                    + (va.kind() == Va.Kind.BLOCK ? "a vmap block" : va.kind() == Va.Kind.RAM ? "a large vm_map_ram() area"
                    : "another user's area"));
        }
        int pooled = 0;
        for (var pool : k.pools().values()) {
            pooled += pool.size();
        }
        if (pooled > 0) { // 6.9+: mm/vmalloc.c: struct vmap_node's pool[], list head first
            println("Node pools (areas kept for node_alloc(), head first): " + pooled);
            for (var pool : new java.util.TreeMap<>(k.pools()).entrySet()) {
                if (pool.getValue().isEmpty()) {
                    continue;
                }
                int node = pool.getKey() / vmapref.kernel.KernelConfig.MAX_VA_SIZE_PAGES;
                long pages = pool.getKey() % vmapref.kernel.KernelConfig.MAX_VA_SIZE_PAGES + 1;
                StringBuilder b = new StringBuilder("  node " + node + ", " + pages + "-page areas:");
                pool.getValue().forEach(start -> b.append(' ').append(Hex.format(addr(start))));
                println(b.toString());
            }
        }
        Spec spec = s.spec();
        Map<Long, Long> stale = spec.stalePages().ranges();
        long stalePages = 0;
        for (Map.Entry<Long, Long> r : stale.entrySet()) {
            stalePages += r.getValue() - r.getKey();
        }
        println("Stale ranges (unmapped, no TLB flush since; from the specification): "
                + (stale.isEmpty() ? "none" : stale.size() + ", " + stalePages + " pages"));
        for (Map.Entry<Long, Long> r : stale.entrySet()) {
            println("  " + range(addr(r.getKey()), addr(r.getValue())) + " " + (r.getValue() - r.getKey()) + " pages");
        }
        long livePages = 0;
        for (long p : spec.livePages().values()) {
            livePages += p;
        }
        println("Live mappings: " + spec.livePages().size() + " (" + livePages + " pages)");
    }

    private String block(long base, VmapBlock vb, boolean withCpu) {
        StringBuilder b = new StringBuilder("block " + Hex.format(addr(base)) + ":");
        if (withCpu) {
            b.append(" CPU ").append(vb.cpu()).append(",");
        }
        b.append(" free ").append(vb.free()).append(", dirty ").append(vb.dirty()).append(", dirty range ");
        if (vb.hasDirtyRange()) {
            b.append(range(addr(base + vb.dirtyMin()), addr(base + vb.dirtyMax()))).append(" (page offsets [")
                    .append(vb.dirtyMin()).append(", ").append(vb.dirtyMax()).append("))");
        } else {
            b.append("none");
        }
        b.append(", live ").append(vb.livePages(cfg.blockPages())).append(" pages");
        if (!vb.live().isEmpty()) {
            List<String> l = new ArrayList<>();
            for (Map.Entry<Integer, Long> e : vb.live().entrySet()) {
                if (l.size() == 8) {
                    l.add("...");
                    break;
                }
                l.add("+" + e.getKey() + ":" + e.getValue());
            }
            b.append(" (offset:count ").append(String.join(" ", l)).append(")");
        }
        return b.toString();
    }

    // ------------------------------------------------------------------ helpers


    private long base(VmapBlock vb) {
        for (Map.Entry<Long, VmapBlock> e : s.kernel().blocks().entrySet()) {
            if (e.getValue() == vb) {
                return e.getKey();
            }
        }
        return vb.base();
    }

    private long addr(long page) {
        return page << cfg.pageShift();
    }

    private static String range(long start, long end) {
        return "[" + Hex.format(start) + ", " + Hex.format(end) + ")";
    }

    private static boolean within(long a, long start, long end) {
        return Long.compareUnsigned(a, start) >= 0 && Long.compareUnsigned(a, end) < 0;
    }

    private static boolean overlaps(long s1, long e1, long s2, long e2) {
        return Long.compareUnsigned(s1, e2) < 0 && Long.compareUnsigned(s2, e1) < 0;
    }

    private static boolean covers(long s1, long e1, long s2, long e2) {
        return Long.compareUnsigned(s1, s2) <= 0 && Long.compareUnsigned(e2, e1) <= 0;
    }

    /** One event as readable text. */
    public static String describe(TraceEvent e) {
        String seq = (e.foreign() ? " by another user" : "") + (e.seq() == null ? "" : " (seq " + e.seq() + ")");
        if (e instanceof TraceEvent.Map m) {
            String r = m.bug() != null ? "crashed: " + m.bug() : m.ret() == null ? "NULL" : Hex.format(m.ret());
            return "vm_map_ram(count=" + m.count() + ") on CPU " + m.cpu() + " -> " + r + seq;
        }
        if (e instanceof TraceEvent.Unmap u) {
            return "vm_unmap_ram(" + Hex.format(u.addr()) + ", " + u.count() + ") on CPU " + u.cpu()
                    + (u.bug() != null ? " crashed: " + u.bug() : "") + seq;
        }
        if (e instanceof TraceEvent.Aliases a) {
            return "vm_unmap_aliases() on CPU " + a.cpu() + (a.bug() != null ? " crashed: " + a.bug() : "") + seq;
        }
        if (e instanceof TraceEvent.Flush f) {
            return "TLB flush " + range(f.start(), f.end()) + (f.cpu() == null ? "" : " on CPU " + f.cpu())
                    + (f.path() == null ? "" : " (" + f.path() + " purge)") + seq;
        }
        if (e instanceof TraceEvent.Shrink k) {
            return "vmap-node shrinker ran" + (k.cpu() == null ? "" : " on CPU " + k.cpu()) + seq;
        }
        TraceEvent.Busy b = (TraceEvent.Busy) e;
        return "busy " + range(b.start(), b.end()) + " (another kernel user)" + seq;
    }
}
