// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * vm_map_ram(count > VMAP_MAX_ALLOC): alloc_vmap_area(size, PAGE_SIZE, ...), the lazy free path, the
 * placement of new blocks and the 6.12 node pools (mm/vmalloc.c).
 */
class LargeMapTest {

    // vm_map_ram(): alloc_vmap_area(size, PAGE_SIZE, VMALLOC_START, VMALLOC_END, ...): exactly size, no guard page
    @ParameterizedTest
    @EnumSource(Profile.class)
    void largeMapsTakeTheLowestHoleWithNoGuardPage(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(65);
        long b = k.map(65);
        assertThat(a).isEqualTo(START);
        assertThat(b).as("back to back").isEqualTo(START + pages(65));
        assertThat(k.effects()).isEmpty();
        Va va = k.state().areas().get(b >>> 12);
        assertThat(va.kind()).isEqualTo(Va.Kind.RAM);
        assertThat(va.pages()).isEqualTo(65);
        assertThat(va.count()).isEqualTo(65);
    }

    // free_unmap_vmap_area() -> free_vmap_area_noflush(): lazy until __purge_vmap_area_lazy() flushes it
    @ParameterizedTest
    @EnumSource(Profile.class)
    void anUnmappedLargeRangeIsReusedOnlyAfterAliasesFlushesIt(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(65);
        long b = k.map(65);
        k.unmap(a, 65);
        assertThat(k.effects()).isEmpty();
        assertThat(k.state().areas().get(a >>> 12).state()).isEqualTo(Va.State.LAZY);
        long c = k.map(65);
        assertThat(c).as("not the lazy range").isEqualTo(b + pages(65));
        k.aliases();
        assertThat(k.lastFlushCovers(a, a + pages(65))).isTrue();
        assertThat(k.map(65)).as("flushed: the lowest hole again").isEqualTo(a);
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void largeMapsGoAroundLiveBlocks(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        k.map(1);
        assertThat(k.map(65)).isEqualTo(block(1));
        assertThat(k.map(64)).as("small maps keep using the block").isEqualTo(block(0) + pages(1));
    }

    /**
     * Blocks 0 and 2 stay full and alive, block 1 is retired and purged: a hole of exactly one block
     * between two busy areas.
     */
    static KernelDriver exactBlockHole(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        k.mapEach(4, 64);
        long[] middle = k.mapEach(4, 64);
        k.mapEach(4, 64);
        assertThat(middle[0]).isEqualTo(block(1));
        k.unmapEach(middle, 64);
        assertThat(k.effects()).containsExactly(new Effect.BlockRetired(0, block(1), "vb_free"));
        k.aliases();
        assertThat(k.state().areas()).doesNotContainKey(block(1) >>> 12);
        return k;
    }

    // find_vmap_lowest_match(): with align > PAGE_SIZE the search length is size + align - 1
    // (adjust_search_size), but is_within_this_va() is tried on every node of the descent: the hole
    // is the free tree's root here, so the new block takes it. The kernel's free-tree code in the C
    // harness answers the same for these free-tree operations (3 block allocs, free of block 1,
    // alloc of a block -> block 1, then 65 pages -> block 3).
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void aNewBlockTakesAnExactHoleOnTheSearchPath(Profile p) {
        KernelDriver k = exactBlockHole(p);
        k.map(1);
        assertThat(k.effects()).containsExactly(new Effect.BlockCreated(0, block(1)));
        assertThat(k.map(65)).as("the hole is gone: after the last block").isEqualTo(block(3));
    }

    // 4.8 alloc_vmap_area(): the busy-list walk has no search-size adjustment and takes the exact hole
    @Test
    void linux48PutsANewBlockIntoAnExactHole() {
        KernelDriver k = exactBlockHole(Profile.LINUX_4_8);
        k.map(1);
        assertThat(k.effects()).containsExactly(new Effect.BlockCreated(0, block(1)));
    }

    // free_vmap_area_noflush(): if (nr_lazy > lazy_max_pages()) schedule_work(&drain_vmap_work)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void theDrainRunsOnceMoreThanLazyMaxPagesAreLazilyFreed(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long lazyMax = k.state().cfg().lazyMaxPages();
        long a = k.map(lazyMax);
        long b = k.map(65);
        k.unmap(a, lazyMax);
        assertThat(k.effects()).as("exactly lazy_max_pages(): not more").isEmpty();
        assertThat(k.state().lazyNr()).isEqualTo(lazyMax);
        k.unmap(b, 65);
        assertThat(k.effects()).containsExactly(new Effect.Flush(a, b + pages(65), "drain_vmap_area_work"));
        assertThat(k.last().after()).as("the work runs after the call").hasSize(1);
        assertThat(k.state().lazyNr()).isZero();
        assertThat(k.state().lazy()).isEmpty();
        assertThat(k.map(65)).isEqualTo(a);
    }

    // 4.8 free_vmap_area_noflush(): if (nr_lazy > lazy_max_pages()) try_purge_vmap_area_lazy(), synchronous
    @Test
    void linux48PurgesSynchronouslyOnceMoreThanLazyMaxPagesAreLazilyFreed() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        long a = k.map(8192);
        long b = k.map(65);
        k.unmap(a, 8192);
        assertThat(k.effects()).isEmpty();
        k.unmap(b, 65);
        assertThat(k.effects()).containsExactly(new Effect.Flush(a, b + pages(65), "try_purge_vmap_area_lazy"));
        assertThat(k.state().lazyNr()).isZero();
    }

    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void aRetiredBlockCountsTowardsTheLazyLimit(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long big = k.map(8192 - 255);
        k.unmap(big, 8192 - 255);
        long[] maps = k.mapEach(4, 64);
        k.unmapEach(maps, 64);
        assertThat(k.effects()).as("8193 lazy pages").contains(new Effect.BlockRetired(0, maps[0], "vb_free"))
                .anyMatch(e -> e instanceof Effect.Flush f && f.by().equals("drain_vmap_area_work"));
        assertThat(k.state().lazyNr()).isZero();
    }

    // 6.12 node_alloc(): pool[(size-1)/PAGE_SIZE] of node raw_smp_processor_id() % nr_vmap_nodes, head first;
    // purge_vmap_node() -> node_pool_add_va(): list_add() at the head
    @Test
    void linux612ReusesPooledAreasLastInFirstOut() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        long a = k.map(100);
        long b = k.map(100);
        long c = k.map(100);
        assertThat(new long[] {a, b, c}).containsExactly(START, START + pages(100), START + pages(200));
        k.unmap(a, 100);
        k.unmap(b, 100);
        k.unmap(c, 100);
        k.aliases();
        assertThat(k.state().areas().get(a >>> 12).state()).isEqualTo(Va.State.POOLED);
        assertThat(k.map(100)).isEqualTo(c);
        assertThat(k.map(100)).isEqualTo(b);
        assertThat(k.map(100)).isEqualTo(a);
    }

    @Test
    void linux612PoolsBelongToTheAllocatingCpusNode() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        long a = k.map(0, 100);
        k.unmap(0, a, 100);
        k.aliases();
        assertThat(k.map(1, 100)).as("CPU 1's node pool is empty: lowest free range").isEqualTo(START + pages(100));
        assertThat(k.map(0, 100)).as("CPU 0's node pool").isEqualTo(a);
    }

    // decay_va_pool_node() at the next purge: 6.12.117 empties a pool of 1 to 3 areas (n_decay underflows),
    // 7.2 takes len >> 2 = 0 of it (the pooldecay-smp2 traces of both kernels show this)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void theSecondPurgeDecaysAShortPoolOn612Only(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 2);
        long a = k.map(0, 100);
        k.map(0, 100);
        k.unmap(0, a, 100);
        k.aliases();
        assertThat(k.state().areas().get(a >>> 12).state()).isEqualTo(Va.State.POOLED);
        k.aliases();
        if (p == Profile.LINUX_6_12) {
            assertThat(k.state().areas()).as("decayed back to the free tree").doesNotContainKey(a >>> 12);
            assertThat(k.map(1, 100)).as("CPU 1 gets it as the lowest fit").isEqualTo(a);
        } else {
            assertThat(k.state().areas().get(a >>> 12).state()).as("7.2 keeps it").isEqualTo(Va.State.POOLED);
            assertThat(k.map(1, 100)).as("CPU 1 gets a fresh range").isNotEqualTo(a);
            assertThat(k.map(0, 100)).as("CPU 0 gets it from node 0's pool").isEqualTo(a);
        }
    }

    // 7.2 decays len >> 2 from the head (the newest) and keeps the rest: 8 -> 6 -> 5 -> 4 -> 3 -> 3
    @Test
    void linux72DecaysAQuarterAndKeepsThreeForever() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_7_2, 2);
        long[] m = new long[9];
        for (int i = 0; i < 9; i++) {
            m[i] = k.map(0, 100);
        }
        for (int i = 0; i < 8; i++) {
            k.unmap(0, m[i], 100);
        }
        k.aliases();
        int[] expected = {8, 6, 5, 4, 3, 3, 3};
        for (int round = 0; round < expected.length; round++) {
            long pooled = k.state().areas().values().stream().filter(v -> v.state() == Va.State.POOLED).count();
            assertThat(pooled).as("after %d more purges", round).isEqualTo(expected[round]);
            k.aliases();
        }
    }

    // __purge_vmap_area_lazy(): nr_purge_helpers = clamp(vmap_lazy_nr / lazy_max_pages(), 1, nodes) - 1; the
    // first node goes to a helper (schedule_work_on()), the others are purged inline, then flush_work(): on a
    // voluntary-preemption kernel the helper on the purging CPU runs last, so node 1's areas reach the free
    // tree before node 0's
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void purgeHelpersGiveTheirNodesAreasBackAfterTheInlineNodes(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 2);
        long a = k.map(0, 1000);
        long pad = k.map(0, 300); // live spacers: each freed area is a range of its own in the free tree
        long c = k.map(0, 2000);
        k.map(0, 300);
        long b = k.map(1, 40000);
        k.map(0, 300);
        k.unmap(0, a, 1000);
        k.unmap(0, c, 2000);
        KernelState before = k.state();
        k.unmap(1, b, 40000); // lazy 43000 > lazy_max_pages() 16384: drain_vmap_area_work, 2 full sets -> 1 helper
        assertThat(k.effects()).anyMatch(e -> e instanceof Effect.Flush f && f.by().equals("drain_vmap_area_work"));
        FreeTree kernelOrder = before.freeTree().copy();
        kernelOrder.free(b, b + pages(40000)); // node 1 inline
        kernelOrder.free(c, c + pages(2000)); // node 0 at flush_work(), its list in reverse address order
        kernelOrder.free(a, a + pages(1000));
        FreeTree nodesInOrder = before.freeTree().copy();
        nodesInOrder.free(c, c + pages(2000));
        nodesInOrder.free(a, a + pages(1000));
        nodesInOrder.free(b, b + pages(40000));
        assertThat(nodesInOrder).as("the two orders give trees of another shape").isNotEqualTo(kernelOrder);
        assertThat(k.state().freeTree()).isEqualTo(kernelOrder);
        assertThat(pad).isNotZero();
    }

    @Test
    void linux612PoolsOnlyHoldAreasOfTheSameSize() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        long a = k.map(100);
        k.unmap(a, 100);
        k.aliases();
        assertThat(k.map(99)).as("a 99-page pool miss; the pooled range is not free").isEqualTo(START + pages(100));
    }

    // size_to_va_pool(): idx = (size - 1) / PAGE_SIZE must be < MAX_VA_SIZE_PAGES
    @Test
    void linux612PoolsHoldAreasOfUpTo256Pages() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        long a = k.map(256);
        long b = k.map(257);
        k.unmap(a, 256);
        k.unmap(b, 257);
        k.aliases();
        assertThat(k.state().areas().get(a >>> 12).state()).isEqualTo(Va.State.POOLED);
        assertThat(k.state().areas()).as("257 pages go back to the free tree").doesNotContainKey(b >>> 12);
        assertThat(k.map(257)).isEqualTo(b);
    }

    // new_vmap_block() -> alloc_vmap_area(VMAP_BLOCK_SIZE, ...) -> node_alloc(): a retired block's area is pooled too
    @Test
    void linux612ANewBlockReusesTheLastPooledBlockArea() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        long[] maps = k.mapEach(8, 64);
        assertThat(maps[4]).isEqualTo(block(1));
        k.unmapEach(maps, 64);
        k.aliases(); // both block areas into CPU 0's node pool, block 1 at the head
        k.map(1);
        assertThat(k.effects()).as("not the lowest free block").containsExactly(new Effect.BlockCreated(0, block(1)));
    }

    @Test
    void linux612WithOneCpuHasNoPools() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long a = k.map(100);
        long b = k.map(100);
        k.unmap(a, 100);
        k.unmap(b, 100);
        k.aliases();
        assertThat(k.state().pools()).isEmpty();
        assertThat(k.map(100)).as("lowest fit").isEqualTo(a);
    }
}
