// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

/**
 * What the specification needs to know of a kernel.
 *
 * @param vmallocEnd          VMALLOC_END, inclusive (the last byte) as on x86_64
 * @param blockPages          VMAP_BBMAP_BITS: vmap blocks are this many pages, naturally aligned
 * @param maxAllocPages       VMAP_MAX_ALLOC: mappings up to this many pages come from blocks
 * @param zeroCountInContract whether vm_map_ram(count=0) is a valid call (it returns NULL since
 *                            the 2024 vb_alloc() fix; on older kernels it is a caller error)
 * @param flushesObserved     whether every TLB flush is reported; without that, any flush may
 *                            have happened, so nothing is known to be stale
 */
public record SpecConfig(int pageShift, long vmallocStart, long vmallocEnd, int blockPages, int maxAllocPages,
                         boolean zeroCountInContract, boolean flushesObserved) {

    public long pageSize() {
        return 1L << pageShift;
    }

    /** BITS_PER_LONG, of which VMAP_MAX_ALLOC is the definition. */
    public int bitsPerLong() {
        return maxAllocPages;
    }

    /**
     * The largest count whose size, {@code (unsigned long)count << PAGE_SHIFT}, fits an unsigned long:
     * UINT_MAX on 64-bit; on 32-bit a larger count wraps the size.
     */
    public long maxCount() {
        return bitsPerLong() == 64 ? 0xffff_ffffL : 0xffff_ffffL >>> pageShift;
    }
}
