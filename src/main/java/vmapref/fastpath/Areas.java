// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import vmapref.kernel.FreeTree;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.PurgeHelpers;

/**
 * The vmap_area allocator of mm/vmalloc.c, behind one lock that stands for free_vmap_area_lock and
 * the vmap nodes' busy, lazy and pool locks: alloc_vmap_area() with node_alloc() (6.9+) and the
 * free tree ({@link FreeTree}, the same code as the reference implementation's), the lazy list
 * (free_vmap_area_noflush()), __purge_vmap_area_lazy() with its flush, and the pools' decay.
 */
final class Areas {
    private final FastVmalloc k;
    private final FastConfig cfg;
    /** free_vmap_area_lock, vn->busy.lock, vn->lazy.lock and vn->pool_lock, as one lock. */
    final Object lock = new Object();
    /** free_vmap_area_root. */
    private final FreeTree tree;
    /** The busy trees: areas handed out, by first page. */
    private final TreeMap<Long, Area> busy = new TreeMap<>();
    /** The lazy trees: areas freed but not yet flushed, by first page. */
    private final TreeMap<Long, Area> lazy = new TreeMap<>();
    /** vmap_lazy_nr, in pages. */
    private long lazyNr;
    /** vn->pool[size class] of each node, keyed by node * KernelConfig.MAX_VA_SIZE_PAGES + pages - 1: list head first. */
    private final TreeMap<Integer, ArrayList<Area>> pools = new TreeMap<>();

    Areas(FastVmalloc k) {
        this.k = k;
        this.cfg = k.cfg;
        this.tree = FreeTree.boot(cfg.bitsPerLong == 32 ? 0xffff_ffffL : -1L);
    }

    /**
     * mm/vmalloc.c: alloc_vmap_area(size, align, VMALLOC_START, VMALLOC_END): a node pool hit
     * (6.9+), else __alloc_vmap_area() on the free tree; on failure reclaim_and_purge_vmap_areas()
     * and one retry. Null is -EBUSY.
     */
    Area allocVmapArea(Task t, long pages, long align, boolean block, long count) {
        int node = -1;
        if (cfg.nrVmapNodes > 1) { // node_alloc()
            node = t.cpu % cfg.nrVmapNodes;
            synchronized (lock) {
                k.step(t, "node_alloc", "pool_lock: pool of node " + node + ", " + pages + " pages");
                Area hit = nodePoolDelVa(node, pages, align);
                if (hit != null) {
                    hit.reuse(pages, block, count);
                    hit.node = node;
                    busy.put(hit.first, hit);
                    return hit;
                }
            }
        }
        boolean purged = false;
        while (true) {
            synchronized (lock) {
                k.step(t, "alloc_vmap_area", "free_vmap_area_lock: " + pages + " pages");
                long found = tree.alloc(cfg.addr(pages), cfg.addr(align), cfg.vmallocStart, cfg.vmallocEnd,
                        1L << cfg.pageShift, false);
                if (found != cfg.vmallocEnd) {
                    Area va = new Area(found >>> cfg.pageShift, pages, block, node, count);
                    busy.put(va.first, va);
                    return va;
                }
            }
            if (purged) {
                k.warn(cfg.is612 ? "vmalloc_node_range for size " + cfg.addr(pages) + " failed: Address range restricted"
                        : "vmap allocation for size " + cfg.addr(pages) + " failed: use vmalloc=<size> to increase size");
                return null;
            }
            purged = true;
            k.reclaimAndPurge(t);
        }
    }

    /** mm/vmalloc.c (6.9+): node_pool_del_va(): the pool's head if aligned, else rotate it to the tail. */
    private Area nodePoolDelVa(int node, long pages, long align) {
        if (pages > KernelConfig.MAX_VA_SIZE_PAGES) {
            return null;
        }
        ArrayList<Area> pool = pools.get(poolKey(node, pages));
        if (pool == null || pool.isEmpty()) {
            return null;
        }
        Area head = pool.remove(0);
        if (head.first % align == 0) {
            return head;
        }
        pool.add(head); // list_move_tail()
        return null;
    }

    private static int poolKey(int node, long pages) {
        return node * KernelConfig.MAX_VA_SIZE_PAGES + (int) (pages - 1);
    }

    /** unlink_va() from the busy tree: the area holding {@code page}, or null. */
    Area findBusy(long page) {
        synchronized (lock) {
            Map.Entry<Long, Area> e = busy.floorEntry(page);
            return e == null || e.getValue().end() <= page ? null : e.getValue();
        }
    }

    /** find_unlink_vmap_area() / unlink_va(): the area leaves the busy tree. */
    void unlinkBusy(Area va) {
        synchronized (lock) {
            if (busy.remove(va.first) != va) {
                throw new AssertionError("unlink_va(): area 0x" + Long.toHexString(cfg.addr(va.first)) + " is not busy");
            }
        }
    }

    /**
     * mm/vmalloc.c: free_vmap_area_noflush(): onto the lazy list; once vmap_lazy_nr passes
     * lazy_max_pages() the drain work is scheduled (the calling task runs it when the call ends).
     */
    void freeVmapAreaNoflush(Task t, Area va) {
        long nr;
        synchronized (lock) {
            k.step(t, "free_vmap_area_noflush", "vn->lazy.lock: area 0x" + Long.toHexString(cfg.addr(va.first)) + " lazy");
            va.state = Area.LAZY;
            if (!cfg.is612) { // 6.1: merge_or_add_vmap_area() into the purge tree frees a struct that merges
                Map.Entry<Long, Area> prev = lazy.lowerEntry(va.first);
                Area next = lazy.get(va.first + va.pages);
                boolean mergesPrev = prev != null && prev.getValue().first + prev.getValue().pages == va.first;
                if (next != null || mergesPrev) {
                    va.poison();
                }
                if (next != null && mergesPrev) {
                    next.poison();
                }
            }
            lazy.put(va.first, va);
            lazyNr += va.pages;
            nr = lazyNr;
        }
        if (nr > cfg.lazyMaxPages) {
            t.drainPending = true; // schedule_work(&drain_vmap_work)
        }
    }

    /** Whether the drain work would purge again (6.1's drain_vmap_area_work() loops while this holds). */
    boolean overLazyLimit() {
        synchronized (lock) {
            return lazyNr > cfg.lazyMaxPages;
        }
    }

    /**
     * mm/vmalloc.c: __purge_vmap_area_lazy(start, end, full_pool_decay); every caller holds vmap_purge_lock:
     * decay the pools (6.9+), detach the lazy areas, flush their span with [start, end), then give
     * them back: to their node's pool (6.9+, up to KernelConfig.MAX_VA_SIZE_PAGES, not on a full decay) or to
     * the free tree. Returns whether any area was purged.
     */
    boolean purgeLazy(Task t, long start, long end, boolean fullPoolDecay, String by) {
        boolean nodes = cfg.nrVmapNodes > 1;
        ArrayList<Area> detached = new ArrayList<>();
        long lo;
        long hi;
        synchronized (lock) {
            if (nodes) {
                for (int node = 0; node < cfg.nrVmapNodes; node++) {
                    decayVaPoolNode(node, fullPoolDecay);
                }
            }
            if (lazy.isEmpty()) {
                k.step(t, "__purge_vmap_area_lazy", "lazy list empty: nothing to purge");
                return false;
            }
            k.step(t, "__purge_vmap_area_lazy", "vn->lazy.lock: detach " + lazy.size() + " lazy areas");
            detached.addAll(lazy.values());
            lazy.clear();
            lo = Math.min(start, detached.get(0).first);
            hi = Math.max(end, detached.get(detached.size() - 1).end());
        }
        k.flushRange(t, lo, hi, by);
        synchronized (lock) {
            k.step(t, "purge_vmap_node", "free_vmap_area_lock: " + detached.size() + " areas back");
            ArrayList<ArrayList<Area>> global = new ArrayList<>(); // per node, for reclaim_list_global()
            for (int node = 0; node < cfg.nrVmapNodes; node++) {
                global.add(new ArrayList<>());
            }
            long lazyNrBefore = lazyNr;
            for (Area va : detached) {
                lazyNr -= va.pages;
                if (nodes && va.node >= 0 && !fullPoolDecay && va.pages <= KernelConfig.MAX_VA_SIZE_PAGES) {
                    va.state = Area.POOLED;
                    pools.computeIfAbsent(poolKey(va.node, va.pages), x -> new ArrayList<>()).add(0, va);
                } else {
                    global.get(Math.max(va.node, 0)).add(0, va); // list_add(&va->list, &local_list)
                }
            }
            if (cfg.is612) { // node by node, each list in reverse address order; the helpers' nodes last
                for (int node : purgeOrder(detached, lazyNrBefore)) {
                    for (Area va : global.get(node)) {
                        toFreeTree(va.first, va.end());
                        va.poison();
                    }
                }
            } else { // 6.1: merged into purge_vmap_area_root on the way in, so adjacent ones are one range
                ArrayList<Area> all = new ArrayList<>();
                for (ArrayList<Area> local : global) {
                    all.addAll(local);
                }
                returnCoalesced(all);
            }
        }
        return true;
    }

    /** The nodes holding lazy areas in the order they give them back (kernel.PurgeHelpers). */
    private List<Integer> purgeOrder(ArrayList<Area> detached, long lazyNrBefore) {
        boolean[] has = new boolean[cfg.nrVmapNodes];
        for (Area va : detached) {
            has[Math.max(va.node, 0)] = true;
        }
        return PurgeHelpers.order(has, lazyNrBefore, cfg.lazyMaxPages);
    }

    /**
     * mm/vmalloc.c: decay_va_pool_node(): about a quarter of each pool, from its head; with fewer
     * than four entries the whole pool in 6.12.117 (n_decay underflows), none in 7.2. Lock held.
     */
    private void decayVaPoolNode(int node, boolean fullDecay) {
        ArrayList<Area> decayed = new ArrayList<>();
        for (ArrayList<Area> pool : pools.subMap(poolKey(node, 1), true, poolKey(node, KernelConfig.MAX_VA_SIZE_PAGES), true).values()) {
            if (pool.isEmpty()) {
                continue;
            }
            int nDecay = pool.size() >> 2;
            int take = fullDecay || (nDecay == 0 && !cfg.decayKeepsShortPools) ? pool.size() : nDecay;
            for (int j = 0; j < take; j++) {
                decayed.add(pool.remove(0));
            }
        }
        returnCoalesced(decayed);
    }

    /** merge_or_add_vmap_area() into a side tree, then the merged ranges into the free tree in address order. */
    private void returnCoalesced(ArrayList<Area> vas) {
        TreeMap<Long, Area> sorted = new TreeMap<>();
        for (Area va : vas) {
            sorted.put(va.first, va);
        }
        long s = -1;
        long e = -1;
        for (Area va : sorted.values()) {
            long vs = va.first;
            long ve = va.end();
            va.poison();
            if (vs == e) {
                e = ve;
                continue;
            }
            if (s >= 0) {
                toFreeTree(s, e);
            }
            s = vs;
            e = ve;
        }
        if (s >= 0) {
            toFreeTree(s, e);
        }
    }

    private void toFreeTree(long startPage, long endPage) {
        tree.free(cfg.addr(startPage), cfg.addr(endPage));
    }
}
