// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import vmapref.study.Fragmentation;
import vmapref.trace.TraceFormatException;

/** {@code vmapref study fragmentation --out docs/fragmentation.md}: the fragmentation study, regenerated. */
@Command(name = "study", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Regenerate a study: its document, pictures and traces.",
        description = {
            "fragmentation: long- and short-lived small mappings mixed against kept apart, on a 32-bit 120 MiB window "
                    + "and on 64-bit; the first NULL and how much of the window holds live data then; the same workload "
                    + "with large mappings; linux-4.8, linux-6.1, linux-6.12 and the new-block-at-list-head mutant. "
                    + "Writes OUT (Markdown), its pictures in a folder named after OUT beside it (OUT without .md), and "
                    + "the traces behind them in --traces. Seeded: the same options give the same files.",
            "Example: vmapref study fragmentation --out docs/fragmentation.md"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the study was written",
            "2:bad arguments, or a file that cannot be written",
            "3:internal error (a bug in vmapref)"})
final class StudyCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Parameters(paramLabel = "STUDY", arity = "1", description = "the study: fragmentation")
    String study;

    @Option(names = "--out", paramLabel = "OUT.md", defaultValue = "docs/fragmentation.md",
            description = "the document to write (default: ${DEFAULT-VALUE})")
    String out;

    @Option(names = "--traces", paramLabel = "DIR", defaultValue = "target/fragmentation",
            description = "where the traces go (default: ${DEFAULT-VALUE})")
    String traces;

    @Option(names = "--calls-32", paramLabel = "N", defaultValue = "200000",
            description = "calls at most per 32-bit run (default: ${DEFAULT-VALUE})")
    int calls32;

    @Option(names = "--calls-64", paramLabel = "N", defaultValue = "30000",
            description = "calls per 64-bit run (default: ${DEFAULT-VALUE})")
    int calls64;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "the workload's seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String usage = ". Try 'vmapref study --help'";
        if (!study.equals("fragmentation")) {
            err.println("vmapref study: unknown study '" + study + "' (known: fragmentation)" + usage);
            return ExitCode.BAD_INPUT;
        }
        if (!out.endsWith(".md")) {
            err.println("vmapref study: --out must name a Markdown file ending in .md, got '" + out + "'" + usage);
            return ExitCode.BAD_INPUT;
        }
        if (calls32 < 100 || calls64 < 100) {
            err.println("vmapref study: --calls-32 and --calls-64 must be at least 100" + usage);
            return ExitCode.BAD_INPUT;
        }
        Path doc;
        Path dir;
        try {
            doc = Path.of(out);
            dir = Path.of(traces);
        } catch (InvalidPathException e) {
            err.println("vmapref study: not a valid path (" + e.getReason() + ")" + usage);
            return ExitCode.BAD_INPUT;
        }
        long start = System.nanoTime();
        try {
            String summary = Fragmentation.run(new Fragmentation.Options(calls32, calls64, seed), doc, dir);
            o.println(summary + String.format(java.util.Locale.ROOT, " in %.1f s", (System.nanoTime() - start) / 1e9));
            o.flush();
            return ExitCode.OK;
        } catch (IOException e) {
            err.println("vmapref study: cannot write: " + Main.describe(e));
            return ExitCode.BAD_INPUT;
        } catch (TraceFormatException | RuntimeException e) {
            err.println("vmapref study: internal error: " + Main.describe(e));
            return ExitCode.INTERNAL;
        }
    }
}
