// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import vmapref.explore.Explorer;
import vmapref.explore.Workload;
import vmapref.kernel.Profile;
import vmapref.trace.TraceWriter;

/** {@code vmapref explore}: a seeded random workload on the reference implementation, checked by refinement. */
@Command(name = "explore", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Run a seeded random workload on the reference implementation, checked by refinement.",
        description = {
            "Drives the reference implementation with a seeded random workload (small and large maps, unmaps of "
                    + "live mappings on any CPU, vm_unmap_aliases()) on an x86_64 Debian configuration "
                    + "(NR_CPUS 8192, 256-page blocks), checks the abstract specification and the abstraction "
                    + "function (incrementally: what the call changed) after every call, and the whole state after the "
                    + "last, stops at the first violation and prints a summary.",
            "Profiles: " + "linux-4.8, linux-6.1, linux-6.12, linux-7.2" + ".",
            "--trace writes the run as an exclusive trace: 'vmapref replay' gives it the run's verdict at every "
                    + "level."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:nothing violated",
            "1:a violation was found (the summary names the step, call and rule)",
            "2:bad arguments, or the trace file cannot be written",
            "3:internal error (a bug in vmapref)"})
final class ExploreCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--profile", paramLabel = "P", defaultValue = "linux-6.12", converter = Converters.ProfileConverter.class,
            description = "the kernel whose behaviour to model (default: ${DEFAULT-VALUE})")
    Profile profile;

    @Option(names = "--cpus", paramLabel = "N", defaultValue = "2",
            description = "online CPUs, 1.." + Explorer.Options.MAX_CPUS + " (default: ${DEFAULT-VALUE})")
    int cpus;

    @Option(names = "--steps", paramLabel = "K", defaultValue = "100000",
            description = "calls to make (default: ${DEFAULT-VALUE})")
    long steps;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1",
            description = "random seed; the same seed gives the same run (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--full-check-every", paramLabel = "N",
            description = "also run the full abstraction check (every live mapping and stale page of the whole "
                    + "state) on every N-th call, as a cross-check of the incremental one that runs after every call "
                    + "(default: after the last call only); a violation it finds that the incremental check "
                    + "missed is a bug in vmapref (exit 3)")
    Integer fullCheckEvery;

    @Option(names = "--aliases-per-mille", paramLabel = "N", defaultValue = "25",
            description = "share of vm_unmap_aliases() calls, per mille; 0 explores without them "
                    + "(default: ${DEFAULT-VALUE})")
    int aliasesPerMille;

    @Option(names = "--trace", paramLabel = "FILE", description = "write the run as an exclusive trace to FILE")
    Path trace;

    @Option(names = "--quiet", description = "no progress on stderr")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        Explorer.Options options;
        try {
            options = new Explorer.Options(profile, cpus, steps, seed, Explorer.Options.DEFAULT_FULL_CHECK_EVERY,
                    Workload.DEFAULT_MAX_LIVE_PAGES, aliasesPerMille);
            if (fullCheckEvery != null) {
                options = options.withFullCheckEvery(fullCheckEvery);
            }
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        Explorer.Result result;
        if (trace == null) {
            try (Progress p = Progress.start("explore", "steps", steps, quiet, spec.commandLine().getErr())) {
                result = Explorer.run(options, null, p::at);
            }
        } else {
            TraceWriter writer;
            try {
                writer = TraceWriter.create(trace);
            } catch (IOException e) {
                return cannotWrite(e);
            }
            try (writer; Progress p = Progress.start("explore", "steps", steps, quiet, spec.commandLine().getErr())) {
                result = Explorer.run(options, writer, p::at);
            } catch (IOException e) {
                return cannotWrite(e);
            }
        }
        print(result, out);
        out.flush();
        return result.violated() ? ExitCode.VIOLATION : ExitCode.OK;
    }

    private int cannotWrite(IOException e) {
        String why = e instanceof java.nio.file.NoSuchFileException ? "no such directory"
                : e instanceof java.nio.file.AccessDeniedException ? "permission denied" : Main.describe(e);
        spec.commandLine().getErr().println("vmapref explore: cannot write the trace " + trace + ": " + why);
        spec.commandLine().getErr().flush();
        return ExitCode.BAD_INPUT;
    }

    /** The summary: configuration, speed, what happened, and the violation if any. */
    void print(Explorer.Result r, PrintWriter out) {
        Explorer.Options o = r.options();
        out.println("vmapref explore: " + r.cfg().describe());
        out.println(String.format(Locale.ROOT, "seed %d: %d steps in %.2f s (%.0f steps/s); specification and "
                + "abstraction checked after every step, full abstraction check %s", o.seed(), r.steps(), r.seconds(),
                r.stepsPerSecond(), o.fullCheckEvery() == 0 ? "at the end"
                        : o.fullCheckEvery() == 1 ? "after every step" : "every " + o.fullCheckEvery() + " steps and at the end"));
        if (o.aliasesPerMille() != Workload.DEFAULT_ALIASES_PER_MILLE) {
            out.println("vm_unmap_aliases() share: " + o.aliasesPerMille() + " per mille");
        }
        out.println("calls: " + n(r.smallMaps(), "small map") + ", " + n(r.largeMaps(), "large map") + ", "
                + n(r.unmaps(), "unmap") + " (" + r.crossCpuUnmaps() + " on another CPU), " + r.aliases()
                + " vm_unmap_aliases()");
        out.println("NULL returns: " + r.nullReturns());
        out.println("vmap blocks: " + r.blocksCreated() + " created, " + r.blocksRetired() + " retired; TLB flushes: "
                + r.flushes());
        out.println(String.format(Locale.ROOT, "address space held at the end: %.2f MiB (%d pages in %d busy, "
                + "%d lazily freed, %d pooled areas)", r.heldMiB(), r.heldPages(), r.busyAreas(), r.lazyAreas(),
                r.pooledAreas()));
        out.println("peak live mappings: " + r.peakLive() + " (" + r.peakLivePages() + " pages at most)");
        if (trace != null) {
            out.println("trace: " + trace + " (" + r.traceLines() + " lines)");
        }
        Explorer.Found f = r.violation();
        if (f == null) {
            out.println("violations: 0");
            return;
        }
        out.println("violations: 1, at step " + f.call().step()
                + (f.traceLine() > 0 ? " (trace line " + f.traceLine() + ")" : "") + ": " + f.call().describe());
        out.println("  rule " + f.violation().rule().id() + ": " + f.violation().rule().statement());
        out.println("  " + f.violation().message());
        out.println("the last calls:");
        for (Explorer.CallRecord c : f.before()) {
            out.println(String.format(Locale.ROOT, "  %d. %s", c.step(), c.describe()));
        }
        out.println(String.format(Locale.ROOT, "  %d. %s   <- breaks %s", f.call().step(), f.call().describe(),
                f.violation().rule().id()));
    }

    static String n(long count, String noun) {
        return count + " " + noun + (count == 1 ? "" : "s");
    }
}
