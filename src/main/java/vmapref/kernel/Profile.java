// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A kernel version whose vm_map_ram() behaviour the model reproduces. Each switch below is one
 * observable difference between versions, read from Debian's linux-source-6.1 (6.1.192),
 * linux-source-6.12 (6.12.117) and linux-source-7.2 (7.2.13), and for 4.8 from the 4.4..4.19 sources
 * described in docs/kernel-notes.md ("Not settled here"). A switch that names 6.12 holds for 7.2 too:
 * the two differ only where {@link #decayKeepsShortPools()} says.
 */
public enum Profile {
    /** The man page's kernel: vm_map_ram(pages, count, node, prot); free_vmap_cache allocator. */
    LINUX_4_8("linux-4.8"),
    /** Debian 12's LTS kernel: no fc1e0d980037, so vm_unmap_aliases() walks only the free lists. */
    LINUX_6_1("linux-6.1"),
    /** Debian 12 backports kernel: per-CPU block xarrays, purge threshold, vmap nodes and pools. */
    LINUX_6_12("linux-6.12"),
    /** Debian unstable's kernel: 6.12's block cache; a node pool of 1 to 3 areas survives a purge. */
    LINUX_7_2("linux-7.2");

    private final String id;

    Profile(String id) {
        this.id = id;
    }

    public String id() {
        return id;
    }

    public static Profile parse(String id) {
        for (Profile p : values()) {
            if (p.id.equals(id)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown profile '" + id + "' (known: " + known() + ")");
    }

    /** 6.12 or later: every switch that first appears in 6.12 (all are v6.5 to v6.10 changes). */
    private boolean since612() {
        return compareTo(LINUX_6_12) >= 0;
    }

    public static String known() {
        return Arrays.stream(values()).map(Profile::id).collect(Collectors.joining(", "));
    }

    /** 4.8 signature vm_map_ram(pages, count, node, prot); prot removed by 3c8ce1be43d3 (v5.8). */
    public boolean hasProt() {
        return this == LINUX_4_8;
    }

    /** mm/vmalloc.c: vb_alloc() returns ERR_PTR(-EINVAL) for size 0 only since the 2024 fix (6.9). */
    public boolean zeroCountReturnsNull() {
        return since612();
    }

    /** alloc_vmap_area(): the 4.x busy-list walk with free_vmap_cache, not the augmented free tree (v5.2). */
    public boolean freeVmapCacheAllocator() {
        return this == LINUX_4_8;
    }

    /** _vm_unmap_aliases() walks every block through the xarrays (fc1e0d980037, v6.5). */
    public boolean aliasesWalksAllBlocks() {
        return since612();
    }

    /** _vm_unmap_aliases() resets dirty_min/dirty_max once flushed (a09fad96ffb1, v6.5). */
    public boolean aliasesResetsDirtyRange() {
        return since612();
    }

    /** purge_fragmented_block(): VMAP_PURGE_THRESHOLD unless forced (77e50af07f14, v6.5). */
    public boolean hasPurgeThreshold() {
        return since612();
    }

    /** Per-CPU hashed vmap_blocks xarrays and vb->cpu (062eacf57ad9 v6.4, 8c61291fd850 v6.10). */
    public boolean perCpuBlockIndex() {
        return since612();
    }

    /** vmap nodes with per-size pools (72210662c5a2, v6.9); 64-bit kernels only. */
    public boolean hasVmapNodes() {
        return since612();
    }

    /** free_vmap_area_noflush(): 4.8 purges synchronously (try_purge_vmap_area_lazy), later kernels schedule drain work. */
    public boolean synchronousLazyPurge() {
        return this == LINUX_4_8;
    }

    /**
     * __purge_vmap_area_lazy(): 6.1 merged the lazy areas into purge_vmap_area_root when they were
     * freed, so they return to the free tree coalesced, in address order; 6.12 hands each node's list
     * to reclaim_list_global(), which returns them one by one in the reverse of that order.
     */
    public boolean purgeReturnsCoalesced() {
        return !since612();
    }

    /** vm_unmap_ram() of an unknown large area: 6.12 WARNs and returns, older kernels BUG. */
    public boolean unknownLargeUnmapWarns() {
        return since612();
    }

    /**
     * decay_va_pool_node() takes {@code len >> 2} of a pool (all of it on a full decay), so a pool of
     * 1 to 3 areas is left alone ("mm/vmalloc.c: optimize code in decay_va_pool_node() a little bit",
     * 2025). 6.12.117 empties such a pool: its n_decay starts at 0 and never meets the break.
     */
    public boolean decayKeepsShortPools() {
        return this == LINUX_7_2;
    }

    @Override
    public String toString() {
        return id;
    }
}
