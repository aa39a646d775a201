// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Profile;

class GeneratorTest {

    static Hunter.Settings settings(Profile p, long seed) {
        return Hunter.Settings.programs(p, null, seed, 200, 1).ignoring(Property.knownBroken(p));
    }

    @Test
    void programIOfSeedSIsAlwaysTheSame() {
        for (long i : new long[] {0, 7, 150}) {
            Program a = Hunter.generate(settings(Profile.LINUX_6_12, 42), i).program();
            Program b = Hunter.generate(settings(Profile.LINUX_6_12, 42), i).program();
            assertThat(a).isEqualTo(b);
        }
        assertThat(Hunter.generate(settings(Profile.LINUX_6_12, 42), 3).program())
                .isNotEqualTo(Hunter.generate(settings(Profile.LINUX_6_12, 43), 3).program());
    }

    @Test
    void programsGrowFromTenCallsToMaxSteps() {
        assertThat(Hunter.generate(settings(Profile.LINUX_6_12, 5), 0).size()).isLessThanOrEqualTo(10);
        int longest = 0;
        for (long i = 100; i < 140; i++) {
            longest = Math.max(longest, Hunter.generate(settings(Profile.LINUX_6_12, 5), i).size());
        }
        assertThat(longest).isEqualTo(200);
    }

    @Test
    void countsAreBiasedAndCountZeroOnlyWhereTheContractHasIt() {
        for (Profile p : Profile.values()) {
            Set<Long> counts = new HashSet<>();
            boolean huge32 = false;
            for (long i = 0; i < 300; i++) {
                Program prog = Hunter.generate(settings(p, 9), i).program();
                for (Op op : prog.ops()) {
                    if (op instanceof Op.Map m) {
                        counts.add(m.count());
                        huge32 |= prog.config().bitsPerLong() == 32 && m.count() >= 1 << 20;
                    }
                }
            }
            assertThat(counts).as(p.id()).contains(1L, 2L, 3L, 5L, 32L, 33L, 63L, 64L, 65L, 256L, 257L, 1L << 20);
            assertThat(counts.stream().anyMatch(c -> c > 1 << 20)).isTrue();
            assertThat(huge32).as("no 2^20-page counts on 32-bit").isFalse();
            assertThat(counts.contains(0L)).as("count 0 on %s", p).isEqualTo(p.zeroCountReturnsNull());
        }
    }

    @Test
    void callsRunOnOnlineCpusOnly() {
        for (long i = 0; i < 200; i++) {
            Program prog = Hunter.generate(settings(Profile.LINUX_6_12, 13), i).program();
            KernelConfig c = prog.config();
            assertThat(c.onlineCpus()).containsAll(prog.cpusUsed());
        }
    }
}
