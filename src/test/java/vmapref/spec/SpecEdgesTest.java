// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import vmapref.check.Configs;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Profile;

/**
 * The specification at its edges: flushes that start below VMALLOC_START, end at or past
 * VMALLOC_END or cut a page; the block-reuse rule (a block region's pages may be handed out again
 * only once the block is dead: nothing live in it and all of it flushed, as free_vmap_block() frees
 * the block's whole area through the lazy path); counts at the limits of the contract. x86_64
 * constants: 256-page blocks, VMAP_MAX_ALLOC 64, VMALLOC_END inclusive.
 */
class SpecEdgesTest {
    static final long START = SpecRulesTest.START;
    static final long END = SpecRulesTest.END;

    static long pages(long n) {
        return n << 12;
    }

    static long block(int k) {
        return SpecRulesTest.block(k);
    }

    /** Page number of an address. */
    static long pg(long addr) {
        return addr >>> 12;
    }

    Spec spec = Spec.initial(SpecRulesTest.OBSERVED);

    void ok(Function<Spec, Spec.Result> op) {
        Spec.Result r = op.apply(spec);
        assertThat(r.violation()).as("no violation").isNull();
        spec = r.next();
    }

    Violation breaks(Rule rule, Function<Spec, Spec.Result> op) {
        Spec.Result r = op.apply(spec);
        assertThat(r.violation()).as("a violation of " + rule.id()).isNotNull();
        assertThat(r.violation().rule()).isEqualTo(rule);
        return r.violation();
    }

    void map(long addr, long count) {
        ok(s -> s.map(addr, count));
    }

    void unmap(long addr, long count) {
        ok(s -> s.unmap(addr, count));
    }

    void flush(long start, long end) {
        ok(s -> s.flush(start, end));
    }

    Map<Long, Long> stale() {
        return spec.stalePages().ranges();
    }

    // ------------------------------------------------------------------ flushes at the window's edges

    // flush_tlb_kernel_range(start, end) from below VMALLOC_START: the first page of the window is whole
    @Test
    void aFlushFromBelowVmallocStartCoversTheWindowsFirstPage() {
        map(START, 100);
        unmap(START, 100);
        flush(START - 0x800, START + pages(100));
        assertThat(spec.stalePages().isEmpty()).isTrue();
        map(START, 100);
    }

    @Test
    void aFlushStartingInsideAPageLeavesThatPageStale() {
        map(block(1), 100);
        unmap(block(1), 100);
        flush(block(1) + 0x800, block(1) + pages(100));
        assertThat(stale()).containsExactly(Map.entry(pg(block(1)), pg(block(1)) + 1));
        breaks(Rule.MAP_NOT_STALE, s -> s.map(block(1), 65));
        map(block(1) + pages(1), 99);
    }

    @Test
    void aFlushCuttingBothEndPagesClearsExactlyTheWholePagesBetween() {
        map(block(1), 100);
        unmap(block(1), 100);
        flush(block(1) + 1, block(1) + pages(100) - 1);
        assertThat(stale()).containsExactly(Map.entry(pg(block(1)), pg(block(1)) + 1),
                Map.entry(pg(block(1)) + 99, pg(block(1)) + 100));
        map(block(1) + pages(1), 98);
    }

    /** A large mapping whose last byte is VMALLOC_END. */
    long mapAtTheTop() {
        long addr = END + 1 - pages(100);
        map(addr, 100);
        unmap(addr, 100);
        return addr;
    }

    // VMALLOC_END is inclusive on x86_64: a flush whose end is VMALLOC_END misses its last byte
    @Test
    void aFlushEndingAtVmallocEndLeavesTheLastPageStale() {
        long addr = mapAtTheTop();
        flush(addr, END);
        assertThat(stale()).containsExactly(Map.entry(pg(END), pg(END) + 1));
        breaks(Rule.MAP_NOT_STALE, s -> s.map(addr, 100));
        map(addr, 99);
    }

    @Test
    void aFlushEndingOneByteAfterVmallocEndCoversTheLastPage() {
        long addr = mapAtTheTop();
        flush(addr, END + 1);
        assertThat(spec.stalePages().isEmpty()).isTrue();
        map(addr, 100);
    }

    @Test
    void aFlushEndingPastVmallocEndInsideAPageCoversTheLastPage() {
        long addr = mapAtTheTop();
        flush(addr, END + 0x801);
        assertThat(spec.stalePages().isEmpty()).isTrue();
        map(addr, 100);
    }

    @Test
    void emptyAndOutsideFlushesChangeNothing() {
        map(block(1), 100);
        unmap(block(1), 100);
        Map<Long, Long> before = stale();
        flush(block(1) + pages(100), block(1)); // end before start
        flush(block(1), block(1)); // empty
        flush(0x1000, 0x3000); // below the window
        flush(END + 1, END + 1 + pages(4)); // above it
        flush(block(1) + 1, block(1) + 0x800); // inside one page
        assertThat(stale()).isEqualTo(before);
    }

    // ------------------------------------------------------------------ the block-reuse rule

    // vb_alloc() never hands out a page of a live block twice; free_vmap_block() frees the whole
    // block area through free_vmap_area_noflush(), so the block's pages come back only after a
    // flush of all of them
    @Test
    void oneFlushOverTwoEmptiedBlocksRetiresBoth() {
        map(block(0), 1);
        map(block(1), 1);
        unmap(block(0), 1);
        unmap(block(1), 1);
        flush(block(0), block(2));
        map(block(0), 1);
        map(block(1), 1);
    }

    @Test
    void aFullFlushRetiresEveryEmptiedBlockAndKeepsTheLiveOnes() {
        map(block(0), 1);
        map(block(5), 1);
        map(block(7), 1);
        map(block(7) + pages(1), 1);
        unmap(block(0), 1);
        unmap(block(5), 1);
        unmap(block(7), 1);
        flush(0, -1L); // flush_tlb_all
        map(block(0), 1);
        map(block(5), 1);
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(7), 1));
    }

    /** Block 0 alive with its page 0 handed out, unmapped and flushed, its page 1 live. */
    void liveBlockZeroWithAFlushedPage() {
        map(block(0), 1);
        map(block(0) + pages(1), 1);
        unmap(block(0), 1);
        flush(block(0), block(0) + pages(1));
    }

    @Test
    void aFlushOfOneBlockKeepsTheOthers() {
        liveBlockZeroWithAFlushedPage();
        map(block(2), 1);
        unmap(block(2), 1);
        flush(block(2), block(3));
        map(block(2), 1);
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(0), 1));
        map(block(0) + pages(2), 1);
    }

    @Test
    void aFlushOfARegionWithNoBlockKeepsTheLiveBlocks() {
        liveBlockZeroWithAFlushedPage();
        map(block(2), 100);
        unmap(block(2), 100);
        flush(block(2), block(2) + pages(100));
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(0), 1));
        map(block(0) + pages(2), 1);
    }

    @Test
    void aLiveLargeMappingEndingAtTheBlockStartDoesNotKeepTheBlockAlive() {
        map(block(0), 256); // a large mapping filling block region 0 exactly
        map(block(1), 1);
        unmap(block(1), 1);
        flush(block(1), block(2));
        map(block(1), 1);
    }

    @Test
    void aLiveLargeMappingStartingAtTheBlockEndDoesNotKeepTheBlockAlive() {
        map(block(1), 100);
        map(block(0), 1);
        unmap(block(0), 1);
        flush(block(0), block(1));
        map(block(0), 1);
    }

    @Test
    void aFlushMissingTheBlocksLastPageKeepsItAlive() {
        map(block(0), 1);
        unmap(block(0), 1);
        flush(block(0), block(1) - 1);
        assertThat(spec.stalePages().isEmpty()).isTrue();
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(0), 1));
        spec = Spec.initial(SpecRulesTest.OBSERVED);
        map(block(0), 1);
        unmap(block(0), 1);
        flush(block(0) + 1, block(1));
        breaks(Rule.MAP_NOT_STALE, s -> s.map(block(0), 1));
    }

    @Test
    void withFlushesUnobservedAnEmptiedBlockNextToALiveOneIsRetiredAlone() {
        spec = Spec.initial(SpecRulesTest.UNOBSERVED);
        map(block(0) + pages(255), 1);
        map(block(1), 1);
        map(block(1) + pages(1), 1);
        unmap(block(0) + pages(255), 1);
        unmap(block(1), 1);
        map(block(0) + pages(255), 1);
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(1), 1));
    }

    // ------------------------------------------------------------------ counts at the limits

    // vm_map_ram(): a 64-page request is served by vb_alloc() (count <= VMAP_MAX_ALLOC)
    @Test
    void aSixtyFourPageMappingIsABlockMapping() {
        map(block(0), 64);
        unmap(block(0), 64);
        flush(block(0), block(0) + pages(64));
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(0), 64));
        breaks(Rule.MAP_WITHIN_BLOCK, s -> s.map(block(2) - pages(1), 64));
        map(block(2) - pages(1), 65);
    }

    @Test
    void aCountOfUintMaxFitsA64BitSize() {
        assertThat(spec.mapInContract(0xffff_ffffL)).isTrue();
        assertThat(spec.mapInContract(0x1_0000_0000L)).isFalse();
        assertThat(spec.mapInContract(1)).isTrue();
        map(START, 0xffff_ffffL);
        assertThat(spec.liveMappings()).containsExactly(Map.entry(START, 0xffff_ffffL));
    }

    @Test
    void aLargeMappingBelowOrAboveALiveBlockIsFine() {
        map(block(2), 1);
        Violation v = breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(2) + pages(10), 300));
        assertThat(v.message()).contains("block at 0x" + Long.toHexString(block(2)));
        map(block(1), 256); // ends where block 2 starts
        map(block(2) + pages(256), 300); // starts where it ends
        map(START, 10);
        assertThat(spec.liveMappings()).containsOnlyKeys(START, block(1), block(2), block(3));
    }

    @Test
    void theMessagesNameTheBlockAndCountThePages() {
        map(block(3) + pages(4), 1);
        unmap(block(3) + pages(4), 1);
        flush(block(3) + pages(4), block(3) + pages(5));
        Violation v = breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(3) + pages(4), 1));
        assertThat(v.message()).contains("block at 0x" + Long.toHexString(block(3)));
        v = breaks(Rule.MAP_WITHIN_BLOCK, s -> s.map(block(5) - pages(1), 2));
        assertThat(v.message()).contains("boundary at 0x" + Long.toHexString(block(5)));
        map(block(6), 100);
        map(block(8), 70);
        unmap(block(6), 100);
        unmap(block(8), 70);
        v = breaks(Rule.ALIASES_NO_STALE, Spec::aliases);
        assertThat(v.message()).contains("170 unmapped page(s)");
    }

    // ------------------------------------------------------------------ probes (capture --probe-stale)

    // a read right after vm_unmap_aliases() returned succeeds only through a PTE or a stale TLB entry
    @Test
    void aProbeThatReadsAPageNoMappingHoldsBreaksAliasesNoStale() {
        map(block(1), 100);
        ok(s -> s.probe(block(1), true));
        ok(s -> s.probe(block(1) + pages(99) + 0x10, true));
        Violation v = breaks(Rule.ALIASES_NO_STALE, s -> s.probe(block(1) + pages(100), true));
        assertThat(v.message()).contains("0x" + Long.toHexString(block(1) + pages(100)));
        breaks(Rule.ALIASES_NO_STALE, s -> s.probe(block(1) - 1, true));
        breaks(Rule.ALIASES_NO_STALE, s -> s.probe(START, true));
        ok(s -> s.probe(block(1) + pages(100), false));
        unmap(block(1), 100);
        breaks(Rule.ALIASES_NO_STALE, s -> s.probe(block(1), true));
        ok(s -> s.probe(block(1), false));
    }

    @Test
    void theAliasesMessageCountsThePagesOfEveryStaleRange() {
        map(block(6), 100);
        map(block(8), 70);
        unmap(block(6), 100);
        unmap(block(8), 70);
        Violation v = breaks(Rule.ALIASES_NO_STALE, Spec::aliases);
        assertThat(v.message()).startsWith("vm_unmap_aliases() returned while 170 unmapped page(s) were never flushed, the first [0x"
                + Long.toHexString(block(6)) + ", 0x" + Long.toHexString(block(6) + pages(100)) + ")");
    }

    // flush_tlb_kernel_range() of less than one whole page, around a block's first page, while that
    // block waits for its flush: nothing is flushed and the block stays alive
    @Test
    void aFlushOfNoWholePageAtABlockStartChangesNothing() {
        map(block(1), 10);
        unmap(block(1), 10);
        Spec before = spec;
        flush(block(1) - 0x800, block(1) + 0x800);
        flush(block(1) + 0x100, block(1) + 0x200);
        flush(block(1) - 0x200, block(1) - 0x100);
        assertThat(stale()).isEqualTo(Map.of(pg(block(1)), pg(block(1)) + 10));
        breaks(Rule.MAP_NOT_STALE, s -> s.map(block(1), 1));
        flush(block(1), block(1) + pages(10));
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(1), 1));
        assertThat(before.stalePages().isEmpty()).isFalse();
    }

    @Test
    void aSpecKeepsItsConfig() {
        assertThat(spec.config()).isSameAs(SpecRulesTest.OBSERVED);
        map(block(1), 10);
        unmap(block(1), 10);
        assertThat(spec.config()).isSameAs(SpecRulesTest.OBSERVED);
    }

    // flush_tlb_kernel_range() from below VMALLOC_START on a 32-bit kernel (VMALLOC_START 0xf8000000):
    // the window's first page is flushed whole, as on x86_64
    @Test
    void aFlushFromBelowVmallocStartOnA32BitKernelCoversTheWindowsFirstPage() {
        KernelConfig k = new KernelConfig(Profile.LINUX_6_12, 12, 0xf8000000L, 0xffffe000L, 8, 1, List.of(0), List.of(0), 32);
        spec = Spec.initial(Configs.spec(k, true));
        map(0xf8000000L, 1);
        unmap(0xf8000000L, 1);
        flush(0xf7fff000L, 0xf8001000L);
        assertThat(spec.stalePages().isEmpty()).isTrue();
        breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(0xf8000000L, 1)); // no longer stale; its block lives on
    }
}
