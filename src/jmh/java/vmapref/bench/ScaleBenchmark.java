// SPDX-License-Identifier: GPL-2.0-only
package vmapref.bench;

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
import vmapref.check.Configs;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Vmalloc;
import vmapref.spec.Spec;

/**
 * The cost of one call (a map and its unmap, small: 4 pages, from a vmap block; large: 100 pages,
 * alloc_vmap_area()'s search of the free tree and a lazy free) against the size of the state it
 * starts from, on linux-6.12 with one CPU. Shapes of that state:
 * <ul>
 * <li>{@code small}: {@code live} 1-page mappings (blocks of 256 pages, a few free ranges);
 * <li>{@code large}: {@code live} 65-page areas side by side (a few free ranges);
 * <li>{@code fragmented}: {@code live} 65-page areas with a 65-page hole after each, given back to
 *     the free tree: {@code live} free ranges (a fragmented address space), too small for 100 pages.
 * </ul>
 * The state is persistent, so every invocation starts from the same one. {@code spec*} is the
 * specification's check of the same calls. Growth from 10^2 to 10^6 should be logarithmic.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime) // percentiles: the median stays put on a shared machine
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgs = {"-Xmx6g"})
public class ScaleBenchmark {

    @Param({"100", "10000", "1000000"})
    int live;

    @Param({"small", "large", "fragmented"})
    String shape;

    KernelState state;
    Spec spec;

    @Setup
    public void fill() {
        KernelConfig cfg = KernelConfig.x86_64(Profile.LINUX_6_12, 1);
        state = KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT);
        spec = Spec.initial(Configs.spec(cfg, true));
        long pages = shape.equals("small") ? 1 : 65;
        boolean holes = shape.equals("fragmented");
        long[] addrs = new long[holes ? 2 * live : live];
        for (int i = 0; i < addrs.length; i++) {
            addrs[i] = map(pages);
        }
        for (int i = 1; holes && i < addrs.length; i += 2) { // every other one goes, lazily, then back to the tree
            state = Vmalloc.step(state, new Call.Unmap(0, addrs[i], pages)).state();
            spec = spec.unmap(addrs[i], pages).next();
        }
        Vmalloc.Step purge = Vmalloc.step(state, new Call.Aliases(0)); // nothing lazy left: the holes are free
        state = purge.state();
        spec = spec.flush(0, -1L).next();
        small = ((Outcome.Mapped) Vmalloc.step(state, new Call.Map(0, 4)).outcome()).addr();
        if (shape.equals("fragmented") && state.freeTree().size() < live) {
            throw new IllegalStateException("only " + state.freeTree().size() + " free ranges");
        }
    }

    private long map(long pages) {
        Vmalloc.Step s = Vmalloc.step(state, new Call.Map(0, pages));
        state = s.state();
        long a = ((Outcome.Mapped) s.outcome()).addr();
        spec = spec.map(a, pages).next();
        return a;
    }

    private KernelState mapThenUnmap(long pages) {
        Vmalloc.Step m = Vmalloc.step(state, new Call.Map(0, pages));
        long a = ((Outcome.Mapped) m.outcome()).addr();
        return Vmalloc.step(m.state(), new Call.Unmap(0, a, pages)).state();
    }

    @Benchmark
    public KernelState smallMapThenUnmap() {
        return mapThenUnmap(4);
    }

    @Benchmark
    public KernelState largeMapThenUnmap() {
        return mapThenUnmap(100);
    }

    @Benchmark
    public Spec specSmallMapThenUnmap() {
        long a = nextSmall();
        return spec.map(a, 4).next().unmap(a, 4).next();
    }

    @Benchmark
    public Spec specLargeMapThenUnmap() {
        long a = state.addr(state.cfg().windowEndPage() - 200);
        return spec.map(a, 100).next().unmap(a, 100).next();
    }

    /** Where the model's next small map lands. */
    private long small;

    private long nextSmall() {
        return small;
    }
}
