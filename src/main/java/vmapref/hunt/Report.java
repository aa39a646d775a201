// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import vmapref.check.Configs;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Outcome;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceHeader;
import vmapref.trace.TraceWriter;

/** A counterexample for people: the numbered call list, and the trace file that replays it. */
public final class Report {

    private Report() {
    }

    /** The configuration in one line. */
    public static String config(KernelConfig c) {
        return c.profile() + ", " + c.bitsPerLong() + "-bit, NR_CPUS " + c.nrCpus() + " (block " + c.blockPages()
                + " pages, VMAP_MAX_ALLOC " + c.vmapMaxAlloc() + "), possible/online CPUs " + c.possibleCpus()
                + " (nr_cpu_ids " + c.nrCpuIds() + "), vmalloc " + Hex.format(c.vmallocStart()) + ".."
                + Hex.format(c.vmallocEnd()) + " (" + (c.windowEndPage() - c.windowStartPage()) + " pages)";
    }

    /**
     * The run as a numbered list, one call per line with its result and the flushes it caused,
     * then the verdict: {@code 1. cpu0 map(64) -> 0xffffc90000000000}.
     */
    public static String listing(Execution e) {
        StringBuilder sb = new StringBuilder();
        for (Execution.Step s : e.steps()) {
            sb.append(s.index() + 1).append(". ").append(Program.describe(s.op()));
            if (!s.ran()) {
                sb.append("   (skipped: ").append(s.skipped()).append(")\n");
                continue;
            }
            Outcome o = s.result().outcome();
            if (o instanceof Outcome.Mapped m) {
                sb.append(" -> ").append(Hex.format(m.addr()));
            } else if (o instanceof Outcome.Null) {
                sb.append(" -> NULL");
            } else if (o instanceof Outcome.Bug b) {
                sb.append(" -> crash: ").append(b.text());
            }
            sb.append('\n');
            for (int i = 0; i < s.result().effects().size(); i++) {
                if (s.result().effects().get(i) instanceof Effect.Flush f) {
                    sb.append("     flush [").append(Hex.format(f.start())).append(", ").append(Hex.format(f.end()))
                            .append(") by ").append(f.by()).append(i >= s.result().resultAt() ? ", after returning" : "")
                            .append('\n');
                }
            }
        }
        Failure f = e.verdict();
        if (f != null) {
            Failure sym = e.symptom();
            if (sym != null && sym != f && sym.step() <= f.step()) {
                sb.append("first symptom: ").append(sym.kind()).append(" at step ").append(sym.step()).append(": ")
                        .append(sym.message()).append('\n');
            }
            sb.append(f).append('\n');
        }
        return sb.toString();
    }

    /** The header note of a hunt's trace. */
    public static String note(Hunter.Settings s, long index) {
        String found = "found by vmapref hunt seed " + s.seed() + " program " + index;
        return s.mutant() == null ? found : "mutant " + s.mutant().id() + ": " + found;
    }

    /**
     * Writes the run as a trace: exclusive, every flush, the unmutated profile in the header, the
     * mutant (if any) in its "note", the listing as comments, then the events of the system under
     * test (the mutant's behaviour), a crash recorded as "bug".
     */
    public static void writeTrace(Execution e, Path file, String note) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        TraceHeader h = Configs.header(e.config());
        if (note != null) {
            h = h.withNote(note);
        }
        try (TraceWriter w = TraceWriter.create(file)) {
            w.header(h);
            w.comment(config(e.config()));
            w.comment(listing(e).stripTrailing());
            for (TraceEvent ev : e.events()) {
                w.event(ev);
            }
        }
    }

    /** The replay level that shows the failure, or null when no replay does (a property of the model state). */
    public static String replayLevel(Failure f) {
        return switch (f.level()) {
            case SPEC -> "spec";
            case EXACT -> "exact";
            case MODEL -> null;
        };
    }

    /** The command that replays a trace at the level that shows the failure. */
    public static String replayCommand(Failure f, Path file) {
        String level = replayLevel(f);
        return "java -jar target/vmapref.jar replay --level " + (level == null ? "exact" : level) + " " + file;
    }
}
