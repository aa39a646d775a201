// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import vmapref.check.Configs;
import vmapref.hunt.Execution;
import vmapref.hunt.Generator;
import vmapref.hunt.Hunter;
import vmapref.hunt.Op;
import vmapref.hunt.Program;
import vmapref.hunt.Property;
import vmapref.hunt.Shrinker;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;
import vmapref.trace.TraceHeader;
import vmapref.trace.TraceReader;
import vmapref.trace.TraceWriter;

/**
 * Runs generated call programs against a {@link VmapImplementation} and judges what it did by replay.
 *
 * <p>Program {@code i} of seed {@code s} is the hunt's program ({@code Hunter.generate}): its
 * configuration and calls, cut before the first call where the reference model itself fails a
 * check (say linux-6.1's known aliases-no-stale), so that a program only asks what the profile
 * does. The kit runs the calls on a fresh implementation (an unmap undoes the mapping an earlier
 * call made, with the address the implementation returned; it is skipped when that map returned
 * NULL or was already undone), writes what the implementation returned and flushed as a trace
 * (trace-format.md: exclusive, every flush reported) and replays it at the chosen level. A program
 * counts as failing only when the model's own trace of it replays clean at that level.
 *
 * <p>A failing program is shrunk (calls removed in chunks, then singly; smaller counts; lower CPUs)
 * while it keeps failing with the same rule, every candidate on a fresh implementation, and its
 * trace is written to {@code <outputDir>/<name>-<seed>-<index>.jsonl}.
 */
public final class ConformanceKit {

    /**
     * What to check.
     *
     * @param name      names the implementation in messages and trace files
     * @param profile   the kernel the implementation claims to behave like
     * @param level     how much of its behaviour the replay predicts: spec (only the specification's rules),
     *                  structure, or exact (every address and flush)
     * @param seed      which programs; program i of a seed is always the same
     * @param programs  how many programs {@link #run} checks
     * @param maxSteps  calls per program at most
     * @param outputDir where the traces of failing programs go
     * @param configs   which kernel configurations the programs run on (the generator's families)
     */
    public record Settings(String name, Profile profile, Replayer.Level level, long seed, int programs, int maxSteps,
                           Path outputDir, Generator.Configs configs) {
        public Settings {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(profile, "profile");
            Objects.requireNonNull(level, "level");
            Objects.requireNonNull(outputDir, "outputDir");
            Objects.requireNonNull(configs, "configs");
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("name '" + name + "' must be letters, digits, '.', '_' or '-' (a file name)");
            }
            if (programs < 0 || maxSteps < 1) {
                throw new IllegalArgumentException("programs must be >= 0 and maxSteps >= 1");
            }
        }

        /** linux-6.12 at the spec level, seed 1, 200 programs of at most 40 calls, traces to target/conformance. */
        public static Settings defaults(String name) {
            return new Settings(name, Profile.LINUX_6_12, Replayer.Level.SPEC, 1, 200, 40, Path.of("target", "conformance"),
                    Generator.Configs.ALL);
        }

        public Settings withProfile(Profile p) {
            return new Settings(name, p, level, seed, programs, maxSteps, outputDir, configs);
        }

        public Settings withLevel(Replayer.Level l) {
            return new Settings(name, profile, l, seed, programs, maxSteps, outputDir, configs);
        }

        public Settings withSeed(long s) {
            return new Settings(name, profile, level, s, programs, maxSteps, outputDir, configs);
        }

        public Settings withPrograms(int n) {
            return new Settings(name, profile, level, seed, n, maxSteps, outputDir, configs);
        }

        public Settings withMaxSteps(int n) {
            return new Settings(name, profile, level, seed, programs, n, outputDir, configs);
        }

        public Settings withConfigs(Generator.Configs c) {
            return new Settings(name, profile, level, seed, programs, maxSteps, outputDir, c);
        }

        public Settings withOutputDir(Path dir) {
            return new Settings(name, profile, level, seed, programs, maxSteps, dir, configs);
        }
    }

    /** What replay said against the implementation's trace: the rule, the call (1-based) and expected/actual. */
    public record Divergence(String rule, int call, String expected, String actual) {
        @Override
        public String toString() {
            return rule + " at call #" + call + ": expected " + expected + "; actual " + actual;
        }
    }

    /**
     * A program the implementation fails.
     *
     * @param index      which program of the seed
     * @param original   the program as generated
     * @param shrunk     the shrunk program
     * @param listing    the shrunk program's numbered calls with what the implementation returned
     * @param divergence what the replay of the shrunk program's trace says
     * @param trace      the written trace of the shrunk program
     */
    public record Failure(Settings settings, long index, Program original, Program shrunk, String listing,
                          Divergence divergence, Path trace) {

        /** The rule the implementation breaks (a specification rule id, or at structure/exact what differs). */
        public String rule() {
            return divergence.rule();
        }

        /** The whole story: what broke, the numbered calls, the trace and how to replay it. */
        public String message() {
            Settings s = settings;
            return s.name() + " does not conform to " + s.profile().id() + " at level " + s.level().id() + ": program "
                    + index + " of seed " + s.seed() + " (" + original.size() + " calls, shrunk to " + shrunk.size() + ")\n"
                    + "rule " + divergence + "\n"
                    + "configuration: " + shrunk.config().describe() + "\n"
                    + "calls" + (trace == null ? " (as generated)" : "") + ":\n"
                    + listing
                    + (trace == null ? "(not shrunk and no trace written: only the first failing program is)"
                    : "trace: " + trace + "\n"
                    + "replay: java -jar target/vmapref.jar replay --level " + s.level().id() + " " + trace);
        }
    }

    /** One program run on the implementation: its trace events and, per call, what came back. */
    record Run(List<TraceEvent> events, List<Integer> eventCall, List<String> results) {
    }

    /**
     * A factory that is told the whole program before the kit makes its calls, so that it can send
     * them ahead (drive pipelines its requests to a child process). The kit still makes the calls one
     * by one, in program order, skipping an unmap whose map returned NULL or was unmapped already.
     */
    public interface ProgramFactory extends VmapImplementation.Factory {
        VmapImplementation create(KernelConfig config, FlushListener flushes, Program program);
    }

    private final Settings settings;
    private final VmapImplementation.Factory factory;
    private Failure first;

    public ConformanceKit(Settings settings, VmapImplementation.Factory factory) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.factory = Objects.requireNonNull(factory, "factory");
    }

    public Settings settings() {
        return settings;
    }

    /** The first failure {@link #check} found, shrunk, or null. */
    public synchronized Failure firstFailure() {
        return first;
    }

    /** Checks programs 0 .. programs-1 and returns the first failure, shrunk, or null if all conform. */
    public Failure run() {
        for (long i = 0; i < settings.programs(); i++) {
            Failure f = check(i);
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    /**
     * Checks program {@code index}: null if the implementation conforms on it, else the failure. Only
     * the first failing program is shrunk and written; a later one is reported as generated, with
     * {@code trace} null.
     */
    public Failure check(long index) {
        Program p = program(index);
        Divergence d = judge(p);
        if (d == null) {
            return null;
        }
        synchronized (this) {
            if (first != null) {
                return new Failure(settings, index, p, p, listing(p, runOn(p)), d, null);
            }
        }
        Program small = shrink(p, d.rule());
        Run run = runOn(small);
        Divergence sd = judge(small, run);
        if (sd == null) { // it did not happen again (a flaky implementation): report the program as generated
            small = p;
            run = runOn(p);
            sd = judge(p, run);
            if (sd == null) {
                sd = d;
            }
        }
        Path file = settings.outputDir().resolve(settings.name() + "-" + settings.seed() + "-" + index + ".jsonl");
        String listing = listing(small, run);
        try {
            write(small, run, file, listing, sd, index);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
        Failure f = new Failure(settings, index, p, small, listing, sd, file);
        synchronized (this) {
            if (first == null) {
                first = f;
            }
        }
        return f;
    }

    /** Program {@code index} of the seed, as the kit runs it. */
    public Program program(long index) {
        Hunter.Settings hs = Hunter.Settings.programs(settings.profile(), null, settings.seed(), settings.maxSteps(), 1)
                .ignoring(Set.of(Property.PROFILES_AGREE.id())).withConfigs(settings.configs());
        Execution e = Hunter.generate(hs, index, false); // the program and the reference's spec verdict
        Program p = e.program();
        if (e.verdict() != null) {
            p = p.prefix(e.verdict().step() - 1); // the reference itself fails there: ask nothing beyond
        }
        List<Integer> rejected = new ArrayList<>();
        for (Execution.Step s : e.steps()) {
            if (s.index() < p.size() && s.skipped() != null && s.skipped().startsWith("rejected")) {
                rejected.add(s.index());
            }
        }
        return rejected.isEmpty() ? p : p.without(rejected);
    }

    // ------------------------------------------------------------ running and judging

    /** The implementation's divergence on {@code p}, or null; null too when the reference itself diverges. */
    Divergence judge(Program p) {
        return judge(p, runOn(p));
    }

    private Divergence judge(Program p, Run run) {
        Divergence d = replay(p.config(), run);
        if (d == null || !referenceConforms(p)) {
            return null;
        }
        return d;
    }

    /** Runs {@code p} on a fresh implementation. */
    Run runOn(Program p) {
        List<TraceEvent.Flush> flushes = new ArrayList<>();
        FlushListener listener = (start, end, by) -> {
            synchronized (flushes) {
                flushes.add(new TraceEvent.Flush(0, start, end, null, null, by));
            }
        };
        VmapImplementation impl = factory instanceof ProgramFactory pf ? pf.create(p.config(), listener, p)
                : factory.create(p.config(), listener);
        List<TraceEvent> events = new ArrayList<>();
        List<Integer> eventCall = new ArrayList<>();
        List<String> results = new ArrayList<>();
        Map<Integer, long[]> live = new HashMap<>();
        for (int i = 0; i < p.size(); i++) {
            Op op = p.op(i);
            drain(flushes, events, eventCall, i); // reported between calls: before this one
            String bug = null;
            if (op instanceof Op.Map m) {
                long addr = 0;
                try {
                    addr = impl.map(m.cpu(), m.count());
                } catch (RuntimeException | AssertionError ex) {
                    bug = crash(ex);
                }
                drain(flushes, events, eventCall, i);
                add(events, eventCall, i, new TraceEvent.Map(0, m.cpu(), m.count(), bug == null && addr != 0 ? addr : null,
                        bug, null, null, null));
                if (bug == null) {
                    results.add(addr == 0 ? "NULL" : Hex.format(addr));
                    if (addr != 0) {
                        live.put(i, new long[] {addr, m.count()});
                    }
                }
            } else if (op instanceof Op.Unmap u) {
                long[] lm = live.remove(u.ref());
                if (lm == null) {
                    results.add("skipped: #" + (u.ref() + 1) + " is not mapped");
                    continue;
                }
                try {
                    impl.unmap(u.cpu(), lm[0], lm[1]);
                } catch (RuntimeException | AssertionError ex) {
                    bug = crash(ex);
                }
                add(events, eventCall, i, new TraceEvent.Unmap(0, u.cpu(), lm[0], lm[1], bug, null, null));
                drain(flushes, events, eventCall, i); // vm_unmap_ram() flushes nothing before it returns
                if (bug == null) {
                    results.add("vm_unmap_ram(" + Hex.format(lm[0]) + ", " + lm[1] + ")");
                }
            } else {
                try {
                    impl.aliases(op.cpu());
                } catch (RuntimeException | AssertionError ex) {
                    bug = crash(ex);
                }
                drain(flushes, events, eventCall, i);
                add(events, eventCall, i, new TraceEvent.Aliases(0, op.cpu(), bug, null, null));
                if (bug == null) {
                    results.add(flushesOf(events, eventCall, i));
                }
            }
            if (bug != null) {
                results.add("crashed: " + bug);
                break;
            }
        }
        drain(flushes, events, eventCall, Math.max(0, results.size() - 1));
        return new Run(events, eventCall, results);
    }

    private static String crash(Throwable ex) {
        String m = ex.getMessage();
        return ex.getClass().getSimpleName() + (m == null || m.isBlank() ? "" : ": " + m);
    }

    private static void drain(List<TraceEvent.Flush> flushes, List<TraceEvent> events, List<Integer> eventCall, int call) {
        synchronized (flushes) {
            for (TraceEvent.Flush f : flushes) {
                add(events, eventCall, call, f);
            }
            flushes.clear();
        }
    }

    private static void add(List<TraceEvent> events, List<Integer> eventCall, int call, TraceEvent e) {
        events.add(e);
        eventCall.add(call);
    }

    private static String flushesOf(List<TraceEvent> events, List<Integer> eventCall, int call) {
        List<String> out = new ArrayList<>();
        for (int k = 0; k < events.size(); k++) {
            if (eventCall.get(k) == call && events.get(k) instanceof TraceEvent.Flush f) {
                out.add("[" + Hex.format(f.start()) + ", " + Hex.format(f.end()) + ")");
            }
        }
        return out.isEmpty() ? "no flush" : "flush " + String.join(" ", out);
    }

    /** Replays the events at the level; events are on lines 2.. (no comments), so line n is event n - 2. */
    private Divergence replay(KernelConfig cfg, Run run) {
        StringWriter out = new StringWriter();
        try (TraceWriter w = new TraceWriter(out)) {
            w.header(header(cfg));
            for (TraceEvent e : run.events()) {
                w.event(e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (TraceReader r = TraceReader.of(settings.name(), new StringReader(out.toString()))) {
            Replayer.Verdict v = Replayer.replay(settings.name(), r, settings.level());
            if (v.conforms()) {
                return null;
            }
            Replayer.Divergence d = v.divergence();
            return new Divergence(d.rule(), callAt(run, d.line()), d.expected(), d.actual());
        } catch (TraceFormatException e) {
            return new Divergence(e.rule(), callAt(run, e.line()), "a well-formed trace", e.detail());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int callAt(Run run, int line) {
        int k = line - 2;
        if (run.eventCall().isEmpty()) {
            return 0;
        }
        if (k < 0) {
            return 1;
        }
        return run.eventCall().get(Math.min(k, run.eventCall().size() - 1)) + 1;
    }

    /** Whether the reference model's own trace of {@code p} replays clean at the level. */
    private boolean referenceConforms(Program p) {
        Execution e = Execution.run(p, null, Property.kinds());
        StringWriter out = new StringWriter();
        try (TraceWriter w = new TraceWriter(out)) {
            w.header(header(p.config()));
            for (TraceEvent ev : e.events()) {
                w.event(ev);
            }
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
        try (TraceReader r = TraceReader.of("reference", new StringReader(out.toString()))) {
            return Replayer.replay("reference", r, settings.level()).conforms();
        } catch (TraceFormatException ex) {
            return false;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private TraceHeader header(KernelConfig cfg) {
        return Configs.header(cfg);
    }

    // ------------------------------------------------------------ shrinking

    /** Whether {@code p} still fails with {@code rule}. */
    private boolean fails(Program p, String rule) {
        Divergence d = judge(p);
        return d != null && d.rule().equals(rule);
    }

    /** ddmin over the calls, then smaller counts and lower CPUs, repeated while something helps. */
    Program shrink(Program p, String rule) {
        p = cut(p, rule);
        for (int round = 0; round < 10; round++) {
            Program before = p;
            p = removeCalls(p, rule);
            p = smallerCounts(p, rule);
            p = lowerCpus(p, rule);
            if (p.equals(before)) {
                break;
            }
        }
        return p;
    }

    /** Drops the calls after the one the replay fails at. */
    private Program cut(Program p, String rule) {
        Divergence d = judge(p);
        if (d != null && d.rule().equals(rule) && d.call() >= 1 && d.call() < p.size()) {
            return p.prefix(d.call());
        }
        return p;
    }

    private Program accept(Program candidate, String rule) {
        return fails(candidate, rule) ? cut(candidate, rule) : null;
    }

    private Program removeCalls(Program p, String rule) {
        return Shrinker.removeCalls(p, candidate -> accept(candidate, rule));
    }

    private Program smallerCounts(Program p, String rule) {
        return Shrinker.smallerCounts(p, candidate -> accept(candidate, rule));
    }

    private Program lowerCpus(Program p, String rule) {
        List<Integer> online = p.config().onlineCpus();
        for (int i = 0; i < p.size(); i++) {
            for (int c : online) {
                if (c >= p.op(i).cpu()) {
                    break;
                }
                Program next = accept(p.with(i, p.op(i).onCpu(c)), rule);
                if (next != null) {
                    p = next;
                    break;
                }
            }
        }
        return p;
    }

    // ------------------------------------------------------------ reporting

    /** The numbered calls with what the implementation returned: {@code 1. cpu0 map(4) = 0xffffc90000000000}. */
    static String listing(Program p, Run run) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < p.size(); i++) {
            sb.append(i + 1).append(". ").append(Program.describe(p.op(i)));
            if (i < run.results().size()) {
                sb.append(" = ").append(run.results().get(i));
            } else {
                sb.append(" (not run)");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    private void write(Program p, Run run, Path file, String listing, Divergence d, long index) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        TraceHeader h = header(p.config()).withNote("vmapref conformance kit: " + settings.name() + ", program "
                + index + " of seed " + settings.seed() + ", shrunk; fails " + settings.level().id() + " with " + d.rule());
        try (TraceWriter w = TraceWriter.create(file)) {
            w.header(h);
            w.comment(p.config().describe());
            w.comment(listing.stripTrailing());
            w.comment(d.toString());
            for (TraceEvent e : run.events()) {
                w.event(e);
            }
        }
    }
}
