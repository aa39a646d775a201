// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pcollections.PMap;
import org.pcollections.PSortedMap;
import org.pcollections.PVector;
import org.pcollections.TreePVector;

/**
 * One call's working copy of {@link KernelState}: it swaps persistent collections, never mutates
 * them, so the state the call started from stays valid. The subclasses add the kernel's layers:
 * {@link VmapAreas} (the vmap_area allocator), {@link VmapBlocks} (the block cache) and
 * {@link VmMapRam} (the exported calls).
 */
abstract class Transaction {
    final KernelState origin;
    final KernelConfig cfg;
    final Profile profile;
    /** Where new areas land in {@link KernelState.Mode#TRACE_GUIDED}. */
    final Vmalloc.Placement placement;
    /** VMAP_BBMAP_BITS. */
    final int bits;
    final List<Effect> effects = new ArrayList<>();
    /** The keys of {@link #areas} and {@link #blocks} this call changed. */
    final Touched touched = new Touched();

    PSortedMap<Long, VmapBlock> blocks;
    PMap<Integer, PVector<Long>> freeLists;
    PSortedMap<Long, Va> areas;
    PSortedMap<Long, Va> lazy;
    long lazyNr;
    PMap<Integer, PVector<Long>> pools;
    KernelState.FreeVmapCache cache;
    /** {@link KernelState#released()}: TRACE_GUIDED's knowledge of the free tree. */
    PSortedMap<Long, Long> released;
    /** free_vmap_area_root; shared with {@link #origin} until the call first changes it. */
    private FreeTree freeTree;
    private boolean freeTreeCopied;
    /** schedule_work(&drain_vmap_work) happened during this call. */
    boolean drainPending;
    /** {@link KernelState#warnedOnce()}. */
    boolean warnedOnce;
    /** Inside a purge: 4.8's try_purge_vmap_area_lazy() fails its trylock. */
    boolean inPurge;

    Transaction(KernelState s, Vmalloc.Placement placement) {
        this.origin = s;
        this.cfg = s.cfg();
        this.profile = cfg.profile();
        this.placement = placement;
        this.bits = cfg.vmapBbmapBits();
        this.blocks = s.blocks();
        this.freeLists = s.freeLists();
        this.areas = s.areas();
        this.lazy = s.lazy();
        this.lazyNr = s.lazyNr();
        this.pools = s.pools();
        this.cache = s.cache();
        this.freeTree = s.freeTree();
        this.released = s.released();
        this.warnedOnce = s.warnedOnce();
    }

    /** Whether the free tree is modelled (6.1 and 6.12 in EXACT mode). */
    boolean hasFreeTree() {
        return freeTree != null;
    }

    /** The free tree, for a change: the call's own copy, made once in O(1) (the old state keeps its tree). */
    FreeTree freeTree() {
        if (!freeTreeCopied && freeTree != null) {
            freeTree = freeTree.copy();
            freeTreeCopied = true;
        }
        return freeTree;
    }

    KernelState freeze() {
        return new KernelState(cfg, origin.mutants(), origin.mode(), blocks, freeLists, areas, lazy, lazyNr, pools,
                cache, null, freeTree, released, warnedOnce);
    }

    void putArea(long start, Va va) {
        areas = areas.plus(start, va);
        touched.area(start);
    }

    void removeArea(long start) {
        areas = areas.minus(start);
        touched.area(start);
    }

    /** A block put that changes no live entry (a purge, the 6.12 dirty-range reset). */
    void putBlock(VmapBlock after) {
        blocks = blocks.plus(after.base(), after);
    }

    /**
     * A block put that adds or removes the live entry at {@code offset} and changes no other (a new
     * block has one, at offset 0).
     */
    void putBlockLive(VmapBlock after, int offset) {
        blocks = blocks.plus(after.base(), after);
        touched.liveStart(after.base() + offset);
    }

    /** A block retired: it has no live entry (vb_free() and the purges retire only such blocks). */
    void removeBlock(long base) {
        blocks = blocks.minus(base);
    }

    /** TRACE_GUIDED: [start, end) went back to the free tree (merged with released neighbours). */
    void release(long start, long end) {
        claim(start, end);
        Map.Entry<Long, Long> below = released.lowerEntry(start);
        if (below != null && below.getValue() == start) {
            released = released.minus(below.getKey());
            start = below.getKey();
        }
        Long above = released.get(end);
        if (above != null) {
            released = released.minus(end);
            end = above;
        }
        released = released.plus(start, end);
    }

    /** TRACE_GUIDED: [start, end) is taken (by a traced call or, as a busy event says, another user). */
    void claim(long start, long end) {
        Map.Entry<Long, Long> e = released.lowerEntry(end);
        while (e != null && e.getValue() > start) {
            released = released.minus(e.getKey());
            if (e.getKey() < start) {
                released = released.plus(e.getKey(), start);
            }
            if (e.getValue() > end) {
                released = released.plus(end, e.getValue());
            }
            e = released.lowerEntry(e.getKey());
        }
    }

    boolean has(Mutant m) {
        return origin.has(m);
    }

    PVector<Long> freeList(int cpu) {
        return freeLists.getOrDefault(cpu, TreePVector.empty());
    }

    long addr(long page) {
        return page << cfg.pageShift();
    }

    void flushRange(long startPage, long endPage, String by) {
        effects.add(new Effect.Flush(addr(startPage), addr(endPage), by));
    }

    /** A kernel BUG or oops: the call does not return. */
    static final class KernelCrash extends RuntimeException {
        KernelCrash(String text) {
            super(text, null, false, false);
        }
    }
}
