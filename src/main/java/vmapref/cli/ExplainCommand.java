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
import vmapref.explain.Explainer;
import vmapref.replay.Replayer;
import vmapref.trace.TraceFormatException;

/** {@code vmapref explain [--line N] [--level LEVEL] FILE}: why a trace diverges, in readable text. */
@Command(name = "explain", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Explain a trace's first divergence (or one line): rule, history, and the model's state.",
        description = {
            "Replays one trace like replay does and prints, for its first divergence or violation (or for the "
                    + "line given with --line): the rule, what the model expected and what the trace did; the "
                    + "history of the mapping and the vmap block involved (the lines that created, filled, freed "
                    + "and flushed them); and the model's state at that point (each CPU's free list with base, "
                    + "free, dirty, dirty range and live pages of its blocks; lazily freed areas; stale ranges).",
            "With --line N the replay stops after line N (or at an earlier divergence) and shows the state there."},
        exitCodeListHeading = "%nExit codes (as replay's):%n",
        exitCodeList = {
            "0:no divergence up to the end (or up to --line)",
            "1:a divergence or violation is shown",
            "2:the file cannot be read or parsed, or bad arguments",
            "3:internal error (a bug in vmapref)"})
final class ExplainCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "structure", converter = Converters.LevelConverter.class,
            description = "spec, structure or exact (default: ${DEFAULT-VALUE})")
    Replayer.Level level;

    @Option(names = "--line", paramLabel = "N", description = "explain the state after line N (default: the first divergence)")
    Integer line;

    @Parameters(paramLabel = "FILE", arity = "1", description = "a trace file (.jsonl)")
    String file;

    /** The explain command line that shows {@code line} of {@code file} at {@code level}. */
    static String command(String file, int line, Replayer.Level level) {
        return "vmapref explain " + quote(file) + " --line " + line + " --level " + level.id();
    }

    /** A file name as a shell word. */
    static String quote(String file) {
        return file.matches("[A-Za-z0-9_./:@+,=-]+") ? file : "'" + file.replace("'", "'\\''") + "'";
    }

    /** The render command line that draws the range at {@code line} of {@code file} into {@code out}. */
    static String renderCommand(String file, int line, Replayer.Level level, String out) {
        return "vmapref render " + quote(file) + " --line " + line + (level == Replayer.Level.STRUCTURE ? "" : " --level " + level.id())
                + " --out " + out;
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (line != null && line < 1) {
            err.println("vmapref explain: --line must be 1 or more, got " + line + ". Try 'vmapref explain --help'");
            return ExitCode.BAD_INPUT;
        }
        Path path;
        try {
            path = Path.of(file);
        } catch (InvalidPathException e) {
            err.println(file + ": cannot read: not a valid path (" + e.getReason() + ")");
            return ExitCode.BAD_INPUT;
        }
        try {
            Replayer.Snapshot s = Replayer.snapshot(path, level, line == null ? 0 : line);
            if (line != null && line > s.lastLine()) {
                err.println(file + ": --line " + line + " is past the end of the trace (" + s.lastLine() + " lines)");
                return ExitCode.BAD_INPUT;
            }
            Replayer.Divergence later = null;
            if (line != null && s.verdict().conforms()) {
                Replayer.Verdict whole = Replayer.replay(path, level);
                later = whole.divergence();
            }
            String text = Explainer.explain(s, line, later,
                    later == null ? null : command(file, later.line(), level),
                    name -> renderCommand(file, s.line(), level, name));
            out.print(text);
            out.flush();
            return s.verdict().conforms() ? ExitCode.OK : ExitCode.VIOLATION;
        } catch (TraceFormatException e) {
            err.println(Main.oneLine(e.getMessage()));
            return ExitCode.BAD_INPUT;
        } catch (IOException e) {
            err.println(file + ": cannot read: " + ReplayCommand.reason(e, path));
            return ExitCode.BAD_INPUT;
        } catch (RuntimeException e) {
            err.println(file + ": internal error while explaining: " + Main.describe(e));
            return ExitCode.INTERNAL;
        }
    }
}
