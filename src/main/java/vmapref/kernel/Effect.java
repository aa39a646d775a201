// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

/** Something observable a call did besides its result, in the order it happened. */
public sealed interface Effect {

    /** flush_tlb_kernel_range(start, end) completed; addresses in bytes. */
    record Flush(long start, long end, String by) implements Effect {
    }

    /** new_vmap_block() created a block; base address in bytes. */
    record BlockCreated(int cpu, long base) implements Effect {
    }

    /** A block was freed: by vb_free() when fully dirty, or purged as fragmented. */
    record BlockRetired(int cpu, long base, String by) implements Effect {
    }

    /** A kernel WARN fired. */
    record Warn(String text) implements Effect {
    }
}
