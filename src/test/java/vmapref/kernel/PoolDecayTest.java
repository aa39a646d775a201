// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.pages;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The 6.9+ node pools under pressure (mm/vmalloc.c of 6.12.117 and 7.2.13): decay_va_pool_node() at
 * each __purge_vmap_area_lazy(), the full decay of reclaim_and_purge_vmap_areas() when
 * alloc_vmap_area() finds no room, and where the decayed areas land afterwards.
 */
class PoolDecayTest {

    /** 2 CPUs (2 vmap nodes) and a 4 MiB vmalloc range: 1023 usable pages. */
    static KernelDriver small(Profile p) {
        return KernelDriver.boot(new KernelConfig(p, 12, START, START + (4L << 20) - 1, 8192, 2, List.of(0, 1),
                List.of(0, 1), 64));
    }

    /** Four 100-page areas at [0, 400) pages, mapped and unmapped on CPU 0, purged into node 0's pool. */
    static KernelDriver fourPooled(Profile p) {
        KernelDriver k = small(p);
        long[] a = new long[4];
        for (int i = 0; i < 4; i++) {
            a[i] = k.map(0, 100);
            assertThat(a[i]).isEqualTo(START + pages(100L * i));
        }
        for (long x : a) {
            k.unmap(0, x, 100);
        }
        k.aliases(); // purge_vmap_node() -> node_pool_add_va(): all four pooled, the last purged at the head
        assertThat(k.state().pools()).hasSize(1);
        return k;
    }

    // alloc_vmap_area(): overflow -> reclaim_and_purge_vmap_areas() -> __purge_vmap_area_lazy(ULONG_MAX, 0, true)
    // -> decay_va_pool_node(vn, true): every pooled area goes back to the free tree before the retry
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void allocationFailureDecaysThePoolsFully(Profile p) {
        KernelDriver k = fourPooled(p);
        long b = k.map(1, 700); // [400, 1023) is 623 pages: no room until the pools decay
        assertThat(b).as("the lowest fit of the whole window").isEqualTo(START);
        assertThat(k.flushes()).as("nothing was lazy: no flush").isEmpty();
        assertThat(k.state().pools()).isEmpty();
    }

    // without the failure, a purge decays a quarter (len >> 2 = 1 of 4) from the pool's head: the newest,
    // the area at [300, 400); it merges with the free space above it
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void aPurgeDecaysOneOfFourFromTheHead(Profile p) {
        KernelDriver k = fourPooled(p);
        k.aliases();
        assertThat(k.state().areas().values()).extracting(Va::start)
                .containsExactly(START >>> 12, (START >>> 12) + 100, (START >>> 12) + 200);
        assertThat(k.map(1, 723)).as("[300, 1023) is free again").isEqualTo(START + pages(300));
    }

    // 6.12: decay_va_pool_node() as in 6.12.117: three left, n_decay = 3 >> 2 = 0, the loop empties the pool;
    // 7.2: len >> 2 = 0 and the pool stays
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void aPoolOfThreeEmptiesOn612AndStaysOn72(Profile p) {
        KernelDriver k = fourPooled(p);
        k.aliases();
        k.aliases();
        if (p.decayKeepsShortPools()) {
            assertThat(k.state().areas()).hasSize(3);
            assertThat(k.map(0, 100)).as("node 0's pool head").isEqualTo(START + pages(200));
        } else {
            assertThat(k.state().areas()).isEmpty();
            assertThat(k.map(1, 1023)).isEqualTo(START);
        }
    }

    // decay_va_pool_node() of every node: node 1's pool decays too
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void everyNodesPoolDecays(Profile p) {
        KernelDriver k = small(p);
        long[] a = new long[8];
        for (int i = 0; i < 8; i++) {
            a[i] = k.map(i % 2, 100);
        }
        for (int i = 0; i < 8; i++) {
            k.unmap(i % 2, a[i], 100);
        }
        k.aliases();
        assertThat(k.state().pools()).hasSize(2);
        k.aliases(); // one of four from each node's pool: the newest of each, at [600, 700) and [700, 800)
        assertThat(k.state().areas()).hasSize(6).doesNotContainKeys((START >>> 12) + 600, (START >>> 12) + 700);
        assertThat(k.map(0, 423)).isEqualTo(START + pages(600));
    }

    // purge_vmap_node(): areas above MAX_VA_SIZE_PAGES skip the pools and go back to the free tree at once
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_12", "LINUX_7_2"})
    void aFullDecayOnFailureAlsoSkipsThePoolsForTheLazyAreas(Profile p) {
        KernelDriver k = small(p);
        long a = k.map(0, 100);
        long b = k.map(0, 800);
        k.unmap(0, a, 100);
        k.unmap(0, b, 800);
        long c = k.map(1, 1000); // nothing free for 1000: purge with full decay, vn->skip_populate
        assertThat(c).isEqualTo(START);
        assertThat(k.flushes()).singleElement().isEqualTo(new Effect.Flush(a, b + pages(800), "reclaim_and_purge_vmap_areas"));
        assertThat(k.state().pools()).isEmpty();
    }
}
