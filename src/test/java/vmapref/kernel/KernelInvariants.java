// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import vmapref.hunt.Invariants;

/**
 * Test helper: the accounting invariants of mm/vmalloc.c's vmap blocks and areas on a
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
