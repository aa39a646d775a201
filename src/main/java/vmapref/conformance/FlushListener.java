// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

/**
 * Where an implementation reports its TLB flushes: call {@link #flushed} once per completed
 * flush_tlb_kernel_range(start, end), in the order they complete. The kit records a flush reported
 * during vm_map_ram() or vm_unmap_aliases() as completed before the call returned, one reported
 * during vm_unmap_ram() as completed after it returned (the purge work the call kicked off: the
 * kernel's unmap never flushes before it returns), and one reported between calls before the next
 * call.
 */
@FunctionalInterface
public interface FlushListener {

    /**
     * A flush of the kernel virtual range {@code [startAddr, endAddr)} completed; {@code by} names the
     * mm/vmalloc.c function that flushed, as the trace's flush "note" (null if unknown). The structure
     * level needs it for a lazy purge ({@code reclaim_and_purge_vmap_areas} on 6.12, {@code
     * purge_vmap_area_lazy} on 6.1), which also purges fragmented blocks; spec and exact ignore it.
     */
    void flushed(long startAddr, long endAddr, String by);

    /** A flush of {@code [startAddr, endAddr)} completed, by a function not named. */
    default void flushed(long startAddr, long endAddr) {
        flushed(startAddr, endAddr, null);
    }
}
