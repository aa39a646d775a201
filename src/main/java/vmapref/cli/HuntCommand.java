// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import vmapref.hunt.Execution;
import vmapref.hunt.Failure;
import vmapref.hunt.Generator;
import vmapref.hunt.Hunter;
import vmapref.hunt.Property;
import vmapref.hunt.Report;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * {@code vmapref hunt}: search random call programs for a violation of the specification or of a
 * property, or for a divergence of a mutant from its profile; shrink what is found, print it and
 * write it as a trace that replays.
 */
@Command(name = "hunt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Search random call programs for a violation or a mutant's divergence; shrink and write it.",
        description = {
            "Generates call programs (maps, unmaps of earlier maps, vm_unmap_aliases() on the configuration's CPUs; "
                    + "configurations with small vmalloc ranges, the 32-bit window, big blocks and possible-CPU masks "
                    + "with holes), runs each through the profile and checks every rule of the specification and "
                    + "every property after every call. With --mutant, the unmutated profile runs the same calls "
                    + "beside it and the first different outcome or flush is a divergence.",
            "The first counterexample is shrunk (fewer calls, smaller counts, lower CPUs, smaller configuration), "
                    + "printed as a numbered list and written as an exclusive trace; the command that replays it is "
                    + "printed. Program i of seed S is always the same program: --seed S --program i runs it again.",
            "Known-broken properties of a profile (aliases-no-stale on linux-4.8 and linux-6.1, null-only-when-full "
                    + "on linux-4.8) are reported like any other; --ignore known-broken skips them."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the budget ran out and nothing was found",
            "1:a counterexample was found (printed and written to --out)",
            "2:bad arguments, or the trace file cannot be written",
            "3:internal error (a bug in vmapref)"})
final class HuntCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--profile", paramLabel = "P", defaultValue = "linux-6.12", converter = Converters.ProfileConverter.class,
            description = "the kernel whose behaviour to hunt in (default: ${DEFAULT-VALUE})")
    Profile profile;

    @Option(names = "--mutant", paramLabel = "M", converter = Converters.MutantConverter.class,
            description = "switch one historical bug on (see --list-mutants)")
    Mutant mutant;

    @Option(names = "--seed", paramLabel = "S", description = "random seed (default: a new one, printed)")
    Long seed;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "200",
            description = "calls per program at most (default: ${DEFAULT-VALUE})")
    int maxSteps;

    @Option(names = "--time", paramLabel = "SECONDS", defaultValue = "60",
            description = "search budget in seconds, shrinking not counted (default: ${DEFAULT-VALUE})")
    double seconds;

    @Option(names = "--programs", paramLabel = "N", description = "try at most N programs")
    Long programs;

    @Option(names = "--program", paramLabel = "I", description = "run only program I of the seed (reproduce it)")
    Long program;

    @Option(names = "--candidates", paramLabel = "N", defaultValue = "" + Hunter.DEFAULT_CANDIDATES,
            description = "shrink up to N counterexamples of the same kind and keep the shortest; after the first "
                    + "the search goes on for at most as many programs again (default: ${DEFAULT-VALUE})")
    int candidates;

    @Option(names = "--ignore", paramLabel = "KIND", split = ",",
            description = "do not report this rule or property (repeatable); known-broken = the profile's "
                    + "known-broken ones")
    List<String> ignore = new ArrayList<>();

    @Option(names = "--configs", paramLabel = "FAMILY", defaultValue = "all",
            description = "all (x86_64, big blocks, small ranges, possible masks with holes, the 32-bit window) or "
                    + "x86_64 (Debian's x86_64 kernels only: NR_CPUS 8192, the full range, 1..4 CPUs) "
                    + "(default: ${DEFAULT-VALUE})")
    String configs;

    @Option(names = "--out", paramLabel = "FILE",
            description = "where to write the trace (default: target/hunt-<profile>[-<mutant>]-<seed>.jsonl)")
    Path out;

    @Option(names = "--jobs", paramLabel = "N",
            description = "threads searching programs in parallel; the result is the same whatever N "
                    + "(default: the available processors, ${DEFAULT-VALUE} here)")
    int jobs = Runtime.getRuntime().availableProcessors();

    @Option(names = "--quiet", description = "no progress on stderr")
    boolean quiet;

    @Option(names = "--list-mutants", description = "list the mutants with their fix commits and exit")
    boolean listMutants;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut();
        if (listMutants) {
            listMutants(o);
            o.flush();
            return ExitCode.OK;
        }
        if (mutant != null && mutant.concurrent()) {
            spec.commandLine().getErr().println("vmapref hunt: mutant " + mutant.id() + " is a concurrency bug; hunt "
                    + "runs one call at a time and cannot show it. Try 'vmapref modelcheck --mutant " + mutant.id() + "'");
            return ExitCode.BAD_INPUT;
        }
        Hunter.Settings settings = settings();
        Hunter.Result r;
        try (Progress p = Progress.start("hunt", "programs", settings.maxPrograms() == Long.MAX_VALUE ? 0
                : settings.maxPrograms(), quiet || program != null, spec.commandLine().getErr())) {
            r = Hunter.hunt(settings, program != null ? 1 : jobs, p::at);
        }
        String what = profile + (mutant == null ? "" : " with mutant " + mutant);
        o.println("vmapref hunt: " + what + (mutant == null ? "" : " (fix: " + mutant.fix() + ")"));
        o.println(String.format(Locale.ROOT, "seed %d, programs of up to %d calls, %s configurations, budget %s",
                settings.seed(), maxSteps, settings.configs().id(), budget(settings)));
        if (!settings.ignored().isEmpty()) {
            o.println("not reported: " + String.join(", ", new TreeSet<>(settings.ignored())));
        }
        Hunter.Found f = r.found();
        if (f == null) {
            o.println(String.format(Locale.ROOT, "no counterexample: %d programs (%d calls) in %.1f s", r.programs(),
                    r.calls(), seconds(r.elapsed())));
            o.flush();
            return ExitCode.OK;
        }
        Execution e = f.shrunk();
        o.println(String.format(Locale.ROOT, "found after %d programs (%d calls) in %.2f s: %s", f.programsTried(),
                f.callsTried(), seconds(f.timeToFind()), e.verdict().kind().equals(Failure.DIVERGENCE) ? "a divergence"
                        : "a violation of " + e.verdict().kind()));
        o.println(String.format(Locale.ROOT, "shrunk %s in %.2f s (%d runs); the shortest, program %d (%s), shrinks "
                + "to %s:", plural(f.candidates(), "counterexample"), seconds(f.shrinkTime()), f.shrinkRuns(),
                f.index(), plural(f.original().size(), "call"), plural(e.size(), "call")));
        o.println("  " + Report.config(e.config()));
        for (String line : Report.listing(e).split("\n")) {
            o.println("  " + line);
        }
        Path file = out != null ? out : Path.of("target", "hunt-" + profile + (mutant == null ? "" : "-" + mutant)
                + "-" + settings.seed() + ".jsonl");
        try {
            Report.writeTrace(e, file, Report.note(settings, f.index()));
        } catch (IOException ex) {
            spec.commandLine().getErr().println("vmapref hunt: cannot write the trace " + file + ": " + Main.describe(ex));
            spec.commandLine().getErr().flush();
            return ExitCode.BAD_INPUT;
        }
        o.println("trace: " + file);
        Failure v = e.verdict();
        switch (v.level()) {
            case SPEC -> o.println("it breaks the specification: " + Report.replayCommand(v, file));
            case EXACT -> {
                if (v.kind().equals(Property.PROFILES_AGREE.id())) {
                    o.println("the trace is " + profile + "'s behaviour; with the header's profile changed to the other "
                            + "one it fails: " + Report.replayCommand(v, file));
                } else {
                    o.println("it is legal but not what " + profile + " does: " + Report.replayCommand(v, file));
                }
            }
            case MODEL -> o.println("only the model's state shows it (" + v.kind() + "); every replay of the trace "
                    + "passes: " + Report.replayCommand(v, file));
        }
        o.println("reproduce: java -jar target/vmapref.jar hunt --profile " + profile
                + (mutant == null ? "" : " --mutant " + mutant) + " --seed " + settings.seed() + " --program " + f.index()
                + " --max-steps " + maxSteps + (settings.configs() == Generator.Configs.ALL ? "" : " --configs "
                + settings.configs().id()) + ignoredArgs(settings));
        o.flush();
        return ExitCode.VIOLATION;
    }

    private Hunter.Settings settings() {
        CommandLine cl = spec.commandLine();
        if (maxSteps < 1) {
            throw new CommandLine.ParameterException(cl, "--max-steps must be at least 1, got " + maxSteps);
        }
        if (!(seconds > 0)) {
            throw new CommandLine.ParameterException(cl, "--time must be a positive number of seconds, got " + seconds);
        }
        if (programs != null && programs < 1) {
            throw new CommandLine.ParameterException(cl, "--programs must be at least 1, got " + programs);
        }
        if (program != null && program < 0) {
            throw new CommandLine.ParameterException(cl, "--program must be 0 or more, got " + program);
        }
        if (candidates < 1) {
            throw new CommandLine.ParameterException(cl, "--candidates must be at least 1, got " + candidates);
        }
        if (jobs < 1) {
            throw new CommandLine.ParameterException(cl, "--jobs must be at least 1, got " + jobs);
        }
        Set<String> ignored = new TreeSet<>();
        for (String k : ignore) {
            if (k.equals("known-broken")) {
                ignored.addAll(Property.knownBroken(profile));
            } else if (Property.kinds().contains(k)) {
                ignored.add(k);
            } else {
                throw new CommandLine.ParameterException(cl, "--ignore: unknown rule or property '" + k + "' (known: "
                        + String.join(", ", Property.kinds()) + ", known-broken)");
            }
        }
        Generator.Configs family;
        try {
            family = Generator.Configs.parse(configs);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cl, "--configs: " + e.getMessage());
        }
        long s = seed != null ? seed : Math.abs(System.nanoTime() % 1_000_000_000L);
        long first = program != null ? program : 0;
        long max = program != null ? 1 : programs != null ? programs : Long.MAX_VALUE;
        return new Hunter.Settings(profile, mutant, s, maxSteps, program != null ? Double.POSITIVE_INFINITY : seconds,
                max, first, program != null ? 1 : candidates, ignored, family);
    }

    private String budget(Hunter.Settings s) {
        if (program != null) {
            return "program " + program + " only";
        }
        return String.format(Locale.ROOT, "%.0f s", seconds) + (programs != null ? " or " + programs + " programs" : "");
    }

    private static String ignoredArgs(Hunter.Settings s) {
        return s.ignored().isEmpty() ? "" : " --ignore " + String.join(",", new TreeSet<>(s.ignored()));
    }

    /** "1 call", "4 calls". */
    static String plural(long count, String noun) {
        return count + " " + noun + (count == 1 ? "" : "s");
    }

    private static double seconds(java.time.Duration d) {
        return d.toNanos() / 1e9;
    }

    static void listMutants(PrintWriter o) {
        o.println("Mutants: each puts one historical bug back (hunt with --profile linux-6.12 or linux-7.2 --mutant ID: "
                + "both kernels carry every fix below).");
        for (Mutant m : Mutant.values()) {
            o.println();
            o.println(m.id());
            o.println("  fix:    " + m.fix());
            o.println("  breaks: " + m.breaks());
            if (m.concurrent()) {
                o.println("  found:  by modelcheck --mutant " + m.id() + " (a concurrency bug: hunt runs one CPU at a time)");
                o.println("  on:     " + java.util.Arrays.stream(vmapref.kernel.Profile.values()).filter(m::appliesTo)
                        .map(vmapref.kernel.Profile::id).collect(java.util.stream.Collectors.joining(", ")));
            }
        }
    }
}
