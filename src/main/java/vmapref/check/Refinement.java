// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Touched;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.kernel.Vmalloc;
import vmapref.spec.IntervalSet;
import vmapref.spec.Rule;
import vmapref.spec.Violation;
import vmapref.trace.TraceEvent;

/**
 * Checks the reference implementation against the abstract specification after every step.
 *
 * <p>Each step's outcome and flushes go through the specification; then the abstraction function maps the
 * implementation state to the specification's: its live mappings must be the specification's, and no page the
 * specification holds stale may be free for the allocator to hand out (in a free range or a node pool). After
 * every step that check is incremental ({@link #abstractionStep}: it reads only what the step changed); the
 * full O(live) check ({@link #abstractionAgrees}) runs every {@code fullCheckEvery} steps as a cross-check.
 */
public final class Refinement {

    /** What one step did and the first rule it broke (null if none). */
    public record StepReport(long step, Call call, Vmalloc.Step result, List<TraceEvent> events, Violation violation) {
    }

    /** The full check: no periodic cross-check. */
    public static final int NEVER = Integer.MAX_VALUE;

    private KernelState state;
    private final SpecChecker spec;
    private final int fullCheckEvery;
    private long steps;

    /**
     * @param fullCheckEvery also run the full abstraction check every this many steps (1 = every step, {@link
     *                       #NEVER}), as a cross-check of the incremental one: when the full check finds what the
     *                       incremental one missed, the step throws IllegalStateException (a bug in vmapref)
     */
    public Refinement(KernelState initial, boolean flushesObserved, int fullCheckEvery) {
        this.state = initial;
        this.spec = new SpecChecker(Configs.spec(initial.cfg(), flushesObserved));
        this.fullCheckEvery = Math.max(1, fullCheckEvery);
    }

    public KernelState state() {
        return state;
    }

    public SpecChecker specChecker() {
        return spec;
    }

    public long steps() {
        return steps;
    }

    /** Runs one call on the implementation and checks it. */
    public StepReport step(Call call) {
        return step(call, true);
    }

    /**
     * As {@link #step(Call)}; without {@code events} the report's event list is empty (the specification is
     * fed the step directly, in the same order: the flushes before the call returned, the call, the rest).
     */
    public StepReport step(Call call, boolean events) {
        KernelState before = state;
        Vmalloc.Step result = Vmalloc.step(state, call);
        steps++;
        if (result.outcome() instanceof Outcome.Rejected) {
            return new StepReport(steps, call, result, List.of(), null);
        }
        List<TraceEvent> evs = List.of();
        Violation v = null;
        if (events) {
            evs = StepEvents.of(call, result);
            for (TraceEvent e : evs) {
                Violation ev = spec.apply(e);
                if (v == null) {
                    v = ev;
                }
            }
        } else {
            v = applyDirectly(call, result);
        }
        state = result.state();
        if (v == null && state.crash() == null) {
            v = abstractionStep(before, result, call, spec.spec().livePages(), spec.spec().stalePages());
            if (v == null && steps % fullCheckEvery == 0) {
                crossCheck();
            }
        }
        return new StepReport(steps, call, result, evs, v);
    }

    /**
     * The full abstraction check now; throws IllegalStateException when it finds a violation (the incremental
     * check, which passed every step so far, should have found it).
     */
    public void crossCheck() {
        Violation full = abstractionAgrees(state, spec.spec().livePages(), spec.spec().stalePages());
        if (full != null) {
            throw new IllegalStateException("after step " + steps + " the full abstraction check finds " + full
                    + ", which the incremental check missed");
        }
    }

    private Violation applyDirectly(Call call, Vmalloc.Step result) {
        Violation v = null;
        List<Effect> effects = result.effects();
        int at = result.resultAt();
        for (int i = 0; i < at; i++) {
            if (effects.get(i) instanceof Effect.Flush f) {
                v = first(v, spec.flush(f.start(), f.end()));
            }
        }
        Outcome o = result.outcome();
        String bug = o instanceof Outcome.Bug b ? b.text() : null;
        if (call instanceof Call.Map m) {
            v = first(v, spec.map(m.cpu(), m.count(), o instanceof Outcome.Mapped mapped ? mapped.addr() : null, bug));
        } else if (call instanceof Call.Unmap u) {
            v = first(v, spec.unmap(u.addr(), u.count(), bug));
        } else {
            v = first(v, spec.aliases(call.cpu(), bug));
        }
        for (int i = at; i < effects.size(); i++) {
            if (effects.get(i) instanceof Effect.Flush f) {
                v = first(v, spec.flush(f.start(), f.end()));
            }
        }
        return v;
    }

    private static Violation first(Violation a, Violation b) {
        return a != null ? a : b;
    }

    /** The abstraction function: every live mapping of the implementation, start page -> count. */
    public static PSortedMap<Long, Long> liveMappings(KernelState s) {
        PSortedMap<Long, Long> live = TreePMap.empty();
        for (VmapBlock vb : s.blocks().values()) {
            for (Map.Entry<Integer, Long> e : vb.live().entrySet()) {
                live = live.plus(vb.base() + e.getKey(), e.getValue());
            }
        }
        for (Va va : s.areas().values()) {
            if (va.kind() == Va.Kind.RAM && va.state() == Va.State.BUSY) {
                live = live.plus(va.start(), va.count());
            }
        }
        return live;
    }

    /**
     * The refinement rules: live mappings agree, and stale pages are held (by a live block, a busy or
     * a lazily freed area), never free for reuse.
     */
    public static Violation abstractionAgrees(KernelState s, PSortedMap<Long, Long> specLive, IntervalSet stale) {
        PSortedMap<Long, Long> implLive = liveMappings(s);
        if (!implLive.equals(specLive)) {
            List<String> implHas = new ArrayList<>();
            List<String> specHas = new ArrayList<>();
            for (Map.Entry<Long, Long> e : implLive.entrySet()) {
                if (!e.getValue().equals(specLive.get(e.getKey()))) {
                    implHas.add(has("implementation", s, e.getKey(), e.getValue()));
                }
            }
            for (Map.Entry<Long, Long> e : specLive.entrySet()) {
                if (!implLive.containsKey(e.getKey())) {
                    specHas.add(has("specification", s, e.getKey(), e.getValue()));
                }
            }
            return liveDiffer(implHas, specHas);
        }
        for (Map.Entry<Long, Long> r : stale.ranges().entrySet()) {
            Violation v = staleHeld(s, r.getKey(), r.getValue());
            if (v != null) {
                return v;
            }
        }
        return null;
    }

    /**
     * The abstraction check of one step, given that it held before: the same verdict and message as {@link
     * #abstractionAgrees} on the state after, reading only the start pages whose mapping the step may have
     * changed (the call's own, the blocks' live entries and the large areas the step touched) and the stale
     * pages it may have left unheld (the range an unmap made stale, the extents of the areas it changed). The
     * verdict is the full check's whenever areas do not overlap (the model never overlaps them). A step without
     * {@link Vmalloc.Step#touched} (made by hand) gets the full check.
     *
     * @param specLive the specification's live mappings after the step; {@code stale} its stale pages
     */
    public static Violation abstractionStep(KernelState before, Vmalloc.Step step, Call call,
                                            PSortedMap<Long, Long> specLive, IntervalSet stale) {
        Touched t = step.touched();
        KernelState s = step.state();
        if (t == null) {
            return abstractionAgrees(s, specLive, stale);
        }
        int shift = s.cfg().pageShift();
        Keys keys = new Keys(t.liveStartCount() + t.areaCount() + 1);
        Keys staleFrom = new Keys(4);
        Keys staleTo = new Keys(4);
        if (step.outcome() instanceof Outcome.Mapped m) {
            keys.add(m.addr() >>> shift); // the specification's live set changes only at the call's mapping
        } else if (call instanceof Call.Unmap u && step.outcome() instanceof Outcome.Done) {
            long p = u.addr() >>> shift;
            keys.add(p);
            staleFrom.add(p); // spec.unmap() made these stale
            staleTo.add(p + u.count());
        }
        for (int i = 0; i < t.liveStartCount(); i++) {
            keys.add(t.liveStart(i));
        }
        for (int i = 0; i < t.areaCount(); i++) {
            long a = t.area(i);
            Va o = before.areas().get(a);
            Va n = s.areas().get(a);
            if (o == n) {
                continue;
            }
            if (ramBusy(o) || ramBusy(n)) {
                keys.add(a);
            }
            if (o != null && !o.equals(n)) { // the pages it held may now be free or pooled
                staleFrom.add(o.start());
                staleTo.add(o.end());
            }
            if (n != null && !n.equals(o)) {
                staleFrom.add(n.start());
                staleTo.add(n.end());
            }
        }
        // live mappings: the full check's message, restricted to the keys (all others agreed before and still do)
        keys.sortUnique();
        List<String> implHas = null;
        List<String> specHas = null;
        for (int i = 0; i < keys.n; i++) {
            long k = keys.at[i];
            Long impl = liveAt(s, k);
            Long sp = specLive.get(k);
            if (!Objects.equals(impl, sp)) {
                if (impl != null) {
                    implHas = implHas == null ? new ArrayList<>() : implHas;
                    implHas.add(has("implementation", s, k, impl));
                } else {
                    specHas = specHas == null ? new ArrayList<>() : specHas;
                    specHas.add(has("specification", s, k, sp));
                }
            }
        }
        if (implHas != null || specHas != null) {
            return liveDiffer(implHas == null ? List.of() : implHas, specHas == null ? List.of() : specHas);
        }
        // stale pages: the lowest unheld one in the regions the step changed (all others are held as before)
        if (stale.isEmpty() || staleFrom.n == 0) {
            return null;
        }
        long lowest = Long.MAX_VALUE;
        for (int i = 0; i < staleFrom.n; i++) {
            long lo = staleFrom.at[i];
            long hi = staleTo.at[i];
            for (Map.Entry<Long, Long> r = stale.firstOverlap(lo, hi); r != null && r.getKey() < lowest;
                 r = stale.firstOverlap(r.getValue(), hi)) {
                long p = unheld(s, Math.max(lo, r.getKey()), Math.min(hi, r.getValue()));
                if (p >= 0) {
                    lowest = Math.min(lowest, p);
                    break;
                }
            }
        }
        return lowest == Long.MAX_VALUE ? null : staleViolation(s, lowest);
    }

    /** Adds the start pages of {@code a}'s live entries that {@code b} lacks or maps otherwise; false on an odd offset. */
    private static boolean ramBusy(Va va) {
        return va != null && va.kind() == Va.Kind.RAM && va.state() == Va.State.BUSY;
    }

    /** What {@link #liveMappings} maps start page {@code k} to: a busy large area there, else a block's entry. */
    private static Long liveAt(KernelState s, long k) {
        Va va = s.areas().get(k);
        if (ramBusy(va)) {
            return va.count();
        }
        Map.Entry<Long, VmapBlock> b = s.blocks().floorEntry(k);
        if (b == null) {
            return null;
        }
        long off = k - b.getValue().base();
        return off >= 0 && off < Integer.MAX_VALUE ? b.getValue().live().get((int) off) : null;
    }

    private static String has(String who, KernelState s, long page, long count) {
        return who + " has 0x" + Long.toHexString(s.addr(page)) + " (" + count + " pages)";
    }

    private static Violation liveDiffer(List<String> implHas, List<String> specHas) {
        List<String> diff = new ArrayList<>(implHas);
        diff.addAll(specHas);
        return new Violation(Rule.REFINE_LIVE_AGREES, "live mappings differ: "
                + String.join("; ", diff.subList(0, Math.min(4, diff.size()))));
    }

    /** The lowest page of [p, end) that no busy or lazily freed area holds, or -1. */
    private static long unheld(KernelState s, long p, long end) {
        while (p < end) {
            Map.Entry<Long, Va> holder = s.areas().floorEntry(p);
            Va va = holder == null ? null : holder.getValue();
            if (va == null || va.end() <= p || va.state() == Va.State.POOLED) {
                return p;
            }
            p = va.end();
        }
        return -1;
    }

    private static Violation staleHeld(KernelState s, long start, long end) {
        long p = unheld(s, start, end);
        return p < 0 ? null : staleViolation(s, p);
    }

    private static Violation staleViolation(KernelState s, long p) {
        Map.Entry<Long, Va> holder = s.areas().floorEntry(p);
        Va va = holder == null ? null : holder.getValue();
        return new Violation(Rule.REFINE_STALE_HELD, "stale page 0x" + Long.toHexString(s.addr(p))
                + (va != null && va.end() > p ? " sits in a node pool" : " is in a free range")
                + ": it could be handed out before a flush");
    }

    /** A growable list of page numbers. */
    private static final class Keys {
        long[] at;
        int n;

        Keys(int capacity) {
            at = new long[Math.max(4, capacity)];
        }

        void add(long k) {
            if (n == at.length) {
                at = Arrays.copyOf(at, n * 2);
            }
            at[n++] = k;
        }

        void sortUnique() {
            if (n < 2) {
                return;
            }
            Arrays.sort(at, 0, n);
            int w = 1;
            for (int i = 1; i < n; i++) {
                if (at[i] != at[w - 1]) {
                    at[w++] = at[i];
                }
            }
            n = w;
        }
    }
}
