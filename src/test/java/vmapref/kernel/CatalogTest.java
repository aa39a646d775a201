// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The names the command line and the traces use for profiles and mutants, and what each mutant is. */
class CatalogTest {

    @Test
    void profilesAreNamedByTheirIds() {
        for (Profile p : Profile.values()) {
            assertThat(Profile.parse(p.id())).isSameAs(p);
            assertThat(p).hasToString(p.id());
            assertThat(Profile.known()).contains(p.id());
        }
        assertThat(Profile.LINUX_6_12.id()).isEqualTo("linux-6.12");
        assertThatThrownBy(() -> Profile.parse("linux-5.0")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("linux-4.8, linux-6.1, linux-6.12, linux-7.2");
    }

    @Test
    void mutantsAreNamedByTheirIdsAndSayWhatTheyRevert() {
        for (Mutant m : Mutant.values()) {
            assertThat(Mutant.parse(m.id())).isSameAs(m);
            assertThat(m).hasToString(m.id());
            assertThat(m.fix()).isNotBlank();
            assertThat(m.breaks()).isNotBlank();
        }
        assertThat(Mutant.FLUSH_DIRTY_AGAIN.id()).isEqualTo("flush-dirty-again");
        assertThat(Mutant.FLUSH_DIRTY_AGAIN.fix()).startsWith("a09fad96ffb1");
        assertThatThrownBy(() -> Mutant.parse("no-such-bug")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("flush-dirty-again");
    }

    // the concurrency mutants switch the fast path of the kernels whose code has the raced lines
    @Test
    void concurrencyMutantsApplyToTheirKernelsOnly() {
        assertThat(Arrays.stream(Mutant.values()).filter(Mutant::concurrent))
                .containsExactlyInAnyOrder(Mutant.WRONG_VBQ_LOCK, Mutant.PUBLISH_BEFORE_INIT,
                        Mutant.ALIASES_USE_AFTER_FREE, Mutant.UNLOCKED_FREE_CHECK);
        assertThat(Mutant.ALIASES_USE_AFTER_FREE.appliesTo(Profile.LINUX_6_1)).isTrue();
        assertThat(Mutant.ALIASES_USE_AFTER_FREE.appliesTo(Profile.LINUX_7_2)).isTrue();
        assertThat(Mutant.ALIASES_USE_AFTER_FREE.appliesTo(Profile.LINUX_4_8)).isFalse();
        assertThat(Mutant.WRONG_VBQ_LOCK.appliesTo(Profile.LINUX_6_1)).isFalse();
        assertThat(Mutant.FLUSH_DIRTY_AGAIN.appliesTo(Profile.LINUX_6_12)).as("a sequential mutant").isFalse();
    }
}
