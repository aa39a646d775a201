// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import org.junit.jupiter.api.Test;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.modelcheck.Harness;

/**
 * The fast path's own checks fail when what they guard is broken: each is driven here on one thread
 * into the state a race would produce, so that a model checker reporting "pass" means something.
 */
class FastPathChecksTest {
    static FastVmalloc kernel(Profile p) {
        return new FastVmalloc(FastConfig.of(Harness.config(p), Set.of()), null);
    }

    @Test
    void aBlockFreedByKfreeRcuIsPoisonedOnlyAfterEveryReaderLeft() {
        FastVmalloc k = kernel(Profile.LINUX_6_12);
        Area va = new Area(0x1000, 128, true, -1, 0);
        Block vb = new Block(va, 128);
        k.rcu.readLock();
        k.rcu.kfreeRcu(vb);
        vb.live(); // a reader inside its read section still holds it
        k.rcu.readUnlock();
        assertThatThrownBy(vb::live).isInstanceOf(AssertionError.class).hasMessageContaining("use after free: vmap_block");
    }

    @Test
    void anAreaGivenBackToTheFreeTreeCannotBeReadThroughABlock() {
        Area va = new Area(0x1000, 128, true, -1, 0);
        va.poison();
        assertThatThrownBy(va::start).isInstanceOf(AssertionError.class).hasMessageContaining("use after free: vmap_area");
    }

    @Test
    void theAccountingCheckFailsOnABlockThatLostPages() {
        Block vb = new Block(new Area(0x1000, 128, true, -1, 0), 128);
        vb.free = 64;
        vb.usedPages = 32; // 32 pages unaccounted for
        vb.dirtyMin = 128;
        assertThatThrownBy(() -> vb.checkAccounting(128)).hasMessageContaining("!= VMAP_BBMAP_BITS 128");
        vb.usedPages = 64;
        vb.checkAccounting(128);
    }

    @Test
    void aRangeHandedOutTwiceOrStaleIsCaught() {
        FastVmalloc k = kernel(Profile.LINUX_6_12);
        long a = k.vmMapRam(0, 4);
        assertThatThrownBy(() -> k.tlb.map(a, 1)).hasMessageStartingWith("map-disjoint-live");
        k.vmUnmapRam(0, a, 4);
        assertThatThrownBy(() -> k.tlb.map(a + 4096, 1)).hasMessageStartingWith("map-not-stale");
        k.vmUnmapAliases(1);
        k.tlb.map(a + 4096, 1); // flushed: clean again
    }

    @Test
    void aliasesNoStaleFailsWhenAnUnmapThatReturnedEarlierIsNotFlushed() {
        FastVmalloc k = kernel(Profile.LINUX_6_12);
        long a = k.vmMapRam(0, 1);
        int ticket = k.tlb.unmap(a, 1);
        k.tlb.unmapReturned(ticket);
        long started = k.tlb.aliasesStart();
        assertThatThrownBy(() -> k.tlb.aliasesReturned(started)).hasMessageStartingWith("aliases-no-stale");
        long startedBefore = 0; // an unmap that returned after vm_unmap_aliases() started is not its business
        k.tlb.aliasesReturned(startedBefore);
    }

    @Test
    void theQuiescentCheckSeesALostListUpdate() {
        FastVmalloc k = kernel(Profile.LINUX_6_12);
        k.vmMapRam(0, 1);
        Block vb = k.vbq(0).free()[0];
        k.vbq(0).del(vb); // as if a concurrent list change was lost
        assertThatThrownBy(k::checkQuiescent).hasMessageContaining("not on its CPU's free list");
    }

    @Test
    void anUninitialisedCpuIndexIsAnOutOfBoundsAccess() {
        FastVmalloc k = new FastVmalloc(FastConfig.of(Harness.config(Profile.LINUX_6_12), Set.of(Mutant.PUBLISH_BEFORE_INIT)), null);
        assertThatThrownBy(() -> k.vbq(Block.UNSET_CPU)).hasMessageContaining("uninitialised vb->cpu");
    }

    @Test
    void concurrencyMutantsAreRefusedWhereTheyDoNotApplyAndSequentialOnesEverywhere() {
        KernelConfig c61 = Harness.config(Profile.LINUX_6_1);
        assertThatThrownBy(() -> FastConfig.of(c61, Set.of(Mutant.WRONG_VBQ_LOCK))).hasMessageContaining("does not apply");
        assertThatThrownBy(() -> FastConfig.of(c61, Set.of(Mutant.FLUSH_DIRTY_AGAIN))).hasMessageContaining("sequential");
        assertThat(FastConfig.of(c61, Set.of(Mutant.ALIASES_USE_AFTER_FREE))).isNotNull();
    }
}
