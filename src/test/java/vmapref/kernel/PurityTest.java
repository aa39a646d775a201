// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pcollections.HashTreePMap;
import org.pcollections.PSortedMap;
import org.pcollections.PVector;
import org.pcollections.TreePMap;
import org.pcollections.TreePVector;

/** Vmalloc.step() is a pure function: the state passed in is never changed, whatever the call did. */
class PurityTest {

    /** A copy that shares no collection with the original. */
    static KernelState deepCopy(KernelState s) {
        PSortedMap<Long, VmapBlock> blocks = TreePMap.empty();
        for (VmapBlock vb : s.blocks().values()) {
            blocks = blocks.plus(vb.base(), new VmapBlock(vb.base(), vb.cpu(), vb.free(), vb.dirty(), vb.dirtyMin(),
                    vb.dirtyMax(), TreePMap.from(new HashMap<>(vb.live()))));
        }
        return new KernelState(s.cfg(), Set.copyOf(s.mutants()), s.mode(), blocks, copyLists(s.freeLists()),
                TreePMap.from(new HashMap<>(s.areas())), TreePMap.from(new HashMap<>(s.lazy())), s.lazyNr(),
                copyLists(s.pools()), s.cache(), s.crash(), s.freeTree() == null ? null : s.freeTree().copy());
    }

    static org.pcollections.PMap<Integer, PVector<Long>> copyLists(Map<Integer, PVector<Long>> m) {
        Map<Integer, PVector<Long>> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, TreePVector.from(new ArrayList<>(v))));
        return HashTreePMap.from(out);
    }

    /** Steps and checks that the old state is exactly what it was. */
    static Vmalloc.Step pureStep(KernelState s, Call call) {
        KernelState copy = deepCopy(s);
        String text = s.toString();
        Vmalloc.Step step = Vmalloc.step(s, call);
        assertThat(s).as("state before %s", call).isEqualTo(copy);
        assertThat(s.toString()).isEqualTo(text);
        return step;
    }

    record Live(long addr, long count) {
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void steppingNeverMutatesTheOldState(Profile p) {
        Random rnd = new Random(42);
        long[] counts = {1, 2, 3, 8, 33, 64, 65, 100, 256, 300};
        KernelState s = KernelState.boot(KernelConfig.x86_64(p, 2), Set.of(), KernelState.Mode.EXACT);
        List<Live> live = new ArrayList<>();
        for (int i = 0; i < 400; i++) {
            int cpu = rnd.nextInt(2);
            int dice = rnd.nextInt(20);
            Call call;
            if (dice < 9 || live.isEmpty()) {
                call = new Call.Map(cpu, counts[rnd.nextInt(counts.length)]);
            } else if (dice < 16) {
                Live l = live.remove(rnd.nextInt(live.size()));
                call = new Call.Unmap(cpu, l.addr(), l.count());
            } else if (dice < 18) {
                call = new Call.Aliases(cpu);
            } else {
                Live l = live.get(rnd.nextInt(live.size()));
                call = new Call.Unmap(cpu, l.addr(), l.count() + 1); // rejected
            }
            Vmalloc.Step step = pureStep(s, call);
            if (step.outcome() instanceof Outcome.Mapped m) {
                live.add(new Live(m.addr(), ((Call.Map) call).count()));
            } else {
                assertThat(step.outcome()).isNotInstanceOf(Outcome.Bug.class).isNotInstanceOf(Outcome.Null.class);
            }
            s = step.state();
            KernelInvariants.check(s);
        }
        Vmalloc.Step crash = pureStep(s, new Call.Unmap(0, 0, 1));
        assertThat(crash.outcome()).isInstanceOf(Outcome.Bug.class);
        assertThat(s.crash()).isNull();
    }
}
