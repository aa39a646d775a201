// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.pcollections.PVector;
import org.pcollections.TreePMap;
import org.pcollections.TreePVector;

/**
 * The vmap_area allocator of mm/vmalloc.c: alloc_vmap_area() and its search, the lazy free list,
 * __purge_vmap_area_lazy() with its TLB flush, and the 6.9+ node pools.
 */
abstract class VmapAreas extends Transaction {

    VmapAreas(KernelState s, Vmalloc.Placement placement) {
        super(s, placement);
    }

    /** mm/vmalloc.c: purge_fragmented_blocks_allcpus(), in the block cache layer. */
    abstract void purgeFragmentedBlocksAllCpus();

    /**
     * mm/vmalloc.c: alloc_vmap_area(size, align, VMALLOC_START, VMALLOC_END): a node pool hit
     * (6.9+), else the lowest fit; on failure one purge and one retry; null is -EBUSY.
     */
    Va allocVmapArea(long pages, long align, Va.Kind kind, int cpu, long count) {
        if (origin.mode() == KernelState.Mode.TRACE_GUIDED) {
            return placeAsTold(pages, align, kind, count, cpu);
        }
        int node = -1;
        if (cfg.nrVmapNodes() > 1) { // node_alloc()
            node = cpu % cfg.nrVmapNodes();
            Va hit = nodePoolDelVa(node, pages, align);
            if (hit != null) {
                Va busy = new Va(hit.start(), pages, Va.State.BUSY, kind, node, count);
                putArea(busy.start(), busy);
                return busy;
            }
        }
        boolean purged = false;
        while (true) {
            long start = profile.freeVmapCacheAllocator() ? findFree48(pages, align) : findVmapLowestMatch(pages, align);
            if (start >= 0) {
                Va va = new Va(start, pages, Va.State.BUSY, kind, node, count);
                putArea(start, va);
                if (cache != null) {
                    cache = new KernelState.FreeVmapCache(start, cache.holeSize(), cache.align());
                }
                return va;
            }
            if (purged) {
                effects.add(new Effect.Warn(profile.hasVmapNodes()
                        ? "vmalloc_node_range for size " + addr(pages) + " failed: Address range restricted"
                        : "vmap allocation for size " + addr(pages) + " failed: use vmalloc=<size> to increase size"));
                return null;
            }
            purged = true;
            reclaimAndPurge();
        }
    }

    /** The overflow path: reclaim_and_purge_vmap_areas() (6.9+) / purge_vmap_area_lazy(). */
    void reclaimAndPurge() {
        if (profile == Profile.LINUX_4_8) {
            purgeLazy48(true, false, Long.MAX_VALUE, 0, "purge_vmap_area_lazy");
            return;
        }
        purgeFragmentedBlocksAllCpus();
        purgeLazy(Long.MAX_VALUE, 0, profile.hasVmapNodes(),
                profile.hasVmapNodes() ? "reclaim_and_purge_vmap_areas" : "purge_vmap_area_lazy");
    }

    /** mm/vmalloc.c (6.9+): node_pool_del_va(): the pool's head if aligned, else rotate it to the tail. */
    Va nodePoolDelVa(int node, long pages, long align) {
        if (pages > KernelConfig.MAX_VA_SIZE_PAGES) {
            return null;
        }
        int key = KernelState.poolKey(node, pages);
        PVector<Long> pool = pools.get(key); // a pool is stored only while it holds areas
        if (pool == null) {
            return null;
        }
        long head = pool.get(0);
        if (head % align == 0) {
            pools = pool.size() == 1 ? pools.minus(key) : pools.plus(key, pool.minus(0));
            return areas.get(head);
        }
        pools = pools.plus(key, pool.minus(0).plus(head)); // list_move_tail()
        return null;
    }

    /**
     * mm/vmalloc.c: __alloc_vmap_area(&free_vmap_area_root, size, align, VMALLOC_START, VMALLOC_END):
     * find_vmap_lowest_match() on the free tree with the kernel's shape, then va_alloc()/va_clip()
     * (see {@link FreeTree}). With align > PAGE_SIZE the search length is size + align - 1 bytes
     * (adjust_search_size), and the descent may still take a smaller, aligned range on its path.
     * Returns the start page, or -1 when the kernel returns vend.
     */
    long findVmapLowestMatch(long pages, long align) {
        long vend = cfg.vmallocEnd(); // inclusive: va_alloc() checks nva_start_addr + size > vend
        long found = freeTree().alloc(addr(pages), addr(align), cfg.vmallocStart(), vend, cfg.pageSize(),
                has(Mutant.ALIGN_SEARCH_NOT_LOWEST));
        return found == vend ? -1 : found >>> cfg.pageShift();
    }

    /** merge_or_add_vmap_area_augment() of areas going back to the free tree, in the order given. */
    void returnToFreeTree(Iterable<Va> vas) {
        for (Va va : vas) {
            freeTree().free(addr(va.start()), addr(va.end()));
        }
    }

    /**
     * Areas merged first into a side tree with merge_or_add_vmap_area() (6.1's purge_vmap_area_root,
     * 6.12's decay_root), so adjacent ones are already one range, then walked in address order into
     * the free tree.
     */
    void returnCoalescedToFreeTree(List<Va> vas) {
        List<Va> sorted = new ArrayList<>(vas);
        sorted.sort(Comparator.comparingLong(Va::start));
        for (int i = 0; i < sorted.size(); ) {
            long s = sorted.get(i).start();
            long e = sorted.get(i).end();
            for (i++; i < sorted.size() && sorted.get(i).start() == e; i++) {
                e = sorted.get(i).end();
            }
            freeTree().free(addr(s), addr(e));
        }
    }

    static long alignUp(long page, long align) {
        return (page + align - 1) / align * align;
    }

    /**
     * mm/vmalloc.c (v4.4..v5.1): alloc_vmap_area()'s walk of the busy list, starting after
     * free_vmap_cache unless the request is more permissive than the cached one.
     */
    long findFree48(long pages, long align) {
        long vstart = cfg.windowStartPage();
        long vend = cfg.windowEndPage();
        Long node = cache.node();
        long hole = cache.holeSize();
        if (node == null || pages < hole || align < cache.align()) { // the cached area is live (freeVmapArea48())
            node = null;
            hole = 0;
        }
        long addr;
        Va first;
        if (node != null) {
            first = areas.get(node);
            addr = alignUp(first.end(), align);
        } else {
            addr = alignUp(vstart, align);
            first = null;
            for (Va va : areas.tailMap(areas.floorKey(addr) == null ? addr : areas.floorKey(addr), true).values()) {
                if (va.end() >= addr) { // the lowest area with va_end >= addr
                    first = va;
                    break;
                }
            }
        }
        if (first != null) {
            while (addr + pages > first.start() && addr + pages <= vend) {
                if (addr + hole < first.start()) {
                    hole = first.start() - addr;
                }
                addr = alignUp(first.end(), align);
                Map.Entry<Long, Va> next = areas.higherEntry(first.start());
                if (next == null) {
                    break;
                }
                first = next.getValue();
            }
        }
        cache = new KernelState.FreeVmapCache(node, hole, align);
        return addr + pages > vend ? -1 : addr;
    }

    /**
     * TRACE_GUIDED: the trace says where the kernel put the area; check that it could have. What the
     * model knows of the kernel's choice is checked too: node_alloc() takes the head of the calling
     * CPU's node pool when it holds the size ({@code pool-reuse}; another entry of that pool is
     * accepted, the ones before it taken by other users); an area held in a pool is in no free tree
     * ({@code placement-pooled}); and a page-aligned search finds the lowest fit, so it never lands above
     * a released range that fits ({@code area-lowest-fit}).
     */
    Va placeAsTold(long pages, long align, Va.Kind kind, long count, int cpu) {
        long start = placement == null ? -1 : placement.place(kind, pages, align);
        int node = cfg.nrVmapNodes() > 1 ? cpu % cfg.nrVmapNodes() : -1;
        if (node >= 0 && start >= 0 && placement.foreign() && pages <= KernelConfig.MAX_VA_SIZE_PAGES) {
            for (int n = 0; n < cfg.nrVmapNodes(); n++) { // another user on another CPU by then: its node's pool
                PVector<Long> pool = pools.get(KernelState.poolKey(n, pages));
                if (pool != null && pool.contains(start)) {
                    node = n;
                }
            }
        }
        // decay_va_pool_node() detaches each pool while it decays it ("so no-one can access it"): a
        // node_alloc() meanwhile finds it empty and goes to the free tree, leaving the pool as it was
        boolean detached = start >= 0 && placement.poolDetached() && node >= 0 && pages <= KernelConfig.MAX_VA_SIZE_PAGES
                && !pools.getOrDefault(KernelState.poolKey(node, pages), TreePVector.empty()).contains(start);
        if (node >= 0 && pages <= KernelConfig.MAX_VA_SIZE_PAGES && !detached) {
            PVector<Long> pool = pools.get(KernelState.poolKey(node, pages));
            if (pool != null && !pool.isEmpty() && pool.get(0) % align == 0 && start != pool.get(0)) {
                int at = pool.indexOf(start); // not 0: start is not the head
                if (at == -1 && placement != null && placement.mayHaveRunOut()) {
                    emptyPoolsSilently();
                } else if (at == -1) {
                    throw new Vmalloc.PlacementRejected("pool-reuse", (kind == Va.Kind.BLOCK ? "new vmap block" : "area")
                            + " of " + pages + " pages on CPU " + cpu + " expected at 0x" + Long.toHexString(addr(pool.get(0)))
                            + ", the head of node " + node + "'s pool of " + pages + "-page areas (node_alloc()), not "
                            + (start < 0 ? "NULL" : "0x" + Long.toHexString(addr(start))));
                } else {
                    for (int j = 0; j < at; j++) { // taken by other users of the node before this call
                        removeArea(pool.get(j));
                    }
                    pools = pools.plus(KernelState.poolKey(node, pages), pool.subList(at, pool.size()));
                }
            }
            Va hit = nodePoolDelVa(node, pages, align);
            if (hit != null) {
                Va busy = new Va(hit.start(), pages, Va.State.BUSY, kind, node, count);
                putArea(busy.start(), busy);
                return busy;
            }
        }
        if (start < 0) {
            return null;
        }
        if (start % align != 0) {
            throw new Vmalloc.PlacementRejected("placement-aligned", (kind == Va.Kind.BLOCK ? "new vmap block" : "area")
                    + " at 0x" + Long.toHexString(addr(start)) + " is not aligned to " + addr(align) + " bytes");
        }
        if (start < cfg.windowStartPage() || start + pages > cfg.windowEndPage()) {
            throw new Vmalloc.PlacementRejected("placement-in-range", "area at 0x" + Long.toHexString(addr(start))
                    + " of " + pages + " pages leaves VMALLOC_START..VMALLOC_END");
        }
        if (align == 1) {
            for (Map.Entry<Long, Long> r : released.entrySet()) {
                if (r.getKey() >= start) {
                    break;
                }
                if (r.getValue() - r.getKey() >= pages) {
                    throw new Vmalloc.PlacementRejected("area-lowest-fit", "area of " + pages + " pages at 0x"
                            + Long.toHexString(addr(start)) + " lies above [0x" + Long.toHexString(addr(r.getKey())) + ", 0x"
                            + Long.toHexString(addr(r.getValue())) + "), which traced calls gave back to the free tree "
                            + "and which fits it: find_vmap_lowest_match() takes the lowest fit");
                }
            }
        }
        Map.Entry<Long, Va> e = areas.lowerEntry(start + pages);
        while (e != null && e.getValue().end() > start) {
            Va other = e.getValue();
            switch (other.state()) {
                case BUSY -> throw new Vmalloc.PlacementRejected("placement-disjoint", "area at 0x"
                        + Long.toHexString(addr(start)) + " of " + pages + " pages overlaps the live "
                        + (other.kind() == Va.Kind.BLOCK ? "vmap block" : "area") + " at 0x"
                        + Long.toHexString(addr(other.start())));
                case LAZY -> throw new Vmalloc.PlacementRejected("placement-not-lazy", "area at 0x"
                        + Long.toHexString(addr(start)) + " reuses the lazily freed area at 0x"
                        + Long.toHexString(addr(other.start())) + " before any flush purged it");
                case POOLED -> {
                    if (placement != null && placement.mayHaveRunOut()) {
                        emptyPoolsSilently();
                        e = areas.lowerEntry(start + pages);
                        continue;
                    }
                    throw new Vmalloc.PlacementRejected("placement-pooled", "area at 0x"
                        + Long.toHexString(addr(start)) + " of " + pages + " pages on CPU " + cpu + " overlaps the area at 0x"
                        + Long.toHexString(addr(other.start())) + ", which node " + other.node() + "'s pool holds "
                            + "(a pooled area is in no free tree: decay_va_pool_node() has not given it back)");
                }
            }
            e = areas.lowerEntry(other.start());
        }
        claim(start, start + pages);
        Va va = new Va(start, pages, Va.State.BUSY, kind, node, count);
        putArea(start, va);
        return va;
    }

    /** TRACE_GUIDED: reclaim_and_purge_vmap_areas() with nothing lazy: every pool decays fully, no flush. */
    private void emptyPoolsSilently() {
        decayVaPools(true);
    }

    /** An area another user took (a busy event after the first call): out of the pools and the released ranges. */
    void takenByOther(long start, long end) {
        claim(start, end);
        Map.Entry<Long, Va> e = areas.lowerEntry(end);
        while (e != null && e.getValue().end() > start) {
            Va other = e.getValue();
            if (other.state() == Va.State.POOLED) {
                removeArea(other.start());
                for (Map.Entry<Integer, PVector<Long>> p : List.copyOf(pools.entrySet())) {
                    if (p.getValue().contains(other.start())) {
                        PVector<Long> left = p.getValue().minus(Long.valueOf(other.start()));
                        pools = left.isEmpty() ? pools.minus(p.getKey()) : pools.plus(p.getKey(), left);
                    }
                }
            }
            e = areas.lowerEntry(other.start());
        }
    }

    /** mm/vmalloc.c: free_vmap_area_noflush(): onto the lazy list; a drain once lazy_max_pages() is passed. */
    void freeVmapAreaNoflush(Va va) {
        Va lazyVa = va.with(Va.State.LAZY);
        putArea(va.start(), lazyVa);
        lazy = lazy.plus(va.start(), lazyVa);
        lazyNr += va.pages();
        if (lazyNr > cfg.lazyMaxPages() && origin.mode() == KernelState.Mode.EXACT) {
            if (profile.synchronousLazyPurge()) {
                if (!inPurge) { // try_purge_vmap_area_lazy(): spin_trylock(&purge_lock)
                    purgeLazy48(false, false, Long.MAX_VALUE, 0, "try_purge_vmap_area_lazy");
                }
            } else {
                drainPending = true; // schedule_work(&drain_vmap_work)
            }
        }
    }

    /**
     * drain_vmap_area_work(): the model runs the scheduled work when the call that scheduled it
     * returns (the kernel runs it on a kworker soon after); 6.1 repeats while over the limit.
     */
    void runPendingDrain() {
        if (!drainPending) {
            return;
        }
        drainPending = false;
        // 6.1 rechecks vmap_lazy_nr and purges again while it is above lazy_max_pages(): here it is 0 after
        // a purge, which takes every lazy area (no other task frees meanwhile)
        purgeLazy(Long.MAX_VALUE, 0, false, "drain_vmap_area_work");
    }

    /**
     * mm/vmalloc.c (6.x): __purge_vmap_area_lazy(): decay the node pools (6.9+), then flush the
     * lazy areas' span together with [start, end) and give them back: to the allocating node's
     * pool (6.9+, up to MAX_VA_SIZE_PAGES, not on a full decay) or to the free tree.
     * Returns whether any area was purged.
     */
    boolean purgeLazy(long start, long end, boolean fullPoolDecay, String by) {
        decayVaPools(fullPoolDecay);
        if (lazy.isEmpty()) {
            return false;
        }
        flushRange(Math.min(start, lazy.firstKey()), Math.max(end, lazy.lastEntry().getValue().end()), by);
        List<ArrayDeque<Va>> global = new ArrayList<>(); // per node: what goes back to the free tree
        for (int node = 0; node < cfg.nrVmapNodes(); node++) {
            global.add(new ArrayDeque<>());
        }
        List<Integer> order = purgeOrder(lazyNr);
        for (Va va : lazy.values()) { // purge_vmap_node(): each node's list in address order
            lazyNr -= va.pages();
            if (!nodePoolAddVa(va, fullPoolDecay)) {
                removeArea(va.start());
                global.get(Math.max(va.node(), 0)).addFirst(va); // list_add(&va->list, &local_list)
            }
        }
        lazy = TreePMap.empty();
        if (!hasFreeTree()) { // TRACE_GUIDED: what the tree now holds again
            global.forEach(list -> list.forEach(va -> release(va.start(), va.end())));
        } else {
            if (!profile.purgeReturnsCoalesced()) {
                // node by node, reclaim_list_global(&local_list): the reverse of the node's address order
                for (int node : order) {
                    returnToFreeTree(global.get(node));
                }
            } else {
                // 6.1: free_vmap_area_noflush() merged the lazy areas into purge_vmap_area_root
                List<Va> all = new ArrayList<>();
                global.forEach(all::addAll);
                returnCoalescedToFreeTree(all);
            }
        }
        return true;
    }

    /** The nodes holding lazy areas in the order they give them back ({@link PurgeHelpers}). */
    private List<Integer> purgeOrder(long lazyNrBefore) {
        boolean[] has = new boolean[cfg.nrVmapNodes()];
        for (Va va : lazy.values()) {
            has[Math.max(va.node(), 0)] = true;
        }
        return PurgeHelpers.order(has, lazyNrBefore, cfg.lazyMaxPages());
    }

    /** mm/vmalloc.c (6.9+): decay_va_pool_node() of every node, as __purge_vmap_area_lazy() and the shrinker do. */
    void decayVaPools(boolean fullDecay) {
        for (int node = 0; node < cfg.nrVmapNodes(); node++) { // a one-node kernel has no pools: nothing decays
            decayVaPoolNode(node, fullDecay);
        }
    }

    /**
     * mm/vmalloc.c (6.9+): purge_vmap_node(): a purged area of up to MAX_VA_SIZE_PAGES that a node
     * allocated goes to the head of that node's pool (node_pool_add_va()), unless skip_populate (a full
     * decay); returns whether it did. Otherwise the caller gives it back to the free tree.
     */
    boolean nodePoolAddVa(Va va, boolean skipPopulate) {
        if (cfg.nrVmapNodes() < 2 || va.node() < 0 || skipPopulate || va.pages() > KernelConfig.MAX_VA_SIZE_PAGES) {
            return false;
        }
        int key = KernelState.poolKey(va.node(), va.pages());
        pools = pools.plus(key, pools.getOrDefault(key, TreePVector.empty()).plus(0, va.start()));
        putArea(va.start(), va.with(Va.State.POOLED));
        return true;
    }

    /**
     * mm/vmalloc.c: decay_va_pool_node(): about a quarter of each pool, from its head (the newest),
     * goes back to the free tree; all of it on a full decay. In 6.12.117, with fewer than four entries
     * n_decay starts at 0 and the {@code if (!--n_decay) break;} test never fires, so the whole pool
     * goes; 7.2 takes {@code len >> 2}, so such a pool stays ({@link Profile#decayKeepsShortPools()}).
     */
    void decayVaPoolNode(int node, boolean fullDecay) {
        List<Va> decayed = new ArrayList<>();
        for (int i = 0; i < KernelConfig.MAX_VA_SIZE_PAGES; i++) {
            int key = KernelState.poolKey(node, i + 1);
            PVector<Long> pool = pools.get(key); // a pool is stored only while it holds areas
            if (pool == null) {
                continue;
            }
            int nDecay = pool.size() >> 2;
            int take = fullDecay || (nDecay == 0 && !profile.decayKeepsShortPools()) ? pool.size() : nDecay;
            for (int j = 0; j < take; j++) {
                decayed.add(areas.get(pool.get(j)));
                removeArea(pool.get(j));
            }
            pools = take == pool.size() ? pools.minus(key) : pools.plus(key, pool.subList(take, pool.size()));
        }
        if (hasFreeTree()) { // merge_or_add_vmap_area() into decay_root, then reclaim_list_global(&decay_list)
            returnCoalescedToFreeTree(decayed);
        } else {
            decayed.forEach(va -> release(va.start(), va.end()));
        }
    }

    /**
     * mm/vmalloc.c (4.8): __purge_vmap_area_lazy(&start, &end, sync, force_flush): a sync purge
     * first retires fragmented blocks; lazily freed areas leave the busy tree only after the flush.
     */
    void purgeLazy48(boolean sync, boolean forceFlush, long start, long end, String by) {
        inPurge = true;
        if (sync) {
            purgeFragmentedBlocksAllCpus();
            inPurge = true;
        }
        long s = start;
        long e = end;
        for (Va va : lazy.values()) {
            s = Math.min(s, va.start());
            e = Math.max(e, va.end());
        }
        boolean any = !lazy.isEmpty();
        if (any || forceFlush) {
            flushRange(s, e, by);
        }
        for (Va va : lazy.values()) {
            lazyNr -= va.pages();
            freeVmapArea48(va);
        }
        lazy = TreePMap.empty();
        inPurge = false;
    }

    /** mm/vmalloc.c (4.8): __free_vmap_area(): moves free_vmap_cache back below a freed area. */
    void freeVmapArea48(Va va) {
        if (cache.node() != null) {
            Va cached = areas.get(cache.node());
            if (cached == null || va.start() <= cached.start()) {
                Long prev = areas.lowerKey(va.start()); // rb_prev()
                cache = new KernelState.FreeVmapCache(prev, cache.holeSize(), cache.align());
            }
        }
        removeArea(va.start());
    }
}
