// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import vmapref.check.Configs;
import vmapref.spec.Rule;
import vmapref.spec.Spec;

/**
 * On a 32-bit kernel vm_map_ram()'s size, (unsigned long)count << PAGE_SHIFT, wraps for counts of
 * 2^20 pages and more, even after the 2016 fix (mm/vmalloc.c: vm_map_ram(), 6.1 and 6.12 alike).
 * Such a count breaks the caller's contract: the model refuses it instead of mapping the wrapped size.
 */
class ThirtyTwoBitCountTest {

    static final KernelConfig CFG32 = new KernelConfig(Profile.LINUX_6_12, 12, 0xf8000000L, 0xffffe000L, 8, 1,
            List.of(0), List.of(0), 32);

    @Test
    void aCountWhoseSizeWrapsIsRefusedAndTheStateKept() {
        KernelState s = KernelState.boot(CFG32, Set.of(), KernelState.Mode.EXACT);
        Vmalloc.Step step = Vmalloc.step(s, new Call.Map(0, (1L << 20) + 1));
        assertThat(step.outcome()).isInstanceOfSatisfying(Outcome.Rejected.class,
                r -> assertThat(r.rule()).isEqualTo("map-count-fits"));
        assertThat(step.state()).isSameAs(s);
    }

    @Test
    void theLargestCountThatFitsIsServedOrRefusedForRoomOnly() {
        KernelState s = KernelState.boot(CFG32, Set.of(), KernelState.Mode.EXACT);
        Vmalloc.Step step = Vmalloc.step(s, new Call.Map(0, (1L << 20) - 1));
        assertThat(step.outcome()).isInstanceOf(Outcome.Null.class); // 4 GiB - 4 KiB: no room in 128 MiB
    }

    @Test
    void theSpecificationCallsSuchACountOutOfContract() {
        Spec spec = Spec.initial(Configs.spec(CFG32, true));
        assertThat(spec.mapInContract((1L << 20) - 1)).isTrue();
        assertThat(spec.mapInContract(1L << 20)).isFalse();
        assertThat(spec.map(0xf8000000L, 1L << 20).violation().rule()).isEqualTo(Rule.MAP_COUNT_FITS);
        Spec spec64 = Spec.initial(Configs.spec(KernelConfig.x86_64(Profile.LINUX_6_12, 1), true));
        assertThat(spec64.mapInContract(0xffffffffL)).isTrue();
    }
}
