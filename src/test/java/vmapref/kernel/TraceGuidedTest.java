// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import java.util.ArrayDeque;
import java.util.Deque;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link KernelState.Mode#TRACE_GUIDED}: a real trace says where each new area landed and which
 * flushes purged what; the model checks the placement against what alloc_vmap_area() could have done
 * (mm/vmalloc.c of 6.12 and 7.2: node_alloc() and the node pools, find_vmap_lowest_match()) and takes
 * the traced flushes as __purge_vmap_area_lazy() runs.
 */
class TraceGuidedTest {

    /** Places each new area at the next scripted address (-1 for NULL). */
    static final class Script implements Vmalloc.Placement {
        final Deque<Long> next = new ArrayDeque<>();
        boolean ranOut;

        @Override
        public long place(Va.Kind kind, long pages, long alignPages) {
            long addr = next.removeFirst();
            return addr == -1 ? -1 : addr >>> 12;
        }

        @Override
        public boolean mayHaveRunOut() {
            return ranOut;
        }
    }

    KernelState s;
    final Script script = new Script();
    Vmalloc.Step last;

    void boot(Profile p, int cpus) {
        s = KernelDriver.guided(p, cpus);
    }

    Vmalloc.Step step(Call c) {
        last = Vmalloc.step(s, c, script);
        s = last.state();
        return last;
    }

    /** vm_map_ram(count) on cpu, the trace saying it returned {@code at}; returns the mapped address. */
    long map(int cpu, long count, long at) {
        script.next.add(at);
        step(new Call.Map(cpu, count));
        assertThat(last.outcome()).isEqualTo(new Outcome.Mapped(at));
        return at;
    }

    void unmap(int cpu, long addr, long count) {
        step(new Call.Unmap(cpu, addr, count));
        assertThat(last.outcome()).isInstanceOf(Outcome.Done.class);
    }

    String rejected(int cpu, long count, long at) {
        script.next.add(at);
        try {
            Vmalloc.step(s, new Call.Map(cpu, count), script);
        } catch (Vmalloc.PlacementRejected r) {
            return r.rule();
        }
        return null;
    }

    Va area(long addr) {
        return s.areas().get(addr >>> 12);
    }

    /** A 100-page area mapped on CPU 0, unmapped, and purged by a traced flush into node 0's pool. */
    long pooledOnNodeZero(Profile p, long at) {
        boot(p, 2);
        map(0, 100, at);
        unmap(0, at, 100);
        assertThat(area(at).state()).isEqualTo(Va.State.LAZY);
        s = Vmalloc.observeFlush(s, at, at + pages(100), null);
        assertThat(area(at).state()).isEqualTo(Va.State.POOLED);
        assertThat(s.lazy()).isEmpty();
        assertThat(s.lazyNr()).isZero();
        return at;
    }

    // ------------------------------------------------------------------ node_alloc() and the pools

    // node_alloc(): vn = &vmap_nodes[raw_smp_processor_id() % nr_vmap_nodes]; node_pool_del_va(vn, size, align, ...)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void aMapOnTheSameNodeTakesThePooledAreaAndNothingElse(Profile p) {
        long a = pooledOnNodeZero(p, block(4));
        assertThat(rejected(0, 100, block(8))).isEqualTo("pool-reuse");
        assertThat(rejected(0, 100, -1)).as("NULL while the pool holds one").isEqualTo("pool-reuse");
        map(0, 100, a);
        assertThat(area(a).state()).isEqualTo(Va.State.BUSY);
        assertThat(s.pools()).isEmpty();
    }

    @Test
    void anotherNodeOrAnotherSizeDoesNotUseThePool() {
        long a = pooledOnNodeZero(Profile.LINUX_6_12, block(4));
        map(1, 100, block(8)); // node 1's pool is empty
        map(0, 99, block(9)); // pool[98] of node 0 is empty
        assertThat(area(a).state()).isEqualTo(Va.State.POOLED);
        map(0, 100, a);
    }

    // node_alloc() is skipped above MAX_VA_SIZE_PAGES: a 257-page area is purged back to the free tree
    @Test
    void anAreaAboveTheLargestPoolSizeGoesBackToTheFreeTree() {
        boot(Profile.LINUX_6_12, 2);
        map(0, 257, block(4));
        unmap(0, block(4), 257);
        s = Vmalloc.observeFlush(s, block(4), block(4) + pages(257), null);
        assertThat(s.areas()).isEmpty();
        assertThat(s.pools()).isEmpty();
        assertThat(rejected(0, 257, block(8))).as("the freed range fits: lowest fit").isEqualTo("area-lowest-fit");
        map(0, 257, block(4));
    }

    // node_pool_add_va() puts a purged area at the head; another kernel user may have taken the ones before
    @Test
    void aLaterEntryOfThePoolIsAcceptedAndTheOnesBeforeItWereTakenByOthers() {
        boot(Profile.LINUX_6_12, 2);
        map(0, 100, block(4));
        map(0, 100, block(5));
        map(0, 100, block(6));
        unmap(0, block(4), 100);
        unmap(0, block(5), 100);
        unmap(0, block(6), 100);
        s = Vmalloc.observeFlush(s, block(4), block(7), null);
        // purged in address order, each added at the head: 6, 5, 4
        map(0, 100, block(5));
        assertThat(s.areas()).as("block 6's area was taken by another user").doesNotContainKey(block(6) >>> 12);
        assertThat(area(block(4)).state()).isEqualTo(Va.State.POOLED);
        assertThat(rejected(0, 100, block(6))).isEqualTo("pool-reuse");
        map(0, 100, block(4));
        assertThat(s.pools()).isEmpty();
    }

    // a busy event over a pooled area: another user took it out of the pool (node_alloc() of its own)
    @Test
    void anAreaTakenByAnotherUserLeavesThePool() {
        long a = pooledOnNodeZero(Profile.LINUX_6_12, block(4));
        s = Vmalloc.observeBusy(s, a, a + pages(100) - 0x800);
        assertThat(s.pools()).isEmpty();
        assertThat(s.areas()).isEmpty();
        map(0, 100, block(8));
    }

    @Test
    void aBusyEventElsewhereLeavesThePool() {
        long a = pooledOnNodeZero(Profile.LINUX_6_12, block(4));
        s = Vmalloc.observeBusy(s, a + pages(100), a + pages(200));
        s = Vmalloc.observeBusy(s, a - pages(100), a);
        assertThat(area(a).state()).isEqualTo(Va.State.POOLED);
        assertThat(rejected(0, 100, block(8))).isEqualTo("pool-reuse");
    }

    @Test
    void aBusyEventTakesOnlyThePooledAreaItCovers() {
        boot(Profile.LINUX_6_12, 2);
        map(0, 100, block(4));
        map(0, 100, block(5));
        unmap(0, block(4), 100);
        unmap(0, block(5), 100);
        s = Vmalloc.observeFlush(s, block(4), block(6), null);
        s = Vmalloc.observeBusy(s, block(5), block(5) + pages(1));
        assertThat(area(block(4)).state()).isEqualTo(Va.State.POOLED);
        assertThat(s.areas()).doesNotContainKey(block(5) >>> 12);
        map(0, 100, block(4));
    }

    // an area held in a pool is on no free tree: only decay_va_pool_node() gives it back
    @Test
    void anAreaOverAPooledOneIsRejectedUnlessTheRangeMayHaveRunOut() {
        long a = pooledOnNodeZero(Profile.LINUX_6_12, block(4));
        assertThat(rejected(1, 70, a + pages(50))).isEqualTo("placement-pooled");
        assertThat(rejected(1, 70, a - pages(69))).isEqualTo("placement-pooled");
        script.ranOut = true; // reclaim_and_purge_vmap_areas(): every pool decays fully
        map(1, 70, a + pages(50));
        assertThat(s.pools()).isEmpty();
        assertThat(area(a)).isNull();
    }

    // as above, on the calling CPU's own node: the pool's head was given back before the retry
    @Test
    void whenTheRangeMayHaveRunOutThePoolsMayBeEmptyWithNoFlush() {
        long a = pooledOnNodeZero(Profile.LINUX_6_12, block(4));
        script.ranOut = true;
        map(0, 100, a - pages(100));
        assertThat(s.pools()).isEmpty();
        assertThat(area(a)).isNull();
    }

    // ------------------------------------------------------------------ find_vmap_lowest_match()

    @Test
    void aPageAlignedAreaNeverLandsAboveAReleasedRangeThatFitsIt() {
        boot(Profile.LINUX_6_1, 1);
        map(0, 300, block(4));
        map(0, 100, block(4) + pages(300));
        unmap(0, block(4), 300);
        s = Vmalloc.observeFlush(s, block(4), block(4) + pages(300), null);
        assertThat(rejected(0, 300, block(8))).as("an exact fit").isEqualTo("area-lowest-fit");
        assertThat(rejected(0, 100, block(4) + pages(400))).isEqualTo("area-lowest-fit");
        map(0, 301, block(8)); // does not fit the 300 pages released
        map(0, 100, block(4)); // the lowest fit: [+100, +300) is left
        map(0, 201, block(10)); // does not fit it
        assertThat(rejected(0, 200, block(12))).as("an exact fit again").isEqualTo("area-lowest-fit");
        map(0, 150, block(4) + pages(100)); // [+250, +300) is left
        map(0, 65, block(12)); // 50 pages do not fit 65
        assertThat(s.released()).containsExactly(java.util.Map.entry((block(4) >>> 12) + 250, (block(4) >>> 12) + 300));
    }

    // a block is searched with VMAP_BLOCK_SIZE alignment; the lowest-fit check is for page-aligned searches
    @Test
    void aBlockMayLandAboveAReleasedRange() {
        boot(Profile.LINUX_6_1, 1);
        map(0, 256, block(4));
        unmap(0, block(4), 256);
        s = Vmalloc.observeFlush(s, block(4), block(5), null);
        script.next.add(block(9));
        step(new Call.Map(0, 1));
        assertThat(last.outcome()).isEqualTo(new Outcome.Mapped(block(9)));
    }

    // the released ranges merge with their neighbours: two adjacent purged areas are one fit
    @Test
    void adjacentReleasedRangesAreOneFit() {
        boot(Profile.LINUX_6_1, 1);
        map(0, 100, block(4));
        map(0, 100, block(4) + pages(100));
        map(0, 100, block(4) + pages(200));
        unmap(0, block(4) + pages(100), 100);
        s = Vmalloc.observeFlush(s, block(4), block(5), null);
        unmap(0, block(4), 100);
        unmap(0, block(4) + pages(200), 100);
        s = Vmalloc.observeFlush(s, block(4), block(5) + pages(100), null);
        assertThat(s.released()).containsExactly(java.util.Map.entry(block(4) >>> 12, (block(4) >>> 12) + 300));
        assertThat(rejected(0, 300, block(8))).isEqualTo("area-lowest-fit");
        map(0, 300, block(4));
        assertThat(s.released()).isEmpty();
    }

    // ------------------------------------------------------------------ the other placement rules

    @Test
    void misplacedAreasAreRejected() {
        boot(Profile.LINUX_6_1, 1);
        map(0, 100, block(4));
        assertThat(rejected(0, 100, block(4) + pages(50))).isEqualTo("placement-disjoint");
        assertThat(rejected(0, 100, block(4) - pages(99))).isEqualTo("placement-disjoint");
        map(0, 100, block(4) - pages(100)); // right below it
        map(0, 100, block(4) + pages(100)); // right above it
        assertThat(rejected(0, 1, block(8) + pages(1))).as("a block is VMAP_BLOCK_SIZE aligned")
                .isEqualTo("placement-aligned");
        assertThat(rejected(0, 100, START - pages(1))).isEqualTo("placement-in-range");
        long top = KernelDriver.END + 1;
        assertThat(rejected(0, 100, top - pages(99))).isEqualTo("placement-in-range");
        map(0, 100, top - pages(101)); // va_end <= VMALLOC_END: the last page is never used
        unmap(0, block(4), 100);
        assertThat(rejected(0, 100, block(4))).isEqualTo("placement-not-lazy");
        script.next.add(-1L);
        step(new Call.Map(0, 100));
        assertThat(last.outcome()).isInstanceOf(Outcome.Null.class);
    }

    // ------------------------------------------------------------------ traced flushes as purges

    // __purge_vmap_area_lazy(): only areas inside the flushed range were on the purged list
    @Test
    void aFlushPurgesOnlyTheLazyAreasItCovers() {
        boot(Profile.LINUX_6_1, 1);
        map(0, 100, block(4));
        map(0, 100, block(6));
        unmap(0, block(4), 100);
        unmap(0, block(6), 100);
        s = Vmalloc.observeFlush(s, block(4) + pages(1), block(7), null);
        assertThat(s.lazy()).containsOnlyKeys(block(4) >>> 12);
        assertThat(s.lazyNr()).isEqualTo(100);
        s = Vmalloc.observeFlush(s, block(4), block(4) + pages(99), null);
        assertThat(s.lazy()).containsOnlyKeys(block(4) >>> 12);
        s = Vmalloc.observeFlush(s, block(4), block(4) + pages(100), null);
        assertThat(s.lazy()).isEmpty();
        assertThat(s.lazyNr()).isZero();
        assertThat(s.areas()).isEmpty();
    }

    // 6.12 __purge_vmap_area_lazy(): decay_va_pool_node() of every node first, even with nothing lazy;
    // drain_vmap_area_work() names it; 6.12.117 empties a pool of fewer than four
    @Test
    void aFlushNamedAsAPurgeDecaysThePools() {
        long a = pooledOnNodeZero(Profile.LINUX_6_12, block(4));
        s = Vmalloc.observeFlush(s, block(20), block(21), "flush_tlb_all");
        assertThat(area(a).state()).as("a flush that is no purge").isEqualTo(Va.State.POOLED);
        s = Vmalloc.observeFlush(s, block(20), block(21), "drain_vmap_area_work");
        assertThat(s.pools()).isEmpty();
        assertThat(area(a)).isNull();
        map(0, 100, a); // back in the free tree: the lowest fit
    }

    @Test
    void linux72KeepsAShortPoolThroughANamedPurge() {
        long a = pooledOnNodeZero(Profile.LINUX_7_2, block(4));
        s = Vmalloc.observeFlush(s, block(20), block(21), "__purge_vmap_area_lazy");
        assertThat(area(a).state()).isEqualTo(Va.State.POOLED);
    }

    // reclaim_and_purge_vmap_areas(): purge_fragmented_blocks_allcpus(), then __purge_vmap_area_lazy(.., true):
    // every pool decays fully and the purged areas skip the pools (vn->skip_populate)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void theOverflowPurgeEmptiesThePoolsAndRetiresFragmentedBlocks(Profile p) {
        long a = pooledOnNodeZero(p, block(4));
        map(1, 100, block(6));
        unmap(1, block(6), 100);
        script.next.add(block(10));
        step(new Call.Map(0, 1)); // a new block on CPU 0
        unmap(0, block(10), 1);
        assertThat(s.blocks()).containsKey(block(10) >>> 12);
        s = Vmalloc.observeFlush(s, block(6), block(11), "reclaim_and_purge_vmap_areas");
        assertThat(s.pools()).isEmpty();
        assertThat(s.blocks()).as("the emptied block was purged").isEmpty();
        assertThat(s.areas()).as("nothing pooled, nothing lazy").isEmpty();
        assertThat(s.lazy()).isEmpty();
        map(0, 100, a);
    }

    @Test
    void linux61OverflowPurgeIsPurgeVmapAreaLazy() {
        boot(Profile.LINUX_6_1, 1);
        script.next.add(block(10));
        step(new Call.Map(0, 1));
        unmap(0, block(10), 1);
        s = Vmalloc.observeFlush(s, block(10), block(11), "purge_vmap_area_lazy");
        assertThat(s.blocks()).isEmpty();
        assertThat(s.areas()).isEmpty();
    }

    // ------------------------------------------------------------------ busy ranges of other users

    @Test
    void aReservedRangeIsRoundedToWholePagesAndStaysBusy() {
        boot(Profile.LINUX_6_1, 1);
        s = Vmalloc.reserve(s, block(4) + 0x10, block(4) + pages(2) + 1);
        Va other = area(block(4));
        assertThat(other.pages()).isEqualTo(3);
        assertThat(other.kind()).isEqualTo(Va.Kind.OTHER);
        assertThat(rejected(0, 100, block(4) + pages(2))).isEqualTo("placement-disjoint");
        map(0, 100, block(4) + pages(3));
        assertThatThrownBy(() -> Vmalloc.reserve(s, block(4) + pages(50), block(4) + pages(51)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(Vmalloc.reserve(s, 0x1000, 0x2000)).as("outside the window: nothing").isSameAs(s);
    }
}
