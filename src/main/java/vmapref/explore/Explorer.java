// SPDX-License-Identifier: GPL-2.0-only
package vmapref.explore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.LongConsumer;
import vmapref.check.Configs;
import vmapref.check.Refinement;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Va;
import vmapref.spec.Violation;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceWriter;

/**
 * Drives the reference implementation of one profile with a {@link Workload} through {@link Refinement}: after
 * every call the specification checks the call's outcome and flushes, and the abstraction function checks what
 * the call changed ({@link Refinement#abstractionStep}). The full abstraction check of the whole state runs after
 * the last call, and every {@code fullCheckEvery} calls if that is set, as a cross-check: when it finds what the
 * incremental check missed, the run fails with IllegalStateException (a bug in vmapref). Stops at the first
 * violation.
 *
 * <p>The run can be written as an {@code exclusive} trace (the model is the only user of the address space, and
 * every flush it does is in the trace). Replaying that trace gives the run's verdict: at {@code spec} level PASS,
 * or FAIL with the same rule at the violating call's line (for the specification's rules; the abstraction
 * rules {@code refine-*} look at the model's state, which a trace does not carry); at {@code structure} and
 * {@code exact} level PASS, since the trace is the model's own behaviour.
 */
public final class Explorer {

    /** How many calls before the violating one the report keeps. */
    public static final int HISTORY = 8;

    /** What to explore. */
    public record Options(Profile profile, int cpus, long steps, long seed, int fullCheckEvery, int maxLivePages,
                          int aliasesPerMille) {
        public static final Profile DEFAULT_PROFILE = Profile.LINUX_6_12;
        public static final int DEFAULT_CPUS = 2;
        public static final long DEFAULT_STEPS = 100_000;
        public static final long DEFAULT_SEED = 1;
        /** 0: the full abstraction check only after the last call. */
        public static final int DEFAULT_FULL_CHECK_EVERY = 0;
        public static final int MAX_CPUS = 64;

        public Options {
            if (profile == null) {
                throw new IllegalArgumentException("no profile (known: " + Profile.known() + ")");
            }
            if (cpus < 1 || cpus > MAX_CPUS) {
                throw new IllegalArgumentException("--cpus must be 1.." + MAX_CPUS + ", got " + cpus);
            }
            if (steps < 1) {
                throw new IllegalArgumentException("--steps must be at least 1, got " + steps);
            }
            if (maxLivePages < 512) {
                throw new IllegalArgumentException("the live bound must allow a large mapping (>= 512 pages), got "
                        + maxLivePages);
            }
            if (aliasesPerMille < 0 || aliasesPerMille > 1000) {
                throw new IllegalArgumentException("--aliases-per-mille must be 0..1000, got "
                        + aliasesPerMille);
            }
            if (fullCheckEvery < 0) {
                throw new IllegalArgumentException("--full-check-every must be at least 1, got " + fullCheckEvery);
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_PROFILE, DEFAULT_CPUS, DEFAULT_STEPS, DEFAULT_SEED, DEFAULT_FULL_CHECK_EVERY,
                    Workload.DEFAULT_MAX_LIVE_PAGES, Workload.DEFAULT_ALIASES_PER_MILLE);
        }

        public Options with(Profile p, int nCpus, long nSteps, long s) {
            return new Options(p, nCpus, nSteps, s, fullCheckEvery, maxLivePages, aliasesPerMille);
        }

        /** The full abstraction check also every {@code every} calls (at least 1). */
        public Options withFullCheckEvery(int every) {
            if (every < 1) {
                throw new IllegalArgumentException("--full-check-every must be at least 1, got " + every);
            }
            return new Options(profile, cpus, steps, seed, every, maxLivePages, aliasesPerMille);
        }

        public Options withAliasesPerMille(int perMille) {
            return new Options(profile, cpus, steps, seed, fullCheckEvery, maxLivePages, perMille);
        }

        /** The command line that repeats this run (the trace header's {@code source}). */
        public String commandLine() {
            return "vmapref explore --profile " + profile.id() + " --cpus " + cpus + " --steps " + steps + " --seed "
                    + seed + (fullCheckEvery == 0 ? "" : " --full-check-every " + fullCheckEvery)
                    + (aliasesPerMille == Workload.DEFAULT_ALIASES_PER_MILLE ? "" : " --aliases-per-mille " + aliasesPerMille);
        }

        public KernelConfig kernelConfig() {
            return KernelConfig.x86_64(profile, cpus);
        }
    }

    /** One call made, and what came of it. */
    public record CallRecord(long step, Call call, Outcome outcome) {
        /** E.g. {@code vm_map_ram(count=4) on CPU 0 = 0xffffc90000400000}. */
        public String describe() {
            String what;
            if (call instanceof Call.Map m) {
                what = "vm_map_ram(count=" + m.count() + ") on CPU " + m.cpu();
                if (outcome instanceof Outcome.Mapped mapped) {
                    what += " = " + Hex.format(mapped.addr());
                } else if (outcome instanceof Outcome.Null) {
                    what += " = NULL";
                }
            } else if (call instanceof Call.Unmap u) {
                what = "vm_unmap_ram(" + Hex.format(u.addr()) + ", " + u.count() + ") on CPU " + u.cpu();
            } else {
                what = "vm_unmap_aliases() on CPU " + call.cpu();
            }
            if (outcome instanceof Outcome.Bug b) {
                what += " crashed: " + b.text();
            }
            return what;
        }
    }

    /**
     * The first violation: at which step, by which call, and the calls before it (oldest first).
     *
     * @param traceLine the line of the violating call in the trace, or 0 when no trace is written
     */
    public record Found(CallRecord call, Violation violation, List<CallRecord> before, int traceLine) {
    }

    /** What a run did. */
    public record Result(Options options, KernelConfig cfg, long steps, long nanos,
                         long smallMaps, long largeMaps, long unmaps, long crossCpuUnmaps, long aliases,
                         long nullReturns, long blocksCreated, long blocksRetired, long flushes,
                         long heldPages, int busyAreas, int lazyAreas, int pooledAreas,
                         int peakLive, long peakLivePages, int traceLines, Found violation) {

        public boolean violated() {
            return violation != null;
        }

        public double seconds() {
            return nanos / 1e9;
        }

        public double stepsPerSecond() {
            return nanos == 0 ? 0 : steps / seconds();
        }

        /** Address space held by areas (busy, lazily freed or pooled) at the end, in MiB. */
        public double heldMiB() {
            return (double) (heldPages << cfg.pageShift()) / (1 << 20);
        }
    }

    private Explorer() {
    }

    /** Runs without writing a trace. */
    public static Result run(Options o) {
        try {
            return run(o, null, null);
        } catch (IOException e) {
            throw new IllegalStateException("no trace, yet an I/O error: " + e.getMessage(), e);
        }
    }

    /**
     * Runs the exploration; writes the trace to {@code trace} (header and every step's events, up to and including
     * the violating step) if it is not null. The caller closes the writer.
     */
    public static Result run(Options o, TraceWriter trace) throws IOException {
        return run(o, trace, null);
    }

    /** As above; {@code progress}, if not null, is told the steps done now and then (every 16384). */
    public static Result run(Options o, TraceWriter trace, LongConsumer progress) throws IOException {
        return new Run(o, trace, progress).run();
    }

    /** One exploration in progress. */
    private static final class Run {
        final Options o;
        final TraceWriter trace;
        final KernelConfig cfg;
        final Counters n;
        /** The last HISTORY + 1 calls and outcomes, by step modulo their length. */
        final Call[] recentCalls = new Call[HISTORY + 1];
        final Outcome[] recentOutcomes = new Outcome[HISTORY + 1];
        final LongConsumer progress;
        KernelState last;
        long committed;
        int line;
        int lastCallLine;
        Found found;

        Run(Options o, TraceWriter trace, LongConsumer progress) {
            this.o = o;
            this.trace = trace;
            this.cfg = o.kernelConfig();
            this.n = new Counters(cfg.vmapMaxAlloc());
            this.progress = progress;
        }

        Result run() throws IOException {
            KernelState boot = KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT);
            last = boot;
            // the incremental abstraction check runs in every step; the full one is its cross-check, called here
            Refinement refinement = new Refinement(boot, true, Refinement.NEVER);
            Workload workload = new Workload(cfg, o.seed(), o.maxLivePages(), o.aliasesPerMille());
            if (trace != null) {
                trace.header(Configs.header(cfg).withSource(o.commandLine()));
                line = 1;
            }
            boolean events = trace != null;
            long every = o.fullCheckEvery() == 0 ? Long.MAX_VALUE : o.fullCheckEvery();
            long start = System.nanoTime();
            for (long step = 1; step <= o.steps() && found == null; step++) {
                Call call = workload.next();
                Refinement.StepReport report;
                try {
                    report = refinement.step(call, events);
                } catch (RuntimeException e) {
                    throw new IllegalStateException("step " + step + ", " + new CallRecord(step, call, null).describe()
                            + ": the reference implementation failed: " + e.getMessage(), e);
                }
                Outcome outcome = report.result().outcome();
                if (outcome instanceof Outcome.Rejected r) {
                    throw new IllegalStateException("step " + step + ": the workload broke the contract ("
                            + r.rule() + ": " + r.message() + ")");
                }
                if (call instanceof Call.Map m) {
                    workload.mapped(m, outcome);
                }
                KernelState state = refinement.state();
                commit(step, call, outcome, report, state, workload);
                if (report.violation() != null) {
                    found = found(step, report.violation());
                } else if (state.crash() != null) {
                    throw new IllegalStateException("step " + step + ": " + new CallRecord(step, call, outcome).describe()
                            + ", yet the specification saw no broken rule");
                } else if (step % every == 0 || step == o.steps()) {
                    refinement.crossCheck();
                }
                if ((step & 0x3fff) == 0 && progress != null) {
                    progress.accept(step);
                }
            }
            long nanos = System.nanoTime() - start;
            if (trace != null) {
                trace.flush();
            }
            long held = 0;
            int[] byState = new int[Va.State.values().length];
            for (Va va : last.areas().values()) {
                if (va.kind() != Va.Kind.OTHER) {
                    held += va.pages();
                    byState[va.state().ordinal()]++;
                }
            }
            return new Result(o, cfg, committed, nanos, n.smallMaps, n.largeMaps, n.unmaps, n.crossCpuUnmaps,
                    n.aliases, n.nullReturns, n.blocksCreated, n.blocksRetired, n.flushes, held,
                    byState[Va.State.BUSY.ordinal()], byState[Va.State.LAZY.ordinal()],
                    byState[Va.State.POOLED.ordinal()], n.peakLive, n.peakLivePages, line, found);
        }

        Found found(long step, Violation v) {
            List<CallRecord> before = new ArrayList<>();
            for (long s = Math.max(1, step - HISTORY); s < step; s++) {
                int i = (int) (s % recentCalls.length);
                before.add(new CallRecord(s, recentCalls[i], recentOutcomes[i]));
            }
            int i = (int) (step % recentCalls.length);
            return new Found(new CallRecord(step, recentCalls[i], recentOutcomes[i]), v, before,
                    trace == null ? 0 : lastCallLine);
        }

        /** The step is checked: count it, and write it to the trace. */
        void commit(long step, Call call, Outcome outcome, Refinement.StepReport report, KernelState state,
                    Workload workload) throws IOException {
            committed = step;
            last = state;
            n.count(call, outcome, report.result().effects(), workload.lastUnmapCrossCpu());
            n.peak(workload.liveCount(), workload.livePages());
            int i = (int) (step % recentCalls.length);
            recentCalls[i] = call;
            recentOutcomes[i] = outcome;
            if (trace != null) {
                for (TraceEvent e : report.events()) {
                    line++;
                    if (e.isCall()) {
                        lastCallLine = line;
                    }
                    trace.event(e);
                }
            }
        }
    }

    /** Running totals of one exploration. */
    private static final class Counters {
        final int vmapMaxAlloc;
        long smallMaps;
        long largeMaps;
        long unmaps;
        long aliases;
        long nullReturns;
        long blocksCreated;
        long blocksRetired;
        long flushes;
        int peakLive;
        long peakLivePages;
        long crossCpuUnmaps;

        Counters(int vmapMaxAlloc) {
            this.vmapMaxAlloc = vmapMaxAlloc;
        }

        void count(Call call, Outcome outcome, List<Effect> effects, boolean crossCpu) {
            if (crossCpu) {
                crossCpuUnmaps++;
            }
            if (call instanceof Call.Map m) {
                if (m.count() <= vmapMaxAlloc) {
                    smallMaps++;
                } else {
                    largeMaps++;
                }
            } else if (call instanceof Call.Unmap) {
                unmaps++;
            } else {
                aliases++;
            }
            if (outcome instanceof Outcome.Null) {
                nullReturns++;
            }
            for (Effect e : effects) {
                if (e instanceof Effect.BlockCreated) {
                    blocksCreated++;
                } else if (e instanceof Effect.BlockRetired) {
                    blocksRetired++;
                } else if (e instanceof Effect.Flush) {
                    flushes++;
                }
            }
        }

        void peak(int live, long pages) {
            peakLive = Math.max(peakLive, live);
            peakLivePages = Math.max(peakLivePages, pages);
        }
    }
}
