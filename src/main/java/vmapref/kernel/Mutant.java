// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Historical kernel bugs, each a switch that puts the bug back; the commit is the fix, the mutant
 * reverts it (docs/kernel-notes.md). Sequential mutants switch the reference implementation and are
 * hunted with {@code hunt}; concurrency mutants switch the concurrent fast path
 * ({@code vmapref.fastpath}) and are found with {@code modelcheck}.
 */
public enum Mutant {
    NEW_BLOCK_AT_LIST_HEAD("new-block-at-list-head", "\"mm/vmalloc: fix possible exhaustion of vmalloc space caused by vm_map_ram allocator\" (Roman Pen, v4.1)",
            "new_vmap_block() puts the new block at the head of the free list (list_add_rcu): "
                    + "older blocks keep unusable holes and vmalloc space runs out"),
    SIZE_INT_OVERFLOW("size-int-overflow", "\"mm: fix overflow in vm_map_ram\" (Guillermo Julian, v4.7)",
            "vm_map_ram() computes count << PAGE_SHIFT in 32 bits: big mappings get a wrapped size"),
    ALIGN_SEARCH_NOT_LOWEST("align-search-not-lowest", "\"mm/vmalloc: Do not adjust the search size for alignment overhead\" (Rezki, 2021; fixes 68ad4a330433)",
            "find_vmap_lowest_match() always searches for size + align - 1, so an exact hole is skipped"),
    STALE_TLB_FULL_BLOCK("stale-tlb-full-block", "fc1e0d980037 \"mm/vmalloc: prevent stale TLBs in fully utilized blocks\" (v6.5)",
            "_vm_unmap_aliases() walks only the free lists and misses fully used blocks"),
    HASH_INDEX_POSSIBLE_MASK("hash-index-possible-mask", "a34acf30b19b \"mm: vmalloc: check if a hash-index is in cpu_possible_mask\" (v6.10)",
            "addr_to_vb_xa() hashes with % num_possible_cpus() and may pick a CPU that is not possible"),
    COUNT_ZERO_NULL("count-zero-null", "\"mm/vmalloc: fix return value of vb_alloc if size is 0\" (Hailong Liu, v6.9)",
            "vb_alloc() returns NULL for size 0, IS_ERR() misses it and vm_map_ram() crashes: "
                    + "vmap_small_pages_range_noflush() of [0, 0) hits BUG_ON(addr >= end)"),
    FLUSH_DIRTY_AGAIN("flush-dirty-again", "a09fad96ffb1 \"mm/vmalloc: prevent flushing dirty space over and over\" (v6.5)",
            "_vm_unmap_aliases() does not reset a block's dirty range and flushes it on every call"),
    PURGE_USABLE_BLOCKS("purge-usable-blocks", "77e50af07f14 \"mm/vmalloc: dont purge usable blocks unnecessarily\" (v6.5)",
            "_vm_unmap_aliases() purges every empty block, even one with plenty of free space"),
    WRONG_VBQ_LOCK("wrong-vbq-lock", "8c61291fd850 \"mm: fix incorrect vbq reference in purge_fragmented_block\" (v6.10)",
            "purge_fragmented_block() unlinks a block from its owner CPU's free list under the vbq->lock of the "
                    + "CPU whose xarray holds the block, racing the owner's list changes", Profile.LINUX_6_12, Profile.LINUX_7_2),
    PUBLISH_BEFORE_INIT("publish-before-init", "3e3de7947c75 \"mm: vmalloc: ensure vmap_block is initialised before adding to queue\" (v6.11)",
            "new_vmap_block() inserts the block into the xarray before vb->cpu is set; a concurrent "
                    + "vm_unmap_aliases() indexes per_cpu(vmap_block_queue) with garbage", Profile.LINUX_6_12, Profile.LINUX_7_2),
    ALIASES_USE_AFTER_FREE("aliases-use-after-free", "ad216c0316ad \"mm: vmalloc: prevent use after free in _vm_unmap_aliases\" (v5.13)",
            "_vm_unmap_aliases() does not skip blocks with dirty == VMAP_BBMAP_BITS, so its RCU walk reads "
                    + "vb->va of a block whose area a concurrent purge already freed", Profile.LINUX_6_1, Profile.LINUX_6_12, Profile.LINUX_7_2),
    UNLOCKED_FREE_CHECK("unlocked-free-check", "43d7650234c6 \"mm/vmalloc: check free space in vmap_block lockless\" (v6.5) without its re-check",
            "vb_alloc() trusts its lockless READ_ONCE(vb->free) pre-check and does not check again under vb->lock",
            Profile.LINUX_6_12, Profile.LINUX_7_2);

    private final String id;
    private final String fix;
    private final String breaks;
    /** Null for a sequential mutant; the profiles whose fast path it applies to for a concurrency mutant. */
    private final Profile[] concurrentOn;

    Mutant(String id, String fix, String breaks) {
        this.id = id;
        this.fix = fix;
        this.breaks = breaks;
        this.concurrentOn = null;
    }

    Mutant(String id, String fix, String breaks, Profile... concurrentOn) {
        this.id = id;
        this.fix = fix;
        this.breaks = breaks;
        this.concurrentOn = concurrentOn;
    }

    /** A concurrency bug: it switches the fast path and needs {@code modelcheck}, not {@code hunt}. */
    public boolean concurrent() {
        return concurrentOn != null;
    }

    /** Whether a concurrency mutant can be switched on for the fast path of {@code p}. */
    public boolean appliesTo(Profile p) {
        if (concurrentOn == null) {
            return false;
        }
        for (Profile q : concurrentOn) {
            if (q == p) {
                return true;
            }
        }
        return false;
    }

    public String id() {
        return id;
    }

    /** The commit that fixed the bug (and the release it landed in). */
    public String fix() {
        return fix;
    }

    /** What the mutant does wrong. */
    public String breaks() {
        return breaks;
    }

    public static Mutant parse(String id) {
        for (Mutant m : values()) {
            if (m.id.equals(id)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown mutant '" + id + "' (known: "
                + Arrays.stream(values()).map(Mutant::id).collect(Collectors.joining(", ")) + ")");
    }

    @Override
    public String toString() {
        return id;
    }
}
