// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;
import vmapref.kernel.Call;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
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
 * <p>Each step's outcome and flushes, turned into trace events ({@link StepEvents}), go through the
 * specification; then the abstraction function maps the implementation state to the
 * specification's: its live mappings must be the specification's, and no page the specification
 * holds stale may be free for the allocator to hand out (in a free range or a node pool).
 */
public final class Refinement {

    /** What one step did and the first rule it broke (null if none). */
    public record StepReport(long step, Call call, Vmalloc.Step result, List<TraceEvent> events, Violation violation) {
    }

    private KernelState state;
    private final SpecChecker spec;
    private final int fullCheckEvery;
    private long steps;

    /**
     * @param fullCheckEvery run the O(live) abstraction check every this many steps (1 = every step)
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
        Vmalloc.Step result = Vmalloc.step(state, call);
        steps++;
        if (result.outcome() instanceof Outcome.Rejected) {
            return new StepReport(steps, call, result, List.of(), null);
        }
        List<TraceEvent> events = StepEvents.of(call, result);
        Violation v = null;
        for (TraceEvent e : events) {
            Violation ev = spec.apply(e);
            if (v == null) {
                v = ev;
            }
        }
        state = result.state();
        if (v == null && state.crash() == null && steps % fullCheckEvery == 0) {
            v = abstractionAgrees(state, spec.spec().livePages(), spec.spec().stalePages());
        }
        return new StepReport(steps, call, result, events, v);
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
            List<String> diff = new ArrayList<>();
            for (Map.Entry<Long, Long> e : implLive.entrySet()) {
                if (!e.getValue().equals(specLive.get(e.getKey()))) {
                    diff.add("implementation has 0x" + Long.toHexString(s.addr(e.getKey())) + " (" + e.getValue() + " pages)");
                }
            }
            for (Map.Entry<Long, Long> e : specLive.entrySet()) {
                if (!implLive.containsKey(e.getKey())) {
                    diff.add("specification has 0x" + Long.toHexString(s.addr(e.getKey())) + " (" + e.getValue() + " pages)");
                }
            }
            return new Violation(Rule.REFINE_LIVE_AGREES, "live mappings differ: "
                    + String.join("; ", diff.subList(0, Math.min(4, diff.size()))));
        }
        for (Map.Entry<Long, Long> r : stale.ranges().entrySet()) {
            long p = r.getKey();
            while (p < r.getValue()) {
                Map.Entry<Long, Va> holder = s.areas().floorEntry(p);
                Va va = holder == null ? null : holder.getValue();
                if (va == null || va.end() <= p || va.state() == Va.State.POOLED) {
                    return new Violation(Rule.REFINE_STALE_HELD, "stale page 0x" + Long.toHexString(s.addr(p))
                            + (va != null && va.end() > p ? " sits in a node pool" : " is in a free range")
                            + ": it could be handed out before a flush");
                }
                p = va.end();
            }
        }
        return null;
    }
}
