// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.Set;
import org.pcollections.HashTreePMap;
import org.pcollections.PMap;
import org.pcollections.PSortedMap;
import org.pcollections.PVector;
import org.pcollections.TreePMap;

/**
 * The whole allocator state, immutable: every call returns a new one (see {@link Vmalloc#step}).
 * Field names follow mm/vmalloc.c; all positions are absolute page numbers.
 *
 * @param blocks    vmap_blocks: every live vmap_block by base page (one xarray in 4.8..6.3, per-CPU
 *                  hashed xarrays since 6.4: see {@link Vmalloc#blockBucket})
 * @param freeLists vmap_block_queue.free of each CPU: bases of its blocks with free pages, oldest first
 * @param areas     every vmap_area that is not free (busy, lazy or pooled), by start page; inside
 *                  the vmalloc window the free ranges are exactly the gaps between them
 * @param lazy      the lazily freed areas not yet purged (vmap_purge_list / the lazy trees)
 * @param lazyNr    vmap_lazy_nr: pages in {@code lazy}
 * @param pools     vmap node pools (6.9+), keyed by {@link #poolKey}: area starts, list head first
 * @param cache     4.8's free_vmap_cache state, null on later kernels
 * @param crash     the BUG text once a call crashed the kernel, else null
 * @param freeTree  free_vmap_area_root with the kernel's shape (6.1 and 6.12 in {@link Mode#EXACT});
 *                  null on 4.8 (its busy-list allocator) and in {@link Mode#TRACE_GUIDED}, where the
 *                  trace places areas. Never changed once in a state (see {@link FreeTree}).
 * @param released  {@link Mode#TRACE_GUIDED} only: page ranges [start, end) the traced calls' areas gave
 *                  back to the free tree (a purge or a pool's decay) and nothing traced has taken since,
 *                  start page to end page; empty in {@link Mode#EXACT}, where the free tree says it all
 * @param warnedOnce vm_unmap_ram()'s WARN_ON_ONCE(!va) (6.12) has fired: it reports once per boot
 */
public record KernelState(KernelConfig cfg, Set<Mutant> mutants, Mode mode,
                          PSortedMap<Long, VmapBlock> blocks,
                          PMap<Integer, PVector<Long>> freeLists,
                          PSortedMap<Long, Va> areas,
                          PSortedMap<Long, Va> lazy,
                          long lazyNr,
                          PMap<Integer, PVector<Long>> pools,
                          FreeVmapCache cache,
                          String crash,
                          FreeTree freeTree,
                          PSortedMap<Long, Long> released,
                          boolean warnedOnce) {

    /** How placement of new areas is decided. */
    public enum Mode {
        /** The model places every area and runs the lazy drain itself (exclusive traces, exploration). */
        EXACT,
        /**
         * Where a new block or large area lands is told by a {@link Vmalloc.Placement} (a real trace),
         * and lazily freed areas are purged when a traced flush covers them: other kernel users share
         * the address space and the drain work.
         */
        TRACE_GUIDED
    }

    /**
     * 4.8 alloc_vmap_area()'s search cache (mm/vmalloc.c of v4.4..v5.1): the last area allocated,
     * the largest hole seen below it and the alignment it was searched with.
     */
    public record FreeVmapCache(Long node, long holeSize, long align) {
        static final FreeVmapCache EMPTY = new FreeVmapCache(null, 0, 0);
    }

    /**
     * A state built by hand, without a free tree: for 6.1 and 6.12 in EXACT mode one is rebuilt from
     * the gaps between {@code areas} (each area clipped out of [1, ULONG_MAX) in address order, as
     * {@link Vmalloc#reserve} does). Its ranges are right; its shape is not one the kernel's history
     * would have produced, so only states that come from {@link Vmalloc#step} are exact.
     */
    public KernelState(KernelConfig cfg, Set<Mutant> mutants, Mode mode, PSortedMap<Long, VmapBlock> blocks,
                       PMap<Integer, PVector<Long>> freeLists, PSortedMap<Long, Va> areas, PSortedMap<Long, Va> lazy,
                       long lazyNr, PMap<Integer, PVector<Long>> pools, FreeVmapCache cache, String crash) {
        this(cfg, mutants, mode, blocks, freeLists, areas, lazy, lazyNr, pools, cache, crash, gapTree(cfg, mode, areas));
    }

    /** As the canonical constructor, with nothing {@code released}. */
    public KernelState(KernelConfig cfg, Set<Mutant> mutants, Mode mode, PSortedMap<Long, VmapBlock> blocks,
                       PMap<Integer, PVector<Long>> freeLists, PSortedMap<Long, Va> areas, PSortedMap<Long, Va> lazy,
                       long lazyNr, PMap<Integer, PVector<Long>> pools, FreeVmapCache cache, String crash,
                       FreeTree freeTree) {
        this(cfg, mutants, mode, blocks, freeLists, areas, lazy, lazyNr, pools, cache, crash, freeTree, TreePMap.empty());
    }

    /** As the canonical constructor, with no WARN_ON_ONCE fired yet. */
    public KernelState(KernelConfig cfg, Set<Mutant> mutants, Mode mode, PSortedMap<Long, VmapBlock> blocks,
                       PMap<Integer, PVector<Long>> freeLists, PSortedMap<Long, Va> areas, PSortedMap<Long, Va> lazy,
                       long lazyNr, PMap<Integer, PVector<Long>> pools, FreeVmapCache cache, String crash,
                       FreeTree freeTree, PSortedMap<Long, Long> released) {
        this(cfg, mutants, mode, blocks, freeLists, areas, lazy, lazyNr, pools, cache, crash, freeTree, released, false);
    }

    static FreeTree gapTree(KernelConfig cfg, Mode mode, PSortedMap<Long, Va> areas) {
        if (cfg.profile().freeVmapCacheAllocator() || mode != Mode.EXACT) {
            return null;
        }
        FreeTree t = FreeTree.boot(cfg.bitsPerLong() == 32 ? 0xffff_ffffL : -1L);
        for (Va va : areas.values()) {
            t.clip(va.start() << cfg.pageShift(), va.end() << cfg.pageShift()); // an overlapping area is skipped
        }
        return t;
    }

    public static KernelState boot(KernelConfig cfg, Set<Mutant> mutants, Mode mode) {
        return new KernelState(cfg, Set.copyOf(mutants), mode, TreePMap.empty(), HashTreePMap.empty(),
                TreePMap.empty(), TreePMap.empty(), 0, HashTreePMap.empty(),
                cfg.profile().freeVmapCacheAllocator() ? FreeVmapCache.EMPTY : null, null,
                cfg.profile().freeVmapCacheAllocator() || mode != Mode.EXACT ? null
                        : FreeTree.boot(cfg.bitsPerLong() == 32 ? 0xffff_ffffL : -1L), TreePMap.empty());
    }

    public boolean has(Mutant m) {
        return mutants.contains(m);
    }

    static int poolKey(int node, long pages) {
        return node * KernelConfig.MAX_VA_SIZE_PAGES + (int) (pages - 1);
    }

    public PVector<Long> freeList(int cpu) {
        PVector<Long> l = freeLists.get(cpu);
        return l == null ? org.pcollections.TreePVector.empty() : l;
    }

    public long addr(long page) {
        return page << cfg.pageShift();
    }
}
