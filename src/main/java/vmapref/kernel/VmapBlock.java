// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;

/**
 * struct vmap_block (mm/vmalloc.c): one VMAP_BLOCK_SIZE area carved up by bump allocation.
 * {@code free} counts the never-used tail pages, {@code dirty} the pages given back;
 * {@code [dirtyMin, dirtyMax)} is the page range not yet TLB-flushed (empty is BITS, 0).
 * {@code live} maps the page offset of each live sub-allocation to its vm_map_ram() count
 * (the kernel's used_map, 6.3+, keeps the same bits; the model uses it to check vm_unmap_ram()).
 *
 * @param cpu vb->cpu: the CPU whose vmap_block_queue free list holds the block
 */
public record VmapBlock(long base, int cpu, int free, int dirty, int dirtyMin, int dirtyMax,
                        PSortedMap<Integer, Long> live) {

    static VmapBlock fresh(long base, int cpu, int bits, int order, long count) {
        int taken = 1 << order;
        return new VmapBlock(base, cpu, bits - taken, 0, bits, 0, TreePMap.<Integer, Long>empty().plus(0, count));
    }

    /** Pages covered by live sub-allocations (each rounded up to its power of two). */
    public int livePages(int bits) {
        return bits - free - dirty;
    }

    public boolean hasDirtyRange() {
        return dirtyMax != 0;
    }

    VmapBlock withFree(int f) {
        return new VmapBlock(base, cpu, f, dirty, dirtyMin, dirtyMax, live);
    }

    VmapBlock withLive(PSortedMap<Integer, Long> l) {
        return new VmapBlock(base, cpu, free, dirty, dirtyMin, dirtyMax, l);
    }

    VmapBlock withDirty(int d, int min, int max) {
        return new VmapBlock(base, cpu, free, d, min, max, live);
    }
}
