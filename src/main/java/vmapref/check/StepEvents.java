// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import java.util.ArrayList;
import java.util.List;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.Outcome;
import vmapref.kernel.Vmalloc;
import vmapref.trace.TraceEvent;

/**
 * One model step as the trace lines a tracer would have logged: the flushes that completed before
 * the call returned, the call, then the flushes of work it left behind (docs/trace-format.md: events in
 * the order they completed).
 */
public final class StepEvents {
    private StepEvents() {
    }

    public static List<TraceEvent> of(Call call, Vmalloc.Step step) {
        List<TraceEvent> out = new ArrayList<>();
        for (Effect e : step.before()) {
            flush(e, out);
        }
        out.add(callEvent(call, step.outcome()));
        for (Effect e : step.after()) {
            flush(e, out);
        }
        return out;
    }

    private static void flush(Effect e, List<TraceEvent> out) {
        if (e instanceof Effect.Flush f) {
            out.add(new TraceEvent.Flush(0, f.start(), f.end(), null, null, f.by()));
        }
    }

    /** The call line; a Rejected outcome has none (the call was never made). */
    public static TraceEvent callEvent(Call call, Outcome o) {
        String bug = o instanceof Outcome.Bug b ? b.text() : null;
        if (call instanceof Call.Map m) {
            Long ret = o instanceof Outcome.Mapped mapped ? mapped.addr() : null;
            return new TraceEvent.Map(0, m.cpu(), m.count(), ret, bug, m.prot(), null, null);
        }
        if (call instanceof Call.Unmap u) {
            return new TraceEvent.Unmap(0, u.cpu(), u.addr(), u.count(), bug, null, null);
        }
        return new TraceEvent.Aliases(0, call.cpu(), bug, null, null);
    }
}
