// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import java.util.List;

import vmapref.spec.Spec;
import vmapref.spec.SpecConfig;
import vmapref.spec.Violation;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;

/** Feeds trace events, in order, to the abstract specification: the {@code spec} replay level. */
public final class SpecChecker {
    private Spec spec;

    public SpecChecker(SpecConfig cfg) {
        this.spec = Spec.initial(cfg);
    }

    public Spec spec() {
        return spec;
    }

    /** Applies one event; returns the rule it breaks, or null. */
    public Violation apply(TraceEvent e) {
        Spec.Result r;
        if (e instanceof TraceEvent.Map m) {
            if (m.bug() != null) {
                r = spec.crash("vm_map_ram(count=" + m.count() + ") on CPU " + m.cpu(), spec.mapInContract(m.count()), m.bug());
            } else if (m.ret() == null) {
                r = spec.mapNull(m.count());
            } else {
                r = spec.map(m.ret(), m.count());
            }
        } else if (e instanceof TraceEvent.Unmap u) {
            if (u.foreign() && u.bug() == null && !spec.unmap(u.addr(), u.count()).ok()) {
                return null; // another user's mapping from before the trace began
            }
            if (u.bug() != null) {
                boolean inContract = spec.unmap(u.addr(), u.count()).ok();
                r = spec.crash("vm_unmap_ram(" + Hex.format(u.addr()) + ", " + u.count() + ")", inContract, u.bug());
            } else {
                r = spec.unmap(u.addr(), u.count());
            }
        } else if (e instanceof TraceEvent.Aliases a) {
            if (a.foreign()) {
                return null; // another user's call ran alongside the traced ones: what it must flush is unknown
            }
            r = a.bug() != null ? spec.crash("vm_unmap_aliases() on CPU " + a.cpu(), true, a.bug()) : spec.aliases();
            for (TraceEvent.Probe p : a.probes() == null ? List.<TraceEvent.Probe>of() : a.probes()) {
                if (r.violation() == null) {
                    r = r.next().probe(p.addr(), p.readable());
                }
            }
        } else if (e instanceof TraceEvent.Flush f) {
            r = spec.flush(f.start(), f.end());
        } else {
            return null; // busy (a snapshot of other users) or shrink: no rule applies
        }
        spec = r.next();
        return r.violation();
    }
}
