// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import vmapref.kernel.Mutant;
import vmapref.render.Render;
import vmapref.replay.Replayer;
import vmapref.trace.TraceFormatException;

/** {@code vmapref render FILE [--line N] [--picture range|timeline] --out OUT.svg|OUT.png}: a trace as a picture. */
@Command(name = "render", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Draw a trace: the vmalloc range at one line, or held against live space over the whole trace.",
        description = {
            "Replays one trace like explain does and draws one of two pictures, as SVG or PNG by the extension of --out:",
            "range: the vmalloc range after line N (or at the end, or just before the first divergence), zoomed to the "
                    + "part in use: every vmap block page by page (live, rounding, dirty, not yet handed out), its owner "
                    + "CPU, its dirty range; large mappings, lazily freed and pooled areas; stale ranges. The mapping of "
                    + "line N, if any, is outlined.",
            "timeline: after every call, the address space held (vmap blocks, whole, and large areas, live or lazily "
                    + "freed) against the live data (pages mapped by live mappings), with the calls where vm_map_ram() "
                    + "returned NULL marked in red.",
            "The picture is range when --line is given and timeline otherwise; --picture chooses either.",
            "Example: vmapref render trace.jsonl --line 97 --out block.svg"},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the picture was written; the trace conforms up to its point",
            "1:the picture was written; the trace diverges before that point (the picture stops there)",
            "2:bad arguments, a trace that cannot be read or parsed, --line past the end, or --out not writable",
            "3:internal error (a bug in vmapref)"})
final class RenderCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--line", paramLabel = "N", description = "draw the vmalloc range after line N")
    Integer line;

    @Option(names = "--picture", paramLabel = "WHAT", description = "range or timeline (default: range with --line, timeline without)")
    String picture;

    @Option(names = "--out", paramLabel = "OUT", required = true, description = "the picture to write: OUT.svg or OUT.png")
    String out;

    @Option(names = "--level", paramLabel = "LEVEL", defaultValue = "structure", converter = Converters.LevelConverter.class,
            description = "the replay's level: spec, structure or exact (default: ${DEFAULT-VALUE})")
    Replayer.Level level;

    @Option(names = "--mutant", paramLabel = "M", converter = Converters.MutantConverter.class,
            description = "replay with a historical bug put back (for a trace the model wrote with it; see hunt --list-mutants)")
    Mutant mutant;

    @Parameters(paramLabel = "FILE", arity = "1", description = "a trace file (.jsonl)")
    String file;

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String usage = ". Try 'vmapref render --help'";
        if (line != null && line < 1) {
            err.println("vmapref render: --line must be 1 or more, got " + line + usage);
            return ExitCode.BAD_INPUT;
        }
        Render.Picture what;
        if (picture == null) {
            what = line == null ? Render.Picture.TIMELINE : Render.Picture.RANGE;
        } else if (List.of("range", "timeline").contains(picture)) {
            what = picture.equals("range") ? Render.Picture.RANGE : Render.Picture.TIMELINE;
        } else {
            err.println("vmapref render: --picture must be range or timeline, got '" + picture + "'" + usage);
            return ExitCode.BAD_INPUT;
        }
        if (what == Render.Picture.TIMELINE && line != null) {
            err.println("vmapref render: --line draws the range at that line; the timeline covers the whole trace" + usage);
            return ExitCode.BAD_INPUT;
        }
        if (mutant != null && mutant.concurrent()) {
            err.println("vmapref render: " + mutant + " is a concurrency mutant of the fast path; the model replays "
                    + "only sequential ones" + usage);
            return ExitCode.BAD_INPUT;
        }
        Path trace;
        Path target;
        try {
            Render.checkOut(out);
            target = Path.of(out);
        } catch (IllegalArgumentException e) {
            err.println("vmapref render: " + Main.oneLine(e.getMessage()) + usage);
            return ExitCode.BAD_INPUT;
        }
        try {
            trace = Path.of(file);
        } catch (InvalidPathException e) {
            err.println(file + ": cannot read: not a valid path (" + e.getReason() + ")");
            return ExitCode.BAD_INPUT;
        }
        Set<Mutant> mutants = mutant == null ? Set.of() : Set.of(mutant);
        Render.Result r;
        try {
            r = what == Render.Picture.RANGE ? Render.range(trace, level, line == null ? 0 : line, mutants, target)
                    : Render.timeline(trace, level, mutants, target);
        } catch (TraceFormatException e) {
            err.println(Main.oneLine(e.getMessage()));
            return ExitCode.BAD_INPUT;
        } catch (Render.CannotWrite e) {
            err.println(out + ": cannot write: " + Main.oneLine(e.getMessage()));
            return ExitCode.BAD_INPUT;
        } catch (IOException e) {
            err.println(file + ": cannot read: " + ReplayCommand.reason(e, trace));
            return ExitCode.BAD_INPUT;
        } catch (RuntimeException e) {
            err.println(file + ": internal error while rendering: " + Main.describe(e));
            return ExitCode.INTERNAL;
        }
        if (r.summary() == null) {
            err.println(file + ": --line " + line + " is past the end of the trace (" + r.lastLine() + " lines)");
            return ExitCode.BAD_INPUT;
        }
        Replayer.Divergence d = r.verdict().divergence();
        o.println("wrote " + out + ": " + r.summary()
                + (d == null ? "" : " (the trace diverges at line " + d.line() + ", " + d.rule() + ": "
                + ExplainCommand.command(file, d.line(), level) + ")"));
        o.flush();
        return d == null ? ExitCode.OK : ExitCode.VIOLATION;
    }
}
