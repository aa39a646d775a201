// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import vmapref.check.Configs;
import vmapref.check.Refinement;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer.Level;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceWriter;

/** The model's own runs, written as exclusive traces, replay exactly; a changed address does not. */
class ExactReplayTest {

    /** A seeded run of the model on a small range (so it runs out and purges), written as a trace. */
    static Path record(Profile profile, int cpus, long seed, int steps, Path dir) throws Exception {
        KernelConfig base = KernelConfig.x86_64(profile, cpus);
        KernelConfig cfg = new KernelConfig(profile, 12, base.vmallocStart(), base.vmallocStart() + (48L << 20) - 1,
                base.nrCpus(), base.nrCpuIds(), base.possibleCpus(), base.onlineCpus(), 64);
        Refinement run = new Refinement(KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT), true, 1);
        SplittableRandom rnd = new SplittableRandom(seed);
        List<long[]> live = new ArrayList<>();
        Path out = dir.resolve(profile + "-" + cpus + "-" + seed + ".jsonl");
        try (TraceWriter w = TraceWriter.create(out)) {
            w.header(Configs.header(cfg));
            for (int i = 0; i < steps && run.state().crash() == null; i++) {
                int cpu = rnd.nextInt(cpus);
                int dice = rnd.nextInt(100);
                Call call;
                if (dice < 3) {
                    call = new Call.Aliases(cpu);
                } else if (dice < 50 && !live.isEmpty()) {
                    long[] m = live.remove(rnd.nextInt(live.size()));
                    call = new Call.Unmap(cpu, m[0], m[1]);
                } else {
                    long count = rnd.nextInt(10) == 0 ? 65 + rnd.nextInt(300) : 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 64);
                    call = new Call.Map(cpu, count);
                }
                Refinement.StepReport r = run.step(call);
                if (r.result().outcome() instanceof Outcome.Mapped m) {
                    live.add(new long[] {m.addr(), ((Call.Map) call).count()});
                }
                for (TraceEvent e : r.events()) {
                    w.event(e);
                }
            }
        }
        return out;
    }

    @ParameterizedTest(name = "{0} on {1} CPU(s), seed {2}")
    @CsvSource({"linux-6.12, 1, 1", "linux-6.12, 2, 2", "linux-6.12, 3, 3", "linux-6.1, 1, 4", "linux-6.1, 2, 5",
            "linux-4.8, 1, 6", "linux-4.8, 2, 7"})
    void theModelsOwnTraceReplaysAtEveryBehaviouralLevel(String profile, int cpus, long seed, @TempDir Path dir)
            throws Exception {
        Path trace = record(Profile.parse(profile), cpus, seed, 4000, dir);
        for (Level level : new Level[] {Level.EXACT, Level.STRUCTURE}) {
            Replayer.Verdict v = Replayer.replay(trace, level);
            assertThat(v.conforms()).as(v.line()).isTrue();
        }
        assertThat(Files.readString(trace)).contains("\"op\":\"flush\"");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"linux-6.12", "linux-6.1", "linux-4.8"})
    void aMovedAddressFailsExactReplay(String profile, @TempDir Path dir) throws Exception {
        Path trace = record(Profile.parse(profile), 1, 11, 400, dir);
        List<String> lines = Files.readAllLines(trace);
        int victim = -1;
        for (int i = lines.size() - 1; i > 0; i--) {
            if (lines.get(i).contains("\"op\":\"map\"") && lines.get(i).contains("\"count\":1,") && lines.get(i).contains("\"ret\":\"0x")) {
                victim = i;
                break;
            }
        }
        assertThat(victim).isPositive();
        String line = lines.get(victim);
        String ret = line.replaceAll(".*\"ret\":\"(0x[0-9a-f]+)\".*", "$1");
        long moved = Long.parseUnsignedLong(ret.substring(2), 16) + (1L << 30);
        lines.set(victim, line.replace(ret, "0x" + Long.toHexString(moved)));
        Files.write(trace, lines);
        Replayer.Verdict v = Replayer.replay(trace, Level.EXACT);
        assertThat(v.conforms()).isFalse();
        assertThat(v.divergence().line()).isEqualTo(victim + 1);
        assertThat(v.divergence().rule()).isEqualTo("block-offset");
    }
}
