package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import vmapref.hunt.Invariants;

/**
 * Test helper: the accounting invariants of vmalloc-notes.md section 6 (items 3, 7 and 8) on a
 * model state, as the hunting engine checks them ({@link Invariants#state}).
 */
public final class KernelInvariants {
    private KernelInvariants() {
    }

    public static void check(KernelState s) {
        assertThat(s.crash()).isNull();
        assertThat(Invariants.state(s)).as("state invariants").isNull();
        for (VmapBlock vb : s.blocks().values()) {
            assertThat(vb.base() % s.cfg().blockPages()).as("blocks are naturally aligned").isZero();
        }
    }
}
