// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;
import static vmapref.kernel.KernelDriver.told;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Vmalloc#stepForeign}: another kernel user's vm_map_ram() and vm_unmap_ram() in a
 * {@link KernelState.Mode#TRACE_GUIDED} trace. The trace says where its mapping went; the model
 * changes the shared block cache and areas as the kernel does (mm/vmalloc.c of 6.1.192 and 6.12.117:
 * vb_alloc(), new_vmap_block(), vb_free(), vm_unmap_ram()).
 */
class ForeignCallsTest {

    KernelState s;
    Vmalloc.Step last;

    void boot(Profile p) {
        s = KernelDriver.guided(p, 1);
    }

    Outcome foreign(Call c, long at) {
        last = Vmalloc.stepForeign(s, c, told(at));
        s = last.state();
        return last.outcome();
    }

    Outcome own(Call c, long at) {
        last = Vmalloc.step(s, c, told(at));
        s = last.state();
        return last.outcome();
    }

    VmapBlock vb(long addr) {
        return s.blocks().get(addr >>> 12);
    }

    // vb_alloc(), 6.12.117 L2818: pages_off = VMAP_BBMAP_BITS - vb->free; vb->free -= 1UL << order.
    // Another user's map at a block base made that block (new_vmap_block(), L2669); the caller's next
    // small map on the CPU takes the block's next pages (first fit over vbq->free)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void anotherUsersMapAtABlockBaseMakesABlockWhoseNextPagesGoToTheNextMap(Profile p) {
        boot(p);
        assertThat(foreign(new Call.Map(0, 3), block(4))).isEqualTo(new Outcome.Mapped(block(4)));
        assertThat(last.effects()).containsExactly(new Effect.BlockCreated(0, block(4)));
        assertThat(vb(block(4)).free()).as("3 pages take 2^2").isEqualTo(KernelDriver.BLOCK - 4);
        assertThat(own(new Call.Map(0, 1), -1)).isEqualTo(new Outcome.Mapped(block(4) + pages(4)));
        assertThat(foreign(new Call.Map(0, 2), block(4) + pages(5))).as("the next free page: 5")
                .isEqualTo(new Outcome.Mapped(block(4) + pages(5)));
        assertThat(vb(block(4)).free()).isEqualTo(KernelDriver.BLOCK - 7);
        assertThat(own(new Call.Map(0, 1), -1)).isEqualTo(new Outcome.Mapped(block(4) + pages(7)));
        // a block hands out its pages in order: any other offset is not what vb_alloc() returns
        KernelState before = s;
        assertThat(foreign(new Call.Map(0, 1), block(4) + pages(9))).isInstanceOf(Outcome.Rejected.class)
                .extracting(o -> ((Outcome.Rejected) o).rule()).isEqualTo("block-offset");
        assertThat(foreign(new Call.Map(0, 1), block(4) + pages(6))).isInstanceOf(Outcome.Rejected.class);
        assertThat(s).isEqualTo(before);
    }

    // VMAP_MAX_ALLOC pages still come from a block: vm_map_ram(), L3047 if (likely(count <= VMAP_MAX_ALLOC))
    @Test
    void anotherUsersMapOfVmapMaxAllocPagesMakesABlock() {
        boot(Profile.LINUX_6_12);
        assertThat(foreign(new Call.Map(0, 64), block(4))).isEqualTo(new Outcome.Mapped(block(4)));
        assertThat(vb(block(4)).free()).isEqualTo(KernelDriver.BLOCK - 64);
        assertThat(s.areas().get(block(4) >>> 12).kind()).isEqualTo(Va.Kind.BLOCK);
    }

    // vb_alloc(): if (vb->free < (1UL << order)) continue; ... if (vb->free == 0) list_del_rcu(&vb->free_list):
    // a map that takes the last free pages takes the block off the free list, one that needs more is not from it
    @Test
    void anotherUsersMapTakesTheLastFreePagesAndTheBlockLeavesTheFreeList() {
        boot(Profile.LINUX_6_12);
        foreign(new Call.Map(0, 64), block(4));
        long next = block(4) + pages(64);
        for (long count : new long[] {64, 64, 32, 16}) {
            assertThat(foreign(new Call.Map(0, count), next)).isEqualTo(new Outcome.Mapped(next));
            next += pages(count);
        }
        assertThat(vb(block(4)).free()).isEqualTo(16);
        assertThat(foreign(new Call.Map(0, 17), next)).as("17 pages need 32, 16 are free")
                .isInstanceOf(Outcome.Rejected.class);
        assertThat(foreign(new Call.Map(0, 16), next)).isEqualTo(new Outcome.Mapped(next));
        assertThat(vb(block(4)).free()).isZero();
        assertThat(s.freeList(0)).isEmpty();
        assertThat(own(new Call.Map(0, 1), block(8))).as("no block with free pages: a new one")
                .isEqualTo(new Outcome.Mapped(block(8)));
    }

    // a mapping inside a block the trace never saw made comes from a block older than the trace
    @Test
    void aMapInsideAnUnknownBlockChangesNothing() {
        boot(Profile.LINUX_6_12);
        KernelState before = s;
        assertThat(foreign(new Call.Map(0, 1), block(4) + pages(3))).isInstanceOf(Outcome.Done.class);
        assertThat(s).isEqualTo(before);
        // a block base inside another user's busy range: that range is the older block
        s = Vmalloc.reserve(s, block(6), block(7));
        before = s;
        assertThat(foreign(new Call.Map(0, 1), block(6))).isInstanceOf(Outcome.Done.class);
        assertThat(s).isEqualTo(before);
    }

    // vm_map_ram() returned NULL; a count of 0 maps nothing (vb_alloc(): WARN_ON(size == 0))
    @Test
    void aNullOrEmptyMapOfAnotherUserIsNull() {
        boot(Profile.LINUX_6_12);
        assertThat(foreign(new Call.Map(0, 3), -1)).isInstanceOf(Outcome.Null.class);
        assertThat(foreign(new Call.Map(0, 0), block(4))).isInstanceOf(Outcome.Null.class);
        assertThat(s.blocks()).isEmpty();
        assertThat(s.areas()).isEmpty();
    }

    // a trace that does not say where another user's mapping went: as a NULL
    @Test
    void anotherUsersMapWithNoPlacementIsNull() {
        boot(Profile.LINUX_6_12);
        last = Vmalloc.stepForeign(s, new Call.Map(0, 3), null);
        assertThat(last.outcome()).isInstanceOf(Outcome.Null.class);
    }

    // alloc_vmap_area(): va_end <= VMALLOC_END and va_start >= VMALLOC_START; page 0 is no vmalloc address
    @Test
    void anotherUsersMapBelowVmallocStartIsAPlacementTheKernelNeverMakes() {
        boot(Profile.LINUX_6_12);
        assertThatThrownBy(() -> Vmalloc.stepForeign(s, new Call.Map(0, 1), told(0)))
                .isInstanceOf(Vmalloc.PlacementRejected.class)
                .extracting(e -> ((Vmalloc.PlacementRejected) e).rule()).isEqualTo("placement-in-range");
    }

    @Test
    void anotherUsersCallsAreCheckedLikeTheCallersOwn() {
        boot(Profile.LINUX_6_12);
        assertThat(foreign(new Call.Map(3, 1), block(4))).isInstanceOf(Outcome.Rejected.class)
                .extracting(o -> ((Outcome.Rejected) o).rule()).isEqualTo("bad-cpu");
        assertThat(foreign(new Call.Unmap(3, block(4), 1), -1)).isInstanceOf(Outcome.Rejected.class)
                .extracting(o -> ((Outcome.Rejected) o).rule()).isEqualTo("bad-cpu");
        assertThat(foreign(new Call.Unmap(0, block(4), KernelConfig.MAX_COUNT + 1), -1))
                .isInstanceOf(Outcome.Rejected.class);
    }

    // vm_map_ram(), L3057: a large count goes to alloc_vmap_area(); the area is busy until vm_unmap_ram()
    @Test
    void anotherUsersLargeMapHoldsItsArea() {
        boot(Profile.LINUX_6_12);
        assertThat(foreign(new Call.Map(0, 65), block(4))).isEqualTo(new Outcome.Mapped(block(4)));
        Va va = s.areas().get(block(4) >>> 12);
        assertThat(va.pages()).isEqualTo(65);
        assertThat(va.kind()).isEqualTo(Va.Kind.RAM);
        assertThat(va.state()).isEqualTo(Va.State.BUSY);
        assertThat(s.blocks()).isEmpty();
    }

    // vb_free(), L2874: the pages turn dirty (vb->dirty += 1UL << order), whoever frees them
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void anotherUsersUnmapInAKnownBlockDirtiesItsPages(Profile p) {
        boot(p);
        foreign(new Call.Map(0, 1), block(4));
        assertThat(own(new Call.Map(0, 2), -1)).isEqualTo(new Outcome.Mapped(block(4) + pages(1)));
        assertThat(foreign(new Call.Unmap(0, block(4) + pages(1), 2), -1)).isInstanceOf(Outcome.Done.class);
        assertThat(vb(block(4)).dirty()).isEqualTo(2);
        assertThat(vb(block(4)).dirtyMin()).isEqualTo(1);
        assertThat(vb(block(4)).dirtyMax()).isEqualTo(3);
        assertThat(foreign(new Call.Unmap(0, block(4), 1), -1)).isInstanceOf(Outcome.Done.class);
        assertThat(vb(block(4)).dirty()).isEqualTo(3);
    }

    // an unmap in a block the model never saw made frees a mapping older than the trace: nothing known changes
    @Test
    void anotherUsersUnmapInAnUnknownBlockChangesNothing() {
        boot(Profile.LINUX_6_12);
        foreign(new Call.Map(0, 100), block(4));
        KernelState before = s;
        assertThat(foreign(new Call.Unmap(0, block(8) + pages(1), 1), -1)).isInstanceOf(Outcome.Done.class);
        assertThat(foreign(new Call.Unmap(0, block(4), 64), -1)).as("a small unmap is no block's")
                .isInstanceOf(Outcome.Done.class);
        assertThat(s).isEqualTo(before);
    }

    // vm_unmap_ram(), L3015: find_unlink_vmap_area(addr); free_unmap_vmap_area(va): lazy until a purge
    @Test
    void anotherUsersLargeUnmapOfAKnownAreaMakesItLazy() {
        boot(Profile.LINUX_6_12);
        foreign(new Call.Map(0, 100), block(4));
        KernelState before = s;
        assertThat(foreign(new Call.Unmap(0, block(4) + pages(100), 100), -1)).as("just above it: not known")
                .isInstanceOf(Outcome.Done.class);
        assertThat(last.effects()).as("no WARN_ON_ONCE(!va) for a mapping older than the trace").isEmpty();
        assertThat(foreign(new Call.Unmap(0, block(3), 100), -1)).isInstanceOf(Outcome.Done.class);
        assertThat(last.effects()).isEmpty();
        assertThat(s).isEqualTo(before);
        assertThat(foreign(new Call.Unmap(0, block(4), 100), -1)).isInstanceOf(Outcome.Done.class);
        assertThat(s.areas().get(block(4) >>> 12).state()).isEqualTo(Va.State.LAZY);
        assertThat(s.lazyNr()).isEqualTo(100);
        assertThat(s.lazy()).containsOnlyKeys(block(4) >>> 12);
        assertThat(List.copyOf(s.lazy().values())).extracting(Va::pages).containsExactly(100L);
    }

    // Step.touched() after another user's map into a block the model knows: the live entry it added is
    // listed, as vb_alloc()'s is for the caller's own map (the incremental abstraction check reads it)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void anotherUsersMapIntoAKnownBlockListsItsLiveEntry(Profile p) {
        boot(p);
        foreign(new Call.Map(0, 3), block(4));
        KernelState before = s;
        assertThat(foreign(new Call.Map(0, 1), block(4) + 4 * 4096L)).isEqualTo(new Outcome.Mapped(block(4) + 4 * 4096L));
        TouchedTest.assertTouchedCoversTheChange(before, last);
    }
}
