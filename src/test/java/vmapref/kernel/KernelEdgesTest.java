// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.guided;
import static vmapref.kernel.KernelDriver.mapAt;
import static vmapref.kernel.KernelDriver.pages;
import static vmapref.kernel.KernelDriver.purged;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pcollections.HashTreePMap;
import org.pcollections.TreePMap;

/**
 * Edges of the reference implementation that the scenario tests leave open: exact flush ranges,
 * the node pools' keys and sizes, the boundaries of vm_unmap_ram()'s checks, the observed events
 * of a trace (shrink, busy ranges, flushes by path) and the historical-bug switches
 * (mm/vmalloc.c of 6.1.192 and 6.12.117 unless a line says otherwise).
 */
class KernelEdgesTest {

    static long page(long addr) {
        return addr >>> 12;
    }

    // ------------------------------------------------------------------ vm_unmap_aliases() flush ranges

    // 6.12 _vm_unmap_aliases(), L2916: start = min(s, va_start + (vb->dirty_min << PAGE_SHIFT)),
    // end = max(e, va_start + (vb->dirty_max << PAGE_SHIFT)); 6.1 and 4.8 the same over the free lists
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_4_8", "LINUX_6_1", "LINUX_6_12"})
    void aliasesFlushesExactlyTheDirtyPagesOfALiveBlock(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(1);
        long b = k.map(1);
        k.map(1);
        assertThat(b).isEqualTo(a + pages(1));
        k.unmap(b, 1);
        k.aliases();
        assertThat(k.flushes()).singleElement()
                .satisfies(f -> assertThat(List.of(f.start(), f.end())).containsExactly(b, b + pages(1)));
    }

    // _vm_unmap_aliases(): if (!__purge_vmap_area_lazy(start, end, false) && flush) flush_tlb_kernel_range():
    // a purge that flushed the dirty range with the lazy areas is the only flush
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void aPurgeThatFlushedTheDirtyRangeIsTheOnlyFlush(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long small = k.map(1);
        k.map(1);
        long large = k.map(100);
        k.unmap(small, 1);
        k.unmap(large, 100);
        k.aliases();
        assertThat(k.flushes()).singleElement()
                .isEqualTo(new Effect.Flush(small, large + pages(100), "_vm_unmap_aliases"));
    }

    // ------------------------------------------------------------------ node pools

    // node_alloc() -> node_pool_del_va() -> size_to_va_pool(): a size above MAX_VA_SIZE_PAGES has no pool,
    // so a 356-page area never comes out of any node's pool
    @Test
    void anAreaAboveTheLargestPoolSizeIsNeverTakenFromAPool() {
        KernelDriver k = PoolDecayTest.small(Profile.LINUX_6_12);
        long a = k.map(1, 100);
        k.unmap(1, a, 100);
        k.aliases(); // node 1's pool of 100-page areas holds [0, 100)
        assertThat(k.state().pools()).hasSize(1);
        assertThat(k.map(0, 356)).as("the lowest free range: the pooled area is in no free tree").isEqualTo(START + pages(100));
        assertThat(k.state().pools()).hasSize(1);
    }

    // decay_va_pool_node(), 6.12.117 L2188: every pool of the node, sizes 1 to MAX_VA_SIZE_PAGES pages, the
    // 256-page block areas too; a pool of two has n_decay = 0 and is emptied
    @Test
    void pooledBlockAreasDecayAtTheNextPurge() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        k.unmapEach(k.mapEach(8, 64), 64); // both blocks fully dirty: free_vmap_block(), their areas lazy
        k.aliases(); // purge_vmap_node(): both 256-page areas into node 0's pool
        assertThat(k.state().pools()).hasSize(1);
        assertThat(k.state().areas()).hasSize(2);
        k.aliases();
        assertThat(k.state().pools()).isEmpty();
        assertThat(k.state().areas()).isEmpty();
    }

    // the same on node 1, whose pool of 256-page areas is the last pool of the last node
    @Test
    void pooledBlockAreasOfTheLastNodeDecayToo() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 2);
        long[] a = new long[8];
        for (int i = 0; i < 8; i++) {
            a[i] = k.map(1, 64);
        }
        for (long x : a) {
            k.unmap(1, x, 64);
        }
        k.aliases(1);
        assertThat(k.state().pools()).hasSize(1);
        k.aliases(1);
        assertThat(k.state().pools()).isEmpty();
        assertThat(k.state().areas()).isEmpty();
    }

    // node_alloc(): "if (... nr_vmap_nodes == 1) return NULL" with *vn_id = 0: an area of a one-node kernel
    // belongs to no node (encode_vn_id() is never applied)
    @Test
    void onOneNodeAnAreaBelongsToNoNode() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long a = k.map(100);
        assertThat(k.state().areas().get(page(a)).node()).isEqualTo(-1);
        KernelState t = guided(Profile.LINUX_6_12, 1);
        t = Vmalloc.step(t, new Call.Map(0, 100), (kind, pages, align) -> page(block(4))).state();
        assertThat(t.areas().get(page(block(4))).node()).isEqualTo(-1);
    }

    // ------------------------------------------------------------------ 6.1's coalesced purge

    // 6.1 __purge_vmap_area_lazy(): the lazy areas were merged into purge_vmap_area_root as they were freed,
    // so two adjacent ones reach the free tree as one range, which merges with the free space above it
    @Test
    void linux61GivesAdjacentLazyAreasBackAsOneRange() {
        KernelDriver k = PurgeOrderTest.eightThenUnmap(Profile.LINUX_6_1, 6, 7);
        k.aliases();
        assertThat(k.state().freeTree()).isEqualTo(PurgeOrderTest.expected(new int[] {6, 8}));
        KernelDriver l = PurgeOrderTest.eightThenUnmap(Profile.LINUX_6_1, 1, 6, 7);
        l.aliases();
        assertThat(l.state().freeTree()).as("[6, 8) is one insertion, not two")
                .isEqualTo(PurgeOrderTest.expected(new int[] {1, 2}, new int[] {6, 8}));
    }

    // ------------------------------------------------------------------ vm_unmap_ram() boundaries

    // 6.12 vm_unmap_ram(), L3015: find_unlink_vmap_area(addr) finds only an area that starts at addr;
    // the page just past a live area is in none: WARN_ON_ONCE(!va)
    @Test
    void linux612LargeUnmapJustPastALiveAreaWarns() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long a = k.map(100);
        k.unmap(a + pages(100), 100);
        assertThat(k.effects()).singleElement().isInstanceOf(Effect.Warn.class);
    }

    // 4.8 vm_unmap_ram(): find_vmap_area() still finds a lazily freed area (it stays on vmap_area_root until
    // the purge): a second unmap frees it twice, which the model refuses; 6.1 finds nothing: BUG_ON(!va)
    @Test
    void aLargeDoubleUnmapIsRefusedOnLinux48AndABugOn61() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        long a = k.map(100);
        k.unmap(a, 100);
        BadInputTest.assertRejected(k, new Call.Unmap(0, a, 100), "unmap-live-exact");
        KernelDriver l = KernelDriver.boot(Profile.LINUX_6_1, 1);
        long b = l.map(100);
        l.unmap(b, 100);
        BadInputTest.assertBug(l, new Call.Unmap(0, b, 100));
    }

    // vm_unmap_ram(): BUG_ON(addr > VMALLOC_END): VMALLOC_END itself passes the check
    @Test
    void anUnmapAtVmallocEndItselfPassesTheRangeCheck() {
        KernelConfig c = new KernelConfig(Profile.LINUX_6_12, 12, START, START + (1L << 20), 8192, 1, List.of(0),
                List.of(0), 64);
        KernelDriver k = KernelDriver.boot(c);
        k.unmap(START + (1L << 20), 65);
        assertThat(k.effects()).singleElement().isInstanceOf(Effect.Warn.class);
    }

    // vb_free(), L2874: vunmap_range_noflush() clears the PTEs first; the block's retirement follows,
    // so nothing the call did precedes the cleared PTEs
    @Test
    void anUnmapThatRetiresABlockHasNothingBeforeItsResult() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long[] a = k.mapEach(4, 64);
        k.unmap(a[0], 64);
        k.unmap(a[1], 64);
        k.unmap(a[2], 64);
        k.unmap(a[3], 64);
        assertThat(k.last().before()).isEmpty();
        assertThat(k.last().after()).containsExactly(new Effect.BlockRetired(0, a[0], "vb_free"));
    }

    // ------------------------------------------------------------------ traced events

    // vmap_node_shrink_scan(), 6.12.117 L5251: decay_va_pool_node(vn, true) of every node, no flush
    @Test
    void aShrinkEmptiesEveryPool() {
        KernelDriver k = PoolDecayTest.fourPooled(Profile.LINUX_6_12);
        KernelState s = Vmalloc.observeShrink(k.state());
        assertThat(s.pools()).isEmpty();
        assertThat(s.areas()).isEmpty();
        KernelState one = KernelDriver.boot(Profile.LINUX_6_12, 1).state();
        assertThat(Vmalloc.observeShrink(one)).as("one node: no pools").isSameAs(one);
        KernelState old = KernelDriver.boot(Profile.LINUX_6_1, 2).state();
        assertThat(Vmalloc.observeShrink(old)).as("no vmap nodes before 6.9").isSameAs(old);
    }

    // a busy range of another user: it holds [start, end) rounded out to whole pages
    @Test
    void aReservedRangeIsExactlyItsPagesAndMayTouchTheOneBelow() {
        KernelState s = guided(Profile.LINUX_6_1, 1);
        KernelState r = Vmalloc.reserve(s, block(4), block(4) + pages(3));
        assertThat(r.areas().get(page(block(4))).pages()).isEqualTo(3);
        assertThat(Vmalloc.reserve(r, block(8), block(8))).as("an empty range").isSameAs(r);
        KernelState r2 = Vmalloc.reserve(r, block(4) + pages(3), block(4) + pages(5));
        assertThat(r2.areas().get(page(block(4) + pages(3))).pages()).isEqualTo(2);
    }

    // EXACT mode: a busy range before the first call is clipped out of the free tree (va_clip()), so the
    // first area goes above it
    @Test
    void aReservedRangeIsTakenOutOfTheFreeTree() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        KernelState s = Vmalloc.reserve(k.state(), START, START + pages(10));
        Vmalloc.Step step = Vmalloc.step(s, new Call.Map(0, 100));
        assertThat(step.outcome()).isEqualTo(new Outcome.Mapped(START + pages(10)));
    }

    // a flush the trace says is no purge ("other") changes nothing, even over a lazy area
    @Test
    void aFlushOnTheOtherPathPurgesNothing() {
        KernelState s = guided(Profile.LINUX_6_1, 1);
        s = mapAt(s, 0, 100, block(4));
        s = Vmalloc.step(s, new Call.Unmap(0, block(4), 100)).state();
        assertThat(Vmalloc.observeFlush(s, block(4), block(5), null, "other")).isSameAs(s);
        KernelState purged = Vmalloc.observeFlush(s, block(4), block(5), null, "aliases");
        assertThat(purged.lazy()).isEmpty();
    }

    // path "drain": drain_vmap_area_work() -> __purge_vmap_area_lazy(): decay_va_pool_node() of every node
    // even when the flush covers no lazy area; 6.12.117 empties a pool of one
    @Test
    void aFlushOnTheDrainPathDecaysThePools() {
        KernelState s = pooledOnNodeZero();
        KernelState after = Vmalloc.observeFlush(s, block(20), block(21), null, "drain");
        assertThat(after.pools()).isEmpty();
        assertThat(after.areas()).isEmpty();
        assertThat(after.released()).as("the decayed area went back to the free tree")
                .containsExactly(Map.entry(page(block(4)), page(block(4)) + 100));
    }

    // path "overflow": reclaim_and_purge_vmap_areas(): purge_fragmented_blocks_allcpus() first, then a
    // full decay (6.12.117 L2390)
    @Test
    void aFlushOnTheOverflowPathRetiresEmptiedBlocksAndDecaysEveryPool() {
        KernelState s = pooledOnNodeZero();
        s = mapAt(s, 0, 1, block(10));
        s = Vmalloc.step(s, new Call.Unmap(0, block(10), 1)).state();
        KernelState after = Vmalloc.observeFlush(s, block(10), block(11), null, "overflow");
        assertThat(after.blocks()).isEmpty();
        assertThat(after.pools()).isEmpty();
        assertThat(after.areas()).isEmpty();
    }

    // EXACT mode: a traced purge of a lazy area gives it back to the free tree, where the next search finds it
    @Test
    void anObservedPurgeGivesTheAreaBackToTheFreeTree() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_1, 1);
        long a = k.map(100);
        k.map(100);
        k.unmap(a, 100);
        KernelState s = Vmalloc.observeFlush(k.state(), a, a + pages(100), null);
        assertThat(s.lazy()).isEmpty();
        assertThat(Vmalloc.step(s, new Call.Map(0, 100)).outcome()).isEqualTo(new Outcome.Mapped(a));
    }

    // TRACE_GUIDED vm_unmap_aliases(): the purged areas go back to the free tree; a later page-aligned
    // search would take them (find_vmap_lowest_match())
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void aTracedCallersAliasesReleasesTheLazyAreas(Profile p) {
        KernelState s = guided(p, 1);
        s = mapAt(s, 0, 100, block(4));
        s = Vmalloc.step(s, new Call.Unmap(0, block(4), 100)).state();
        Vmalloc.Step st = Vmalloc.step(s, new Call.Aliases(0));
        assertThat(st.effects()).containsExactly(new Effect.Flush(block(4), block(4) + pages(100), "_vm_unmap_aliases"));
        assertThat(st.state().areas()).isEmpty();
        assertThat(st.state().released()).containsExactly(Map.entry(page(block(4)), page(block(4)) + 100));
    }

    // a busy event over a released range: another user took it, so it no longer shows the lowest fit
    @Test
    void aBusyEventTakesAReleasedRange() {
        KernelState s = guided(Profile.LINUX_6_1, 1);
        s = mapAt(s, 0, 100, block(4));
        s = Vmalloc.step(s, new Call.Unmap(0, block(4), 100)).state();
        s = Vmalloc.observeFlush(s, block(4), block(5), null);
        assertThat(s.released()).hasSize(1);
        s = Vmalloc.observeBusy(s, block(4), block(4) + pages(100));
        assertThat(s.released()).isEmpty();
        mapAt(s, 0, 100, block(8));
    }

    // a block placed inside a released range takes only its own pages of it
    @Test
    void aBlockInsideAReleasedRangeLeavesTheRestReleased() {
        KernelState s = guided(Profile.LINUX_6_1, 1);
        s = mapAt(s, 0, 600, block(4));
        s = purged(s, 0, block(4), 600);
        s = mapAt(s, 0, 1, block(5));
        assertThat(s.released()).containsExactly(Map.entry(page(block(4)), page(block(5))),
                Map.entry(page(block(6)), page(block(4)) + 600));
    }

    // node_alloc(): vn = &vmap_nodes[raw_smp_processor_id() % nr_vmap_nodes]: CPU 1 uses node 1's pool
    @Test
    void cpuOneTakesTheHeadOfNodeOnesPool() {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        s = mapAt(s, 1, 100, block(4));
        s = purged(s, 1, block(4), 100);
        assertThat(s.areas().get(page(block(4))).state()).isEqualTo(Va.State.POOLED);
        assertThat(rejected(s, 1, 100, block(8))).isEqualTo("pool-reuse");
        s = mapAt(s, 1, 100, block(4));
        assertThat(s.pools()).isEmpty();
    }

    // another user's call may have moved CPUs before node_alloc(): an area it got from another node's pool
    // is taken out of that pool
    @Test
    void anotherUsersAreaMayComeFromAnotherNodesPool() {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        s = mapAt(s, 1, 100, block(4));
        s = purged(s, 1, block(4), 100);
        Vmalloc.Step st = Vmalloc.stepForeign(s, new Call.Map(0, 100), KernelDriver.told(block(4)));
        assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(block(4)));
        assertThat(st.state().pools()).isEmpty();
        assertThat(st.state().areas().get(page(block(4))).state()).isEqualTo(Va.State.BUSY);
    }

    // node_alloc(), 6.12.117 L1967: a pool hit returns before __alloc_vmap_area() searches the free tree, so
    // a lower free range that fits does not matter; the same when the traced address is a later pool entry
    // (the ones before it were taken by other users of the node)
    @Test
    void aPoolHitSkipsTheFreeTreeSearch() {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        s = mapAt(s, 0, 300, block(1));
        s = mapAt(s, 0, 100, block(4));
        s = mapAt(s, 0, 100, block(5));
        s = mapAt(s, 0, 100, block(6));
        for (long a : new long[] {block(4), block(5), block(6)}) {
            s = Vmalloc.step(s, new Call.Unmap(0, a, 100)).state();
        }
        s = Vmalloc.step(s, new Call.Unmap(0, block(1), 300)).state();
        s = Vmalloc.observeFlush(s, block(1), block(7), null);
        assertThat(s.released()).as("300 pages: no pool").containsExactly(Map.entry(page(block(1)), page(block(1)) + 300));
        // node 0's pool of 100-page areas: 6, 5, 4 (each purged area added at the head)
        s = mapAt(s, 0, 100, block(6));
        s = mapAt(s, 0, 100, block(4));
        assertThat(s.areas()).doesNotContainKey(page(block(5)));
        assertThat(s.pools()).isEmpty();
        assertThat(s.released()).hasSize(1);
    }

    // alloc_vmap_area(): va_start >= VMALLOC_START: the first page of the window is a valid place
    @Test
    void anAreaMayStartAtVmallocStart() {
        KernelState s = guided(Profile.LINUX_6_1, 1);
        mapAt(s, 0, 100, START);
    }

    // with no placement told the kernel found no room: NULL
    @Test
    void aTracedMapWithNoPlacementIsNull() {
        KernelState s = guided(Profile.LINUX_6_1, 1);
        assertThat(Vmalloc.step(s, new Call.Map(0, 100)).outcome()).isInstanceOf(Outcome.Null.class);
    }

    // when the range may have run out the pools are emptied, and the area is then checked against every
    // other area it overlaps: a live one below the pooled one still refuses it
    @Test
    void afterEmptyingThePoolsALiveAreaBelowStillRefusesTheRange() {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        s = mapAt(s, 0, 100, block(4));
        s = mapAt(s, 0, 100, block(4) + pages(100));
        s = Vmalloc.step(s, new Call.Unmap(0, block(4) + pages(100), 100)).state();
        s = Vmalloc.observeFlush(s, block(4) + pages(100), block(4) + pages(200), null);
        assertThat(s.pools()).hasSize(1);
        KernelState from = s;
        Vmalloc.Placement ranOut = new Vmalloc.Placement() {
            @Override
            public long place(Va.Kind kind, long pages, long alignPages) {
                return page(block(4) + pages(50));
            }

            @Override
            public boolean mayHaveRunOut() {
                return true;
            }
        };
        String rule = null;
        try {
            Vmalloc.step(from, new Call.Map(1, 150), ranOut);
        } catch (Vmalloc.PlacementRejected r) {
            rule = r.rule();
        }
        assertThat(rule).isEqualTo("placement-disjoint");
    }

    // ------------------------------------------------------------------ historical bugs

    // before a34acf30b19b (v6.10) addr_to_vb_xa() hashed with % num_possible_cpus() and could pick a CPU
    // that is not possible
    @Test
    void theHashIndexMutantPicksImpossibleCpus() {
        KernelConfig c = new KernelConfig(Profile.LINUX_6_12, 12, START, KernelDriver.END, 8192, 4, List.of(0, 3),
                List.of(0, 3), 64);
        KernelState s = KernelState.boot(c, Set.of(Mutant.HASH_INDEX_POSSIBLE_MASK), KernelState.Mode.EXACT);
        int[] buckets = new int[4];
        for (int k = 0; k < 4; k++) {
            buckets[k] = Vmalloc.blockBucket(s, page(block(k)));
        }
        assertThat(buckets).containsExactly(0, -1, 0, -1);
    }

    // before "mm: fix overflow in vm_map_ram" (v4.7) size = count << PAGE_SHIFT wrapped in 32 bits: 2^20 pages
    // give size 0, which alloc_vmap_area() refuses with -EINVAL on 6.12 and BUG_ON(!size) before
    @Test
    void theSizeOverflowMutantMakesAHugeCountASizeOfZero() {
        Call.Map huge = new Call.Map(0, 1L << 20);
        KernelState s612 = KernelState.boot(KernelConfig.x86_64(Profile.LINUX_6_12, 1), Set.of(Mutant.SIZE_INT_OVERFLOW),
                KernelState.Mode.EXACT);
        assertThat(Vmalloc.step(s612, huge).outcome()).isInstanceOf(Outcome.Null.class);
        KernelState s61 = KernelState.boot(KernelConfig.x86_64(Profile.LINUX_6_1, 1), Set.of(Mutant.SIZE_INT_OVERFLOW),
                KernelState.Mode.EXACT);
        assertThat(Vmalloc.step(s61, huge).outcome()).isInstanceOf(Outcome.Bug.class);
    }

    // before 77e50af07f14 (v6.5) _vm_unmap_aliases() purged every emptied block, whatever its free count
    @Test
    void thePurgeUsableBlocksMutantPurgesABlockWithFreePages() {
        KernelState s = KernelState.boot(KernelConfig.x86_64(Profile.LINUX_6_12, 1), Set.of(Mutant.PURGE_USABLE_BLOCKS),
                KernelState.Mode.EXACT);
        long[] a = new long[3];
        for (int i = 0; i < 3; i++) {
            Vmalloc.Step st = Vmalloc.step(s, new Call.Map(0, 64));
            a[i] = ((Outcome.Mapped) st.outcome()).addr();
            s = st.state();
        }
        for (long x : a) {
            s = Vmalloc.step(s, new Call.Unmap(0, x, 64)).state();
        }
        Vmalloc.Step st = Vmalloc.step(s, new Call.Aliases(0));
        assertThat(st.effects()).contains(new Effect.BlockRetired(0, a[0], "purge_fragmented_block"));
        assertThat(st.state().blocks()).isEmpty();
    }

    // 6.1 has one vmap_blocks xarray (the per-CPU hashed ones came with 062eacf57ad9 in v6.4): the hash
    // switch changes nothing there
    @Test
    void theHashIndexMutantChangesNothingBeforeSixFour() {
        KernelConfig c = new KernelConfig(Profile.LINUX_6_1, 12, START, KernelDriver.END, 8192, 4, List.of(0, 3),
                List.of(0, 3), 64);
        KernelState s = KernelState.boot(c, Set.of(Mutant.HASH_INDEX_POSSIBLE_MASK), KernelState.Mode.EXACT);
        for (int i = 0; i < 8; i++) {
            Vmalloc.Step st = Vmalloc.step(s, new Call.Map(0, 64));
            assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(block(i / 4) + pages(64L * (i % 4))));
            s = st.state();
        }
        Vmalloc.Step st = Vmalloc.step(s, new Call.Unmap(3, block(1) + pages(64), 64));
        assertThat(st.outcome()).isInstanceOf(Outcome.Done.class);
    }

    // __purge_vmap_area_lazy(), 6.12.117 L2351: nr_purge_helpers = vmap_lazy_nr / lazy_max_pages(), clamped
    // to [1, nr_purge_nodes] - 1: below one full set every node is purged inline, in node order
    @Test
    void belowOneFullSetOfLazyPagesNoNodeGoesToAHelper() {
        assertThat(PurgeHelpers.order(new boolean[] {true, true}, 100, 16384)).containsExactly(0, 1);
        assertThat(PurgeHelpers.order(new boolean[] {true, true}, 16384, 16384)).containsExactly(0, 1);
        assertThat(PurgeHelpers.order(new boolean[] {true, true}, 2 * 16384, 16384)).containsExactly(1, 0);
        assertThat(PurgeHelpers.order(new boolean[] {true, false, true}, 5 * 16384, 16384)).containsExactly(2, 0);
    }

    // a traced caller's own map is on its own CPU's node: an area in another node's pool is not free to it
    @Test
    void theCallersOwnMapDoesNotTakeAnotherNodesPooledArea() {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        s = mapAt(s, 1, 100, block(4));
        s = purged(s, 1, block(4), 100);
        assertThat(rejected(s, 0, 100, block(4))).isEqualTo("placement-pooled");
    }

    // vmap_init_free_space(), 6.12.117 L5139: the free tree starts as [1, ULONG_MAX), ULONG_MAX of the
    // kernel's word size; a state built from its areas has the same tree as a booted one
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void theBootFreeTreeEndsAtUlongMaxOfTheWordSize(Profile p) {
        KernelConfig c32 = new KernelConfig(p, 12, 0xf0000000L, 0xf7ffffffL, 8, 1, List.of(0), List.of(0), 32);
        KernelState booted = KernelState.boot(c32, Set.of(), KernelState.Mode.EXACT);
        assertThat(booted.freeTree()).isEqualTo(FreeTree.boot(0xffff_ffffL));
        assertThat(built(c32, KernelState.Mode.EXACT).freeTree()).isEqualTo(FreeTree.boot(0xffff_ffffL));
        KernelConfig c64 = KernelConfig.x86_64(p, 1);
        assertThat(built(c64, KernelState.Mode.EXACT).freeTree()).isEqualTo(FreeTree.boot(-1L));
        assertThat(built(c64, KernelState.Mode.TRACE_GUIDED).freeTree()).as("the trace places areas").isNull();
    }

    @Test
    void linux48HasNoFreeTree() {
        assertThat(built(KernelConfig.x86_64(Profile.LINUX_4_8, 1), KernelState.Mode.EXACT).freeTree()).isNull();
    }

    static KernelState built(KernelConfig c, KernelState.Mode mode) {
        return new KernelState(c, Set.of(), mode, TreePMap.empty(), HashTreePMap.empty(), TreePMap.empty(),
                TreePMap.empty(), 0, HashTreePMap.empty(), null, null);
    }

    /** 6.12, 2 CPUs: a block made at block 4 on {@code cpu}, filled and emptied (free_vmap_block()), its area purged into the node's pool. */
    static KernelState pooledBlockArea(int cpu) {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        for (int i = 0; i < 4; i++) {
            s = mapAt(s, cpu, 64, block(4) + pages(64L * i));
        }
        for (int i = 0; i < 4; i++) {
            s = Vmalloc.step(s, new Call.Unmap(cpu, block(4) + pages(64L * i), 64)).state();
        }
        assertThat(s.blocks()).isEmpty();
        s = Vmalloc.observeFlush(s, block(4), block(5), null);
        assertThat(s.areas().get(page(block(4))).state()).isEqualTo(Va.State.POOLED);
        return s;
    }

    // new_vmap_block() -> alloc_vmap_area(VMAP_BLOCK_SIZE, VMAP_BLOCK_SIZE, ...) -> node_alloc(): a 256-page
    // block area is within MAX_VA_SIZE_PAGES, so a pooled one is the next block of that node
    @Test
    void aNewBlockIsTheHeadOfItsNodesPoolOfBlockAreas() {
        KernelState s = pooledBlockArea(0);
        s = mapAt(s, 0, 1, block(4));
        assertThat(s.pools()).isEmpty();
        assertThat(s.blocks()).containsOnlyKeys(page(block(4)));
    }

    @Test
    void anotherUsersNewBlockMayComeFromAnotherNodesPool() {
        KernelState s = pooledBlockArea(1);
        Vmalloc.Step st = Vmalloc.stepForeign(s, new Call.Map(0, 1), KernelDriver.told(block(4)));
        assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(block(4)));
        assertThat(st.state().pools()).isEmpty();
        assertThat(st.state().blocks()).containsOnlyKeys(page(block(4)));
    }

    // ------------------------------------------------------------------ small API

    @Test
    void withProfileChangesOnlyTheProfile() {
        KernelConfig c = KernelConfig.x86_64(Profile.LINUX_6_12, 2);
        assertThat(c.withProfile(Profile.LINUX_6_1))
                .isEqualTo(KernelConfig.x86_64(Profile.LINUX_6_1, 2));
    }

    // struct vmap_block: VMAP_BBMAP_BITS = free + dirty + the pages handed out and not yet freed
    @Test
    void aBlocksLivePagesAreThoseNeitherFreeNorDirty() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long a = k.map(3); // 4 pages
        k.map(2);
        k.unmap(a, 3);
        assertThat(k.blockAt(a).livePages(KernelDriver.BLOCK)).isEqualTo(2);
    }

    // ------------------------------------------------------------------ helpers

    static String rejected(KernelState s, int cpu, long count, long at) {
        try {
            Vmalloc.step(s, new Call.Map(cpu, count), (kind, pages, align) -> page(at));
        } catch (Vmalloc.PlacementRejected r) {
            return r.rule();
        }
        return null;
    }

    /** 6.12, 2 CPUs: a 100-page area at block 4 mapped and unmapped on CPU 0, purged by a traced flush into node 0's pool. */
    static KernelState pooledOnNodeZero() {
        KernelState s = guided(Profile.LINUX_6_12, 2);
        s = mapAt(s, 0, 100, block(4));
        s = purged(s, 0, block(4), 100);
        assertThat(s.pools()).hasSize(1);
        return s;
    }
}
