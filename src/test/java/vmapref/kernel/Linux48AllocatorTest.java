// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.pages;

import org.junit.jupiter.api.Test;

/**
 * linux-4.8's alloc_vmap_area() (mm/vmalloc.c of v4.4..v5.1): the walk of the busy list from
 * free_vmap_cache, with cached_hole_size and cached_align deciding when the walk starts over at
 * VMALLOC_START, and __free_vmap_area() moving free_vmap_cache back below a freed area.
 */
class Linux48AllocatorTest {

    static long at(long page) {
        return START + pages(page);
    }

    /** Three 100-page areas at [0, 300) pages, the first unmapped and purged: a 100-page hole at the bottom. */
    static KernelDriver holeAtTheBottom() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        assertThat(k.map(100)).isEqualTo(at(0));
        assertThat(k.map(100)).isEqualTo(at(100));
        assertThat(k.map(100)).isEqualTo(at(200));
        k.unmap(at(0), 100);
        k.aliases(); // __purge_vmap_area_lazy() -> __free_vmap_area(): free_vmap_cache = rb_prev() = NULL
        return k;
    }

    // alloc_vmap_area() (v4.8): "if (!free_vmap_cache || size < cached_hole_size || ...) goto nocache";
    // the walk records the largest hole it passes: "if (addr + cached_hole_size < first->va_start)
    // cached_hole_size = first->va_start - addr". A request of exactly the hole's size keeps the cache and
    // is placed above it; a smaller one walks again from VMALLOC_START and takes the hole.
    @Test
    void aRequestTheSizeOfTheCachedHoleIsPlacedAboveTheCache() {
        KernelDriver k = holeAtTheBottom();
        assertThat(k.map(150)).as("the 100-page hole is too small: walked past").isEqualTo(at(300));
        assertThat(k.map(100)).as("size == cached_hole_size: from free_vmap_cache").isEqualTo(at(450));
        assertThat(k.map(99)).as("size < cached_hole_size: nocache, the lowest fit").isEqualTo(at(0));
    }

    // __free_vmap_area() (v4.8): "if (va->va_start <= cache->va_start) free_vmap_cache = rb_prev(&va->rb_node)":
    // freeing the cached area itself moves the cache to the area below it, keeping cached_hole_size
    @Test
    void freeingTheCachedAreaMovesTheCacheToTheAreaBelow() {
        KernelDriver k = holeAtTheBottom();
        assertThat(k.map(150)).isEqualTo(at(300));
        long e = k.map(100);
        assertThat(e).isEqualTo(at(450));
        k.unmap(e, 100);
        k.aliases();
        assertThat(k.map(100)).as("walked from the 150-page area: the freed area, not the bottom hole")
                .isEqualTo(at(450));
        assertThat(k.map(99)).isEqualTo(at(0));
    }

    // the walk from free_vmap_cache: "while (addr + size > first->va_start && addr + size <= vend)":
    // a hole of exactly the size ends the walk
    @Test
    void theWalkTakesAHoleOfExactlyTheSize() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        k.map(100);
        long b = k.map(100);
        k.map(100);
        k.unmap(b, 100);
        k.aliases(); // free_vmap_cache = rb_prev(b): the first area
        assertThat(k.map(100)).isEqualTo(at(100));
        assertThat(k.map(100)).isEqualTo(at(300));
    }

    // "align < cached_align" invalidates the cache: a page-aligned request after a block-aligned one walks
    // from VMALLOC_START again and takes the gap below the block
    @Test
    void aLessAlignedRequestAfterABlockWalksFromTheStart() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        assertThat(k.map(100)).isEqualTo(at(0));
        assertThat(k.map(1)).as("new_vmap_block(): VMAP_BLOCK_SIZE aligned").isEqualTo(at(KernelDriver.BLOCK));
        assertThat(k.map(100)).isEqualTo(at(100));
    }

    // the walk goes on while "addr + size <= vend": a request that would end exactly at VMALLOC_END but
    // overlaps an area walks past it, runs out of room and fails (after the purge and retry)
    @Test
    void aRequestEndingAtVmallocEndStillWalksPastAnOverlappingArea() {
        KernelDriver k = KernelDriver.boot(KernelDriver.smallRange(Profile.LINUX_4_8, 1L << 20)); // pages [0, 255)
        long a = k.map(100);
        k.map(80);
        k.unmap(a, 100);
        k.aliases(); // free_vmap_cache = NULL: the next search walks from VMALLOC_START
        k.step(new Call.Map(0, 255));
        assertThat(k.outcome()).isInstanceOf(Outcome.Null.class);
    }

    // the recorded hole is the largest one passed: a smaller hole further up does not shrink it
    @Test
    void theCachedHoleIsTheLargestOnePassed() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        long q = k.map(70); // [0, 70) stays
        long p1 = k.map(140); // [70, 210)
        k.map(100); // [210, 310)
        long p3 = k.map(70); // [310, 380)
        k.map(100); // [380, 480)
        assertThat(q).isEqualTo(at(0));
        k.unmap(p1, 140);
        k.unmap(p3, 70);
        k.aliases(); // holes of 140 at [70, 210) and 70 at [310, 380); free_vmap_cache = the area at 0
        assertThat(k.map(200)).isEqualTo(at(480));
        assertThat(k.map(139)).as("139 < cached_hole_size 140: walk from VMALLOC_START").isEqualTo(at(70));
    }
}
