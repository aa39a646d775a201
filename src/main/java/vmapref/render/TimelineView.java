// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.util.ArrayList;
import java.util.List;
import org.pcollections.PSortedMap;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Va;
import vmapref.trace.TraceEvent;

/**
 * What the timeline picture shows: after every call of a trace, the address space held (pages of the vmalloc
 * range in vmap blocks, whole, and in large areas, busy, lazily freed or pooled) against the live pages (pages
 * mapped by live mappings), and the calls where vm_map_ram() returned NULL.
 */
public final class TimelineView {

    /** A vm_map_ram() that returned NULL: its call number, trace line, count, and the held and live pages then. */
    public record NullCall(int call, int line, long count, long held, long live) {
    }

    private final KernelConfig cfg;
    private long[] held = new long[1024];
    private long[] live = new long[1024];
    private int[] lines = new int[1024];
    private int calls;
    private long livePages;
    private final List<NullCall> nulls = new ArrayList<>();
    private PSortedMap<Long, Va> lastAreas;
    private long lastHeld;
    private String title = "";
    private List<String> notes = List.of();
    private int stoppedAt;

    public TimelineView(KernelConfig cfg) {
        this.cfg = cfg;
    }

    /** Address space held in {@code k}: every area of the traced calls that is not free (not other users'). */
    public static long held(KernelState k) {
        long h = 0;
        for (Va va : k.areas().values()) {
            if (va.kind() != Va.Kind.OTHER) {
                h += va.pages();
            }
        }
        return h;
    }

    /** Records event {@code e}, replayed with state {@code k} after it (a Replayer.Observer). */
    public void after(TraceEvent e, KernelState k) {
        after(e, e.line(), k);
    }

    /** Records event {@code e}, which is (or will be) on trace line {@code line}, with state {@code k} after it. */
    public void after(TraceEvent e, int line, KernelState k) {
        if (!e.isCall()) {
            return;
        }
        if (e instanceof TraceEvent.Map m && m.bug() == null) {
            if (m.ret() != null) {
                livePages += m.count();
            }
        } else if (e instanceof TraceEvent.Unmap u && u.bug() == null) {
            livePages -= u.count();
        }
        if (k.areas() != lastAreas) {
            lastAreas = k.areas();
            lastHeld = held(k);
        }
        if (calls == held.length) {
            held = java.util.Arrays.copyOf(held, calls * 2);
            live = java.util.Arrays.copyOf(live, calls * 2);
            lines = java.util.Arrays.copyOf(lines, calls * 2);
        }
        held[calls] = lastHeld;
        live[calls] = livePages;
        lines[calls] = line;
        calls++;
        if (e instanceof TraceEvent.Map m && m.ret() == null && m.bug() == null) {
            nulls.add(new NullCall(calls, line, m.count(), lastHeld, livePages));
        }
    }

    /** Sets the caption: a title and lines under it. */
    public TimelineView caption(String t, List<String> n) {
        this.title = t;
        this.notes = List.copyOf(n);
        return this;
    }

    /** The replay stopped at this line (a divergence), or 0. */
    public TimelineView stoppedAt(int line) {
        this.stoppedAt = line;
        return this;
    }

    public KernelConfig cfg() {
        return cfg;
    }

    public int calls() {
        return calls;
    }

    /** Pages held after call {@code i} (0-based). */
    public long held(int i) {
        return held[i];
    }

    /** Live pages after call {@code i} (0-based). */
    public long live(int i) {
        return live[i];
    }

    /** The trace line of call {@code i} (0-based). */
    public int line(int i) {
        return lines[i];
    }

    public List<NullCall> nulls() {
        return List.copyOf(nulls);
    }

    public long maxHeld() {
        long m = 0;
        for (int i = 0; i < calls; i++) {
            m = Math.max(m, held[i]);
        }
        return m;
    }

    /** The mean of held pages over the calls. */
    public double meanHeld() {
        double sum = 0;
        for (int i = 0; i < calls; i++) {
            sum += held[i];
        }
        return calls == 0 ? 0 : sum / calls;
    }

    /** The mean of live pages over the calls. */
    public double meanLive() {
        double sum = 0;
        for (int i = 0; i < calls; i++) {
            sum += live[i];
        }
        return calls == 0 ? 0 : sum / calls;
    }

    public long maxLive() {
        long m = 0;
        for (int i = 0; i < calls; i++) {
            m = Math.max(m, live[i]);
        }
        return m;
    }

    public long windowPages() {
        return cfg.windowEndPage() - cfg.windowStartPage();
    }

    public String title() {
        return title;
    }

    public List<String> notes() {
        return notes;
    }

    public int stoppedAt() {
        return stoppedAt;
    }
}
