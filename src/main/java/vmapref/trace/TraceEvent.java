// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import java.util.List;

/**
 * One event line of a trace (docs/trace-format.md, "Events"). Every event carries its 1-based
 * {@code line} in the file (0 when built in memory) and the optional {@code seq} and {@code note}.
 */
public sealed interface TraceEvent {

    /** 1-based line in the file; 0 for an event built in memory. */
    int line();

    /** The optional {@code "seq"} field, or null. */
    Long seq();

    /** The optional {@code "note"} field, or null. */
    String note();

    /** The {@code "op"} value: map, unmap, aliases, flush, busy or (version 2) shrink. */
    String op();

    /** The text of a crashed call's {@code "bug"}, or null (always null for flush and busy). */
    default String bug() {
        return null;
    }

    /** True for the calls (map, unmap, aliases), the traced program's and others', false for the rest. */
    default boolean isCall() {
        return false;
    }

    /** Version 2: a call another kernel user made ({@code "by":"other"}), not the traced program. */
    default boolean foreign() {
        return false;
    }

    /** Version 2: the kernel task (its pid) that made another user's vm_unmap_aliases() or a flush; null if not said. */
    default Long task() {
        return null;
    }

    /**
     * {@code vm_map_ram(pages, count, node)} returned {@code ret}; {@code ret == null && bug == null} means it
     * returned NULL, {@code bug != null} that it crashed (then {@code ret} is null). {@code prot} is the
     * linux-4.8 extension argument of {@code vm_map_ram(pages, count, node, prot)}, or null.
     */
    record Map(int line, int cpu, long count, Long ret, String bug, Long prot, Long seq, String note, boolean foreign)
            implements TraceEvent {
        public Map {
            if (ret != null && bug != null) {
                throw new IllegalArgumentException("a crashed map has a bug in place of ret, not both");
            }
        }

        /** A call of the traced program. */
        public Map(int line, int cpu, long count, Long ret, String bug, Long prot, Long seq, String note) {
            this(line, cpu, count, ret, bug, prot, seq, note, false);
        }

        /** True if the call returned NULL (and did not crash). */
        public boolean returnedNull() {
            return ret == null && bug == null;
        }

        @Override
        public String op() {
            return "map";
        }

        @Override
        public boolean isCall() {
            return true;
        }
    }

    /** {@code vm_unmap_ram(addr, count)}; {@code bug != null} if it crashed. */
    record Unmap(int line, int cpu, long addr, long count, String bug, Long seq, String note, boolean foreign)
            implements TraceEvent {
        /** A call of the traced program. */
        public Unmap(int line, int cpu, long addr, long count, String bug, Long seq, String note) {
            this(line, cpu, addr, count, bug, seq, note, false);
        }

        @Override
        public String op() {
            return "unmap";
        }

        @Override
        public boolean isCall() {
            return true;
        }
    }

    /**
     * {@code vm_unmap_aliases()}; {@code bug != null} if it crashed. {@code probes}: what capture
     * --probe-stale read right after the call returned, one entry per range probed; null when the call
     * was not probed (docs/trace-format.md, "Probes").
     */
    record Aliases(int line, int cpu, String bug, Long seq, String note, List<Probe> probes, boolean foreign, Long task)
            implements TraceEvent {
        public Aliases {
            probes = probes == null ? null : List.copyOf(probes);
        }

        public Aliases(int line, int cpu, String bug, Long seq, String note, List<Probe> probes, boolean foreign) {
            this(line, cpu, bug, seq, note, probes, foreign, null);
        }

        public Aliases(int line, int cpu, String bug, Long seq, String note, List<Probe> probes) {
            this(line, cpu, bug, seq, note, probes, false);
        }

        public Aliases(int line, int cpu, String bug, Long seq, String note) {
            this(line, cpu, bug, seq, note, null, false);
        }

        @Override
        public String op() {
            return "aliases";
        }

        @Override
        public boolean isCall() {
            return true;
        }
    }

    /**
     * A TLB flush of the kernel range {@code [start, end)} completed, on {@code cpu} if known (else null);
     * {@code path} (version 2, else null) is the purge path behind it: {@link #PATHS}; {@code by} (version
     * 2, else null) the task that flushed: {@link #BY}, null when the trace does not say; {@code task} its pid.
     */
    record Flush(int line, long start, long end, Integer cpu, Long seq, String note, String path, String by, Long task)
            implements TraceEvent {
        /** The {@code "path"} values: alloc_vmap_area()'s overflow purge, the drain work, vm_unmap_aliases(), the rest. */
        public static final List<String> PATHS = List.of("overflow", "drain", "aliases", "other");
        /** The {@code "by"} values of a flush: one of the traced program's calls, or another task. */
        public static final List<String> BY = List.of("program", "other");

        public Flush {
            if (path != null && !PATHS.contains(path)) {
                throw new IllegalArgumentException("flush path must be one of " + PATHS + ", not " + path);
            }
            if (by != null && !BY.contains(by)) {
                throw new IllegalArgumentException("flush by must be one of " + BY + ", not " + by);
            }
        }

        public Flush(int line, long start, long end, Integer cpu, Long seq, String note, String path, String by) {
            this(line, start, end, cpu, seq, note, path, by, null);
        }

        public Flush(int line, long start, long end, Integer cpu, Long seq, String note, String path) {
            this(line, start, end, cpu, seq, note, path, null, null);
        }

        public Flush(int line, long start, long end, Integer cpu, Long seq, String note) {
            this(line, start, end, cpu, seq, note, null, null, null);
        }

        /** Whether the trace says the traced program's own call made this flush. */
        public boolean byProgram() {
            return "program".equals(by);
        }

        @Override
        public String op() {
            return "flush";
        }
    }

    /** A range {@code [start, end)} held by something other than the traced calls, at this point. */
    record Busy(int line, long start, long end, Long seq, String note) implements TraceEvent {
        @Override
        public String op() {
            return "busy";
        }
    }

    /** Version 2: the vmap-node shrinker ran (vmap_node_shrink_scan()): every node pool decayed fully, no flush. */
    record Shrink(int line, Integer cpu, Long seq, String note) implements TraceEvent {
        @Override
        public String op() {
            return "shrink";
        }
    }

    /** An in-memory map that returned {@code ret} (null for NULL). */
    static Map map(int cpu, long count, Long ret) {
        return new Map(0, cpu, count, ret, null, null, null, null);
    }

    /** An in-memory unmap that returned. */
    static Unmap unmap(int cpu, long addr, long count) {
        return new Unmap(0, cpu, addr, count, null, null, null);
    }

    /** An in-memory vm_unmap_aliases that returned. */
    static Aliases aliases(int cpu) {
        return new Aliases(0, cpu, null, null, null);
    }

    /** An in-memory flush of {@code [start, end)} on an unknown CPU. */
    static Flush flush(long start, long end) {
        return new Flush(0, start, end, null, null, null);
    }

    /** An in-memory busy range {@code [start, end)}. */
    static Busy busy(long start, long end) {
        return new Busy(0, start, end, null, null);
    }

    /** A read of the first byte of {@code addr} (copy_from_kernel_nofault()): whether it succeeded. */
    record Probe(long addr, boolean readable) {
    }
}
