// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;

/**
 * {@link Vmalloc.Step#touched()}: every area start whose entry a call changed, and the start page of
 * every block sub-allocation it added or removed, is listed (the incremental abstraction check reads
 * only these). Checked against the difference of the states before and after each call of a run that
 * maps, unmaps, retires blocks, purges and reuses pooled areas.
 */
class TouchedTest {

    static void assertTouchedCoversTheChange(KernelState before, Vmalloc.Step step) {
        KernelState after = step.state();
        Touched t = step.touched();
        Set<Long> areas = new HashSet<>();
        for (int i = 0; i < t.areaCount(); i++) {
            areas.add(t.area(i));
        }
        Set<Long> lives = new HashSet<>();
        for (int i = 0; i < t.liveStartCount(); i++) {
            lives.add(t.liveStart(i));
        }
        Set<Long> keys = new TreeSet<>(before.areas().keySet());
        keys.addAll(after.areas().keySet());
        for (long k : keys) {
            if (!Objects.equals(before.areas().get(k), after.areas().get(k))) {
                assertThat(areas).as("area at page %d changed", k).contains(k);
            }
        }
        Set<Long> bases = new TreeSet<>(before.blocks().keySet());
        bases.addAll(after.blocks().keySet());
        for (long base : bases) {
            PSortedMap<Integer, Long> lb = live(before.blocks().get(base));
            PSortedMap<Integer, Long> la = live(after.blocks().get(base));
            Set<Integer> offs = new TreeSet<>(lb.keySet());
            offs.addAll(la.keySet());
            for (int off : offs) {
                if (!Objects.equals(lb.get(off), la.get(off))) {
                    assertThat(lives).as("live entry at page %d of block %d changed", off, base).contains(base + off);
                }
            }
        }
        int bits = after.cfg().blockPages();
        for (long page : lives) { // every recorded entry lies inside a block of the state before or after
            long base = page - Math.floorMod(page, (long) bits);
            assertThat(before.blocks().containsKey(base) || after.blocks().containsKey(base))
                    .as("live start %d lies in a block", page).isTrue();
        }
    }

    static PSortedMap<Integer, Long> live(VmapBlock vb) {
        return vb == null ? TreePMap.empty() : vb.live();
    }

    static long step(KernelDriver k, Call call) {
        KernelState before = k.state();
        Vmalloc.Step st = k.step(call);
        assertTouchedCoversTheChange(before, st);
        return st.outcome() instanceof Outcome.Mapped m ? m.addr() : -1;
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void eachCallListsWhatItChanged(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 2);
        long[] small = new long[6];
        for (int i = 0; i < small.length; i++) {
            small[i] = step(k, new Call.Map(i % 2, i == 0 ? 64 : 1 + i));
        }
        long large = step(k, new Call.Map(1, 100));
        long large2 = step(k, new Call.Map(0, 300));
        for (int i = small.length - 1; i >= 0; i--) {
            step(k, new Call.Unmap(0, small[i], i == 0 ? 64 : 1 + i));
        }
        step(k, new Call.Unmap(1, large, 100));
        step(k, new Call.Aliases(0)); // purges the emptied blocks and the lazy area
        step(k, new Call.Map(1, 100)); // 6.12: node 1's pool
        long[] full = new long[4];
        for (int i = 0; i < 4; i++) {
            full[i] = step(k, new Call.Map(0, 64));
        }
        for (long a : full) {
            step(k, new Call.Unmap(1, a, 64)); // the last one retires the block
        }
        step(k, new Call.Unmap(0, large2, 300));
        step(k, new Call.Aliases(1));
        step(k, new Call.Aliases(0));
        assertThat(Map.copyOf(k.state().lazy())).isEmpty();
    }
}
