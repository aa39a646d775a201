// SPDX-License-Identifier: GPL-2.0-only
package vmapref.properties;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vmapref.hunt.Hunter;
import vmapref.hunt.Property;
import vmapref.hunt.Report;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * The long searches (mvn -Plong test, a few minutes): plain linux-6.12 survives millions of calls,
 * on every configuration family and on Debian's x86_64 alone; linux-4.8 and linux-6.1 break nothing
 * but their known-broken properties; every mutant is caught from ten more seeds, not just the one
 * {@link MutantsTest} pins.
 */
@Tag("long")
class LongHuntTest {

    /** Programs enough for about 9 million calls (about 150 calls a program on average). */
    static final long PROGRAMS = 60_000;

    @Test
    void linux612SurvivesMillionsOfCalls() {
        Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(Profile.LINUX_6_12, null, 20240601, 200, PROGRAMS));
        assertThat(r.found()).as(() -> Report.listing(r.found().shrunk())).isNull();
        assertThat(r.calls()).isGreaterThan(8_000_000);
    }

    @Test
    void linux612SurvivesOnDebianConfigurations() {
        Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(Profile.LINUX_6_12, null, 7, 200, PROGRAMS / 4)
                .withConfigs(vmapref.hunt.Generator.Configs.X86_64));
        assertThat(r.found()).as(() -> Report.listing(r.found().shrunk())).isNull();
        assertThat(r.calls()).isGreaterThan(2_000_000);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Profile.class, names = {"LINUX_4_8", "LINUX_6_1"})
    void olderProfilesBreakOnlyWhatIsKnown(Profile p) {
        Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(p, null, 20240601, 200, PROGRAMS / 3)
                .ignoring(Property.knownBroken(p)));
        assertThat(r.found()).as(() -> Report.listing(r.found().shrunk())).isNull();
        assertThat(r.calls()).isGreaterThan(2_500_000);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(Mutant.class)
    void everyMutantFromTenSeeds(Mutant m) {
        for (long seed = 100; seed < 110; seed++) {
            Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(Profile.LINUX_6_12, m, seed, 200, 500));
            assertThat(r.found()).as("%s, seed %d", m, seed).isNotNull();
            assertThat(r.found().failure().level()).isNotEqualTo(vmapref.hunt.Failure.Level.MODEL);
            assertThat(r.found().shrunk().size()).as(Report.listing(r.found().shrunk())).isLessThanOrEqualTo(12);
        }
    }
}
