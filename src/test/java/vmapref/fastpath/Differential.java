// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import vmapref.hunt.Execution;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.Outcome;

/** Runs what an {@link Execution} ran through the fast path on one thread and names the first difference. */
final class Differential {
    /** Flush effects compared so far (to show the comparison is not empty). */
    static long flushesCompared;
    /** NULL results compared so far. */
    static long nullsCompared;

    private Differential() {
    }

    /** Null when every call agrees, else what differs first. */
    static String compare(Execution e) {
        FastVmalloc f = new FastVmalloc(FastConfig.of(e.config(), Set.of()), null);
        List<Effect> effects = new ArrayList<>();
        f.recordEffects(effects);
        for (Execution.Step step : e.steps()) {
            if (step.result() == null) {
                continue; // skipped: its map returned NULL or crashed, or the run had stopped
            }
            Call call = step.call() != null ? step.call() : null;
            if (call == null) {
                continue; // rejected by the reference: not a call the kernel runs
            }
            effects.clear();
            Outcome got;
            try {
                got = run(f, call);
            } catch (FastVmalloc.KernelBug bug) {
                got = new Outcome.Bug(bug.getMessage());
            } catch (FastVmalloc.Refused r) {
                got = new Outcome.Rejected(r.rule, r.getMessage());
            } catch (AssertionError a) {
                return "call #" + (step.index() + 1) + " " + call + ": the fast path failed a check: " + a.getMessage();
            }
            Outcome want = step.result().outcome();
            if (!same(want, got)) {
                return "call #" + (step.index() + 1) + " " + call + ": reference " + want + ", fast path " + got;
            }
            if (!effects.equals(step.result().effects())) {
                return "call #" + (step.index() + 1) + " " + call + ": reference effects " + step.result().effects()
                        + ", fast path " + effects;
            }
            for (Effect x : effects) {
                if (x instanceof Effect.Flush) {
                    flushesCompared++;
                }
            }
            if (got instanceof Outcome.Null) {
                nullsCompared++;
            }
            if (got instanceof Outcome.Bug) {
                break;
            }
        }
        try {
            f.checkQuiescent();
        } catch (AssertionError a) {
            return "at the end: " + a.getMessage();
        }
        return null;
    }

    private static Outcome run(FastVmalloc f, Call call) {
        if (call instanceof Call.Map m) {
            long a = f.vmMapRam(m.cpu(), m.count());
            return a == 0 ? new Outcome.Null("") : new Outcome.Mapped(a);
        }
        if (call instanceof Call.Unmap u) {
            f.vmUnmapRam(u.cpu(), u.addr(), u.count());
            return new Outcome.Done();
        }
        f.vmUnmapAliases(call.cpu());
        return new Outcome.Done();
    }

    private static boolean same(Outcome want, Outcome got) {
        if (want instanceof Outcome.Null) {
            return got instanceof Outcome.Null;
        }
        if (want instanceof Outcome.Rejected w) {
            return got instanceof Outcome.Rejected g && w.rule().equals(g.rule());
        }
        return want.equals(got);
    }
}
