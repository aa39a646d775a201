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
    /** The points since the traced program's previous call where its vm_unmap_aliases() may have begun. */
    static final int MAX_SINCE = 64;

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

    World copy() {
        World w = new World(state, new java.util.TreeMap<>(foreign), new java.util.TreeMap<>(own));
        w.sinceOwnCall = sinceOwnCall;
        w.needsPurge = needsPurge;
        return w;
    }

    void called(boolean foreign) {
        if (!foreign) {
            sinceOwnCall = List.of(state);
        } else if (sinceOwnCall.size() < MAX_SINCE) {
            List<KernelState> l = new ArrayList<>(sinceOwnCall);
            l.add(state);
            sinceOwnCall = l;
        }
    }

    boolean same(World o) {
        return needsPurge == o.needsPurge && foreign.equals(o.foreign) && own.equals(o.own)
                && state.equals(o.state);
    }
}
