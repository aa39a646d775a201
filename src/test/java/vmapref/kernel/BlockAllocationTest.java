// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The per-CPU vmap block cache: vb_alloc(), new_vmap_block() and vb_free() (mm/vmalloc.c). */
class BlockAllocationTest {

    // vb_alloc(): pages_off = VMAP_BBMAP_BITS - vb->free; vb->free -= 1 << get_order(size)
    @ParameterizedTest
    @EnumSource(Profile.class)
    void bumpOffsetsConsumeAPowerOfTwoAtPageGranularity(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long[] counts = {1, 2, 3, 4, 8, 16, 64};
        long[] offsets = {0, 1, 3, 7, 11, 19, 35};
        for (int i = 0; i < counts.length; i++) {
            assertThat(k.map(counts[i])).as("count %d", counts[i]).isEqualTo(START + pages(offsets[i]));
        }
        assertThat(k.map(1)).as("next after the 64-page map").isEqualTo(START + pages(99));
        assertThat(k.state().blocks()).hasSize(1);
    }

    // new_vmap_block(): alloc_vmap_area(VMAP_BLOCK_SIZE, VMAP_BLOCK_SIZE, ...); the caller gets the first 2^order pages
    @ParameterizedTest
    @EnumSource(Profile.class)
    void firstMapCreatesABlockAtVmallocStart(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        assertThat(k.map(3)).isEqualTo(START);
        assertThat(k.effects()).containsExactly(new Effect.BlockCreated(0, START));
        VmapBlock vb = k.blockAt(START);
        assertThat(vb.free()).isEqualTo(252);
        assertThat(vb.dirty()).isZero();
        assertThat(vb.live()).containsEntry(0, 3L);
    }

    // vb_alloc(): list_for_each_entry_rcu(vb, &vbq->free, ...) first fit; new_vmap_block(): list_add_tail_rcu()
    @ParameterizedTest
    @EnumSource(Profile.class)
    void firstFitOverTheFreeListInCreationOrder(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        k.mapEach(3, 64);
        assertThat(k.map(32)).isEqualTo(block(0) + pages(192)); // block 0: 32 pages left
        assertThat(k.map(64)).as("does not fit block 0: a new block").isEqualTo(block(1));
        assertThat(k.freeList(0)).as("new block at the tail").containsExactly(block(0), block(1));
        assertThat(k.map(16)).as("the older block first").isEqualTo(block(0) + pages(224));
        assertThat(k.map(32)).as("16 left in block 0: the newer block").isEqualTo(block(1) + pages(64));
    }

    // vb_alloc(): if (vb->free == 0) list_del_rcu(&vb->free_list)
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aFullBlockLeavesTheFreeList(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        k.mapEach(4, 64); // block 0 full
        assertThat(k.blockAt(block(0)).free()).isZero();
        assertThat(k.freeList(0)).isEmpty();
        assertThat(k.map(1)).isEqualTo(block(1));
        assertThat(k.freeList(0)).containsExactly(block(1));
    }

    // vb_alloc(): vbq = raw_cpu_ptr(&vmap_block_queue): only the current CPU's list
    @ParameterizedTest
    @EnumSource(Profile.class)
    void eachCpuAllocatesFromItsOwnList(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 2);
        long a = k.map(0, 1);
        long b = k.map(1, 1);
        assertThat(a).isEqualTo(block(0));
        assertThat(b).as("CPU 1 ignores CPU 0's block with 255 free pages").isEqualTo(block(1));
        assertThat(k.effects()).containsExactly(new Effect.BlockCreated(1, block(1)));
        assertThat(k.freeList(0)).containsExactly(block(0));
        assertThat(k.freeList(1)).containsExactly(block(1));
        assertThat(k.blockAt(block(1)).cpu()).isEqualTo(1);
        assertThat(k.map(0, 1)).isEqualTo(block(0) + pages(1));
    }

    // vb_free(): the block is found by address (xa_load), whatever CPU frees it
    @ParameterizedTest
    @EnumSource(Profile.class)
    void unmapFromAnotherCpuWorks(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 2);
        long a = k.map(0, 4);
        k.map(0, 1);
        k.unmap(1, a, 4);
        VmapBlock vb = k.blockAt(block(0));
        assertThat(vb.dirty()).isEqualTo(4);
        assertThat(vb.live()).doesNotContainKey(0);
        assertThat(vb.cpu()).isZero();
        assertThat(k.freeList(0)).containsExactly(block(0));
        assertThat(k.freeList(1)).isEmpty();
    }

    // vb_free(): freed pages turn dirty and never go back to vb->free
    @ParameterizedTest
    @EnumSource(Profile.class)
    void freedSpaceInALiveBlockIsNeverHandedOutAgain(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(1);
        long keep = k.map(1);
        k.unmap(a, 1);
        assertThat(k.map(1)).isEqualTo(START + pages(2));
        k.aliases();
        assertThat(k.map(1)).as("not even after vm_unmap_aliases()").isEqualTo(START + pages(3));
        assertThat(k.state().blocks()).containsOnlyKeys(START >>> 12);
        assertThat(keep).isEqualTo(START + pages(1));
    }

    // vb_free(): if (vb->dirty == VMAP_BBMAP_BITS) { BUG_ON(vb->free); free_vmap_block(vb); }
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aBlockWhoseEveryPageIsDirtyIsRetiredAtOnce(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long[] maps = k.mapEach(4, 64);
        for (int i = 0; i < 3; i++) {
            k.unmap(maps[i], 64);
            assertThat(k.effects()).isEmpty();
        }
        k.unmap(maps[3], 64);
        assertThat(k.effects()).containsExactly(new Effect.BlockRetired(0, block(0), "vb_free"));
        KernelState s = k.state();
        assertThat(s.blocks()).isEmpty();
        long base = block(0) >>> 12;
        assertThat(s.areas().get(base).state()).as("free_vmap_area_noflush()").isEqualTo(Va.State.LAZY);
        assertThat(s.lazy()).containsKey(base);
        assertThat(s.lazyNr()).isEqualTo(256);
    }

    // free_vmap_block(): the block's area goes lazy, so a new block cannot take it before a flush
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aRetiredBlockAreaIsNotReusedBeforeAFlush(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        k.unmapEach(k.mapEach(4, 64), 64);
        assertThat(k.map(1)).isEqualTo(block(1));
    }

    @Test
    void smallMapsUpToVmapMaxAllocUseBlocks() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        k.map(64);
        assertThat(k.state().blocks()).hasSize(1);
        k.map(65);
        assertThat(k.state().blocks()).as("65 pages is a large map").hasSize(1);
    }
}
