// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The reference implementation: vm_map_ram(), vm_unmap_ram() and vm_unmap_aliases() as pure
 * functions {@code state x call -> state x outcome x effects}. Each method below models the kernel
 * function named in its comment (mm/vmalloc.c of the profile's kernel); the profile switches are in
 * {@link Profile}, the historical bugs in {@link Mutant}.
 */
public final class Vmalloc {

    private Vmalloc() {
    }

    /**
     * The result of one call. {@code effects[0, resultAt)} completed before the call returned and
     * the rest after it (the drain work the call scheduled). The PTEs of an unmapped range are
     * cleared before any flush in that call, so an unmap has {@code resultAt == 0}. {@code touched} says which
     * areas and blocks the call changed; null when unknown (a step made by hand).
     */
    public record Step(KernelState state, Outcome outcome, List<Effect> effects, int resultAt, Touched touched) {
        public Step(KernelState state, Outcome outcome, List<Effect> effects, int resultAt) {
            this(state, outcome, effects, resultAt, null);
        }

        public List<Effect> before() {
            return effects.subList(0, resultAt);
        }

        public List<Effect> after() {
            return effects.subList(resultAt, effects.size());
        }
    }

    /**
     * Where a new area lands when the trace, not the model, decides it ({@link KernelState.Mode#TRACE_GUIDED}).
     * Returns the start page, or -1 when the kernel failed to find room.
     */
    @FunctionalInterface
    public interface Placement {
        long place(Va.Kind kind, long pages, long alignPages);

        /**
         * Whether the trace has shown the vmalloc range running out (a NULL map, a purge on allocation
         * failure): then reclaim_and_purge_vmap_areas() may have emptied the node pools with no flush to
         * show for it (nothing was lazy), and a placement the pools contradict is taken as that.
         */
        default boolean mayHaveRunOut() {
            return false;
        }

        /**
         * Whether the call is another user's: its CPU is where it entered vm_map_ram(), and it may have
         * moved before node_alloc() picked a node, so an area from another node's pool is taken from there.
         */
        default boolean foreign() {
            return false;
        }

        /**
         * TRACE_GUIDED: whether vb_alloc()'s walk of the free list passed before the block at this page
         * was added to it (another task added it while the call was under way), so the call did not see it.
         */
        default boolean scannedBefore(long basePage) {
            return false;
        }

        /**
         * TRACE_GUIDED: whether a purge may have been decaying the pools while the call ran
         * (decay_va_pool_node() detaches each pool meanwhile), so node_alloc() may have found them empty.
         */
        default boolean poolDetached() {
            return false;
        }
    }

    /** A placement the model cannot accept: the trace put an area where the kernel never would. */
    public static final class PlacementRejected extends RuntimeException {
        private final String rule;

        public PlacementRejected(String rule, String message) {
            super(message);
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    public static Step step(KernelState s, Call call) {
        return step(s, call, null);
    }

    public static Step step(KernelState s, Call call, Placement placement) {
        return step(s, call, placement, false);
    }

    /**
     * TRACE_GUIDED: a call another kernel user made (a version-2 trace's {@code "by":"other"}). It changes
     * the shared state as the kernel does, but the trace says where its mapping went ({@code placement}
     * gives the returned address's page, -1 for NULL), and mappings made before the trace began are
     * unknown to the model, so their unmaps change nothing here.
     */
    public static Step stepForeign(KernelState s, Call call, Placement placement) {
        return step(s, call, placement, true);
    }

    private static Step step(KernelState s, Call call, Placement placement, boolean foreign) {
        if (s.crash() != null) {
            throw new IllegalStateException("the kernel crashed earlier (" + s.crash() + "); no call can follow");
        }
        VmMapRam tx = new VmMapRam(s, placement);
        Outcome outcome;
        try {
            if (call instanceof Call.Map m) {
                outcome = foreign ? tx.foreignMap(m) : tx.vmMapRam(m);
            } else if (call instanceof Call.Unmap u) {
                outcome = foreign ? tx.foreignUnmap(u) : tx.vmUnmapRam(u);
            } else {
                outcome = tx.vmUnmapAliases((Call.Aliases) call);
            }
        } catch (Transaction.KernelCrash crash) {
            KernelState dead = new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(), s.areas(),
                    s.lazy(), s.lazyNr(), s.pools(), s.cache(), crash.getMessage(), s.freeTree(), s.released(),
                    tx.warnedOnce);
            return new Step(dead, new Outcome.Bug(crash.getMessage()), List.copyOf(tx.effects), tx.effects.size(),
                    Touched.NONE);
        }
        if (outcome instanceof Outcome.Rejected) {
            return new Step(s, outcome, List.of(), 0, Touched.NONE); // contract broken: nothing changes
        }
        int resultAt = call instanceof Call.Unmap ? 0 : tx.effects.size();
        tx.runPendingDrain();
        return new Step(tx.freeze(), outcome, List.copyOf(tx.effects), resultAt, tx.touched);
    }

    /**
     * A traced TLB flush that no modelled call explains (other users, the drain work): lazily freed
     * areas it covers are taken as purged. Only for {@link KernelState.Mode#TRACE_GUIDED}. A flush
     * that purges (one that covers a lazily freed area, or whose note names
     * __purge_vmap_area_lazy(), its callers drain_vmap_area_work and reclaim_and_purge_vmap_areas, or
     * 4.8's purge_vmap_area_lazy) ran __purge_vmap_area_lazy(): the node pools decay first (6.9+), then
     * each purged area goes to its node's pool or back to the free tree, as in the model's own purge.
     * A flush whose note names alloc_vmap_area()'s overflow path (reclaim_and_purge_vmap_areas, or
     * purge_vmap_area_lazy on 6.1 and 4.8, as the model's own traces say) also ran
     * purge_fragmented_blocks_allcpus() first, so the blocks it retires are purged by this flush too,
     * and decays the pools fully. The first, failed search of such a call is not traced when its
     * retry succeeds.
     */
    public static KernelState observeFlush(KernelState s, long startAddr, long endAddr, String note) {
        return observeFlush(s, startAddr, endAddr, note, null);
    }

    /**
     * Whether a traced flush is alloc_vmap_area()'s overflow purge: a version-2 path "overflow", else a
     * note naming reclaim_and_purge_vmap_areas (or purge_vmap_area_lazy on 6.1 and 4.8), as the model's
     * own traces write it.
     */
    public static boolean overflowPurge(String note, String path) {
        return path != null ? path.equals("overflow")
                : "reclaim_and_purge_vmap_areas".equals(note) || "purge_vmap_area_lazy".equals(note);
    }

    /**
     * TRACE_GUIDED: the traced program's vm_unmap_aliases(), run when its flush shows it purged, where
     * only the lazy areas {@code taken} accepts were on the lazy list when its purge took it; the others,
     * freed by other tasks after that and before the flush, stay lazy for the next purge.
     */
    public static Step stepAliasesTaking(KernelState s, Call.Aliases call, java.util.function.Predicate<Va> taken) {
        VmMapRam tx = new VmMapRam(s, null);
        org.pcollections.PSortedMap<Long, Va> later = org.pcollections.TreePMap.empty();
        for (Va va : s.lazy().values()) {
            if (!taken.test(va)) {
                later = later.plus(va.start(), va);
                tx.lazy = tx.lazy.minus(va.start());
            }
        }
        Outcome outcome = tx.vmUnmapAliases(call);
        tx.lazy = tx.lazy.plusAll(later);
        // no drain to run: TRACE_GUIDED schedules none (the traced flushes are the purges)
        return new Step(tx.freeze(), outcome, List.copyOf(tx.effects), tx.effects.size(), tx.touched);
    }

    /**
     * TRACE_GUIDED: another task's vm_unmap_aliases() once it holds vmap_purge_lock (its event is logged
     * when _vm_unmap_aliases() enters, before it may wait for the lock, so calls on other CPUs race with
     * it): the walk of the blocks ({@code VmMapRam.vmUnmapAliasesWalk}), then its
     * __purge_vmap_area_lazy() up to the flush: the pools decay and the lazy list is taken. Those areas
     * are the purge's, neither lazy nor free, until its flush completes ({@link #finishForeignAliases}).
     * Null for a CPU the call may not name: {@link #stepForeign} reports it.
     */
    public static Begun beginForeignAliases(KernelState s, Call.Aliases call) {
        VmMapRam tx = new VmMapRam(s, null);
        if (tx.checkCpu(call.cpu()) != null) {
            return null; // the call itself says why (step)
        }
        tx.vmUnmapAliasesWalk();
        tx.decayVaPools(false);
        List<Va> taken = List.copyOf(tx.lazy.values()); // address order, as purge_vmap_node() walks them
        tx.lazy = org.pcollections.TreePMap.empty();
        return new Begun(tx.freeze(), taken);
    }

    /** What {@link #beginForeignAliases} left: the state, and the lazy areas its purge took. */
    public record Begun(KernelState state, List<Va> taken) {
    }

    /**
     * As {@link #observeFlush(KernelState, long, long, String)}, with a version-2 trace's purge path
     * (null when the trace does not say): "overflow" is alloc_vmap_area()'s reclaim_and_purge_vmap_areas(),
     * "drain" ran __purge_vmap_area_lazy(); "aliases" is the flush of a vm_unmap_aliases() the replay did
     * not run or begin itself (the traced program's and other tasks' are run at their events and flushes),
     * so it purges only the lazy areas it covers; "other" is no purge (every __purge_vmap_area_lazy() runs
     * under one of the three), so it changes nothing.
     */
    public static KernelState observeFlush(KernelState s, long startAddr, long endAddr, String note, String path) {
        if ("other".equals(path)) {
            return s;
        }
        VmMapRam tx = new VmMapRam(s, null);
        boolean overflow = overflowPurge(note, path);
        if (overflow) {
            tx.purgeFragmentedBlocksAllCpus();
        }
        List<Va> covered = new ArrayList<>();
        for (Va va : tx.lazy.values()) {
            if (Long.compareUnsigned(s.addr(va.start()), startAddr) >= 0
                    && Long.compareUnsigned(s.addr(va.end()), endAddr) <= 0) {
                covered.add(va);
            }
        }
        boolean purge = overflow || (path != null ? path.equals("drain") : !covered.isEmpty() || note != null
                && (note.contains("purge_vmap_area_lazy") || note.contains("drain_vmap_area_work")));
        if (purge) {
            tx.decayVaPools(overflow);
        }
        for (Va va : covered) {
            tx.lazy = tx.lazy.minus(va.start());
        }
        purged(tx, covered, overflow);
        return tx.freeze();
    }

    /** mm/vmalloc.c: purge_vmap_node(): each purged area to its node's pool, or back to the free tree. */
    private static void purged(VmMapRam tx, List<Va> areas, boolean skipPopulate) {
        for (Va va : areas) {
            tx.lazyNr -= va.pages();
            if (tx.nodePoolAddVa(va, skipPopulate)) {
                continue;
            }
            tx.removeArea(va.start());
            if (tx.hasFreeTree()) { // not in TRACE_GUIDED mode, where the tree is not modelled
                tx.freeTree().free(tx.origin.addr(va.start()), tx.origin.addr(va.end()));
            } else {
                tx.release(va.start(), va.end());
            }
        }
    }

    /**
     * TRACE_GUIDED: the flush of another task's vm_unmap_aliases() begun by {@link #beginForeignAliases}
     * came: the areas its purge took go to their node's pool or back to the free tree.
     */
    public static KernelState finishForeignAliases(KernelState s, List<Va> taken) {
        VmMapRam tx = new VmMapRam(s, null);
        purged(tx, taken, false);
        return tx.freeze();
    }

    /**
     * mm/vmalloc.c (6.9+): vmap_node_shrink_scan(): under memory pressure every node's pools decay
     * fully (decay_va_pool_node(vn, true)), with no flush. Nothing to do without vmap nodes.
     */
    public static KernelState observeShrink(KernelState s) {
        if (!s.cfg().profile().hasVmapNodes() || s.cfg().nrVmapNodes() < 2) {
            return s;
        }
        VmMapRam tx = new VmMapRam(s, null);
        tx.decayVaPools(true);
        return tx.freeze();
    }

    /**
     * TRACE_GUIDED: a busy event after the first call: another kernel user holds [start, end) now, so
     * an area the model held in a pool or knew to be free there was taken by it.
     */
    public static KernelState observeBusy(KernelState s, long startAddr, long endAddr) {
        KernelConfig cfg = s.cfg();
        VmMapRam tx = new VmMapRam(s, null);
        tx.takenByOther(startAddr >>> cfg.pageShift(), (endAddr + cfg.pageSize() - 1) >>> cfg.pageShift());
        return tx.freeze();
    }

    /**
     * TRACE_GUIDED: a vm_map_ram() whose event comes later took {@code pages} pages at {@code addr} (its
     * block's next free pages) before the calls logged in between: its vb_alloc() ran first, and the
     * trace logs a call when it returns. Null when {@code addr} is not where its block's free pages begin.
     */
    public static KernelState takeEarlier(KernelState s, long addr, int pages) {
        VmMapRam tx = new VmMapRam(s, null);
        return tx.takeEarlier(addr >>> s.cfg().pageShift(), pages) ? tx.freeze() : null;
    }

    /** As {@link #takeEarlier}, for a call that made a new block: {@code s} has its pages at {@code addr} mapped. */
    public static KernelState markEarlier(KernelState s, long addr, int pages) {
        VmMapRam tx = new VmMapRam(s, null);
        return tx.markEarlier(addr >>> s.cfg().pageShift(), pages) ? tx.freeze() : null;
    }

    /**
     * The event of the call {@link #takeEarlier} took pages for, mapping {@code count} pages at
     * {@code addr}: the pages are its mapping now. Null when no pages were taken there for such a call.
     */
    public static KernelState claimEarlier(KernelState s, long addr, long count) {
        VmMapRam tx = new VmMapRam(s, null);
        return tx.claimEarlier(addr >>> s.cfg().pageShift(), count) ? tx.freeze() : null;
    }

    /** An area some other kernel user holds (a trace's busy line): it stays busy. */
    public static KernelState reserve(KernelState s, long startAddr, long endAddr) {
        KernelConfig cfg = s.cfg();
        long start = Math.max(startAddr >>> cfg.pageShift(), cfg.windowStartPage());
        long end = Math.min((endAddr >>> cfg.pageShift()) + ((endAddr & (cfg.pageSize() - 1)) != 0 ? 1 : 0),
                cfg.windowEndPage());
        if (end <= start) {
            return s;
        }
        Map.Entry<Long, Va> below = s.areas().lowerEntry(end);
        if (below != null && below.getValue().end() > start) {
            throw new IllegalArgumentException("busy range 0x" + Long.toHexString(startAddr) + "-0x"
                    + Long.toHexString(endAddr) + " overlaps another area");
        }
        VmMapRam tx = new VmMapRam(s, null);
        tx.putArea(start, new Va(start, end - start, Va.State.BUSY, Va.Kind.OTHER, -1, 0));
        if (tx.hasFreeTree() && !tx.freeTree().clip(s.addr(start), s.addr(end))) { // va_clip() of the range
            throw new IllegalStateException("busy range 0x" + Long.toHexString(startAddr) + " is not inside one free range");
        }
        return tx.freeze();
    }

    /**
     * addr_to_vb_xa(): which CPU's vmap_blocks xarray holds a block (6.4+). The hash is
     * (addr / VMAP_BLOCK_SIZE) % nr_cpu_ids, moved to the next possible CPU when that one is not
     * possible (a34acf30b19b). Returns -1 where the hash lands on a CPU that is not possible (only
     * under the hash-index-possible-mask mutant).
     */
    public static int blockBucket(KernelState s, long basePage) {
        KernelConfig cfg = s.cfg();
        long blockNr = basePage / cfg.blockPages();
        if (s.has(Mutant.HASH_INDEX_POSSIBLE_MASK)) {
            int index = (int) (blockNr % cfg.possibleCpus().size());
            return cfg.isPossible(index) ? index : -1;
        }
        int index = (int) (blockNr % cfg.nrCpuIds());
        return cfg.isPossible(index) ? index : cfg.nextPossible(index);
    }
}
