// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * The search: generate programs (program i of seed s is always the same), run each with every
 * check, and shrink what fails. After the first counterexample the search goes on a little (at most
 * {@link Settings#candidates} counterexamples of the same kind, at most doubling the programs
 * tried) and keeps the one that shrinks shortest. With a mutant, a run whose only failure is a
 * state invariant (nothing a trace shows) does not end the search; it is reported only when
 * nothing observable turns up.
 */
public final class Hunter {

    /**
     * What to hunt.
     *
     * @param mutant      null for the plain profile
     * @param maxSteps    calls per program at most
     * @param seconds     the search budget (shrinking not counted); programs are tried until it runs out
     * @param maxPrograms the most programs to try (Long.MAX_VALUE: only time bounds the search)
     * @param first       the index of the first program (to reproduce program i: first i, maxPrograms 1)
     * @param candidates  how many counterexamples of the same kind to shrink, keeping the shortest: after
     *                    the first, the search goes on for at most as many programs again (at least 20)
     * @param ignored     failure kinds not to report
     * @param configs     which configurations the generator draws
     */
    public record Settings(Profile profile, Mutant mutant, long seed, int maxSteps, double seconds, long maxPrograms,
                           long first, int candidates, Set<String> ignored, Generator.Configs configs) {
        public Settings {
            ignored = Set.copyOf(ignored);
            if (maxSteps < 1) {
                throw new IllegalArgumentException("--max-steps must be at least 1, got " + maxSteps);
            }
            if (candidates < 1) {
                throw new IllegalArgumentException("candidates must be at least 1, got " + candidates);
            }
        }

        /** A search bounded only by the number of programs (deterministic: for tests). */
        public static Settings programs(Profile profile, Mutant mutant, long seed, int maxSteps, long maxPrograms) {
            return new Settings(profile, mutant, seed, maxSteps, Double.POSITIVE_INFINITY, maxPrograms, 0,
                    DEFAULT_CANDIDATES, Set.of(), Generator.Configs.ALL);
        }

        public Settings ignoring(Set<String> kinds) {
            return new Settings(profile, mutant, seed, maxSteps, seconds, maxPrograms, first, candidates, kinds, configs);
        }

        public Settings withCandidates(int n) {
            return new Settings(profile, mutant, seed, maxSteps, seconds, maxPrograms, first, n, ignored, configs);
        }

        public Settings withConfigs(Generator.Configs c) {
            return new Settings(profile, mutant, seed, maxSteps, seconds, maxPrograms, first, candidates, ignored, c);
        }
    }

    /** Counterexamples shrunk per hunt by default. */
    public static final int DEFAULT_CANDIDATES = 5;

    /**
     * A counterexample: the program as generated and as shrunk, each with its run.
     *
     * @param index         which program of the seed it was
     * @param programsTried programs run until the first counterexample was found, itself included
     * @param timeToFind    from the start of the search until the first counterexample was found
     * @param candidates    how many counterexamples were shrunk (this is the shortest)
     */
    public record Found(long index, Execution original, Execution shrunk, long programsTried, long callsTried,
                        Duration timeToFind, Duration shrinkTime, int shrinkRuns, int candidates) {
        public Failure failure() {
            return shrunk.verdict();
        }
    }

    /** The outcome of a search: {@code found} is null when the budget ran out first. */
    public record Result(Settings settings, long programs, long calls, Duration elapsed, Found found) {
    }

    private Hunter() {
    }

    public static Result hunt(Settings s) {
        return hunt(s, 1, null);
    }

    /**
     * The search on {@code jobs} threads. Workers take program indices in order from a shared counter and run
     * them; the results are taken in index order, as one thread would, so the programs counted, the
     * counterexamples kept and the one reported are the same whatever {@code jobs} (only the time budget, which
     * cuts the search wherever it is, differs). The counterexamples are shrunk in parallel too.
     *
     * @param progress if not null, told the programs tried so far, now and then (from the calling thread)
     */
    public static Result hunt(Settings s, int jobs, LongConsumer progress) {
        if (jobs < 1) {
            throw new IllegalArgumentException("--jobs must be at least 1, got " + jobs);
        }
        long t0 = System.nanoTime();
        double budgetNanos = s.seconds() * 1e9;
        long programs = 0;
        long calls = 0;
        List<Long> hits = new ArrayList<>();
        List<Execution> runs = new ArrayList<>();
        long programsAtFirst = 0;
        long callsAtFirst = 0;
        Duration timeToFind = null;
        Long symptomOnly = null; // a mutant run whose only failure is a state invariant: the fallback
        Execution symptomRun = null;
        long end = s.maxPrograms() >= Long.MAX_VALUE - s.first() ? Long.MAX_VALUE : s.first() + s.maxPrograms();
        ExecutorService pool = jobs == 1 ? null : Executors.newFixedThreadPool(jobs, daemon());
        Ahead ahead = pool == null ? null : new Ahead(s, s.first(), end, jobs, pool);
        try {
            for (long i = s.first(); i < end; i++) {
                if (programs > 0 && System.nanoTime() - t0 >= budgetNanos) {
                    break;
                }
                if (!hits.isEmpty() && (hits.size() >= s.candidates() || programs - programsAtFirst >= Math.max(20, programsAtFirst))) {
                    break;
                }
                Execution e = ahead == null ? generate(s, i) : ahead.take(i);
                programs++;
                calls += e.calls();
                if (progress != null && (programs & 0x3f) == 0) {
                    progress.accept(programs);
                }
                Failure f = e.verdict();
                if (f == null) {
                    continue;
                }
                if (s.mutant() != null && f.level() == Failure.Level.MODEL) {
                    if (symptomOnly == null) {
                        symptomOnly = i;
                        symptomRun = e;
                    }
                    continue;
                }
                if (hits.isEmpty()) {
                    timeToFind = Duration.ofNanos(System.nanoTime() - t0);
                    programsAtFirst = programs;
                    callsAtFirst = calls;
                } else if (!f.kind().equals(runs.get(0).verdict().kind())) {
                    continue;
                }
                hits.add(i);
                runs.add(e);
            }
            if (ahead != null) {
                ahead.stop();
            }
            if (hits.isEmpty() && symptomOnly != null) {
                timeToFind = Duration.ofNanos(System.nanoTime() - t0);
                programsAtFirst = programs;
                callsAtFirst = calls;
                hits.add(symptomOnly);
                runs.add(symptomRun);
            }
            if (hits.isEmpty()) {
                return new Result(s, programs, calls, Duration.ofNanos(System.nanoTime() - t0), null);
            }
            long t1 = System.nanoTime();
            List<Shrunk> shrunk = new ArrayList<>();
            if (pool == null) {
                for (Execution e : runs) {
                    shrunk.add(shrink(s, e));
                }
            } else {
                List<Future<Shrunk>> futures = new ArrayList<>();
                for (Execution e : runs) {
                    futures.add(pool.submit(() -> shrink(s, e)));
                }
                for (Future<Shrunk> f : futures) {
                    shrunk.add(get(f));
                }
            }
            int shrinkRuns = 0;
            Found best = null;
            for (int k = 0; k < hits.size(); k++) {
                Execution run = shrunk.get(k).run();
                shrinkRuns += shrunk.get(k).runs();
                if (best == null || shorter(run.program(), best.shrunk().program())) {
                    best = new Found(hits.get(k), runs.get(k), run, programsAtFirst, callsAtFirst, timeToFind, null, 0,
                            hits.size());
                }
            }
            Duration shrinkTime = Duration.ofNanos(System.nanoTime() - t1);
            best = new Found(best.index(), best.original(), best.shrunk(), best.programsTried(), best.callsTried(),
                    best.timeToFind(), shrinkTime, shrinkRuns, hits.size());
            return new Result(s, programs, calls, Duration.ofNanos(System.nanoTime() - t0), best);
        } finally {
            if (pool != null) {
                pool.shutdownNow();
            }
        }
    }

    private record Shrunk(Execution run, int runs) {
    }

    private static Shrunk shrink(Settings s, Execution e) {
        Shrinker shrinker = new Shrinker(s.mutant(), s.ignored(), e.verdict());
        Program small = shrinker.shrink(e.program());
        return new Shrunk(Execution.run(small, s.mutant(), s.ignored()), shrinker.runs());
    }

    private static <T> T get(Future<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        }
    }

    private static ThreadFactory daemon() {
        return r -> {
            Thread t = new Thread(r, "vmapref-hunt");
            t.setDaemon(true);
            return t;
        };
    }

    /**
     * Programs run ahead of the one taken: each worker takes the next index from a counter, at most {@code
     * window} ahead of the index being taken (so finished runs do not pile up), and leaves its run by index.
     */
    private static final class Ahead {
        private final Settings s;
        private final long end;
        private final long window;
        private final AtomicLong next;
        private final Map<Long, Object> done = new HashMap<>(); // an Execution or what it threw
        private long taking;
        private volatile boolean stopped;

        Ahead(Settings s, long first, long end, int jobs, ExecutorService pool) {
            this.s = s;
            this.end = end;
            this.window = 8L * jobs;
            this.next = new AtomicLong(first);
            this.taking = first;
            for (int j = 0; j < jobs; j++) {
                pool.execute(this::work);
            }
        }

        private void work() {
            while (!stopped) {
                long i = next.getAndIncrement();
                if (i >= end || i < 0) {
                    return;
                }
                synchronized (this) {
                    while (!stopped && i - taking >= window) {
                        if (!await()) {
                            return;
                        }
                    }
                }
                if (stopped) {
                    return;
                }
                Object r;
                try {
                    r = generate(s, i);
                } catch (RuntimeException | Error e) {
                    r = e;
                }
                synchronized (this) {
                    done.put(i, r);
                    notifyAll();
                }
            }
        }

        private boolean await() {
            try {
                wait();
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }

        /** The run of program {@code i}, the next in order; waits for it. */
        synchronized Execution take(long i) {
            taking = i;
            notifyAll();
            Object r;
            while ((r = done.remove(i)) == null) {
                if (!await()) {
                    throw new IllegalStateException("interrupted while waiting for program " + i);
                }
            }
            if (r instanceof RuntimeException e) {
                throw e;
            }
            if (r instanceof Error e) {
                throw e;
            }
            return (Execution) r;
        }

        synchronized void stop() {
            stopped = true;
            done.clear();
            notifyAll();
        }
    }

    /** Shortlex on programs: fewer calls, then fewer pages mapped. */
    static boolean shorter(Program a, Program b) {
        if (a.size() != b.size()) {
            return a.size() < b.size();
        }
        return pages(a) < pages(b);
    }

    private static long pages(Program p) {
        long n = 0;
        for (Op op : p.ops()) {
            if (op instanceof Op.Map m) {
                n += m.count();
            }
        }
        return n;
    }

    /** Program {@code index} of the hunt, generated and run (it stops at its first failure). */
    public static Execution generate(Settings s, long index) {
        return generate(s, index, true);
    }

    /** As above; without {@code modelChecks} only the specification is checked ({@link Execution#withoutModelChecks}). */
    public static Execution generate(Settings s, long index, boolean modelChecks) {
        Generator g = Generator.forProgram(s.profile(), s.configs(), s.seed(), index);
        KernelConfig cfg = g.config();
        int length = g.length(s.maxSteps(), index);
        Execution e = new Execution(cfg, s.mutant(), s.ignored());
        if (!modelChecks) {
            e.withoutModelChecks();
        }
        while (e.size() < length && !e.stopped()) {
            e.apply(g.next(e));
        }
        return e;
    }
}
