// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import vmapref.kernel.Profile;
import vmapref.spec.Rule;

/**
 * The properties a hunt checks after every call, besides the specification's rules
 * ({@link vmapref.spec.Rule}, checked through {@link vmapref.check.Refinement}). Each states its
 * scope; {@link #knownBroken} lists what a real kernel profile is known to break.
 */
public enum Property {
    BLOCK_ACCOUNTING("block-accounting",
            "for every live vmap block: free + dirty + the pages of its live sub-allocations (each rounded up "
                    + "to a power of two) == VMAP_BBMAP_BITS; the live sub-allocations lie disjoint below the "
                    + "bump pointer BITS - free; the block's vmap_area is busy and one block long",
            "every profile; vb_alloc(), vb_free() and new_vmap_block() in mm/vmalloc.c"),
    AREA_ACCOUNTING("area-accounting",
            "the vmap_areas that are not free lie disjoint inside the vmalloc window; the lazy list holds exactly "
                    + "the LAZY areas and vmap_lazy_nr counts their pages; every node-pool entry is a POOLED area, once, "
                    + "and every POOLED area is in a pool; every busy block area has its vmap_block",
            "every profile; alloc_vmap_area(), free_vmap_area_noflush() and __purge_vmap_area_lazy() in mm/vmalloc.c "
                    + "(a range is on exactly one of the free tree, a pool, a busy "
                    + "tree or a lazy tree)"),
    BLOCK_FREE_LIST("block-free-list",
            "a block is on its CPU's free list exactly when free > 0, once, and on no other CPU's list",
            "every profile; vb_alloc() takes a block off when free reaches 0, purge_fragmented_block() when it retires it"),
    BLOCK_RETIRED_ONCE("block-retired-once",
            "every block is created once and retired at most once (by vb_free() when fully dirty or by a purge), "
                    + "and the state's blocks are exactly those created and not yet retired",
            "every profile; free_vmap_block() runs once per block because both callers first make dirty == BITS"),
    FREE_LIST_BEST_FIT("free-list-best-fit",
            "on each CPU's free list the free counts rise strictly from the oldest to the newest block, so "
                    + "vb_alloc()'s first fit is also the best fit",
            "every profile; broken by new-block-at-list-head"),
    BUMP_ALLOCATED("bump-allocated",
            "a small vm_map_ram() returns page BITS - free of the first block on the calling CPU's free list "
                    + "with 2^order free pages (vb_alloc()), or page 0 of a block new_vmap_block() just created "
                    + "when no block has room",
            "every profile"),
    NULL_ONLY_WHEN_FULL("null-only-when-full",
            "vm_map_ram(count >= 1) returns NULL only when, after its purge and retry, there is no room: for "
                    + "count > VMAP_MAX_ALLOC no free gap of count pages in the vmalloc window; for a small count "
                    + "no block with 2^order free pages on the CPU's list and no free gap that "
                    + "find_vmap_lowest_match() would take for a block (one of at least 2 * VMAP_BBMAP_BITS pages, "
                    + "or one at either end of the window) with an aligned block inside",
            "linux-6.1 and linux-6.12 (find_vmap_lowest_match() on the augmented free tree); known broken on "
                    + "linux-4.8, whose free_vmap_cache search (v4.4..v5.1 alloc_vmap_area()) restarts from "
                    + "VMALLOC_START only when size < cached_hole_size (strictly) or the request is more permissive, so "
                    + "a block-aligned request exactly as large as the hole below the cache misses it, and the purge "
                    + "retry runs with the same cache"),
    PROFILES_AGREE("profiles-agree",
            "with one possible CPU, linux-6.1 and linux-6.12 return the same addresses and do the same flushes "
                    + "until the first vm_unmap_aliases(), NULL, purge on allocation failure, count 0 or lazy purge "
                    + "(after a purge the free trees differ in shape: 6.1 merges its coalesced purge list in address "
                    + "order, 6.12's purge_vmap_node() in reverse); linux-7.2 and linux-6.12 agree throughout (one CPU "
                    + "is one vmap node, which has no pools, so decay_va_pool_node() never matters)",
            "plain linux-6.1/linux-6.12/linux-7.2 runs with one possible CPU");

    private final String id;
    private final String statement;
    private final String scope;

    Property(String id, String statement, String scope) {
        this.id = id;
        this.statement = statement;
        this.scope = scope;
    }

    public String id() {
        return id;
    }

    public String statement() {
        return statement;
    }

    public String scope() {
        return scope;
    }

    public static Property parse(String id) {
        for (Property p : values()) {
            if (p.id.equals(id)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown property '" + id + "'");
    }

    /**
     * The failure kinds (rule or property ids) a real kernel profile is known to break:
     * linux-4.8 and Debian's linux-6.1 lack fc1e0d980037, so their _vm_unmap_aliases() walks only the
     * per-CPU free lists and misses the dirty pages of a fully used block (docs/kernel-notes.md);
     * linux-4.8's free_vmap_cache search can return NULL with room left ({@link #NULL_ONLY_WHEN_FULL}).
     */
    public static Set<String> knownBroken(Profile p) {
        Set<String> out = new java.util.TreeSet<>();
        if (!p.aliasesWalksAllBlocks()) {
            out.add(Rule.ALIASES_NO_STALE.id());
        }
        if (p.freeVmapCacheAllocator()) {
            out.add(NULL_ONLY_WHEN_FULL.id());
        }
        return Set.copyOf(out);
    }

    /** Every failure kind a hunt can report: the specification's rules, these properties and divergence. */
    public static Set<String> kinds() {
        java.util.TreeSet<String> out = new java.util.TreeSet<>();
        Arrays.stream(Rule.values()).map(Rule::id).forEach(out::add);
        EnumSet.allOf(Property.class).stream().map(Property::id).forEach(out::add);
        out.add(Failure.DIVERGENCE);
        return out;
    }

    @Override
    public String toString() {
        return id;
    }
}
