// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import vmapref.explain.Explainer;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Mutant;
import vmapref.replay.Replayer;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;

/**
 * {@code vmapref render}: a trace replayed (as {@code explain} does) and drawn, either the vmalloc range at one
 * line ({@link RangeView}) or held against live space over the whole trace ({@link TimelineView}), as SVG or PNG.
 */
public final class Render {

    /** Which picture. */
    public enum Picture { RANGE, TIMELINE }

    /** What was drawn: the replay it rests on and a one-line summary. */
    public record Result(Picture picture, Replayer.Verdict verdict, int line, int lastLine, String summary,
                         TimelineView timeline) {
    }

    /** The picture could not be written (the message says why). */
    public static final class CannotWrite extends IOException {
        public CannotWrite(String reason, Throwable cause) {
            super(reason, cause);
        }
    }

    private Render() {
    }

    /** Whether {@code out} names a picture format render writes (.svg or .png); IllegalArgumentException if not. */
    public static void checkOut(String out) {
        Canvas.Format.of(out);
    }

    /** The range picture after line {@code line} (0: at the end), or just before the first divergence. */
    public static Result range(Path trace, Replayer.Level level, int line, Set<Mutant> mutants, Path out)
            throws IOException, TraceFormatException {
        Canvas.Format format = Canvas.Format.of(out.toString());
        Replayer.Snapshot s = Replayer.snapshot(trace, level, line, mutants, null);
        if (line > s.lastLine()) {
            return new Result(Picture.RANGE, s.verdict(), line, s.lastLine(), null, null);
        }
        RangeView v = rangeView(s, line, mutants);
        RangePainter.paint(v, format, out);
        return new Result(Picture.RANGE, s.verdict(), s.line(), s.lastLine(), v.title(), null);
    }

    /** The range view of a snapshot (what {@link #range} draws). */
    static RangeView rangeView(Replayer.Snapshot s, int asked, Set<Mutant> mutants) {
        KernelConfig cfg = s.config();
        Replayer.Divergence d = s.verdict().divergence();
        String when = d != null ? "just before line " + d.line() + " (the first divergence, " + d.rule() + ")"
                : asked > 0 ? "after line " + s.line() : "at the end (line " + s.line() + ")";
        String title = "The vmalloc range " + when + " of " + s.verdict().file();
        long[] highlight = null;
        String label = null;
        TraceEvent e = s.eventAt(s.line());
        if (e instanceof TraceEvent.Map m && m.ret() != null) {
            long p = m.ret() >>> cfg.pageShift();
            highlight = new long[] {p, p + Math.max(1, m.count())};
        } else if (e instanceof TraceEvent.Unmap u) {
            long p = u.addr() >>> cfg.pageShift();
            highlight = new long[] {p, p + Math.max(1, u.count())};
        }
        if (highlight != null) {
            label = "line " + s.line() + ", " + Explainer.describe(e);
        }
        RangeView bare = RangeView.of(cfg, s.kernel(), s.spec(), title, List.of(), highlight, label);
        RangeView.Totals t = bare.totals();
        List<String> notes = new ArrayList<>();
        notes.add(configLine(cfg, mutants) + ".");
        TreeMap<Integer, Integer> perCpu = new TreeMap<>();
        for (RangeView.Block b : bare.blocks()) {
            perCpu.merge(b.cpu(), 1, Integer::sum);
        }
        List<String> cpus = new ArrayList<>();
        for (Map.Entry<Integer, Integer> c : perCpu.entrySet()) {
            cpus.add("CPU " + c.getKey() + ": " + c.getValue());
        }
        notes.add("Address space held: " + Units.size(t.held(), cfg) + " = " + bare.blocks().size() + " vmap block"
                + (bare.blocks().size() == 1 ? "" : "s") + (cpus.isEmpty() ? "" : " (" + String.join(", ", cpus) + ")")
                + " + large mappings " + Units.size(t.largeLive(), cfg) + " + lazily freed " + Units.size(t.lazy(), cfg)
                + (t.pooled() > 0 ? " + pooled " + Units.size(t.pooled(), cfg) : "")
                + ". Live data: " + Units.size(t.live(), cfg) + " (" + Units.percent(t.live(), t.held()) + " of what is held, "
                + Units.percent(t.live(), t.window()) + " of the window).");
        notes.add("Pages in blocks: " + t.blockLive() + " live, " + t.rounding() + " rounding, "
                + t.dirty() + " dirty, " + t.freeInBlocks() + " not handed out yet. Stale ranges: " + s.spec().stalePages().ranges().size()
                + ".");
        if (label != null) {
            notes.add("Outlined: " + label + ".");
        }
        RangeView v = new RangeView(cfg, title, notes, bare.blocks(), bare.areas(), bare.stale(), highlight, label, t);
        return v;
    }

    /** The timeline over the whole trace (up to the first divergence). */
    public static Result timeline(Path trace, Replayer.Level level, Set<Mutant> mutants, Path out)
            throws IOException, TraceFormatException {
        Canvas.Format format = Canvas.Format.of(out.toString());
        TimelineView[] view = new TimelineView[1];
        Replayer.Snapshot s = Replayer.snapshot(trace, level, 0, mutants, (e, k, spec) -> {
            if (view[0] == null) {
                view[0] = new TimelineView(k.cfg());
            }
            view[0].after(e, k);
        });
        TimelineView v = view[0] == null ? new TimelineView(s.config()) : view[0];
        caption(v, s.verdict().file(), s.verdict().level(), s.verdict().divergence(), mutants);
        TimelinePainter.paint(v, format, out);
        return new Result(Picture.TIMELINE, s.verdict(), s.line(), s.lastLine(), v.title(), v);
    }

    /**
     * Draws a timeline built outside a replay (the model's own run of {@code file}, which the timeline picture of
     * that trace at the exact level shows the same way).
     */
    public static void timeline(TimelineView v, String file, Set<Mutant> mutants, Path out) throws IOException {
        caption(v, file, Replayer.Level.EXACT, null, mutants);
        TimelinePainter.paint(v, Canvas.Format.of(out.toString()), out);
    }

    /** The title and notes of a timeline of {@code file}, replayed at {@code level} up to {@code d} (or the end). */
    static void caption(TimelineView v, String file, Replayer.Level level, Replayer.Divergence d, Set<Mutant> mutants) {
        KernelConfig cfg = v.cfg();
        List<String> notes = new ArrayList<>();
        notes.add(configLine(cfg, mutants) + ".");
        String nullText;
        List<TimelineView.NullCall> nulls = v.nulls();
        if (nulls.isEmpty()) {
            nullText = "vm_map_ram() never returned NULL.";
        } else {
            TimelineView.NullCall f = nulls.get(0);
            nullText = "vm_map_ram() returned NULL " + nulls.size() + " time" + (nulls.size() == 1 ? "" : "s")
                    + "; the first at call " + f.call() + " (line " + f.line() + ") with " + Units.size(f.held(), cfg)
                    + " held and " + Units.size(f.live(), cfg) + " live (" + Units.percent(f.live(), v.windowPages())
                    + " of the window).";
        }
        notes.add(v.calls() + " calls; the most held " + Units.size(v.maxHeld(), cfg) + ", the most live "
                + Units.size(v.maxLive(), cfg) + ".");
        notes.add(nullText);
        if (d != null) {
            notes.add("The replay (" + level.id() + " level) stopped at line " + d.line() + " (" + d.rule()
                    + "): the picture ends there.");
            v.stoppedAt(d.line());
        }
        v.caption("Address space held and live data over " + file, notes);
    }

    static String configLine(KernelConfig cfg, Set<Mutant> mutants) {
        return cfg.profile() + (mutants.isEmpty() ? "" : " with mutant " + mutants.iterator().next()) + ", "
                + cfg.bitsPerLong() + "-bit, CPUs " + cfg.onlineCpus() + ", NR_CPUS " + cfg.nrCpus() + "; vmalloc window "
                + Units.size(cfg.windowEndPage() - cfg.windowStartPage(), cfg) + " from " + Hex.format(cfg.vmallocStart())
                + "; vmap block " + cfg.blockPages() + " pages (" + Units.size(cfg.blockPages(), cfg) + "), VMAP_MAX_ALLOC "
                + cfg.vmapMaxAlloc() + " pages";
    }

}
