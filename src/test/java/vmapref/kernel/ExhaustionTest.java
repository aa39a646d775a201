// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * alloc_vmap_area()'s overflow path on a 4 MiB vmalloc range: one purge (reclaim_and_purge_vmap_areas() /
 * purge_vmap_area_lazy()), one retry, then a warning and NULL. VMALLOC_END is the last byte and
 * va_end <= VMALLOC_END, so only 1023 pages are usable: three blocks fit, a fourth does not.
 */
class ExhaustionTest {

    static KernelDriver small(Profile p) {
        return KernelDriver.boot(KernelDriver.smallRange(p, 4L << 20));
    }

    static String purgeBy(Profile p) {
        return p.hasVmapNodes() ? "reclaim_and_purge_vmap_areas" : "purge_vmap_area_lazy";
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void smallMapsRunOutAfterThreeBlocksAndTheStateStaysConsistent(Profile p) {
        KernelDriver k = small(p);
        List<Long> mapped = new ArrayList<>();
        while (true) {
            k.step(new Call.Map(0, 64));
            if (!(k.outcome() instanceof Outcome.Mapped m)) {
                break;
            }
            mapped.add(m.addr());
            assertThat(mapped).hasSizeLessThanOrEqualTo(12);
        }
        assertThat(k.outcome()).isInstanceOf(Outcome.Null.class);
        assertThat(mapped).hasSize(12).endsWith(block(2) + pages(192));
        assertThat(k.effects()).as("nothing lazy: no flush, only the warning").singleElement()
                .isInstanceOf(Effect.Warn.class);
        KernelInvariants.check(k.state());
        for (long a : mapped) {
            k.unmap(a, 64);
        }
        assertThat(k.state().blocks()).isEmpty();
        KernelInvariants.check(k.state());
        assertThat(k.map(64)).as("room again after the purge-and-retry").isEqualTo(START);
        KernelInvariants.check(k.state());
    }

    // alloc_vmap_area(): overflow -> if (!purged) { reclaim_and_purge_vmap_areas(); purged = 1; goto retry; }
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aMapThatFindsNoRoomPurgesAndRetries(Profile p) {
        KernelDriver k = small(p);
        long a = k.map(600);
        k.unmap(a, 600);
        long b = k.map(600);
        assertThat(b).isEqualTo(a);
        assertThat(k.last().before()).containsExactly(new Effect.Flush(a, a + pages(600), purgeBy(p)));
        KernelInvariants.check(k.state());
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void nullComesOnlyAfterThePurgeFlushedTheLazySpace(Profile p) {
        KernelDriver k = small(p);
        long a = k.map(600);
        k.unmap(a, 600);
        k.step(new Call.Map(0, 1024));
        assertThat(k.outcome()).isInstanceOf(Outcome.Null.class);
        assertThat(k.effects()).hasSize(2);
        assertThat(k.effects().get(0)).isEqualTo(new Effect.Flush(a, a + pages(600), purgeBy(p)));
        assertThat(k.effects().get(1)).isInstanceOf(Effect.Warn.class);
        assertThat(k.state().lazyNr()).isZero();
        KernelInvariants.check(k.state());
        assertThat(k.map(1023)).as("the whole usable window").isEqualTo(START);
    }

    // The top block is retired: the hole it leaves reaches up to VMALLOC_END, so it passes the size+align-1 test.
    // (A retired middle block leaves an exact 1 MiB hole, which 6.x finds only when it lies on the
    // descent of the free tree: see FreeTree and VmapAreas.findVmapLowestMatch.)
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aRetiredBlockIsReclaimedWhenANewBlockFindsNoRoom(Profile p) {
        KernelDriver k = small(p);
        k.mapEach(8, 64);
        k.unmapEach(k.mapEach(4, 64), 64); // block 2 retired, its area lazy
        assertThat(k.map(64)).isEqualTo(block(2));
        assertThat(k.effects()).containsExactly(new Effect.Flush(block(2), block(3), purgeBy(p)),
                new Effect.BlockCreated(0, block(2)));
        KernelInvariants.check(k.state());
    }

    // purge_fragmented_blocks_allcpus(): forced on the overflow path, whatever the free count
    @ParameterizedTest
    @EnumSource(Profile.class)
    void theOverflowPathPurgesAnEmptiedBlockWithFreePages(Profile p) {
        KernelDriver k = small(p);
        long one = k.map(1);
        k.unmap(one, 1);
        long rest = k.map(767);
        assertThat(rest).isEqualTo(block(1));
        assertThat(k.map(65)).isEqualTo(block(0));
        assertThat(k.effects()).first().isEqualTo(new Effect.BlockRetired(0, block(0), "purge_fragmented_block"));
        assertThat(k.effects()).contains(new Effect.Flush(block(0), block(1), purgeBy(p)));
        KernelInvariants.check(k.state());
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void aHugeCountOnASmallRangeIsNull(Profile p) {
        KernelDriver k = small(p);
        k.step(new Call.Map(0, KernelConfig.MAX_COUNT));
        assertThat(k.outcome()).isInstanceOf(Outcome.Null.class);
        KernelInvariants.check(k.state());
    }
}
