// SPDX-License-Identifier: GPL-2.0-only
package vmapref.bench;

import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import vmapref.explore.Explorer;
import vmapref.kernel.Profile;

/**
 * {@code explore} as the command runs it (linux-6.12, 2 CPUs, the default workload, seed 1): 10^6 checked steps per
 * invocation, the specification and the incremental abstraction check after every step, the full check after the
 * last. The score is steps per second on one thread (an iteration is one invocation; JVM start not counted).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class ExploreBenchmark {

    static final int STEPS = 1_000_000;

    @Param({"linux-6.12"})
    String profile;

    @Benchmark
    @OperationsPerInvocation(STEPS)
    public Explorer.Result explore() {
        Explorer.Options o = Explorer.Options.defaults().with(Profile.parse(profile), 2, STEPS, 1);
        Explorer.Result r = Explorer.run(o);
        if (r.violated() || r.steps() != STEPS) {
            throw new IllegalStateException("explore found " + r.violation() + " after " + r.steps() + " steps");
        }
        return r;
    }
}
