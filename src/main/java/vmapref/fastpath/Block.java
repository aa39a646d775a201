// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import vmapref.kernel.KernelConfig;

/**
 * struct vmap_block (mm/vmalloc.c). {@code free} and {@code dirty} are read locklessly
 * (READ_ONCE in vb_alloc(), purge_fragmented_blocks()) and written under {@code lock}
 * (WRITE_ONCE), so they are volatile; the rest is only touched under {@code lock}. A retired
 * block is freed with kfree_rcu(): {@link Rcu} poisons it once no reader can still hold it.
 */
final class Block {
    /** kmalloc() garbage: vb->cpu before new_vmap_block() sets it. */
    static final int UNSET_CPU = Integer.MIN_VALUE;

    /** vb->lock. */
    final Object lock = new Object();
    final Area va;
    /** The block's first page (va->va_start), kept so that messages never read a freed area. */
    final long base;
    volatile int free;
    volatile int dirty;
    int dirtyMin;
    int dirtyMax;
    /** vb->cpu (6.10+): whose vmap_block_queue free list holds the block. */
    int cpu = UNSET_CPU;
    /** Pages whose used_map bits vb_free() cleared but has not yet counted dirty (between its two lock sections). */
    int unmapping;
    /**
     * used_map, with the vm_map_ram() count at each sub-allocation's first page (0: none) so that
     * vm_unmap_ram() can be checked as the reference implementation checks it.
     */
    final long[] liveCount;
    /** Pages the live sub-allocations cover (each its 2^order): popcount(used_map), kept as a count. */
    int usedPages;
    private volatile boolean poisoned;

    Block(Area va, int bits) {
        this.va = va;
        this.base = va.first;
        this.liveCount = new long[bits];
    }

    /** Fails on a block that kfree_rcu() already freed. */
    void live() {
        if (poisoned) {
            throw new AssertionError("use after free: vmap_block 0x" + Long.toHexString(base)
                    + " pages was freed (kfree_rcu after free_vmap_block) and is touched again");
        }
    }

    void poison() {
        poisoned = true;
    }

    /** The block's accounting, checked with {@code lock} held: free + dirty + used = VMAP_BBMAP_BITS. */
    void checkAccounting(int bits) {
        live();
        int used = usedPages;
        int f = free;
        int d = dirty;
        if (f < 0 || d < 0 || f + d + used + unmapping != bits) {
            throw new AssertionError("vmap_block 0x" + Long.toHexString(base) + " pages: free " + f + " + dirty " + d
                    + " + used " + used + " + being unmapped " + unmapping + " != VMAP_BBMAP_BITS " + bits);
        }
        if (d != bits && dirtyMax != 0 && (dirtyMin < 0 || dirtyMin >= dirtyMax || dirtyMax > bits - f)) {
            throw new AssertionError("vmap_block 0x" + Long.toHexString(base) + " pages: dirty range [" + dirtyMin + ", "
                    + dirtyMax + ") is not inside the used part [0, " + (bits - f) + ")");
        }
    }

    /** With no call running: the used-page count is what the live sub-allocations cover. */
    void checkUsedMap(int bits) {
        int used = 0;
        for (int off = 0; off < bits; off++) {
            if (liveCount[off] != 0) {
                used += 1 << KernelConfig.getOrder(liveCount[off]);
            }
        }
        if (used != usedPages || unmapping != 0) {
            throw new AssertionError("vmap_block 0x" + Long.toHexString(base) + " pages: used_map covers " + used
                    + " pages, the block counts " + usedPages + " used and " + unmapping + " being unmapped");
        }
    }

}
