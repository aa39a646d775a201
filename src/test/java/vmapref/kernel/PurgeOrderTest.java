// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.END;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.pages;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The order in which a purge gives the lazily freed areas back to free_vmap_area_root: the tree's
 * shape (and so which luckily aligned range a later block search takes on its descent) depends on it.
 * 6.1: free_vmap_area_noflush() merged the areas into purge_vmap_area_root/purge_vmap_area_list, and
 * __purge_vmap_area_lazy() walks that list in address order, adjacent areas already one range.
 * 6.12 and 7.2: purge_vmap_node() moves each area with list_add(&va->list, &local_list), so
 * reclaim_list_global() inserts them in reverse address order, one by one.
 */
class PurgeOrderTest {

    /** Eight 100-page areas back to back from VMALLOC_START, then the ones at {@code freed} unmapped. */
    static KernelDriver eightThenUnmap(Profile p, int... freed) {
        KernelDriver k = KernelDriver.boot(p, 1);
        for (int i = 0; i < 8; i++) {
            assertThat(k.map(100)).isEqualTo(START + pages(100L * i));
        }
        for (int i : freed) {
            k.unmap(START + pages(100L * i), 100);
        }
        return k;
    }

    /** The kernel's tree after the same eight allocations, then {@code ranges} (area numbers [from, to)) freed in that order. */
    static FreeTree expected(int[]... ranges) {
        FreeTree t = FreeTree.boot(-1L);
        for (int i = 0; i < 8; i++) {
            assertThat(t.alloc(pages(100), pages(1), START, END, pages(1), false)).isEqualTo(START + pages(100L * i));
        }
        for (int[] r : ranges) {
            t.free(START + pages(100L * r[0]), START + pages(100L * r[1]));
        }
        return t;
    }

    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12", "LINUX_7_2"})
    void separateAreasGoBackInTheKernelsOrder(Profile p) {
        KernelDriver k = eightThenUnmap(p, 6, 1, 4, 2);
        k.aliases();
        FreeTree want = p == Profile.LINUX_6_1
                ? expected(new int[] {1, 3}, new int[] {4, 5}, new int[] {6, 7}) // address order, 1 and 2 merged
                : expected(new int[] {6, 7}, new int[] {4, 5}, new int[] {2, 3}, new int[] {1, 2}); // reverse
        assertThat(k.state().freeTree()).isEqualTo(want);
        assertThat(k.state().freeTree().check()).isNull();
    }

    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12", "LINUX_7_2"})
    void theOrderIsNotTheUnmapOrder(Profile p) {
        KernelDriver k = eightThenUnmap(p, 0, 2, 4, 6);
        KernelDriver l = eightThenUnmap(p, 6, 4, 2, 0);
        k.aliases();
        l.aliases();
        assertThat(k.state().freeTree()).isEqualTo(l.state().freeTree());
        FreeTree ascending = expected(new int[] {0, 1}, new int[] {2, 3}, new int[] {4, 5}, new int[] {6, 7});
        FreeTree descending = expected(new int[] {6, 7}, new int[] {4, 5}, new int[] {2, 3}, new int[] {0, 1});
        assertThat(ascending).as("the order shows in the shape").isNotEqualTo(descending);
        assertThat(k.state().freeTree()).isEqualTo(p == Profile.LINUX_6_1 ? ascending : descending);
    }
}
