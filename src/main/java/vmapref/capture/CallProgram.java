// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import vmapref.explore.Workload;
import vmapref.hunt.Op;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;
import vmapref.trace.TraceReader;

/**
 * The calls a capture runs in the guest: maps, unmaps by reference to an earlier map (as {@link Op.Unmap}), and
 * vm_unmap_aliases(), each on a CPU. {@link #encode} is the text the module's /proc file reads.
 */
public record CallProgram(List<Op> ops, String origin) {

    /** The largest count the module accepts (its page-pointer array is allocated at load time). */
    public static final long MAX_COUNT = 1L << 20;

    public CallProgram {
        ops = List.copyOf(ops);
    }

    /**
     * The calls of a trace, in order: a map by its count, an unmap by the earlier map whose address it names
     * (matched by reference, not by value), vm_unmap_aliases(). Flushes and busy ranges are not calls.
     */
    public static CallProgram fromTrace(Path file) throws IOException, CaptureException {
        List<Op> ops = new ArrayList<>();
        Map<Long, Integer> live = new HashMap<>();
        try (TraceReader r = TraceReader.open(file)) {
            for (TraceEvent e = r.next(); e != null; e = r.next()) {
                if (e.foreign()) {
                    continue; // another kernel user's call: not the program's
                }
                if (e instanceof TraceEvent.Map m) {
                    if (m.ret() != null) {
                        live.put(m.ret(), ops.size());
                    }
                    ops.add(new Op.Map(m.cpu(), m.count()));
                } else if (e instanceof TraceEvent.Unmap u) {
                    Integer ref = live.remove(u.addr());
                    if (ref == null) {
                        throw new CaptureException(file + ":" + e.line() + ": the unmap of " + Hex.format(u.addr())
                                + " names no mapping the trace made before it, so it cannot be replayed by reference");
                    }
                    long count = ((Op.Map) ops.get(ref)).count();
                    if (count != u.count()) {
                        throw new CaptureException(file + ":" + e.line() + ": the unmap of " + Hex.format(u.addr())
                                + " gives count " + u.count() + ", its map had " + count);
                    }
                    ops.add(new Op.Unmap(u.cpu(), ref));
                } else if (e instanceof TraceEvent.Aliases a) {
                    ops.add(new Op.Aliases(a.cpu()));
                }
            }
        } catch (TraceFormatException e) {
            throw new CaptureException("cannot read the program: " + e.getMessage());
        } catch (java.nio.file.NoSuchFileException e) {
            throw new CaptureException("cannot read the program " + file + ": no such file");
        } catch (IOException e) {
            throw new CaptureException("cannot read the program " + file + ": " + e.getMessage());
        }
        if (ops.isEmpty()) {
            throw new CaptureException(file + ": the trace has no calls to run");
        }
        return new CallProgram(ops, "the calls of " + file.getFileName());
    }

    /**
     * {@code calls} calls generated like {@code explore} does (vmapref.explore.Workload) on CPUs 0..smp-1; every
     * map is assumed to succeed, an unmap names its map by position.
     */
    public static CallProgram random(long seed, int calls, int smp) {
        KernelConfig cfg = KernelConfig.x86_64(Profile.parse("linux-6.12"), smp);
        Workload w = new Workload(cfg, seed, Workload.DEFAULT_MAX_LIVE_PAGES);
        List<Op> ops = new ArrayList<>();
        Map<Long, Integer> byTag = new HashMap<>();
        for (int i = 0; i < calls; i++) {
            Call c = w.next();
            if (c instanceof Call.Map m) {
                long tag = (i + 1L) << 12; // a stand-in address: the real one is known only in the guest
                byTag.put(tag, i);
                w.mapped(m, new Outcome.Mapped(tag));
                ops.add(new Op.Map(m.cpu(), m.count()));
            } else if (c instanceof Call.Unmap u) {
                ops.add(new Op.Unmap(u.cpu(), byTag.remove(u.addr())));
            } else {
                ops.add(new Op.Aliases(c.cpu()));
            }
        }
        return new CallProgram(ops, "random seed " + seed + ", " + calls + " calls like explore on CPUs 0.." + (smp - 1));
    }

    /** The highest CPU a call runs on. */
    public int maxCpu() {
        return ops.stream().mapToInt(Op::cpu).max().orElse(0);
    }

    /** The largest count of a map (0 when there is none). */
    public long maxCount() {
        return ops.stream().filter(o -> o instanceof Op.Map).mapToLong(o -> ((Op.Map) o).count()).max().orElse(0);
    }

    /** The module's input: "probe" if asked, one line per call ("m CPU COUNT", "u CPU REF", "a CPU"), then "run". */
    public String encode(boolean probe) {
        StringBuilder sb = new StringBuilder();
        if (probe) {
            sb.append("probe\n");
        }
        for (Op op : ops) {
            if (op instanceof Op.Map m) {
                sb.append("m ").append(m.cpu()).append(' ').append(m.count()).append('\n');
            } else if (op instanceof Op.Unmap u) {
                sb.append("u ").append(u.cpu()).append(' ').append(u.ref()).append('\n');
            } else {
                sb.append("a ").append(op.cpu()).append('\n');
            }
        }
        return sb.append("run\n").toString();
    }
}
