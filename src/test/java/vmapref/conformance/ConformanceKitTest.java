// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;

class ConformanceKitTest {

    @TempDir
    Path dir;

    private ConformanceKit.Settings settings(String name) {
        return ConformanceKit.Settings.defaults(name).withOutputDir(dir).withPrograms(40);
    }

    @Test
    void theKitFailsAFirstFitAllocatorWithAShrunkListingAndATraceThatReplayFails() throws Exception {
        ConformanceKit kit = new ConformanceKit(settings("first-fit"), FirstFitVmap::new);
        ConformanceKit.Failure f = kit.run();

        assertThat(f).as("the kit must fail the first-fit allocator").isNotNull();
        assertThat(f.shrunk().size()).isLessThanOrEqualTo(f.original().size()).isLessThanOrEqualTo(8);
        assertThat(f.trace()).isEqualTo(dir.resolve("first-fit-1-" + f.index() + ".jsonl"));
        assertThat(f.trace()).exists();
        assertThat(f.message())
                .contains("first-fit does not conform to linux-6.12 at level spec")
                .contains("rule " + f.rule())
                .contains("1. cpu")
                .contains(f.listing())
                .contains("trace: " + f.trace());
        assertThat(f.listing().lines().count()).isEqualTo(f.shrunk().size());

        Replayer.Verdict v = Replayer.replay(f.trace(), Replayer.Level.SPEC);
        assertThat(v.conforms()).as(v.line()).isFalse();
        assertThat(v.divergence().rule()).isEqualTo(f.rule());
        assertThat(Files.readString(f.trace())).contains("# 1. cpu");

        System.out.println(f.message());
    }

    @Test
    void theFastPathConformsAtEveryLevel() {
        for (Replayer.Level level : Replayer.Level.values()) {
            ConformanceKit kit = new ConformanceKit(settings("fastpath").withLevel(level), FastVmallocAdapter::new);
            ConformanceKit.Failure f = kit.run();
            assertThat(f).as(() -> level + ": " + f.message()).isNull();
        }
    }

    @Test
    void theFastPathConformsToLinux61Too() {
        ConformanceKit kit = new ConformanceKit(settings("fastpath-6.1").withProfile(Profile.LINUX_6_1)
                .withLevel(Replayer.Level.EXACT), FastVmallocAdapter::new);
        ConformanceKit.Failure f = kit.run();
        assertThat(f).as(() -> f.message()).isNull();
    }

    @Test
    void programsAreTheSameForTheSameSeedAndIndex() {
        ConformanceKit a = new ConformanceKit(settings("a"), FastVmallocAdapter::new);
        ConformanceKit b = new ConformanceKit(settings("b"), FirstFitVmap::new);
        for (long i = 0; i < 5; i++) {
            assertThat(a.program(i)).isEqualTo(b.program(i));
        }
        assertThat(a.program(3)).isNotEqualTo(new ConformanceKit(settings("c").withSeed(2), FastVmallocAdapter::new).program(3));
    }
}
