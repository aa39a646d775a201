// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.guided;
import static vmapref.kernel.KernelDriver.mapAt;
import static vmapref.kernel.KernelDriver.pages;
import static vmapref.kernel.KernelDriver.purged;
import static vmapref.kernel.KernelDriver.told;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Vmalloc#takeEarlier}, {@link Vmalloc#markEarlier} and {@link Vmalloc#claimEarlier}: on a busy
 * kernel a vm_map_ram() runs vb_alloc() when it begins (mm/vmalloc.c, 7.2.13 L2887: pages_off =
 * VMAP_BBMAP_BITS - vb->free; vb->free -= 1UL << order) and is logged when it returns, so its pages may
 * be taken before calls logged earlier; the replayer marks them its own until its event comes.
 */
class EarlierCallsTest {

    KernelState s;

    @BeforeEach
    void aBlockWithEightPagesTaken() {
        s = guided(Profile.LINUX_7_2, 1);
        s = Vmalloc.stepForeign(s, new Call.Map(0, 8), told(block(4))).state();
    }

    VmapBlock vb() {
        return s.blocks().get(block(4) >>> 12);
    }

    @Test
    void aCallStillRunningTakesTheBlocksNextPagesAsItsOwn() {
        KernelState took = Vmalloc.takeEarlier(s, block(4) + pages(8), 16);
        assertThat(took).isNotNull();
        VmapBlock after = took.blocks().get(block(4) >>> 12);
        assertThat(after.free()).isEqualTo(vb().free() - 16);
        assertThat(after.live()).containsEntry(8, -16L); // no count yet: the pages of a call to come
        // its event: a count that rounds to 16 pages (order 4) makes them its mapping
        KernelState claimed = Vmalloc.claimEarlier(took, block(4) + pages(8), 13);
        assertThat(claimed.blocks().get(block(4) >>> 12).live()).containsEntry(8, 13L);
        assertThat(Vmalloc.claimEarlier(took, block(4) + pages(8), 4)).as("4 pages do not take 16").isNull();
        assertThat(Vmalloc.claimEarlier(took, block(4) + pages(8), 17)).as("17 take 32").isNull();
        assertThat(Vmalloc.claimEarlier(took, block(4) + pages(24), 16)).as("nothing taken there").isNull();
        assertThat(Vmalloc.claimEarlier(s, block(4), 8)).as("a mapping made, not pages taken").isNull();
        assertThat(Vmalloc.claimEarlier(took, block(9), 16)).as("no block there").isNull();
    }

    @Test
    void onlyTheBlocksNextFreePagesCanBeTaken() {
        assertThat(Vmalloc.takeEarlier(s, block(4) + pages(16), 8)).as("not where the free pages begin").isNull();
        assertThat(Vmalloc.takeEarlier(s, block(4), 8)).as("pages already mapped").isNull();
        assertThat(Vmalloc.takeEarlier(s, block(9), 8)).as("no block").isNull();
        int free = vb().free();
        assertThat(Vmalloc.takeEarlier(s, block(4) + pages(8), free + 1)).as("more than are free").isNull();
        // all of them: vb_alloc() takes the block off its CPU's free list (if (vb->free == 0) list_del_rcu())
        KernelState all = Vmalloc.takeEarlier(s, block(4) + pages(8), free);
        assertThat(all.blocks().get(block(4) >>> 12).free()).isZero();
        assertThat(all.freeList(0)).isEmpty();
        assertThat(s.freeList(0)).containsExactly(block(4) >>> 12);
    }

    @Test
    void aCallThatMadeTheBlockHasItsFirstPagesMarked() {
        KernelState marked = Vmalloc.markEarlier(s, block(4), 8);
        assertThat(marked.blocks().get(block(4) >>> 12).live()).containsEntry(0, -8L);
        assertThat(Vmalloc.claimEarlier(marked, block(4), 5)).isNotNull();
        assertThat(Vmalloc.markEarlier(s, block(4), 4)).as("the block's first mapping is 8 pages").isNull();
        assertThat(Vmalloc.markEarlier(s, block(9), 8)).as("no block").isNull();
    }

    // vb_alloc() hands out a block's pages in order, so another user's map inside a block no call made
    // came from a block older than the trace, unless the model knows that range is not one
    @Test
    void anotherUsersMapInsideARangeKnownFreeIsRefused() {
        KernelState fresh = s;
        long big = block(6); // a large vm_map_ram() there, unmapped and purged: its range is free again
        s = purged(mapAt(s, 0, 300, big), 0, big, 300);
        Vmalloc.Step inside = Vmalloc.stepForeign(s, new Call.Map(0, 16), told(big + pages(16)));
        assertThat(inside.outcome()).isInstanceOfSatisfying(Outcome.Rejected.class, r -> {
            assertThat(r.rule()).isEqualTo("block-offset");
            assertThat(r.message()).contains("page offset 16").contains("the area there is free");
        });
        // lazily freed, not yet purged: not a block either
        KernelState lazy = Vmalloc.step(mapAt(s, 0, 300, big), new Call.Unmap(0, big, 300)).state();
        assertThat(Vmalloc.stepForeign(lazy, new Call.Map(0, 16), told(big + pages(16))).outcome())
                .isInstanceOfSatisfying(Outcome.Rejected.class, r -> assertThat(r.message()).contains("lazy"));
        // a free range that ends where a block begins says nothing of that block
        KernelState upTo = purged(mapAt(fresh, 0, 256, block(10)), 0, block(10), 256);
        assertThat(upTo.released()).containsEntry(block(10) >>> 12, block(11) >>> 12);
        assertThat(Vmalloc.stepForeign(upTo, new Call.Map(0, 16), told(block(11) + pages(16))).outcome())
                .isInstanceOf(Outcome.Done.class);
        // another user's busy area there (a busy line): that may be the older block
        KernelState held = Vmalloc.reserve(fresh, block(12), block(13));
        assertThat(Vmalloc.stepForeign(held, new Call.Map(0, 16), told(block(12) + pages(16))).outcome())
                .isInstanceOf(Outcome.Done.class);
        // block 8 lies past the free range: a block there may be older than the trace
        assertThat(Vmalloc.stepForeign(s, new Call.Map(0, 16), told(block(8) + pages(16))).outcome())
                .isInstanceOf(Outcome.Done.class);
    }

    // node pools (6.9+, two CPUs): an area a purge put in its node's pool is in no free tree, nor a block
    @Test
    void anotherUsersMapInsideAPooledAreaIsRefused() {
        long area = block(4);
        KernelState t = purged(mapAt(guided(Profile.LINUX_7_2, 2), 0, 100, area), 0, area, 100);
        assertThat(t.areas().get(area >>> 12).state()).isEqualTo(Va.State.POOLED);
        assertThat(t.released()).isEmpty();
        assertThat(Vmalloc.stepForeign(t, new Call.Map(0, 16), told(area + pages(16))).outcome())
                .isInstanceOfSatisfying(Outcome.Rejected.class, r -> assertThat(r.message()).contains("pooled"));
    }
}
