// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The steps a busy trace's replay takes on {@link KernelState.Mode#TRACE_GUIDED} states (mm/vmalloc.c
 * of 6.12.117): another task's vm_unmap_aliases() up to its flush ({@link Vmalloc#beginForeignAliases}),
 * the traced program's own with only the lazy areas its purge took ({@link Vmalloc#stepAliasesTaking}),
 * and a map while decay_va_pool_node() has the pools detached.
 */
class BusyAliasesTest {

    final TraceGuidedTest.Script script = new TraceGuidedTest.Script();
    KernelState s;

    void boot(KernelConfig cfg) {
        s = KernelState.boot(cfg, Set.of(), KernelState.Mode.TRACE_GUIDED);
    }

    void map(int cpu, long count, long at) {
        script.next.add(at);
        Vmalloc.Step st = Vmalloc.step(s, new Call.Map(cpu, count), script);
        assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(at));
        s = st.state();
    }

    void unmap(long addr, long count) {
        Vmalloc.Step st = Vmalloc.step(s, new Call.Unmap(0, addr, count), script);
        assertThat(st.outcome()).isEqualTo(new Outcome.Done());
        s = st.state();
    }

    Va area(long addr) {
        return s.areas().get(addr >>> 12);
    }

    /** 6.12 on 2 CPUs: a 100-page area of node 0 in its pool, and a 100-page area of node 1 at block 6 lazy. */
    void pooledAndLazy() {
        boot(KernelConfig.x86_64(Profile.LINUX_6_12, 2));
        map(0, 100, block(4));
        unmap(block(4), 100);
        s = Vmalloc.observeFlush(s, block(4), block(4) + pages(100), null);
        assertThat(area(block(4)).state()).isEqualTo(Va.State.POOLED);
        map(1, 100, block(6));
        unmap(block(6), 100);
        assertThat(area(block(6)).state()).isEqualTo(Va.State.LAZY);
    }

    // __purge_vmap_area_lazy() (L2306) decays every node's pools (decay_va_pool_node(), L2327) before it takes
    // the lazy list (list_replace_init(&vn->lazy.head, &vn->purge_list), L2334): a pool of one empties
    @Test
    void anotherTasksAliasesDecaysThePoolsThenTakesTheLazyList() {
        pooledAndLazy();
        Vmalloc.Begun b = Vmalloc.beginForeignAliases(s, new Call.Aliases(1));
        assertThat(b.state().pools()).isEmpty();
        assertThat(b.state().areas()).doesNotContainKey(block(4) >>> 12);
        assertThat(b.state().released()).containsKey(block(4) >>> 12);
        assertThat(b.taken()).extracting(Va::start).containsExactly(block(6) >>> 12);
        assertThat(b.state().lazy()).isEmpty();
    }

    @Test
    void anotherTasksAliasesOnACpuThatIsNotOnlineIsNotBegun() {
        boot(new KernelConfig(Profile.LINUX_6_12, 12, START, KernelDriver.END, 8192, 2, List.of(0, 1), List.of(0), 64));
        assertThat(Vmalloc.beginForeignAliases(s, new Call.Aliases(1))).isNull();
        assertThat(Vmalloc.beginForeignAliases(s, new Call.Aliases(0))).isNotNull();
    }

    // the program's _vm_unmap_aliases() purges the lazy list as it was when its purge took it: an area another
    // task freed after that stays lazy, for the next purge
    @Test
    void theProgramsAliasesPurgesOnlyTheLazyAreasItsPurgeTook() {
        boot(KernelConfig.x86_64(Profile.LINUX_6_12, 1));
        map(0, 100, block(4));
        map(0, 100, block(6));
        unmap(block(4), 100);
        unmap(block(6), 100);
        long four = block(4) >>> 12;
        Vmalloc.Step st = Vmalloc.stepAliasesTaking(s, new Call.Aliases(0), va -> va.start() == four);
        s = st.state();
        assertThat(s.lazy()).containsOnlyKeys(block(6) >>> 12);
        assertThat(area(block(6)).state()).isEqualTo(Va.State.LAZY);
        assertThat(area(block(4))).as("back in the free tree").isNull();
        assertThat(st.effects()).filteredOn(Effect.Flush.class::isInstance)
                .containsExactly(new Effect.Flush(block(4), block(4) + pages(100), "_vm_unmap_aliases"));
    }

    /** Places at the next scripted address while the pools are detached. */
    final class Detached implements Vmalloc.Placement {
        @Override
        public long place(Va.Kind kind, long pages, long alignPages) {
            return script.place(kind, pages, alignPages);
        }

        @Override
        public boolean poolDetached() {
            return true;
        }
    }

    // decay_va_pool_node() detaches a pool while it decays it (list_replace_init(&vn->pool[i].head, &tmp_list)):
    // node_alloc() on that node meanwhile finds it empty and takes the free tree's lowest fit; the pool stays
    @Test
    void aMapOnNodeZeroWhileItsPoolIsDetachedGoesToTheFreeTree() {
        pooledAndLazy();
        script.next.add(block(8));
        Vmalloc.Step st = Vmalloc.step(s, new Call.Map(0, 100), new Detached());
        assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(block(8)));
        assertThat(st.state().areas().get(block(4) >>> 12).state()).isEqualTo(Va.State.POOLED);
        assertThat(st.state().pools()).isEqualTo(s.pools());
    }

    // a retired block's area (VMAP_BLOCK_SIZE, 256 pages: the largest pooled size, MAX_VA_SIZE_PAGES) in node
    // 0's pool: a new block while the pool is detached lands elsewhere
    @Test
    void aNewBlockWhileThePoolOfBlocksIsDetachedGoesToTheFreeTree() {
        boot(KernelConfig.x86_64(Profile.LINUX_6_12, 2));
        script.next.add(block(10));
        for (int i = 0; i < 4; i++) {
            s = Vmalloc.step(s, new Call.Map(0, 64), script).state();
        }
        for (int i = 0; i < 4; i++) {
            unmap(block(10) + pages(64L * i), 64);
        }
        s = Vmalloc.observeFlush(s, block(10), block(11), null);
        assertThat(area(block(10)).state()).isEqualTo(Va.State.POOLED);
        script.next.add(block(12));
        Vmalloc.Step st = Vmalloc.step(s, new Call.Map(0, 1), new Detached());
        assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(block(12)));
        assertThat(st.state().areas().get(block(10) >>> 12).state()).isEqualTo(Va.State.POOLED);
    }
}
