// SPDX-License-Identifier: GPL-2.0-only
package vmapref.explore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;
import vmapref.spec.Rule;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceReader;
import vmapref.trace.TraceWriter;

/** The exploration: its workload, its verdicts per profile, and the trace it writes. */
class ExplorerTest {

    static Explorer.Options opts(Profile p, int cpus, long steps, long seed) {
        return Explorer.Options.defaults().with(p, cpus, steps, seed);
    }

    @Test
    void workloadStaysInContractAndBounded() {
        KernelConfig cfg = KernelConfig.x86_64(Profile.LINUX_6_12, 3);
        Workload w = new Workload(cfg, 42, 1000);
        Map<Long, Long> live = new HashMap<>();
        long counter = 0x1000;
        int maps = 0;
        int large = 0;
        int aliases = 0;
        int unmaps = 0;
        int cross = 0;
        for (int i = 0; i < 20_000; i++) {
            Call c = w.next();
            assertThat(cfg.isOnline(c.cpu())).isTrue();
            if (c instanceof Call.Map m) {
                assertThat(m.count()).isBetween(1L, 512L);
                maps++;
                large += m.count() > 64 ? 1 : 0;
                long addr = counter;
                counter += m.count() << 12;
                live.put(addr, m.count());
                w.mapped(m, new Outcome.Mapped(addr));
            } else if (c instanceof Call.Unmap u) {
                assertThat(live.remove(u.addr())).isEqualTo(u.count());
                unmaps++;
                cross += w.lastUnmapCrossCpu() ? 1 : 0;
            } else {
                aliases++;
            }
            assertThat(w.livePages()).isLessThanOrEqualTo(1000).isEqualTo(live.values().stream().mapToLong(x -> x).sum());
            assertThat(w.liveCount()).isEqualTo(live.size());
        }
        assertThat(maps).isGreaterThan(8000);
        assertThat(unmaps).isGreaterThan(8000);
        assertThat(large).isGreaterThan(100);
        assertThat(aliases).isBetween(300, 700);
        assertThat(cross).isGreaterThan(unmaps / 2);
    }

    @Test
    void sameSeedSameRun() {
        Explorer.Result a = Explorer.run(opts(Profile.LINUX_6_12, 2, 4000, 9));
        Explorer.Result b = Explorer.run(opts(Profile.LINUX_6_12, 2, 4000, 9));
        Explorer.Result c = Explorer.run(opts(Profile.LINUX_6_12, 2, 4000, 10));
        assertThat(List.of(a.smallMaps(), a.largeMaps(), a.unmaps(), a.blocksCreated(), a.heldPages()))
                .isEqualTo(List.of(b.smallMaps(), b.largeMaps(), b.unmaps(), b.blocksCreated(), b.heldPages()))
                .isNotEqualTo(List.of(c.smallMaps(), c.largeMaps(), c.unmaps(), c.blocksCreated(), c.heldPages()));
    }

    @Test
    void linux612FindsNothingAndExercisesTheBlockCache() {
        for (int cpus : new int[] {1, 2, 4}) {
            Explorer.Result r = Explorer.run(opts(Profile.LINUX_6_12, cpus, 8000, cpus));
            assertThat(r.violated()).as(cpus + " CPUs: " + r.violation()).isFalse();
            assertThat(r.steps()).isEqualTo(8000);
            assertThat(r.nullReturns()).isZero();
            assertThat(r.blocksCreated()).isGreaterThan(100);
            assertThat(r.blocksRetired()).isGreaterThan(100);
            assertThat(r.largeMaps()).isPositive();
            assertThat(r.aliases()).isPositive();
            assertThat(r.peakLivePages()).isLessThanOrEqualTo(Workload.DEFAULT_MAX_LIVE_PAGES);
            if (cpus > 1) {
                assertThat(r.crossCpuUnmaps()).isPositive();
            }
        }
    }

    @Test
    void linux61FindsTheStaleTlbOfFullBlocks() {
        Explorer.Result r = Explorer.run(opts(Profile.LINUX_6_1, 2, 100_000, 1));
        assertThat(r.violated()).isTrue();
        Explorer.Found f = r.violation();
        assertThat(f.violation().rule()).isEqualTo(Rule.ALIASES_NO_STALE);
        assertThat(f.call().call()).isInstanceOf(Call.Aliases.class);
        assertThat(f.call().step()).isEqualTo(r.steps()).isLessThan(1000);
        assertThat(f.before()).hasSize(Explorer.HISTORY);
        assertThat(f.before().get(Explorer.HISTORY - 1).step()).isEqualTo(f.call().step() - 1);
        assertThat(f.traceLine()).isZero(); // no trace written
    }

    @Test
    void linux48HasTheSameStaleTlb() {
        Explorer.Result r = Explorer.run(opts(Profile.LINUX_4_8, 2, 100_000, 1));
        assertThat(r.violated()).isTrue();
        assertThat(r.violation().violation().rule()).isEqualTo(Rule.ALIASES_NO_STALE);
    }

    @Test
    void withoutAliasesOlderProfilesFindNothing() {
        for (Profile p : List.of(Profile.LINUX_4_8, Profile.LINUX_6_1)) {
            Explorer.Result r = Explorer.run(opts(p, 2, 6000, 4).withAliasesPerMille(0));
            assertThat(r.violated()).as(p + ": " + r.violation()).isFalse();
            assertThat(r.aliases()).isZero();
        }
    }

    @Test
    void periodicFullChecksReportTheSameStep() {
        for (long seed = 1; seed <= 4; seed++) {
            Explorer.Options o = opts(Profile.LINUX_6_1, 2, 5000, seed);
            Explorer.Result every = Explorer.run(o.withFullCheckEvery(1));
            Explorer.Result sparse = Explorer.run(o.withFullCheckEvery(64));
            assertThat(sparse.steps()).isEqualTo(every.steps());
            assertThat(sparse.violated()).isEqualTo(every.violated());
            if (every.violated()) {
                assertThat(sparse.violation().call()).isEqualTo(every.violation().call());
                assertThat(sparse.violation().violation()).isEqualTo(every.violation().violation());
            }
        }
    }

    /** The full abstraction check after every step cross-checks the incremental one: a miss would throw. */
    @Test
    void theIncrementalCheckAgreesWithTheFullOneAfterEveryStep() {
        for (Profile p : Profile.values()) {
            Explorer.Options o = opts(p, p == Profile.LINUX_6_12 ? 4 : 2, 6000, 7).withFullCheckEvery(1);
            Explorer.Result every = Explorer.run(o);
            Explorer.Result incremental = Explorer.run(opts(p, o.cpus(), 6000, 7));
            assertThat(incremental.steps()).as(p.id()).isEqualTo(every.steps());
            assertThat(incremental.violated()).as(p.id()).isEqualTo(every.violated());
        }
    }

    @Test
    void traceHoldsEveryStepUpToTheViolation() throws Exception {
        StringWriter text = new StringWriter();
        Explorer.Result r;
        try (TraceWriter w = new TraceWriter(text)) {
            r = Explorer.run(opts(Profile.LINUX_6_1, 2, 100_000, 2), w);
        }
        assertThat(r.violated()).isTrue();
        List<TraceEvent> calls = new ArrayList<>();
        try (TraceReader in = TraceReader.of("t", new StringReader(text.toString()))) {
            assertThat(in.header().exclusive()).isTrue();
            assertThat(in.header().flushes()).isTrue();
            assertThat(in.header().source()).isEqualTo(r.options().commandLine());
            for (TraceEvent e; (e = in.next()) != null; ) {
                if (e.isCall()) {
                    calls.add(e);
                }
            }
        }
        assertThat(calls).hasSize((int) r.steps());
        assertThat(calls.get(calls.size() - 1).line()).isEqualTo(r.violation().traceLine());
        assertThat(text.toString().lines().count()).isEqualTo(r.traceLines());
        for (Replayer.Level level : Replayer.Level.values()) {
            Replayer.Verdict v = Replayer.replay("t", TraceReader.of("t", new StringReader(text.toString())), level);
            if (level == Replayer.Level.SPEC) {
                assertThat(v.conforms()).isFalse();
                assertThat(v.divergence().line()).isEqualTo(r.violation().traceLine());
                assertThat(v.divergence().rule()).isEqualTo("aliases-no-stale");
            } else {
                assertThat(v.conforms()).as(level + ": " + v.line()).isTrue();
            }
        }
    }

    @Test
    void optionsAreChecked() {
        Explorer.Options d = Explorer.Options.defaults();
        assertThat(d.profile()).isEqualTo(Profile.LINUX_6_12);
        assertThat(d.cpus()).isEqualTo(2);
        assertThat(d.steps()).isEqualTo(100_000);
        assertThat(d.seed()).isEqualTo(1);
        assertThatThrownBy(() -> d.with(Profile.LINUX_6_12, 0, 1, 1)).hasMessageContaining("--cpus");
        assertThatThrownBy(() -> d.with(Profile.LINUX_6_12, 65, 1, 1)).hasMessageContaining("--cpus");
        assertThatThrownBy(() -> d.with(Profile.LINUX_6_12, 2, 0, 1)).hasMessageContaining("--steps");
        assertThatThrownBy(() -> d.withFullCheckEvery(0)).hasMessageContaining("--full-check-every");
        assertThatThrownBy(() -> d.with(null, 2, 1, 1)).hasMessageContaining("linux-6.12");
    }
}
