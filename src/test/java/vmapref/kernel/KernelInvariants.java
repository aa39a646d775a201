package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.pcollections.PVector;

/** Test helper: the accounting invariants of vmalloc-notes.md section 6 (items 3, 7 and 8) on a model state. */
public final class KernelInvariants {
    private KernelInvariants() {
    }

    public static void check(KernelState s) {
        KernelConfig cfg = s.cfg();
        int bits = cfg.blockPages();
        assertThat(s.crash()).isNull();
        long prevEnd = Long.MIN_VALUE;
        for (Va va : s.areas().values()) {
            assertThat(va.start()).as("areas are disjoint").isGreaterThanOrEqualTo(prevEnd);
            assertThat(va.start()).as("inside the window").isGreaterThanOrEqualTo(cfg.windowStartPage());
            assertThat(va.end()).as("inside the window").isLessThanOrEqualTo(cfg.windowEndPage());
            prevEnd = va.end();
        }
        for (VmapBlock vb : s.blocks().values()) {
            Va va = s.areas().get(vb.base());
            assertThat(va).as("block 0x%x has its area", s.addr(vb.base())).isNotNull();
            assertThat(va.kind()).isEqualTo(Va.Kind.BLOCK);
            assertThat(va.state()).isEqualTo(Va.State.BUSY);
            assertThat(va.pages()).isEqualTo(bits);
            assertThat(vb.base() % bits).as("blocks are naturally aligned").isZero();
            long live = 0;
            for (long count : vb.live().values()) {
                live += 1L << KernelConfig.getOrder(count);
            }
            assertThat(vb.free() + vb.dirty() + live).as("free + dirty + live == BITS").isEqualTo(bits);
            assertThat(vb.dirty()).as("a fully dirty block is freed").isLessThan(bits);
            assertThat(s.freeList(vb.cpu()).contains(vb.base())).as("on the free list iff free > 0")
                    .isEqualTo(vb.free() > 0);
        }
        for (Map.Entry<Integer, PVector<Long>> e : s.freeLists().entrySet()) {
            assertThat(new HashSet<>(e.getValue())).hasSameSizeAs(e.getValue());
            for (long base : e.getValue()) {
                assertThat(s.blocks().get(base).cpu()).isEqualTo(e.getKey());
            }
        }
        long lazyNr = 0;
        for (Va va : s.lazy().values()) {
            assertThat(s.areas().get(va.start())).isEqualTo(va);
            assertThat(va.state()).isEqualTo(Va.State.LAZY);
            lazyNr += va.pages();
        }
        assertThat(s.lazyNr()).as("vmap_lazy_nr").isEqualTo(lazyNr);
        Set<Long> pooled = new HashSet<>();
        for (PVector<Long> pool : s.pools().values()) {
            for (long start : pool) {
                assertThat(pooled.add(start)).as("in one pool once").isTrue();
                assertThat(s.areas().get(start).state()).isEqualTo(Va.State.POOLED);
            }
        }
        for (Va va : s.areas().values()) {
            if (va.state() == Va.State.POOLED) {
                assertThat(pooled).contains(va.start());
            }
            if (va.state() == Va.State.LAZY) {
                assertThat(s.lazy()).containsKey(va.start());
            }
            if (va.kind() == Va.Kind.BLOCK && va.state() == Va.State.BUSY) {
                assertThat(s.blocks()).containsKey(va.start());
            }
        }
    }
}
