// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A kernel version whose vm_map_ram() behaviour the model reproduces. Each switch below is one
 * observable difference between versions, read from Debian's linux-source-6.1 (6.1.192) and
 * linux-source-6.12 (6.12.117), and for 4.8 from the 4.4..4.19 sources described in
 * docs/kernel-notes.md ("Not settled here").
 */
public enum Profile {
    /** The man page's kernel: vm_map_ram(pages, count, node, prot); free_vmap_cache allocator. */
    LINUX_4_8("linux-4.8"),
    /** Debian 12's LTS kernel: no fc1e0d980037, so vm_unmap_aliases() walks only the free lists. */
    LINUX_6_1("linux-6.1"),
    /** Debian 12 backports kernel: per-CPU block xarrays, purge threshold, vmap nodes and pools. */
    LINUX_6_12("linux-6.12");

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

    public static String known() {
        return Arrays.stream(values()).map(Profile::id).collect(Collectors.joining(", "));
    }

    /** 4.8 signature vm_map_ram(pages, count, node, prot); prot removed by 3c8ce1be43d3 (v5.8). */
    public boolean hasProt() {
        return this == LINUX_4_8;
    }

    /** mm/vmalloc.c: vb_alloc() returns ERR_PTR(-EINVAL) for size 0 only since the 2024 fix (6.9). */
    public boolean zeroCountReturnsNull() {
        return this == LINUX_6_12;
    }

    /** alloc_vmap_area(): the 4.x busy-list walk with free_vmap_cache, not the augmented free tree (v5.2). */
    public boolean freeVmapCacheAllocator() {
        return this == LINUX_4_8;
    }

    /** _vm_unmap_aliases() walks every block through the xarrays (fc1e0d980037, v6.5). */
    public boolean aliasesWalksAllBlocks() {
        return this == LINUX_6_12;
    }

    /** _vm_unmap_aliases() resets dirty_min/dirty_max once flushed (a09fad96ffb1, v6.5). */
    public boolean aliasesResetsDirtyRange() {
        return this == LINUX_6_12;
    }

    /** purge_fragmented_block(): VMAP_PURGE_THRESHOLD unless forced (77e50af07f14, v6.5). */
    public boolean hasPurgeThreshold() {
        return this == LINUX_6_12;
    }

    /** Per-CPU hashed vmap_blocks xarrays and vb->cpu (062eacf57ad9 v6.4, 8c61291fd850 v6.10). */
    public boolean perCpuBlockIndex() {
        return this == LINUX_6_12;
    }

    /** vmap nodes with per-size pools (72210662c5a2, v6.9); 64-bit kernels only. */
    public boolean hasVmapNodes() {
        return this == LINUX_6_12;
    }

    /** free_vmap_area_noflush(): 4.8 purges synchronously (try_purge_vmap_area_lazy), later kernels schedule drain work. */
    public boolean synchronousLazyPurge() {
        return this == LINUX_4_8;
    }

    /** vm_unmap_ram() of an unknown large area: 6.12 WARNs and returns, older kernels BUG. */
    public boolean unknownLargeUnmapWarns() {
        return this == LINUX_6_12;
    }

    @Override
    public String toString() {
        return id;
    }
}
