// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;
import org.pcollections.PVector;

/**
 * The vmap block cache of mm/vmalloc.c: per-CPU free lists of blocks carved up by bump
 * allocation (vb_alloc(), new_vmap_block()), freed pages turned dirty (vb_free()), and blocks
 * retired when fully dirty or purged as fragmented.
 */
abstract class VmapBlocks extends VmapAreas {

    VmapBlocks(KernelState s, Vmalloc.Placement placement) {
        super(s, placement);
    }

    /** mm/vmalloc.c: vb_alloc(): first fit over this CPU's free list, bump allocation. */
    long vbAlloc(int cpu, long pages, long count) {
        int order = KernelConfig.getOrder(pages);
        int need = 1 << order;
        PVector<Long> list = freeList(cpu);
        for (int i = 0; i < list.size(); i++) {
            VmapBlock vb = blocks.get(list.get(i));
            if (vb.free() < need || placement != null && placement.scannedBefore(vb.base())) {
                continue;
            }
            int pagesOff = bits - vb.free();
            VmapBlock after = vb.withFree(vb.free() - need).withLive(vb.live().plus(pagesOff, count));
            putBlockLive(after, pagesOff);
            if (after.free() == 0) {
                freeLists = freeLists.plus(cpu, list.minus(i));
            }
            return vb.base() + pagesOff; // vmap_block_vaddr()
        }
        return newVmapBlock(order, cpu, count);
    }

    /**
     * TRACE_GUIDED: vb_alloc() of a call whose event comes later took {@code pages} at {@code page}, its block's
     * next free pages, before calls logged in between did (the kernel bumps vb->free when the call runs; the trace
     * logs the call when it returns). The pages stay marked as that call's ({@code -pages}) until its event comes
     * ({@link #claimEarlier}). False when {@code page} is not where its block's free pages begin.
     */
    boolean takeEarlier(long page, int pages) {
        long base = page - Math.floorMod(page, (long) bits);
        VmapBlock vb = blocks.get(base);
        if (vb == null || page - base != bits - vb.free() || vb.free() < pages) {
            return false;
        }
        int off = (int) (page - base);
        VmapBlock after = vb.withFree(vb.free() - pages).withLive(vb.live().plus(off, (long) -pages));
        putBlockLive(after, off);
        PVector<Long> list = freeList(vb.cpu());
        if (after.free() == 0 && list.contains(base)) {
            freeLists = freeLists.plus(vb.cpu(), list.minus(list.indexOf(base)));
        }
        return true;
    }

    /** As {@link #takeEarlier} for a call that made the block: its first {@code pages}, mapped just now, are its. */
    boolean markEarlier(long page, int pages) {
        return relabel(page, pages, -pages);
    }

    /** The event of a call {@link #takeEarlier} took pages for: its mapping of {@code count} pages is made. */
    boolean claimEarlier(long page, long count) {
        return relabel(page, -(1L << KernelConfig.getOrder(count)), count);
    }

    /** The live entry at {@code page}, if it holds {@code from}, holds {@code to} now. */
    private boolean relabel(long page, long from, long to) {
        long base = page - Math.floorMod(page, (long) bits);
        VmapBlock vb = blocks.get(base);
        int off = (int) (page - base);
        Long held = vb == null ? null : vb.live().get(off);
        if (held == null || held != from) {
            return false;
        }
        putBlockLive(vb.withLive(vb.live().plus(off, to)), off);
        return true;
    }

    /** mm/vmalloc.c: new_vmap_block(): a block-aligned area whose first 2^order pages go to the caller. */
    long newVmapBlock(int order, int cpu, long count) {
        Va va = allocVmapArea(bits, bits, Va.Kind.BLOCK, cpu, 0);
        if (va == null) {
            return -1;
        }
        if (profile.perCpuBlockIndex() && Vmalloc.blockBucket(origin, va.start()) < 0) {
            throw new KernelCrash("BUG: unable to handle page fault in xa_insert(): addr_to_vb_xa() picked the "
                    + "vmap_block_queue of CPU " + (va.start() / bits % cfg.possibleCpus().size())
                    + ", which is not possible (possible: " + cfg.possibleCpus() + ")");
        }
        putBlockLive(VmapBlock.fresh(va.start(), cpu, bits, order, count), 0); // the caller's pages
        PVector<Long> list = freeList(cpu);
        // list_add_tail_rcu(); the 2015 bug put new blocks at the head
        list = has(Mutant.NEW_BLOCK_AT_LIST_HEAD) ? list.plus(0, va.start()) : list.plus(va.start());
        freeLists = freeLists.plus(cpu, list);
        effects.add(new Effect.BlockCreated(cpu, addr(va.start())));
        return va.start();
    }

    /** mm/vmalloc.c: vb_free(): the pages turn dirty; a block with every page dirty is freed. */
    Outcome vbFree(long page, long count) {
        long base = page - Math.floorMod(page, (long) bits);
        int offset = (int) (page - base);
        if (profile.perCpuBlockIndex() && Vmalloc.blockBucket(origin, base) < 0) {
            throw new KernelCrash("BUG: unable to handle page fault in xa_load(): addr_to_vb_xa() picked a CPU "
                    + "that is not possible");
        }
        VmapBlock vb = blocks.get(base);
        if (vb == null) {
            throw new KernelCrash(profile == Profile.LINUX_4_8
                    ? "kernel BUG at mm/vmalloc.c: vb_free(): BUG_ON(!vb) for 0x" + Long.toHexString(addr(page))
                    : "BUG: kernel NULL pointer dereference in vb_free(): no vmap block holds 0x"
                            + Long.toHexString(addr(page)));
        }
        Long mapped = vb.live().get(offset);
        if (mapped == null || mapped != count) {
            return new Outcome.Rejected("unmap-live-exact", "vm_unmap_ram(0x" + Long.toHexString(addr(page)) + ", "
                    + count + "): " + (mapped == null ? "no live mapping starts there"
                    : "it was mapped with count " + mapped)
                    + " (the kernel would corrupt the block's accounting)");
        }
        int need = 1 << KernelConfig.getOrder(count);
        int dirty = vb.dirty() + need;
        VmapBlock after = vb.withLive(vb.live().minus(offset))
                .withDirty(dirty, Math.min(vb.dirtyMin(), offset), Math.max(vb.dirtyMax(), offset + need));
        putBlockLive(after, offset);
        if (dirty == bits) { // BUG_ON(vb->free) cannot fire: free + dirty <= VMAP_BBMAP_BITS
            freeVmapBlock(after, "vb_free");
        }
        return new Outcome.Done();
    }

    /** mm/vmalloc.c: free_vmap_block(): erase from the index, the whole block area goes lazy. */
    void freeVmapBlock(VmapBlock vb, String by) {
        removeBlock(vb.base());
        Va va = areas.get(vb.base()); // unlinked from the busy areas: its entry becomes the lazy one
        effects.add(new Effect.BlockRetired(vb.cpu(), addr(vb.base()), by));
        freeVmapAreaNoflush(va);
    }

    /**
     * mm/vmalloc.c: purge_fragmented_block(): a block with no live pages is retired, unless (6.5+)
     * it still has VMAP_PURGE_THRESHOLD free pages and the purge is not forced.
     */
    boolean purgeFragmentedBlock(VmapBlock vb, boolean force, List<VmapBlock> purge) {
        if (vb.free() + vb.dirty() != bits || vb.dirty() == bits) {
            return false;
        }
        if (profile.hasPurgeThreshold() && !(force || vb.free() < cfg.purgeThreshold())) {
            return false;
        }
        VmapBlock dead = vb.withFree(0).withDirty(bits, 0, bits);
        // the kernel stores that in vb (no allocation once vb->lock is dropped); the block leaves blocks
        // in freePurgedBlocks() of this call, and nothing reads it before
        PVector<Long> list = freeList(vb.cpu());
        freeLists = freeLists.plus(vb.cpu(), list.minus(Long.valueOf(vb.base())));
        purge.add(dead);
        return true;
    }

    /** mm/vmalloc.c: free_purged_blocks(). */
    void freePurgedBlocks(List<VmapBlock> purge) {
        for (VmapBlock vb : purge) {
            freeVmapBlock(vb, "purge_fragmented_block");
        }
    }

    /** mm/vmalloc.c: purge_fragmented_blocks_allcpus(): forced, over every possible CPU's free list. */
    @Override
    void purgeFragmentedBlocksAllCpus() {
        List<VmapBlock> purge = new ArrayList<>();
        for (int cpu : cfg.possibleCpus()) {
            for (long base : freeList(cpu)) {
                purgeFragmentedBlock(blocks.get(base), true, purge);
            }
        }
        inPurge = true;
        freePurgedBlocks(purge);
        inPurge = false;
    }

    /** One block of the 6.12 xarray walk in _vm_unmap_aliases(); returns whether it needs a flush. */
    boolean aliasesVisit612(VmapBlock vb, List<VmapBlock> purge, long[] range) {
        if (purgeFragmentedBlock(vb, has(Mutant.PURGE_USABLE_BLOCKS), purge)) {
            return false;
        }
        if (vb.dirtyMax() != 0 && vb.dirty() != bits) {
            widen(range, vb.base() + vb.dirtyMin(), vb.base() + vb.dirtyMax());
            if (profile.aliasesResetsDirtyRange() && !has(Mutant.FLUSH_DIRTY_AGAIN)) { // "Prevent that this is flushed again"
                putBlock(vb.withDirty(vb.dirty(), bits, 0));
            }
            return true;
        }
        return false;
    }

    static void widen(long[] range, long start, long end) {
        range[0] = Math.min(range[0], start);
        range[1] = Math.max(range[1], end);
    }
}
