// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Profile;

class ProgramTest {

    static final KernelConfig CFG = KernelConfig.x86_64(Profile.LINUX_6_12, 2);

    @Test
    void anUnmapMustNameAnEarlierMap() {
        assertThatThrownBy(() -> new Program(CFG, List.of(new Op.Unmap(0, 0))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("#1 unmaps #1");
        assertThatThrownBy(() -> new Program(CFG, List.of(new Op.Aliases(0), new Op.Unmap(0, 0))))
                .hasMessageContaining("not an earlier map");
    }

    @Test
    void droppingAMapDropsItsUnmapsAndRenumbers() {
        Program p = new Program(CFG, List.of(
                new Op.Map(0, 1),      // #1
                new Op.Map(1, 2),      // #2
                new Op.Unmap(1, 0),    // #3 unmap(#1)
                new Op.Unmap(0, 1),    // #4 unmap(#2)
                new Op.Aliases(0)));   // #5
        Program q = p.without(List.of(0));
        assertThat(q.ops()).containsExactly(new Op.Map(1, 2), new Op.Unmap(0, 0), new Op.Aliases(0));
        assertThat(p.without(List.of(2, 4)).ops()).containsExactly(new Op.Map(0, 1), new Op.Map(1, 2), new Op.Unmap(0, 1));
    }

    @Test
    void listingNumbersFromOne() {
        Program p = new Program(CFG, List.of(new Op.Map(0, 64), new Op.Unmap(1, 0), new Op.Aliases(0)));
        assertThat(p.listing()).isEqualTo("1. cpu0 map(64)\n2. cpu1 unmap(#1)\n3. cpu0 vm_unmap_aliases()\n");
        assertThat(p.cpusUsed()).containsExactlyInAnyOrder(0, 1);
    }
}
