// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** vm_unmap_aliases() -> _vm_unmap_aliases(ULONG_MAX, 0, 0): what it flushes and purges, per kernel. */
class UnmapAliasesTest {

    /** Maps counts in order on CPU 0, then unmaps them all; the block keeps its free tail. */
    static void mapThenUnmapAll(KernelDriver k, long... counts) {
        long[] addrs = new long[counts.length];
        for (int i = 0; i < counts.length; i++) {
            addrs[i] = k.map(counts[i]);
        }
        for (int i = 0; i < counts.length; i++) {
            k.unmap(addrs[i], counts[i]);
        }
    }

    static Effect.BlockRetired purged(long base) {
        return new Effect.BlockRetired(0, base, "purge_fragmented_block");
    }

    // 6.1 _vm_unmap_aliases() -> purge_fragmented_blocks_allcpus(): any block with free + dirty == BITS, no threshold;
    // 4.8 the same through __purge_vmap_area_lazy(sync=1)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_4_8"})
    void beforeSixFiveAnEmptiedBlockWithFreePagesIsPurgedByAliases(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        mapThenUnmapAll(k, 1);
        assertThat(k.blockAt(block(0)).free()).isEqualTo(255);
        k.aliases();
        assertThat(k.effects()).contains(purged(block(0)));
        assertThat(k.lastFlushCovers(block(0), block(1))).as("the retired block's area is flushed").isTrue();
        assertThat(k.state().blocks()).isEmpty();
        assertThat(k.state().lazy()).isEmpty();
        k.map(1);
        assertThat(k.effects()).as("a new block, back at the lowest address").containsExactly(
                new Effect.BlockCreated(0, START));
    }

    // 6.12 _vm_unmap_aliases(): purge_fragmented_block(vb, &purge_list, false): only if vb->free < VMAP_PURGE_THRESHOLD
    @Test
    void linux612KeepsAnEmptiedBlockWithAtLeastSixtyFourFreePages() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        mapThenUnmapAll(k, 64, 64, 64); // free = 64, not < 64
        k.aliases();
        assertThat(k.effects()).doesNotHaveAnyElementsOfTypes(Effect.BlockRetired.class);
        assertThat(k.lastFlushCovers(block(0), block(0) + pages(192))).as("its dirty range is flushed").isTrue();
        assertThat(k.map(1)).as("it keeps bumping").isEqualTo(block(0) + pages(192));
    }

    @Test
    void linux612PurgesAnEmptiedBlockWithFewerThanSixtyFourFreePages() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        mapThenUnmapAll(k, 64, 64, 64, 8); // free = 56
        k.aliases();
        assertThat(k.effects()).contains(purged(block(0)));
        assertThat(k.lastFlushCovers(block(0), block(1))).isTrue();
        assertThat(k.state().blocks()).isEmpty();
    }

    @Test
    void linux612KeepsASingleFreedPageBlock() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        mapThenUnmapAll(k, 1);
        k.aliases();
        assertThat(k.effects()).containsExactly(new Effect.Flush(START, START + pages(1), "_vm_unmap_aliases"));
        assertThat(k.map(1)).isEqualTo(START + pages(1));
    }

    // 6.12 _vm_unmap_aliases(): "Prevent that this is flushed again": dirty_min = VMAP_BBMAP_BITS; dirty_max = 0
    @Test
    void linux612ResetsTheDirtyRangeOnceFlushed() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long a = k.map(2);
        k.map(1);
        k.unmap(a, 2);
        k.aliases();
        assertThat(k.effects()).containsExactly(new Effect.Flush(a, a + pages(2), "_vm_unmap_aliases"));
        assertThat(k.blockAt(block(0)).hasDirtyRange()).isFalse();
        assertThat(k.blockAt(block(0)).dirty()).as("the dirty count stays").isEqualTo(2);
        k.aliases();
        assertThat(k.flushes()).as("the second call flushes nothing new").isEmpty();
    }

    // 6.1 / 4.8: the dirty range is never reset, so every call flushes it again
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_4_8"})
    void beforeSixFiveTheSameDirtyRangeIsFlushedOnEveryCall(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(2);
        k.map(1); // keeps the block alive
        k.unmap(a, 2);
        k.aliases();
        assertThat(k.lastFlushCovers(a, a + pages(2))).isTrue();
        k.aliases();
        assertThat(k.lastFlushCovers(a, a + pages(2))).as("flushed again").isTrue();
        assertThat(k.blockAt(block(0)).hasDirtyRange()).isTrue();
    }

    /** Fills block 0 with four 64-page maps (it leaves the free list) and unmaps the first. */
    static long fullBlockWithOneUnmapped(KernelDriver k) {
        long first = k.mapEach(4, 64)[0];
        k.unmap(first, 64);
        assertThat(k.freeList(0)).isEmpty();
        return first;
    }

    // fc1e0d980037 (v6.5): _vm_unmap_aliases() walks the xarrays, so it sees blocks off the free lists
    @Test
    void linux612FlushesTheDirtyRangeOfAFullyUsedBlock() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long first = fullBlockWithOneUnmapped(k);
        k.aliases();
        assertThat(k.effects()).containsExactly(new Effect.Flush(first, first + pages(64), "_vm_unmap_aliases"));
    }

    // 6.1 / 4.8 _vm_unmap_aliases(): list_for_each_entry_rcu(vb, &vbq->free, ...) misses full blocks (stale TLB)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_4_8"})
    void beforeSixFiveAFullyUsedBlockIsNotFlushed(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long first = fullBlockWithOneUnmapped(k);
        k.aliases();
        assertThat(k.lastFlushTouches(first, first + pages(64))).as("the stale-TLB bug").isFalse();
        assertThat(k.blockAt(block(0)).dirty()).isEqualTo(64);
    }

    // _vm_unmap_aliases() -> __purge_vmap_area_lazy(start, end): one flush over the dirty range and the lazy areas
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aliasesFlushesLazyAreasTogetherWithDirtyRanges(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long small = k.map(1);
        k.map(1);
        long large = k.map(100);
        k.unmap(small, 1);
        k.unmap(large, 100);
        assertThat(k.state().lazyNr()).isEqualTo(100);
        k.aliases();
        assertThat(k.lastFlushCovers(small, small + pages(1))).isTrue();
        assertThat(k.lastFlushCovers(large, large + pages(100))).isTrue();
        assertThat(k.state().lazy()).isEmpty();
        assertThat(k.state().lazyNr()).isZero();
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void aliasesOnAFreshKernelFlushesNothing(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        k.aliases();
        assertThat(k.effects()).isEmpty();
    }
}
