// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import java.util.ArrayList;
import java.util.List;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelState;
import vmapref.kernel.Va;
import vmapref.trace.TraceEvent;

/**
 * Structure replay on a busy kernel ({@link Replayer}): one way the events so far can have
 * interleaved. It holds the model's state; other tasks' vm_unmap_aliases() calls that entered and have
 * not given their areas back, by task ({@link #taskKey}; a {@link Purge} whose areas are null while it
 * may still wait for vmap_purge_lock); and the traced program's vm_unmap_aliases() calls that flushed
 * ({@code "by":"program"}) and have not returned, by CPU: the model ran them at that flush, since other
 * tasks' calls in between saw their purge done.
 */
final class World {
    /** The points since the traced program's previous call where its next call may have taken effect. */
    static final int MAX_SINCE = 256;

    /**
     * A traced vm_unmap_aliases() the model ran at its flush: the states at each point since the
     * program's previous call returned where it may have taken vmap_purge_lock, what it flushed as run
     * at the flush, and the flushes traced for it.
     */
    record Begun(List<KernelState> points, List<Effect> atFlush, List<TraceEvent.Flush> flushes) {
        Begun with(TraceEvent.Flush f) {
            List<TraceEvent.Flush> more = new ArrayList<>(flushes);
            more.add(f);
            return new Begun(points, atFlush, List.copyOf(more));
        }
    }

    /**
     * Another task's vm_unmap_aliases() past vmap_purge_lock: the lazy areas its purge took, and
     * whether its flush has completed (then purge_vmap_node() gives them back, soon after).
     */
    record Purge(int cpu, List<Va> taken, boolean flushed) {
        boolean waiting() {
            return taken == null;
        }
    }

    /** Which open vm_unmap_aliases() an event of another task is: its task when the trace says, else its CPU. */
    static long taskKey(Long task, int cpu) {
        return task != null ? task : -1L - cpu;
    }

    KernelState state;
    final java.util.TreeMap<Long, Purge> foreign;
    final java.util.TreeMap<Integer, Begun> own;

    World(KernelState state, java.util.TreeMap<Long, Purge> foreign, java.util.TreeMap<Integer, Begun> own) {
        this.state = state;
        this.foreign = foreign;
        this.own = own;
    }

    /**
     * The states since the traced program's previous call returned: after it, then after each
     * other task's call (the first {@link #MAX_SINCE}).
     */
    List<KernelState> sinceOwnCall = List.of();

    /**
     * A call passed over a node pool as a concurrent decay leaves it (detached) while no other
     * task's vm_unmap_aliases() was under way: a purge must show before the traced program's next
     * call returns (a drain or overflow flush, another task's purge flush, a shrinker run), or, when
     * another task's call passed over it, that next call is the program's vm_unmap_aliases().
     */
    int needsPurge; // 0: no; 1: after another task's call; 2: after the program's

    /**
     * Another task's call since the traced program's previous call returned, with the interleaving just
     * before it: a point where the program's next call may have taken effect (its vm_unmap_aliases()
     * taken vmap_purge_lock, its vm_map_ram() run vb_alloc()), though it is logged after that call.
     */
    record Point(World before, Replayer.Run.CallEvent call) {
    }

    /**
     * Pages a vm_map_ram() whose event has not come yet took before calls logged earlier did (its
     * vb_alloc() ran first; the trace logs a call when it returns): where, how many, and the line that
     * showed them taken. Its event must come within {@link #EARLY_LINES} lines.
     */
    record Early(long addr, int pages, int line) {
    }

    static final int EARLY_LINES = 256;

    List<Early> early = List.of();

    /** The points since the traced program's previous call (the first {@link #MAX_SINCE}). */
    List<Point> points = List.of();

    World copy() {
        World w = new World(state, new java.util.TreeMap<>(foreign), new java.util.TreeMap<>(own));
        w.sinceOwnCall = sinceOwnCall;
        w.points = points;
        w.early = early;
        w.needsPurge = needsPurge;
        return w;
    }

    void called(boolean foreign) {
        if (!foreign) {
            sinceOwnCall = List.of(state);
            points = List.of();
        } else if (sinceOwnCall.size() < MAX_SINCE) {
            List<KernelState> l = new ArrayList<>(sinceOwnCall);
            l.add(state);
            sinceOwnCall = l;
        }
    }

    /** After another task's {@code call}: {@code before} (the interleaving before it) and the call become a point. */
    World passed(World before, Replayer.Run.CallEvent call) {
        if (call.e().foreign() && before.points.size() < MAX_SINCE) {
            List<Point> l = new ArrayList<>(before.points);
            l.add(new Point(before, call));
            points = l;
        }
        return this;
    }

    boolean same(World o) {
        return needsPurge == o.needsPurge && early.equals(o.early) && foreign.equals(o.foreign) && own.equals(o.own)
                && state.equals(o.state);
    }
}
