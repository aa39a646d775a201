// SPDX-License-Identifier: GPL-2.0-only
package vmapref.properties;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vmapref.hunt.Failure;
import vmapref.hunt.Hunter;
import vmapref.hunt.Property;
import vmapref.hunt.Report;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;

/**
 * The properties real kernel profiles are known to break are found, not just tolerated.
 *
 * <p>aliases-no-stale: linux-4.8 and Debian's linux-6.1 lack fc1e0d980037, so vm_unmap_aliases()
 * walks only the free lists and returns with the unmapped pages of a fully used block still in the
 * TLB (the bug seen on the real Debian 6.1.192 kernel, trace linux-6.1/stale-smp1). linux-6.12 has
 * the fix. null-only-when-full: linux-4.8's free_vmap_cache search returns NULL with an aligned
 * block's room left below the cache.
 */
class KnownBrokenTest {

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = Profile.class, names = {"LINUX_4_8", "LINUX_6_1"})
    void staleTlbAfterAliasesIsFound(Profile p, @TempDir Path dir) throws Exception {
        assertThat(Property.knownBroken(p)).contains("aliases-no-stale");
        Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(p, null, 1, 200, 100));
        assertThat(r.found()).isNotNull();
        Hunter.Found f = r.found();
        assertThat(f.failure().kind()).isEqualTo("aliases-no-stale");
        assertThat(f.failure().level()).isEqualTo(Failure.Level.SPEC);
        assertThat(f.programsTried()).isLessThanOrEqualTo(19);
        assertThat(f.shrunk().size()).as(Report.listing(f.shrunk())).isLessThanOrEqualTo(4);
        Path trace = dir.resolve("stale.jsonl");
        Report.writeTrace(f.shrunk(), trace, Report.note(r.settings(), f.index()));
        Replayer.Verdict v = Replayer.replay(trace, Replayer.Level.SPEC);
        assertThat(v.conforms()).isFalse();
        assertThat(v.divergence().rule()).isEqualTo("aliases-no-stale");
        // the model does exactly what the profile does: the trace passes exact
        assertThat(Replayer.replay(trace, Replayer.Level.EXACT).conforms()).isTrue();
    }

    @Test
    void linux48ReturnsNullWithRoomLeft() {
        Set<String> aliases = Set.of("aliases-no-stale");
        // rare: seed 1 finds none in 3000 programs; seed 2 at program 95
        Hunter.Result r = Hunter.hunt(Hunter.Settings.programs(Profile.LINUX_4_8, null, 2, 200, 200).ignoring(aliases));
        assertThat(r.found()).isNotNull();
        Hunter.Found f = r.found();
        assertThat(f.failure().kind()).isEqualTo("null-only-when-full");
        assertThat(f.failure().level()).isEqualTo(Failure.Level.MODEL);
        assertThat(f.programsTried()).isLessThanOrEqualTo(96);
        assertThat(f.shrunk().size()).as(Report.listing(f.shrunk())).isLessThanOrEqualTo(7);
        var last = f.shrunk().steps().get(f.shrunk().size() - 1);
        assertThat(last.result().outcome()).isInstanceOf(Outcome.Null.class);
    }

    @Test
    void linux612BreaksNeither() {
        assertThat(Property.knownBroken(Profile.LINUX_6_12)).isEmpty();
        assertThat(Property.knownBroken(Profile.LINUX_7_2)).isEmpty();
        assertThat(Property.knownBroken(Profile.LINUX_6_1)).containsExactly("aliases-no-stale");
        assertThat(Property.knownBroken(Profile.LINUX_4_8)).containsExactlyInAnyOrder("aliases-no-stale",
                "null-only-when-full");
    }
}
