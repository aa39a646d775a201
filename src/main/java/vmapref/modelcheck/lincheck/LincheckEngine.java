// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.lincheck;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.jetbrains.kotlinx.lincheck.Actor;
import org.jetbrains.kotlinx.lincheck.execution.ExecutionScenario;
import kotlin.Unit;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.strategy.LincheckFailure;
import org.jetbrains.lincheck.datastructures.ModelCheckingOptions;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.modelcheck.Harness;
import vmapref.modelcheck.HarnessOp;

/**
 * Lincheck's model checker on a {@link Harness}: the harness's setup is the scenario's initial
 * part, its threads the parallel part (custom scenarios only, so each thread keeps its CPU), the
 * reference implementation is the sequential specification, and {@link FastPathOps#quiet} the
 * validation function. A violation is a non-linearizable result, an assertion of the fast path
 * (a TLB rule, the accounting, a poisoned object, a kernel BUG) or a deadlock, with Lincheck's
 * report: the scenario with its results and the interleaving, one column per thread.
 */
public final class LincheckEngine {
    /** Interleavings explored per harness at most (Lincheck stops earlier once its tree is complete). */
    public static final int DEFAULT_INVOCATIONS = 5_000;

    private LincheckEngine() {
    }

    /** What one check found. */
    public record Result(boolean violation, String report, int invocations) {
    }

    public static Result check(Harness h, Profile profile, Set<Mutant> mutants, int invocations) {
        FastPathOps.configure(profile, mutants, h.aliasesRule);
        ModelCheckingOptions o = new ModelCheckingOptions()
                .iterations(0)
                .invocationsPerIteration(invocations)
                .loopIterationsBeforeThreadSwitch(10_000) // the allocator's loops are not spin-waits
                .sequentialSpecification(ReferenceOps.class)
                .addCustomScenario(scenario(h));
        LincheckFailure failure = new LinChecker(FastPathOps.class, o).checkImpl$lincheck(f -> Unit.INSTANCE);
        if (failure == null) {
            return new Result(false, "", invocations);
        }
        return new Result(true, report(failure), invocations);
    }

    /** Lincheck's report; Lincheck 3.7 cannot always lay out its trace table, then its results and kind only. */
    private static String report(LincheckFailure failure) {
        try {
            return failure.toString().strip();
        } catch (RuntimeException e) {
            return "= " + failure.getClass().getSimpleName().replaceAll("([a-z])([A-Z])", "$1 $2") + " =\n"
                    + "(Lincheck could not lay out the interleaving: " + e.getMessage() + ")\n"
                    + "results: " + failure.getResults();
        }
    }

    /** The harness as a Lincheck scenario. */
    static ExecutionScenario scenario(Harness h) {
        List<Actor> init = new ArrayList<>();
        for (HarnessOp op : h.setup) {
            init.add(actor(op));
        }
        List<List<Actor>> parallel = new ArrayList<>();
        for (HarnessOp[] thread : h.threads) {
            List<Actor> actors = new ArrayList<>();
            for (HarnessOp op : thread) {
                actors.add(actor(op));
            }
            parallel.add(actors);
        }
        return new ExecutionScenario(init, parallel, new ArrayList<>(), null);
    }

    private static Actor actor(HarnessOp op) {
        try {
            if (op.kind == HarnessOp.MAP) {
                Method m = FastPathOps.class.getMethod("map", int.class, int.class, int.class);
                return new Actor(m, Arrays.asList(op.cpu, op.count, op.slot));
            }
            if (op.kind == HarnessOp.UNMAP) {
                Method m = FastPathOps.class.getMethod("unmap", int.class, int.class);
                return new Actor(m, Arrays.asList(op.cpu, op.slot));
            }
            Method m = FastPathOps.class.getMethod("aliases", int.class);
            return new Actor(m, Arrays.asList((Object) op.cpu));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }
}
