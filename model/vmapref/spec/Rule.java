// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

/**
 * The rules of the abstract specification. Each names one safety property of
 * the abstract specification (docs/trace-format.md, "What the three levels check").
 */
public enum Rule {
    MAP_COUNT_ZERO_NULL("map-count-zero-null", "vm_map_ram(count=0) returns NULL"),
    MAP_COUNT_FITS("map-count-fits", "the caller's count << PAGE_SHIFT fits an unsigned long"),
    MAP_PAGE_ALIGNED("map-page-aligned", "a mapping starts on a page boundary"),
    MAP_IN_RANGE("map-in-range", "a mapping lies inside VMALLOC_START..VMALLOC_END"),
    MAP_DISJOINT_LIVE("map-disjoint-live", "a mapping overlaps no live mapping"),
    MAP_NOT_STALE("map-not-stale", "a mapping overlaps no range that may still sit in a TLB"),
    MAP_WITHIN_BLOCK("map-within-block", "a small mapping lies inside one vmap block"),
    MAP_BLOCK_PAGES_FRESH("map-block-pages-fresh", "pages of a live vmap block are never handed out twice while it lives"),
    UNMAP_LIVE_EXACT("unmap-live-exact", "vm_unmap_ram() names a live mapping with its own count"),
    ALIASES_NO_STALE("aliases-no-stale", "after vm_unmap_aliases() nothing unmapped before it is stale"),
    NO_CRASH_IN_CONTRACT("no-crash-in-contract", "a call within the contract does not crash the kernel"),
    /** Refinement: the abstraction of the implementation state has the specification's live mappings. */
    REFINE_LIVE_AGREES("refine-live-agrees", "the implementation's live mappings are the specification's"),
    /** Refinement: a stale page is held by a block, a busy or a lazily freed area, never free or pooled. */
    REFINE_STALE_HELD("refine-stale-held", "no stale page is free for the allocator to hand out");

    private final String id;
    private final String statement;

    Rule(String id, String statement) {
        this.id = id;
        this.statement = statement;
    }

    public String id() {
        return id;
    }

    public String statement() {
        return statement;
    }

    @Override
    public String toString() {
        return id;
    }
}
