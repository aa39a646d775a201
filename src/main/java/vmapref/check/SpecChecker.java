// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import java.util.List;

import vmapref.spec.IntervalSet;
import vmapref.spec.Spec;
import vmapref.spec.SpecConfig;
import vmapref.spec.Violation;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;

/** Feeds trace events, in order, to the abstract specification: the {@code spec} replay level. */
public final class SpecChecker {
    private Spec spec;
    /** Pages other tasks unmapped since the traced program's previous call returned (version 2 traces). */
    private IntervalSet meanwhile = IntervalSet.empty();

    public SpecChecker(SpecConfig cfg) {
        this.spec = Spec.initial(cfg);
    }

    public Spec spec() {
        return spec;
    }

    /** Applies one event; returns the rule it breaks, or null. */
    public Violation apply(TraceEvent e) {
        Spec.Result r;
        IntervalSet since = meanwhile;
        if (e.isCall() && !e.foreign()) {
            meanwhile = IntervalSet.empty(); // the program's calls come one after another
        }
        if (e instanceof TraceEvent.Map m) {
            return map(m.cpu(), m.count(), m.ret(), m.bug());
        } else if (e instanceof TraceEvent.Unmap u) {
            if (u.foreign() && u.bug() == null && !spec.unmap(u.addr(), u.count()).ok()) {
                return null; // another user's mapping from before the trace began
            }
            if (u.foreign() && u.bug() == null) {
                int shift = spec.config().pageShift();
                meanwhile = meanwhile.plus(u.addr() >>> shift, (u.addr() >>> shift) + u.count());
            }
            return unmap(u.addr(), u.count(), u.bug());
        } else if (e instanceof TraceEvent.Aliases a) {
            if (a.foreign()) {
                return null; // another user's call ran alongside the traced ones: what it must flush is unknown
            }
            r = a.bug() != null ? spec.crash("vm_unmap_aliases() on CPU " + a.cpu(), true, a.bug()) : spec.aliases(since);
            for (TraceEvent.Probe p : a.probes() == null ? List.<TraceEvent.Probe>of() : a.probes()) {
                if (r.violation() == null) {
                    r = r.next().probe(p.addr(), p.readable());
                }
            }
        } else if (e instanceof TraceEvent.Flush f) {
            return flush(f.start(), f.end());
        } else {
            return null; // busy (a snapshot of other users) or shrink: no rule applies
        }
        spec = r.next();
        return r.violation();
    }

    /** A map call: returned {@code ret} (null for NULL) or crashed with {@code bug}. */
    public Violation map(int cpu, long count, Long ret, String bug) {
        Spec.Result r;
        if (bug != null) {
            r = spec.crash("vm_map_ram(count=" + count + ") on CPU " + cpu, spec.mapInContract(count), bug);
        } else if (ret == null) {
            r = spec.mapNull(count);
        } else {
            r = spec.map(ret, count);
        }
        spec = r.next();
        return r.violation();
    }

    /** An unmap call, crashed with {@code bug} if not null. */
    public Violation unmap(long addr, long count, String bug) {
        Spec.Result r;
        if (bug != null) {
            boolean inContract = spec.unmap(addr, count).ok();
            r = spec.crash("vm_unmap_ram(" + Hex.format(addr) + ", " + count + ")", inContract, bug);
        } else {
            r = spec.unmap(addr, count);
        }
        spec = r.next();
        return r.violation();
    }

    /** A vm_unmap_aliases() call without probes, crashed with {@code bug} if not null. */
    public Violation aliases(int cpu, String bug) {
        Spec.Result r = bug != null ? spec.crash("vm_unmap_aliases() on CPU " + cpu, true, bug) : spec.aliases();
        spec = r.next();
        return r.violation();
    }

    /** A completed flush of [start, end), in bytes. */
    public Violation flush(long start, long end) {
        Spec.Result r = spec.flush(start, end);
        spec = r.next();
        return r.violation();
    }
}
