// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.LongConsumer;
import vmapref.check.Configs;
import vmapref.check.SpecChecker;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Mutant;
import vmapref.kernel.Outcome;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.kernel.Vmalloc;
import vmapref.spec.IntervalSet;
import vmapref.spec.Rule;
import vmapref.spec.Spec;
import vmapref.spec.Violation;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;
import vmapref.trace.TraceHeader;
import vmapref.trace.TraceReader;

/**
 * Replays a trace (docs/trace-format.md, version 1) at one of three levels and says whether it is what
 * Linux would do. Streaming: memory grows with the live state, not with the trace.
 */
public final class Replayer {

    /** How much of the trace the model predicts. */
    public enum Level {
        /** Only the abstract specification's rules. */
        SPEC,
        /** Everything but where new blocks and large areas land (other kernel users decide that). */
        STRUCTURE,
        /** Every address and every flush: for exclusive traces. */
        EXACT;

        public String id() {
            return name().toLowerCase();
        }

        public static Level parse(String s) {
            for (Level l : values()) {
                if (l.id().equals(s)) {
                    return l;
                }
            }
            throw new IllegalArgumentException("unknown level '" + s + "' (spec, structure or exact)");
        }
    }

    /** The first place where the trace and the model part. */
    public record Divergence(int line, String rule, String expected, String actual) {
    }

    /** The outcome of replaying one file. */
    public record Verdict(String file, Level level, String profile, long calls, Divergence divergence) {
        public boolean conforms() {
            return divergence == null;
        }

        /** One line: PASS or FAIL, the level, the file (and line), and what broke. */
        public String line() {
            if (conforms()) {
                return "PASS " + level.id() + " " + file + " (" + profile + "): " + calls + " calls, no divergence";
            }
            return "FAIL " + level.id() + " " + file + ":" + divergence.line() + " (" + profile + "): "
                    + divergence.rule() + ": expected " + divergence.expected() + "; actual " + divergence.actual();
        }
    }

    private Replayer() {
    }

    public static Verdict replay(Path file, Level level) throws IOException, TraceFormatException {
        return replay(file, level, null);
    }

    /** As above; {@code progress}, if not null, is told the line reached now and then (every 16384 events). */
    public static Verdict replay(Path file, Level level, LongConsumer progress) throws IOException, TraceFormatException {
        return replay(file, level, progress, Run.MAX_WORLDS);
    }

    /**
     * As above, following up to {@code worlds} interleavings of a busy kernel's events at structure level
     * (default {@value Run#MAX_WORLDS}): a trace that diverges only because the one that explains it was
     * dropped for the ones preferred may pass with more.
     */
    public static Verdict replay(Path file, Level level, LongConsumer progress, int worlds)
            throws IOException, TraceFormatException {
        try (TraceReader reader = TraceReader.open(file)) {
            return replay(file.toString(), reader, level, progress, worlds);
        }
    }

    public static Verdict replay(String name, TraceReader reader, Level level) throws IOException, TraceFormatException {
        return replay(name, reader, level, null, Run.MAX_WORLDS);
    }

    private static Verdict replay(String name, TraceReader reader, Level level, LongConsumer progress, int worlds)
            throws IOException, TraceFormatException {
        TraceHeader h = reader.header();
        KernelConfig cfg = config(name, reader, level);
        Run run = new Run(name, h, cfg, level);
        run.maxWorlds = worlds;
        TraceEvent e;
        long events = 0;
        while ((e = reader.next()) != null) {
            Divergence d = run.apply(e);
            if (d != null) {
                return new Verdict(name, level, h.profile(), run.calls, d);
            }
            if (progress != null && (++events & 0x3fff) == 0) {
                progress.accept(reader.lineNumber());
            }
        }
        Divergence d = run.finish(reader.lineNumber());
        return new Verdict(name, level, h.profile(), run.calls, d);
    }

    private static KernelConfig config(String name, TraceReader reader, Level level) throws TraceFormatException {
        TraceHeader h = reader.header();
        KernelConfig cfg;
        try {
            cfg = Configs.kernel(h);
        } catch (IllegalArgumentException e) {
            throw new TraceFormatException(name, reader.headerLine(), "bad-header-field", e.getMessage());
        }
        if (level == Level.EXACT && !h.exclusive()) {
            throw new TraceFormatException(name, reader.headerLine(), "not-exclusive",
                    "the exact level predicts every address, so it needs a trace whose header says \"exclusive\":true");
        }
        return cfg;
    }

    // ------------------------------------------------------------ explain's hook

    /** The vmap blocks (by base page) one event created and retired in the model. */
    public record BlockChange(Set<Long> created, Set<Long> retired) {
    }

    /**
     * A replay stopped for {@code explain}: at the first divergence, or after line {@code until} when there is
     * none up to it.
     *
     * @param verdict   the verdict so far: its divergence (or null) and the calls replayed
     * @param line      the diverging line, else the last line replayed (at most {@code until})
     * @param kernel    the allocator model's state just before the diverging event (else after {@code line});
     *                  at the spec level, which does not run the allocator, it comes from a structure-level
     *                  replay run alongside, frozen before the line where that one diverges
     * @param kernelStoppedAt the line where that structure-level companion diverged, or 0
     * @param spec      the specification's state at the same point (live mappings, stale pages), whatever the level
     * @param events    the events read, up to and including {@code line}
     * @param changes   by line, the blocks the model created and retired there (only lines that changed any)
     * @param lastLine  the number of lines read (the whole file when the replay went to the end)
     */
    public record Snapshot(Verdict verdict, TraceHeader header, KernelConfig config, int line, KernelState kernel,
                           int kernelStoppedAt, Spec spec, List<TraceEvent> events, Map<Integer, BlockChange> changes,
                           int lastLine) {

        /** The event read from {@code line}, or null (a comment, or past where the snapshot stopped). */
        public TraceEvent eventAt(int line) {
            for (int i = events.size() - 1; i >= 0; i--) {
                if (events.get(i).line() == line) {
                    return events.get(i);
                }
                if (events.get(i).line() < line) {
                    return null;
                }
            }
            return null;
        }
    }

    /** Sees every event a snapshot replays without a divergence, with the model's state after it. */
    @FunctionalInterface
    public interface Observer {
        void after(TraceEvent e, KernelState kernel, Spec spec);
    }

    /** Replays {@code file} at {@code level} up to its first divergence, or up to line {@code until} if > 0. */
    public static Snapshot snapshot(Path file, Level level, int until) throws IOException, TraceFormatException {
        return snapshot(file, level, until, Set.of(), null);
    }

    /**
     * As {@link #snapshot(Path, Level, int)}, with the model's profile carrying {@code mutants} (a trace the model
     * wrote with a historical bug put back replays against that bug), telling {@code observer} (if not null) each
     * event replayed without a divergence.
     */
    public static Snapshot snapshot(Path file, Level level, int until, Set<Mutant> mutants, Observer observer)
            throws IOException, TraceFormatException {
        String name = file.toString();
        try (TraceReader reader = TraceReader.open(file)) {
            TraceHeader h = reader.header();
            KernelConfig cfg = config(name, reader, level);
            Run run = new Run(name, h, cfg, level, mutants);
            Run companion = level == Level.SPEC ? new Run(name, h, cfg, Level.STRUCTURE, mutants) : run;
            SpecChecker specState = new SpecChecker(Configs.spec(cfg, h.flushes()));
            KernelState kernel = companion.state;
            int companionStopped = 0;
            List<TraceEvent> events = new ArrayList<>();
            Map<Integer, BlockChange> changes = new HashMap<>();
            int last = reader.headerLine();
            boolean ended = true;
            TraceEvent e;
            while ((e = reader.next()) != null) {
                if (until > 0 && e.line() > until) {
                    ended = false;
                    break;
                }
                events.add(e);
                last = e.line();
                KernelState before = kernel;
                Spec specBefore = specState.spec();
                Divergence d = run.apply(e);
                if (companion != run && companionStopped == 0 && companion.apply(e) != null) {
                    companionStopped = e.line();
                }
                specState.apply(e);
                if (d != null) {
                    return new Snapshot(new Verdict(name, level, h.profile(), run.calls, d), h, cfg, e.line(), before,
                            companionStopped, specBefore, events, changes, reader.lineNumber());
                }
                if (companionStopped == 0) {
                    kernel = companion.state;
                }
                if (observer != null) {
                    observer.after(e, kernel, specState.spec());
                }
                if (before.blocks() != kernel.blocks()) {
                    Set<Long> created = new TreeSet<>(kernel.blocks().keySet());
                    created.removeAll(before.blocks().keySet());
                    Set<Long> retired = new TreeSet<>(before.blocks().keySet());
                    retired.removeAll(kernel.blocks().keySet());
                    if (!created.isEmpty() || !retired.isEmpty()) {
                        changes.put(e.line(), new BlockChange(created, retired));
                    }
                }
            }
            Divergence d = null;
            if (ended) {
                last = reader.lineNumber();
                d = run.finish(last);
            }
            return new Snapshot(new Verdict(name, level, h.profile(), run.calls, d), h, cfg,
                    d != null ? d.line() : until > 0 ? (ended ? Math.min(until, last) : until) : last, kernel, companionStopped,
                    specState.spec(), events, changes, ended ? last : reader.lineNumber());
        }
    }

    /** One replay in progress. */
    static final class Run {
        final String name;
        final KernelConfig cfg;
        final Level level;
        final SpecChecker spec;
        KernelState state;
        long calls;
        /** Flushes traced since the previous call. */
        final List<TraceEvent.Flush> window = new ArrayList<>();
        /** Shrinker runs since the previous call, each as the number of window flushes before it. */
        final List<Integer> shrinks = new ArrayList<>();
        /** The trace has shown the range running out: a NULL map, or a purge on allocation failure. */
        boolean ranOut;
        /**
         * structure: the ways the events so far can have interleaved that the model accepts, the one it
         * prefers first ({@link World}); {@link #state} is that one's.
         */
        List<World> worlds;

        /** By default at most this many interleavings are followed; the ones the model prefers are kept. */
        static final int MAX_WORLDS = 32;
        int maxWorlds = MAX_WORLDS;
        /** exact: flushes the model did after the previous call returned. */
        List<Effect.Flush> pendingAfter = List.of();

        Run(String name, TraceHeader h, KernelConfig cfg, Level level) {
            this(name, h, cfg, level, Set.of());
        }

        Run(String name, TraceHeader h, KernelConfig cfg, Level level, Set<Mutant> mutants) {
            this.name = name;
            this.cfg = cfg;
            this.level = level;
            this.spec = new SpecChecker(Configs.spec(cfg, h.flushes()));
            KernelState.Mode mode = level == Level.EXACT ? KernelState.Mode.EXACT : KernelState.Mode.TRACE_GUIDED;
            this.state = KernelState.boot(cfg, mutants, mode);
            this.worlds = List.of(new World(state, new java.util.TreeMap<>(), new java.util.TreeMap<>()));
        }

        Divergence apply(TraceEvent e) {
            if (level == Level.SPEC) {
                if (e.isCall()) {
                    calls++;
                }
                Violation v = spec.apply(e);
                return v == null ? null : new Divergence(e.line(), v.rule().id(), v.rule().statement(), v.message());
            }
            if (e instanceof TraceEvent.Busy b) {
                if (level == Level.STRUCTURE && calls > 0) {
                    for (World w : worlds) {
                        w.state = Vmalloc.observeBusy(w.state, b.start(), b.end());
                    }
                    state = worlds.get(0).state;
                }
                if (level == Level.EXACT && calls == 0) {
                    try {
                        state = Vmalloc.reserve(state, b.start(), b.end());
                    } catch (IllegalArgumentException ex) {
                        return new Divergence(e.line(), "busy-disjoint", "busy ranges that do not overlap", ex.getMessage());
                    }
                }
                return null;
            }
            if (e instanceof TraceEvent.Flush f) {
                window.add(f); // at structure level observed when the next call comes (structureCall)
                spec.apply(e);
                return null;
            }
            if (e instanceof TraceEvent.Shrink) {
                if (level == Level.EXACT) {
                    state = Vmalloc.observeShrink(state);
                } else {
                    shrinks.add(window.size()); // in order with the window's flushes (observeWindow)
                }
                return null;
            }
            calls++;
            Divergence d = level == Level.EXACT ? exactCall(e) : structureCall(e);
            window.clear();
            shrinks.clear();
            return d;
        }

        Divergence finish(int lastLine) {
            if (level == Level.EXACT) {
                return compareFlushes(lastLine, pendingAfter, "the end of the trace");
            }
            if (level == Level.STRUCTURE && worlds.stream().allMatch(w -> !w.early.isEmpty())) {
                World.Early x = worlds.get(0).early.get(0);
                return new Divergence(x.line(), "block-offset", "the call that took the pages before it",
                        "no vm_map_ram() returned 0x" + Long.toHexString(x.addr()) + " before the trace ended");
            }
            if (level == Level.STRUCTURE && worlds.stream().allMatch(w -> w.needsPurge != 0)) {
                return new Divergence(lastLine, "pool-reuse", "a purge decaying the pools while an earlier call passed "
                        + "over a node pool", "none before the trace ended");
            }
            return null;
        }

        // ------------------------------------------------------------ structure

        /**
         * A call at structure level, in every interleaving still followed: each takes the flushes and
         * shrinker runs since the previous call, then the call, with or without the other tasks'
         * vm_unmap_aliases() still waiting having begun before it. The call diverges when no
         * interleaving accepts it; the message is the preferred one's.
         */
        Divergence structureCall(TraceEvent e) {
            Call call = toCall(e);
            for (TraceEvent.Flush f : window) {
                ranOut |= Vmalloc.overflowPurge(f.note(), f.path());
            }
            Long told = e instanceof TraceEvent.Map m ? m.ret() : null;
            boolean ranOutBefore = ranOut;
            Vmalloc.Placement placement = new Vmalloc.Placement() {
                @Override
                public long place(Va.Kind kind, long pages, long align) {
                    return told == null ? -1 : told >>> cfg.pageShift();
                }

                @Override
                public boolean mayHaveRunOut() {
                    return ranOutBefore || told == null;
                }

                @Override
                public boolean foreign() {
                    return e.foreign();
                }
            };
            if (e instanceof TraceEvent.Map m && m.ret() == null && m.bug() == null && m.count() > 0) {
                ranOut = true;
            }
            List<World> next = new ArrayList<>();
            Divergence[] first = {null};
            CallEvent ce = new CallEvent(e, call, placement, List.copyOf(window), List.copyOf(shrinks));
            List<World> all = new ArrayList<>();
            for (World before : worlds) {
                all.addAll(advance(before, ce, first));
            }
            // an order that owes no call's event is preferred to one that waits for calls still running
            all.sort(java.util.Comparator.comparingInt(w -> w.early.size()));
            for (World b : all) {
                if (next.size() < maxWorlds && next.stream().noneMatch(b::same)) {
                    next.add(b);
                }
            }
            if (next.isEmpty()) {
                return first[0];
            }
            Violation v = spec.apply(e);
            if (v != null && v.rule() != Rule.ALIASES_NO_STALE) {
                return new Divergence(e.line(), v.rule().id(), v.rule().statement(), v.message());
            }
            worlds = next;
            state = worlds.get(0).state;
            return null;
        }

        /**
         * The same placement as {@code p}, but for what a busy kernel allows besides: pools a concurrent
         * decay had detached ({@code poolDetached}), and a free-list walk that came before the blocks
         * {@code scannedBefore} accepts.
         */
        static Vmalloc.Placement busy(Vmalloc.Placement p, boolean poolDetached, java.util.function.LongPredicate scannedBefore) {
            return new Vmalloc.Placement() {
                @Override
                public long place(Va.Kind kind, long pages, long align) {
                    return p.place(kind, pages, align);
                }

                @Override
                public boolean mayHaveRunOut() {
                    return p.mayHaveRunOut();
                }

                @Override
                public boolean foreign() {
                    return p.foreign();
                }

                @Override
                public boolean poolDetached() {
                    return poolDetached;
                }

                @Override
                public boolean scannedBefore(long basePage) {
                    return scannedBefore.test(basePage);
                }
            };
        }

        /** A call with the flushes and shrinker runs traced since the previous call. */
        record CallEvent(TraceEvent e, Call call, Vmalloc.Placement placement, List<TraceEvent.Flush> window,
                List<Integer> shrinks) {
            /** A purge shows among them: a drain or overflow flush, another task's purge flush, a shrinker run. */
            boolean showsPurge() {
                return !shrinks.isEmpty() || window.stream().anyMatch(f -> "drain".equals(f.path())
                        || "overflow".equals(f.path()) || "aliases".equals(f.path()) && "other".equals(f.by()));
            }
        }

        /**
         * One interleaving past a call: the flushes and shrinker runs before it, then the call in each
         * branch (another task's vm_unmap_aliases() begun before it or not, another task's map on another
         * CPU); the ones the model accepts, the preferred first. The first refusal goes to {@code first}.
         */
        List<World> advance(World before, CallEvent r, Divergence[] first) {
            TraceEvent e = r.e();
            boolean purgeShown = r.showsPurge();
            if (before.needsPurge != 0 && !purgeShown && !e.foreign()
                    && !(before.needsPurge == 1 && e instanceof TraceEvent.Aliases)) {
                first[0] = first[0] != null ? first[0] : new Divergence(e.line(), "pool-reuse",
                        "a purge decaying the pools while an earlier call passed over a node pool",
                        "none before the traced program's " + e.op() + " returned");
                return List.of();
            }
            for (World.Early x : before.early) {
                if (e.line() - x.line() > World.EARLY_LINES) {
                    first[0] = first[0] != null ? first[0] : new Divergence(x.line(), "block-offset",
                            "the call that took the pages before it within " + World.EARLY_LINES + " lines",
                            "no vm_map_ram() returned 0x" + Long.toHexString(x.addr()) + " by line " + e.line());
                    return List.of();
                }
            }
            List<World> early = earlyOwnAliases(before, r);
            World w = before.copy();
            if (purgeShown || !e.foreign()) {
                w.needsPurge = 0;
            }
            observeWindow(w, e, r.window(), r.shrinks());
            List<World> variants = List.of(w);
            if (e instanceof TraceEvent.Aliases a && e.foreign() && w.foreign.containsKey(World.taskKey(a.task(), a.cpu()))) {
                closeForeignAliases(w, World.taskKey(a.task(), a.cpu())); // a task's calls come one after another
            } else if (e instanceof TraceEvent.Aliases && !e.foreign()) {
                variants = lockedOut(w);
            }
            List<World> out = new ArrayList<>();
            for (World b : variants.stream().flatMap(v -> branches(v, e).stream()).toList()) {
                World pre = b.copy();
                Divergence d = callIn(b, e, r.call(), r.placement(), r.window());
                if (d == null) {
                    out.add(b.passed(before, r));
                    continue;
                }
                first[0] = first[0] == null ? d : first[0];
                if (!(r.call() instanceof Call.Map m)) {
                    continue;
                }
                // what a busy kernel allows that the call's own interleaving does not: each its own world
                if (m.count() > 0 && e instanceof TraceEvent.Map tm && tm.ret() != null) {
                    for (World took : tookEarlier(pre, tm, d.rule())) {
                        if (callIn(took, e, r.call(), r.placement(), r.window()) == null) {
                            out.add(took.passed(before, r));
                        }
                    }
                }
                if (d.rule().equals("pool-reuse")) {
                    // a purge was decaying the pools (detached) while it ran: another task's under way,
                    // else one must show before the program's next call returns (World.needsPurge)
                    World passed = pre.copy();
                    if (callIn(passed, e, r.call(), busy(r.placement(), true, base -> false), r.window()) == null) {
                        if (pre.foreign.isEmpty()) {
                            passed.needsPurge = Math.max(passed.needsPurge, e.foreign() ? 1 : 2);
                        }
                        out.add(passed.passed(before, r));
                    }
                }
                if (e.foreign()) {
                    // another task may have moved to another CPU after it entered vm_map_ram(): its
                    // vb_alloc() and new_vmap_block() take raw_cpu_ptr(&vmap_block_queue) and
                    // node_alloc() raw_smp_processor_id() when they run
                    for (int cpu : cfg.onlineCpus()) {
                        World moved = pre.copy();
                        if (cpu != m.cpu() && callIn(moved, e, new Call.Map(cpu, m.count(), m.prot()), r.placement(),
                                r.window()) == null) {
                            out.add(moved.passed(before, r));
                        }
                    }
                } else if (before.sinceOwnCall.size() > 1) {
                    // its vb_alloc() walked the free list before other tasks' calls since the program's
                    // previous call added blocks to it, and its new_vmap_block() came after them
                    var known = before.sinceOwnCall.get(0).blocks();
                    World scanned = pre.copy();
                    if (callIn(scanned, e, r.call(), busy(r.placement(), false, base -> !known.containsKey(base)),
                            r.window()) == null) {
                        out.add(scanned.passed(before, r));
                    }
                }
            }
            out.addAll(early);
            if (out.isEmpty() && !e.foreign() && r.call() instanceof Call.Map) {
                out.addAll(earlyOwnMap(before, r));
            }
            return out;
        }

        /**
         * A map the model cannot place as the trace says, explained by another vm_map_ram() still running
         * whose vb_alloc() came first (a call is logged when it returns): it took, as a power of two of
         * pages, the block's next free pages below the returned address; or it made the block whose pages
         * follow (new_vmap_block() on this CPU); or it took the next free pages of the first block on this
         * CPU's free list that would have served this call, so this one went on to a new block. Its event
         * must come later ({@link World#early}). The worlds where one did.
         */
        List<World> tookEarlier(World pre, TraceEvent.Map e, String rule) {
            long told = e.ret() >>> cfg.pageShift();
            int bits = cfg.blockPages();
            int max = cfg.vmapMaxAlloc();
            long base = told - Math.floorMod(told, (long) bits);
            VmapBlock vb = pre.state.blocks().get(base);
            List<World> out = new ArrayList<>();
            if (vb != null) { // below the returned address in its block
                long next = vb.base() + bits - vb.free();
                long gap = told - next;
                if (gap > 0 && gap <= max && Long.bitCount(gap) == 1) {
                    early(pre, Vmalloc.takeEarlier(pre.state, pre.state.addr(next), (int) gap), next, gap, e, out);
                }
                return out;
            }
            long first = told - base;
            if (rule.equals("area-lowest-fit")) {
                // it made a new block in the lowest free range that fits, below this call's area
                for (Map.Entry<Long, Long> r : pre.state.released().entrySet()) {
                    long at = r.getKey() + Math.floorMod(-r.getKey(), (long) bits);
                    if (r.getKey() >= told || at + bits > r.getValue()) {
                        continue;
                    }
                    for (int cpu : cfg.onlineCpus()) {
                        for (int g = 1; g <= max; g <<= 1) {
                            madeBlock(pre, at, g, cpu, e, out);
                        }
                    }
                    break;
                }
                return out;
            }
            if (first > 0) { // it made the block
                if (first <= max && Long.bitCount(first) == 1) {
                    madeBlock(pre, base, (int) first, e.cpu(), e, out);
                }
                return out;
            }
            // a new block: the block that would have served it had lost its free pages meanwhile
            int need = 1 << KernelConfig.getOrder(e.count());
            for (Long b : pre.state.freeLists().getOrDefault(e.cpu(), org.pcollections.TreePVector.empty())) {
                VmapBlock on = pre.state.blocks().get(b);
                if (on.free() >= need) {
                    long next = on.base() + bits - on.free();
                    for (int g = 1; g <= Math.min(on.free(), max); g <<= 1) {
                        if (on.free() - g < need) {
                            early(pre, Vmalloc.takeEarlier(pre.state, pre.state.addr(next), g), next, g, e, out);
                        }
                    }
                    break;
                }
            }
            return out;
        }

        /** The world {@code pre} where a call on {@code cpu} made the block at {@code base}, taking its first pages. */
        private void madeBlock(World pre, long base, int pages, int cpu, TraceEvent e, List<World> out) {
            Vmalloc.Placement at = new Vmalloc.Placement() {
                @Override
                public long place(Va.Kind kind, long n, long align) {
                    return base;
                }

                @Override
                public boolean foreign() {
                    return true;
                }
            };
            try {
                Vmalloc.Step made = Vmalloc.stepForeign(pre.state, new Call.Map(cpu, pages), at);
                long at0 = pre.state.addr(base);
                if (made.outcome() instanceof Outcome.Mapped mm && mm.addr() == at0) {
                    early(pre, Vmalloc.markEarlier(made.state(), at0, pages), base, pages, e, out);
                }
            } catch (Vmalloc.PlacementRejected r) {
                // not where the kernel could have made it
            }
        }

        /** The world {@code pre} with {@code took} (null: impossible), owing the event of a call at {@code page}. */
        private static void early(World pre, KernelState took, long page, long pages, TraceEvent e, List<World> out) {
            if (took != null) {
                World w = pre.copy();
                w.state = took;
                List<World.Early> l = new ArrayList<>(w.early);
                l.add(new World.Early(took.addr(page), (int) pages, e.line()));
                w.early = List.copyOf(l);
                out.add(w);
            }
        }

        /**
         * The traced program's vm_unmap_aliases() whose first flush is among this call's: it entered when
         * the program's previous call returned and may have taken vmap_purge_lock before any of the other
         * tasks' calls since, so its walk saw their blocks as they were then (a block they emptied later
         * is purged by the next one). Each such point is its own interleaving: the call there, then the
         * other tasks' calls again, then this one. Empty when there is no such flush.
         */
        List<World> earlyOwnAliases(World before, CallEvent r) {
            Integer cpu = null;
            for (TraceEvent.Flush f : r.window()) {
                if (cpu == null && f.byProgram() && "aliases".equals(f.path()) && f.cpu() != null
                        && !before.own.containsKey(f.cpu())) {
                    cpu = f.cpu();
                }
            }
            List<World> out = new ArrayList<>();
            Divergence[] ignored = {null};
            for (int i = 0; cpu != null && i < before.points.size(); i++) {
                World w = before.points.get(i).before().copy();
                Vmalloc.Step step = Vmalloc.stepAliasesTaking(w.state, new Call.Aliases(cpu), va -> true);
                w.state = step.state();
                w.own.put(cpu, new World.Begun(List.of(), step.effects(), List.of()));
                for (World v : again(w, before.points, i)) {
                    out.addAll(advance(v, r, ignored));
                }
            }
            return out;
        }

        /**
         * The traced program's map {@code r} that no interleaving accepts where its event stands: its
         * vb_alloc() (or its area's allocation) ran when the call began, right after the program's
         * previous call returned, and other tasks' calls logged since ran after it (a call is logged when
         * it returns; filling page tables takes time). The worlds where it ran before the other tasks' call
         * at each point since, with those calls again after it and this call's flushes.
         */
        List<World> earlyOwnMap(World before, CallEvent r) {
            List<World> out = new ArrayList<>();
            for (int i = 0; i < before.points.size(); i++) {
                World w = before.points.get(i).before().copy();
                if (callIn(w, r.e(), r.call(), r.placement(), List.of()) != null) {
                    continue;
                }
                for (World v : again(w, before.points, i)) {
                    observeWindow(v, r.e(), r.window(), r.shrinks());
                    v.called(false);
                    out.add(v);
                }
            }
            return out;
        }

        /** {@code w} with the other tasks' calls at {@code points} from {@code from} on again. */
        List<World> again(World w, List<World.Point> points, int from) {
            Divergence[] ignored = {null};
            List<World> ws = List.of(w);
            for (int j = from; j < points.size() && !ws.isEmpty(); j++) {
                List<World> next = new ArrayList<>();
                for (World v : ws) {
                    for (World b : advance(v, points.get(j).call(), ignored)) {
                        if (next.size() < maxWorlds && next.stream().noneMatch(b::same)) {
                            next.add(b);
                        }
                    }
                }
                ws = next;
            }
            return ws;
        }

        /**
         * vmap_purge_lock before a traced vm_unmap_aliases() returned: another task's that has begun its
         * purge held the lock first, so it is over; one still waiting for it either got it first and is
         * over too, or waits on.
         */
        List<World> lockedOut(World w) {
            List<World> out = new ArrayList<>(List.of(w));
            for (Long task : List.copyOf(w.foreign.keySet())) {
                List<World> next = new ArrayList<>();
                for (World v : out) {
                    if (v.foreign.get(task).waiting()) {
                        World waits = v.copy();
                        closeForeignAliases(v, task);
                        next.add(v);
                        next.add(waits);
                    } else {
                        closeForeignAliases(v, task);
                        next.add(v);
                    }
                }
                out = next;
            }
            return out;
        }

        /**
         * The interleavings of a call with the other tasks' vm_unmap_aliases() calls still waiting for
         * vmap_purge_lock, or flushed and not yet done: each has moved on before the call or has not,
         * those that have first (a task that entered usually gets the lock at once; the call says when
         * it did not).
         */
        List<World> branches(World w, TraceEvent e) {
            if (e instanceof TraceEvent.Aliases && !e.foreign()) {
                return List.of(w); // it holds vmap_purge_lock: no other purge begins or ends meanwhile
            }
            List<Long> open = new ArrayList<>(); // each waits for the lock, or has flushed
            w.foreign.forEach((task, purge) -> {
                if (purge.waiting() || purge.flushed()) {
                    open.add(task);
                }
            });
            if (open.isEmpty()) {
                return List.of(w);
            }
            List<World> out = new ArrayList<>();
            int n = Math.min(open.size(), 3); // beyond three, all or none
            for (int mask = (1 << n) - 1; mask >= 0; mask--) {
                World b = w.copy();
                for (int i = 0; i < open.size(); i++) {
                    if (i < n ? (mask & (1 << i)) != 0 : mask == (1 << n) - 1) {
                        long task = open.get(i);
                        if (b.foreign.get(task).waiting()) {
                            beginForeignAliases(b, task);
                        } else {
                            closeForeignAliases(b, task);
                        }
                    }
                }
                out.add(b);
            }
            return out;
        }

        /** The call in one interleaving; null when the model accepts it there (and {@code w} is then after it). */
        Divergence callIn(World w, TraceEvent e, Call call, Vmalloc.Placement placement, List<TraceEvent.Flush> window) {
            if (e instanceof TraceEvent.Map m && m.ret() != null && !w.early.isEmpty()) {
                for (World.Early x : w.early) {
                    KernelState claimed = x.addr() == m.ret() ? Vmalloc.claimEarlier(w.state, m.ret(), m.count()) : null;
                    if (claimed != null) { // its vb_alloc() ran before the calls logged since that line
                        List<World.Early> left = new ArrayList<>(w.early);
                        left.remove(x);
                        w.early = List.copyOf(left);
                        w.state = claimed;
                        w.called(e.foreign());
                        return null;
                    }
                }
            }
            if (e instanceof TraceEvent.Aliases a && !e.foreign()) {
                World.Begun own = w.own.remove(a.cpu());
                if (own != null) { // the model ran it at its flush (observeWindow)
                    w.called(false);
                    // it took the lock at one of the points: the flushes must cover what it did there
                    Divergence first = null;
                    for (KernelState then : own.points()) {
                        Divergence d = flushCovers(e.line(), Vmalloc.step(then, call).effects(), own.flushes());
                        if (d == null) {
                            return null;
                        }
                        first = first == null ? d : first;
                    }
                    Divergence d = flushCovers(e.line(), own.atFlush(), own.flushes());
                    return d == null ? null : first == null ? d : first;
                }
            }
            if (e instanceof TraceEvent.Aliases a && e.foreign() && cfg.isOnline(a.cpu())) {
                // entered; it walks and purges once it holds vmap_purge_lock
                w.foreign.put(World.taskKey(a.task(), a.cpu()), new World.Purge(a.cpu(), null, false));
                return null;
            }
            Vmalloc.Step step;
            try {
                step = e.foreign() ? Vmalloc.stepForeign(w.state, call, placement) : Vmalloc.step(w.state, call, placement);
            } catch (Vmalloc.PlacementRejected r) {
                return new Divergence(e.line(), r.rule(), "a placement the kernel could choose", r.getMessage());
            }
            Divergence d = e.foreign() ? foreignOutcome(e, step) : compareOutcome(e, w.state, step);
            if (d == null && e instanceof TraceEvent.Aliases && !e.foreign()) {
                d = flushCovers(e.line(), step.effects(), window);
            }
            w.state = step.state();
            w.called(e.foreign());
            return d;
        }

        /**
         * Another task's vm_unmap_aliases() gets vmap_purge_lock: it walks the blocks and begins its
         * purge (Vmalloc.beginForeignAliases), taking the lazy areas.
         */
        void beginForeignAliases(World w, long task) {
            World.Purge p = w.foreign.get(task);
            if (p.waiting()) {
                Vmalloc.Begun begun = Vmalloc.beginForeignAliases(w.state, new Call.Aliases(p.cpu()));
                w.state = begun.state();
                w.foreign.put(task, new World.Purge(p.cpu(), begun.taken(), false));
            }
        }

        /**
         * After its flush (or, when it had nothing to flush, at the latest when the next
         * vm_unmap_aliases() that waited for vmap_purge_lock comes), purge_vmap_node() gives the areas its
         * purge took to their pools or the free tree.
         */
        void closeForeignAliases(World w, long task) {
            beginForeignAliases(w, task);
            w.state = Vmalloc.finishForeignAliases(w.state, w.foreign.remove(task).taken());
        }

        /** Its flush completed: the areas go back at some point before the next call, or after it. */
        void flushedForeignAliases(World w, long task) {
            beginForeignAliases(w, task);
            World.Purge p = w.foreign.get(task);
            w.foreign.put(task, new World.Purge(p.cpu(), p.taken(), true));
        }

        /**
         * The flushes since the previous call, as purges by others (Vmalloc.observeFlush), but for a
         * vm_unmap_aliases() its own flush, the last one on its CPU that no worker did (a note naming
         * drain_vmap_area_work or a kworker): the model's call does that purge itself. A flush another
         * task's vm_unmap_aliases() did ends it; one the traced program's did runs that call.
         */
        void observeWindow(World w, TraceEvent e, List<TraceEvent.Flush> window, List<Integer> shrinks) {
            int own = -1;
            if (e instanceof TraceEvent.Aliases a && !a.foreign() && !w.own.containsKey(a.cpu())) {
                for (int i = window.size() - 1; i >= 0 && own < 0; i--) {
                    TraceEvent.Flush f = window.get(i);
                    boolean worker = f.path() != null ? !f.path().equals("aliases") || "other".equals(f.by())
                            : f.note() != null && (f.note().contains("drain_vmap_area_work") || f.note().contains("kworker"));
                    if ((f.cpu() == null || f.cpu() == a.cpu()) && !worker && !f.byProgram()) {
                        own = i;
                    }
                }
            }
            int shrink = 0;
            for (int i = 0; i <= window.size(); i++) {
                for (; shrink < shrinks.size() && shrinks.get(shrink) == i; shrink++) {
                    // vmap_node_shrink_scan() takes vmap_purge_lock: a purge that flushed has given its areas back
                    for (Long task : List.copyOf(w.foreign.keySet())) {
                        if (w.foreign.get(task).flushed()) {
                            closeForeignAliases(w, task);
                        }
                    }
                    w.state = Vmalloc.observeShrink(w.state);
                }
                if (i < window.size() && i != own) {
                    TraceEvent.Flush f = window.get(i);
                    boolean aliases = "aliases".equals(f.path()) && f.cpu() != null;
                    World.Purge open = aliases ? w.foreign.get(World.taskKey(f.task(), f.cpu())) : null;
                    if (aliases && f.byProgram()) {
                        ownFlush(w, f);
                    } else if (open != null && !open.flushed()) {
                        flushedForeignAliases(w, World.taskKey(f.task(), f.cpu()));
                    } else {
                        w.state = Vmalloc.observeFlush(w.state, f.start(), f.end(), f.note(), f.path());
                    }
                }
            }
        }

        /**
         * A flush of the traced program's vm_unmap_aliases() before the call returned: the model runs the
         * call now (its walk and purge are done by the time the flush completes), or adds the flush to the
         * one it ran.
         */
        void ownFlush(World w, TraceEvent.Flush f) {
            World.Begun begun = w.own.get(f.cpu());
            if (begun == null) {
                // its purge took the lazy list at some point after the program's previous call returned:
                // what was lazy then, and of what other tasks freed since, what this flush covers
                org.pcollections.PSortedMap<Long, Va> before = w.sinceOwnCall.isEmpty()
                        ? org.pcollections.TreePMap.empty() : w.sinceOwnCall.get(0).lazy();
                Vmalloc.Step step = Vmalloc.stepAliasesTaking(w.state, new Call.Aliases(f.cpu()),
                        va -> before.containsKey(va.start())
                                || Long.compareUnsigned(w.state.addr(va.start()), f.start()) >= 0
                                && Long.compareUnsigned(w.state.addr(va.end()), f.end()) <= 0);
                w.state = step.state();
                begun = new World.Begun(w.sinceOwnCall, step.effects(), List.of());
            }
            w.own.put(f.cpu(), begun.with(f));
        }

        /**
         * Another user's call: its result is the trace's, so only what the kernel guarantees is checked (a
         * small mapping takes its block's next free pages); a crash in another task is not judged.
         */
        Divergence foreignOutcome(TraceEvent e, Vmalloc.Step step) {
            if (step.outcome() instanceof Outcome.Rejected r) {
                return new Divergence(e.line(), r.rule(), "what the kernel can do for another user", r.message());
            }
            return null;
        }

        /** The traced flushes before vm_unmap_aliases() returned must cover what the model flushes. */
        Divergence flushCovers(int line, List<Effect> effects, List<TraceEvent.Flush> window) {
            long lo = Long.MAX_VALUE;
            long hi = Long.MIN_VALUE;
            for (Effect ef : effects) {
                if (ef instanceof Effect.Flush f) {
                    lo = lo == Long.MAX_VALUE || Long.compareUnsigned(f.start(), lo) < 0 ? f.start() : lo;
                    hi = hi == Long.MIN_VALUE || Long.compareUnsigned(f.end(), hi) > 0 ? f.end() : hi;
                }
            }
            if (lo == Long.MAX_VALUE) {
                return null;
            }
            IntervalSet seen = IntervalSet.empty();
            for (TraceEvent.Flush f : window) {
                seen = seen.plus(pageFloor(f.start()), pageCeil(f.end()));
            }
            if (seen.covers(pageFloor(lo), pageCeil(hi))) {
                return null;
            }
            return new Divergence(line, "aliases-flush-covers", "a flush covering [" + Hex.format(lo) + ", "
                    + Hex.format(hi) + ") before vm_unmap_aliases() returned",
                    window.isEmpty() ? "no flush" : "flushes " + describe(window));
        }

        // ------------------------------------------------------------ exact

        Divergence exactCall(TraceEvent e) {
            Call call = toCall(e);
            KernelState before = state;
            Vmalloc.Step step = Vmalloc.step(state, call);
            List<Effect.Flush> expected = new ArrayList<>(pendingAfter);
            expected.addAll(flushes(step.before()));
            Divergence d = compareFlushes(e.line(), expected, "this " + e.op());
            if (d == null) {
                d = compareOutcome(e, before, step);
            }
            state = step.state();
            pendingAfter = flushes(step.after());
            return d;
        }

        Divergence compareFlushes(int line, List<Effect.Flush> expected, String where) {
            boolean same = expected.size() == window.size();
            for (int i = 0; same && i < expected.size(); i++) {
                same = expected.get(i).start() == window.get(i).start() && expected.get(i).end() == window.get(i).end();
            }
            if (same) {
                return null;
            }
            List<String> exp = new ArrayList<>();
            for (Effect.Flush f : expected) {
                exp.add("[" + Hex.format(f.start()) + ", " + Hex.format(f.end()) + ") by " + f.by());
            }
            return new Divergence(line, "flushes-exact", (exp.isEmpty() ? "no flush" : "flushes " + String.join(", ", exp))
                    + " before " + where, window.isEmpty() ? "no flush" : "flushes " + describe(window));
        }

        static List<Effect.Flush> flushes(List<Effect> effects) {
            List<Effect.Flush> out = new ArrayList<>();
            for (Effect e : effects) {
                if (e instanceof Effect.Flush f) {
                    out.add(f);
                }
            }
            return out;
        }

        // ------------------------------------------------------------ both

        Divergence compareOutcome(TraceEvent e, KernelState before, Vmalloc.Step step) {
            Outcome o = step.outcome();
            String actual = describeTraced(e);
            if (o instanceof Outcome.Rejected r) {
                return new Divergence(e.line(), r.rule(), "a call within the contract", r.message());
            }
            if (e.bug() != null || o instanceof Outcome.Bug) {
                if (e.bug() != null && o instanceof Outcome.Bug) {
                    return null;
                }
                return new Divergence(e.line(), "outcome", describeModel(e, before, step), actual);
            }
            if (e instanceof TraceEvent.Map m) {
                boolean same = m.ret() == null ? o instanceof Outcome.Null
                        : o instanceof Outcome.Mapped mapped && mapped.addr() == m.ret();
                return same ? null : new Divergence(e.line(), m.count() <= cfg.vmapMaxAlloc() ? "block-offset" : "area-address",
                        describeModel(e, before, step), actual);
            }
            return null;
        }

        String describeModel(TraceEvent e, KernelState before, Vmalloc.Step step) {
            Outcome o = step.outcome();
            if (o instanceof Outcome.Bug b) {
                return "a crash (" + b.text() + ")";
            }
            if (o instanceof Outcome.Null n) {
                return "NULL (" + n.why() + ")";
            }
            if (o instanceof Outcome.Mapped mapped && e instanceof TraceEvent.Map m) {
                long page = mapped.addr() >>> cfg.pageShift();
                long base = page - Math.floorMod(page, (long) cfg.blockPages());
                VmapBlock vb = before.blocks().get(base);
                if (m.count() <= cfg.vmapMaxAlloc()) {
                    return Hex.format(mapped.addr()) + (vb == null ? " at offset 0 of a new block"
                            : " at page offset " + (page - base) + " of block " + Hex.format(before.addr(base))
                            + " (CPU " + vb.cpu() + ", free " + vb.free() + ", dirty " + vb.dirty() + ")");
                }
                return Hex.format(mapped.addr());
            }
            return "the call to return";
        }

        static String describeTraced(TraceEvent e) {
            if (e.bug() != null) {
                return "the kernel crashed: " + e.bug();
            }
            if (e instanceof TraceEvent.Map m) {
                return m.ret() == null ? "NULL" : Hex.format(m.ret());
            }
            return "the call returned";
        }

        Call toCall(TraceEvent e) {
            if (e instanceof TraceEvent.Map m) {
                return new Call.Map(m.cpu(), m.count(), m.prot());
            }
            if (e instanceof TraceEvent.Unmap u) {
                return new Call.Unmap(u.cpu(), u.addr(), u.count());
            }
            return new Call.Aliases(((TraceEvent.Aliases) e).cpu());
        }

        long pageFloor(long addr) {
            if (Long.compareUnsigned(addr, cfg.vmallocStart()) < 0) {
                return cfg.windowStartPage();
            }
            return addr >>> cfg.pageShift();
        }

        long pageCeil(long addr) {
            if (Long.compareUnsigned(addr, cfg.vmallocEnd()) > 0) {
                return cfg.windowEndPage() + 1;
            }
            return (addr >>> cfg.pageShift()) + ((addr & (cfg.pageSize() - 1)) != 0 ? 1 : 0);
        }

        static String describe(List<TraceEvent.Flush> flushes) {
            List<String> out = new ArrayList<>();
            for (TraceEvent.Flush f : flushes) {
                out.add("[" + Hex.format(f.start()) + ", " + Hex.format(f.end()) + ") at line " + f.line());
            }
            return String.join(", ", out);
        }
    }
}
