// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import vmapref.replay.Replayer;
import vmapref.trace.TraceFormatException;

/** {@code vmapref replay [--level spec|structure|exact] FILE...}: one verdict line per trace. */
@Command(name = "replay", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Replay traces at spec, structure or exact level: one verdict line per file.",
        description = {
            "Replays traces (trace format version 1) against the model and prints one verdict line per file: "
                    + "PASS, or FAIL naming file:line, the rule, what the model expected and what the trace did, ending with "
                    + "the explain command that shows more.",
            "Levels: spec = only the abstract specification's rules; structure = also every offset inside a "
                    + "vmap block, which block serves a call, and when blocks are retired (where new blocks and "
                    + "large areas land is taken from the trace); exact = every address and every flush "
                    + "(needs an \"exclusive\" trace, such as explore --trace writes).",
            "Unreadable or malformed files are reported on stderr (file:line: rule: detail) and replay goes on "
                    + "with the next file."},
        exitCodeListHeading = "%nExit codes (the worst over all files):%n",
        exitCodeList = {
            "0:every file conforms",
            "1:a file diverges from the model or breaks the specification",
            "2:a file cannot be read or parsed, or bad arguments",
            "3:internal error (a bug in vmapref)"})
final class ReplayCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "structure", converter = Converters.LevelConverter.class,
            description = "spec, structure or exact (default: ${DEFAULT-VALUE})")
    Replayer.Level level;

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "trace files (.jsonl)")
    List<String> files;

    @Option(names = "--quiet", description = "no progress on stderr (shown for long traces)")
    boolean quiet;

    @Option(names = "--worlds", paramLabel = "N", defaultValue = "32",
            description = "structure level: how many interleavings of a busy kernel's events to follow at most "
                    + "(default: ${DEFAULT-VALUE}; more is slower)")
    int worlds;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (worlds < 1) {
            err.println("vmapref replay: --worlds must be at least 1, not " + worlds);
            return ExitCode.BAD_INPUT;
        }
        int worst = ExitCode.OK;
        for (String file : files) {
            int code = replayOne(file, out, err);
            worst = Math.max(worst, code);
            out.flush();
            err.flush();
        }
        return worst;
    }

    private int replayOne(String file, PrintWriter out, PrintWriter err) {
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            err.println(file + ": cannot read: not a valid path (" + e.getReason() + ")");
            return ExitCode.BAD_INPUT;
        }
        try {
            Replayer.Verdict v;
            try (Progress p = Progress.start("replay " + file, "lines", 0, quiet, err)) {
                v = Replayer.replay(path, level, p::at, worlds);
            }
            out.println(v.conforms() ? v.line()
                    : v.line() + " (more: " + ExplainCommand.command(file, v.divergence().line(), level) + ")");
            return v.conforms() ? ExitCode.OK : ExitCode.VIOLATION;
        } catch (TraceFormatException e) {
            err.println(Main.oneLine(e.getMessage()));
            return ExitCode.BAD_INPUT;
        } catch (IOException e) {
            err.println(file + ": cannot read: " + reason(e, path));
            return ExitCode.BAD_INPUT;
        } catch (RuntimeException e) {
            err.println(file + ": internal error while replaying: " + Main.describe(e));
            return ExitCode.INTERNAL;
        }
    }

    static String reason(IOException e, Path path) {
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (Files.isDirectory(path)) {
            return "is a directory";
        }
        return Main.describe(e);
    }
}
