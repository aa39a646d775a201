// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * In EXACT mode the free tree and {@link KernelState#areas()} describe the same address space: the
 * free ranges are exactly the gaps between the areas (plus [1, VMALLOC_START) and the rest up to
 * ULONG_MAX), after every call, whatever path returned areas to the tree.
 */
class FreeTreeModelTest {

    static String mismatch(KernelState s) {
        FreeTree t = s.freeTree();
        if (t == null) {
            return "no free tree";
        }
        String bad = t.check();
        if (bad != null) {
            return bad;
        }
        int shift = s.cfg().pageShift();
        long ulongMax = s.cfg().bitsPerLong() == 32 ? 0xffff_ffffL : -1L;
        List<long[]> expected = new ArrayList<>();
        long from = 1;
        for (Va va : s.areas().values()) {
            long a = va.start() << shift;
            if (Long.compareUnsigned(a, from) > 0) {
                expected.add(new long[] {from, a});
            }
            from = va.end() << shift;
        }
        if (Long.compareUnsigned(ulongMax, from) > 0) {
            expected.add(new long[] {from, ulongMax});
        }
        List<long[]> actual = t.ranges();
        if (actual.size() != expected.size()) {
            return "free tree has " + actual.size() + " ranges, the areas' gaps " + expected.size() + ": " + t;
        }
        for (int i = 0; i < actual.size(); i++) {
            if (actual.get(i)[0] != expected.get(i)[0] || actual.get(i)[1] != expected.get(i)[1]) {
                return "range " + i + " is 0x" + Long.toHexString(actual.get(i)[0]) + "-0x" + Long.toHexString(actual.get(i)[1])
                        + ", the gap is 0x" + Long.toHexString(expected.get(i)[0]) + "-0x" + Long.toHexString(expected.get(i)[1]);
            }
        }
        return null;
    }

    record Live(long addr, long count) {
    }

    @ParameterizedTest
    @CsvSource({"LINUX_6_1, 1, 1", "LINUX_6_1, 4, 2", "LINUX_6_12, 1, 3", "LINUX_6_12, 2, 4", "LINUX_6_12, 8, 5",
        "LINUX_6_12, 64, 6"})
    void theFreeTreeIsTheComplementOfTheAreasAfterEveryCall(Profile p, int cpus, long seed) {
        Random rnd = new Random(seed);
        long[] counts = {1, 2, 3, 8, 33, 64, 65, 100, 256, 300, 1000};
        KernelConfig cfg = KernelConfig.x86_64(p, cpus);
        KernelState s = KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT);
        assertThat(mismatch(s)).isNull();
        List<Live> live = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            int cpu = rnd.nextInt(cpus);
            int dice = rnd.nextInt(20);
            Call call;
            if (dice < 10 || live.isEmpty()) {
                call = new Call.Map(cpu, counts[rnd.nextInt(counts.length)]);
            } else if (dice < 19) {
                Live l = live.remove(rnd.nextInt(live.size()));
                call = new Call.Unmap(cpu, l.addr(), l.count());
            } else {
                call = new Call.Aliases(cpu);
            }
            Vmalloc.Step step = Vmalloc.step(s, call);
            s = step.state();
            if (step.outcome() instanceof Outcome.Mapped m) {
                live.add(new Live(m.addr(), ((Call.Map) call).count()));
            }
            assertThat(mismatch(s)).as("after call %d: %s", i, call).isNull();
        }
    }

    /** A state built by hand gets a free tree made of the gaps between its areas. */
    @ParameterizedTest
    @CsvSource({"LINUX_6_1", "LINUX_6_12"})
    void aHandBuiltStateGetsTheGapsAsItsFreeTree(Profile p) {
        KernelState s = KernelState.boot(KernelConfig.x86_64(p, 1), Set.of(), KernelState.Mode.EXACT);
        s = Vmalloc.step(s, new Call.Map(0, 100)).state();
        s = Vmalloc.step(s, new Call.Map(0, 1)).state();
        KernelState copy = new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(), s.areas(), s.lazy(),
                s.lazyNr(), s.pools(), s.cache(), s.crash());
        assertThat(mismatch(copy)).isNull();
        for (Map.Entry<Long, Va> e : s.areas().entrySet()) {
            assertThat(e.getValue().state()).isEqualTo(Va.State.BUSY);
        }
    }
}
