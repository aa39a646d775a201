// SPDX-License-Identifier: GPL-2.0-only
package vmapref.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Vmalloc;
import vmapref.spec.Spec;
import vmapref.check.Configs;

/**
 * Cost of one call against the number of live mappings already held: a small map and its unmap
 * (the block cache's fast path), a large map and its unmap (alloc_vmap_area()'s search), and the
 * specification's check of an unmap. Every part of the state is persistent, the free tree
 * (FreeTree, the kernel's augmented rbtree) included, so a step costs O(log n); see
 * {@link ScaleBenchmark} for 10^2 to 10^6 live mappings and a fragmented address space.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class StepBenchmark {

    @Param({"1000", "10000", "100000"})
    int live;

    @Param({"linux-6.12"})
    String profile;

    KernelState state;
    Spec spec;
    long probe;

    @Setup
    public void fill() {
        KernelConfig cfg = KernelConfig.x86_64(Profile.parse(profile), 1);
        state = KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT);
        spec = Spec.initial(Configs.spec(cfg, true));
        List<Long> addrs = new ArrayList<>();
        for (int i = 0; i < live; i++) {
            Vmalloc.Step s = Vmalloc.step(state, new Call.Map(0, 1));
            state = s.state();
            long a = ((Outcome.Mapped) s.outcome()).addr();
            spec = spec.map(a, 1).next();
            addrs.add(a);
        }
        probe = addrs.get(addrs.size() / 2);
    }

    @Benchmark
    public KernelState smallMapThenUnmap() {
        Vmalloc.Step m = Vmalloc.step(state, new Call.Map(0, 4));
        long a = ((Outcome.Mapped) m.outcome()).addr();
        return Vmalloc.step(m.state(), new Call.Unmap(0, a, 4)).state();
    }

    @Benchmark
    public KernelState largeMapThenUnmap() {
        Vmalloc.Step m = Vmalloc.step(state, new Call.Map(0, 100));
        long a = ((Outcome.Mapped) m.outcome()).addr();
        return Vmalloc.step(m.state(), new Call.Unmap(0, a, 100)).state();
    }

    @Benchmark
    public Spec specUnmap() {
        return spec.unmap(probe, 1).next();
    }
}
