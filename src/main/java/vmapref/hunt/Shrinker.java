// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.IntStream;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Mutant;

/**
 * Makes a failing program small while it keeps failing the same way (same rule or property, or
 * still a divergence). Deterministic: the same program always shrinks to the same result.
 *
 * <p>Passes, repeated until none helps: cut after the failing call; delta debugging over the
 * calls (ddmin's chunk removal, halving the chunk size down to single calls; dropping a map drops
 * the unmaps that name it); smaller counts (toward 1, powers of two and their neighbours, halving);
 * lower CPU numbers; then smaller configurations (fewer possible CPUs, CPUs renumbered from 0,
 * smaller vmap blocks, a smaller vmalloc range where the range is already not x86_64's); and, once
 * none of those helps, all calls of one CPU moved to a lower CPU together.
 */
public final class Shrinker {

    private final Mutant mutant;
    private final Set<String> ignored;
    private final String kind;
    private int runs;

    /** Shrinks toward programs whose verdict has the same kind as {@code target}. */
    public Shrinker(Mutant mutant, Set<String> ignored, Failure target) {
        this.mutant = mutant;
        this.ignored = Set.copyOf(ignored);
        this.kind = target.kind();
    }

    /** How many programs were run. */
    public int runs() {
        return runs;
    }

    /** Whether {@code p} still fails the same way; returns its run, or null. */
    public Execution test(Program p) {
        runs++;
        Execution e = Execution.run(p, mutant, ignored);
        Failure f = e.verdict();
        return f != null && f.kind().equals(kind) ? e : null;
    }

    public Program shrink(Program p) {
        Execution e = test(p);
        if (e == null) {
            throw new IllegalArgumentException("the program does not fail with " + kind);
        }
        Program best = cut(p, e);
        for (int round = 0; round < 20; round++) {
            Program before = best;
            best = removeCalls(best);
            best = smallerCounts(best);
            best = lowerCpus(best);
            best = smallerConfig(best);
            if (best.equals(before)) {
                // moving a whole CPU's calls can trade a short program for a long one (a block to fill on the
                // CPU they join), so it is tried only once nothing else helps
                best = moveCpus(best);
                if (best.equals(before)) {
                    break;
                }
            }
        }
        return best;
    }

    /** Drops the calls after the failing one. */
    private Program cut(Program p, Execution e) {
        return p.prefix(e.verdict().step());
    }

    private Program accept(Program candidate) {
        Execution e = test(candidate);
        return e == null ? null : cut(candidate, e);
    }

    // ------------------------------------------------------------ calls

    /** ddmin over the calls: remove chunks of n/2, n/4, ... 1 calls while the failure stays. */
    private Program removeCalls(Program p) {
        return removeCalls(p, this::accept);
    }

    /**
     * ddmin over the calls of {@code p}: remove chunks of n/2, n/4, ... 1 calls while {@code accept}
     * takes the smaller program (it returns the program to go on from, or null to refuse it).
     */
    public static Program removeCalls(Program p, java.util.function.UnaryOperator<Program> accept) {
        int chunk = Math.max(1, p.size() / 2);
        while (true) {
            boolean removed = false;
            for (int start = 0; start < p.size(); ) {
                List<Integer> drop = new ArrayList<>();
                for (int i = start; i < Math.min(p.size(), start + chunk); i++) {
                    drop.add(i);
                }
                Program next = drop.size() < p.size() ? accept.apply(p.without(drop)) : null;
                if (next != null) {
                    p = next;
                    removed = true;
                } else {
                    start += chunk;
                }
            }
            if (chunk == 1 && !removed) {
                return p;
            }
            if (!removed) {
                chunk = Math.max(1, chunk / 2);
            }
        }
    }

    // ------------------------------------------------------------ counts

    private Program smallerCounts(Program p) {
        return smallerCounts(p, this::accept);
    }

    /**
     * Each map's count made as small as {@code accept} takes it (it returns the program to go on
     * from, or null to refuse the candidate), trying {@link #candidates} smallest first.
     */
    public static Program smallerCounts(Program p, java.util.function.UnaryOperator<Program> accept) {
        for (int i = 0; i < p.size(); i++) {
            if (!(p.op(i) instanceof Op.Map m) || m.count() <= 1) {
                continue;
            }
            for (long c : candidates(m.count())) {
                Program next = accept.apply(p.with(i, m.withCount(c)));
                if (next != null) {
                    p = next;
                    break;
                }
            }
        }
        return p;
    }

    /** Smaller counts to try, smallest first: 1, powers of two and their neighbours, halves, count - 1. */
    static List<Long> candidates(long count) {
        TreeSet<Long> out = new TreeSet<>();
        out.add(1L);
        for (long p = 2; p < count; p <<= 1) {
            out.add(p - 1);
            out.add(p);
            out.add(p + 1);
        }
        for (long h = count / 2; h > 1; h /= 2) {
            out.add(h);
        }
        out.add(count - 1);
        return out.headSet(count).stream().filter(c -> c >= 1).toList();
    }

    // ------------------------------------------------------------ CPUs

    /** Moves every call of one CPU to a lower CPU: calls that must share a CPU move together. */
    private Program moveCpus(Program p) {
        List<Integer> online = p.config().onlineCpus();
        for (int from : new TreeSet<>(p.cpusUsed())) {
            for (int to : online) {
                if (to >= from) {
                    break;
                }
                List<Op> ops = new ArrayList<>();
                for (Op op : p.ops()) {
                    ops.add(op.cpu() == from ? op.onCpu(to) : op);
                }
                Program next = accept(new Program(p.config(), ops));
                if (next != null) {
                    p = next;
                    break;
                }
            }
        }
        return p;
    }

    /** Moves single calls to lower CPUs. */
    private Program lowerCpus(Program p) {
        List<Integer> online = p.config().onlineCpus();
        for (int i = 0; i < p.size(); i++) {
            for (int c : online) {
                if (c >= p.op(i).cpu()) {
                    break;
                }
                Program next = accept(p.with(i, p.op(i).onCpu(c)));
                if (next != null) {
                    p = next;
                    break;
                }
            }
        }
        return p;
    }

    // ------------------------------------------------------------ configuration

    private Program smallerConfig(Program p) {
        KernelConfig c = p.config();
        // fewer possible CPUs: drop one no call uses
        for (int cpu : List.copyOf(c.possibleCpus())) {
            if (c.possibleCpus().size() > 1 && !p.cpusUsed().contains(cpu)) {
                List<Integer> fewer = new ArrayList<>(c.possibleCpus());
                fewer.remove(Integer.valueOf(cpu));
                Program next = accept(p.withConfig(withCpus(c, fewer)));
                if (next != null) {
                    return smallerConfig(next);
                }
            }
        }
        // CPUs renumbered 0..n-1, keeping their order
        List<Integer> possible = c.possibleCpus().stream().sorted().toList();
        if (!possible.equals(IntStream.range(0, possible.size()).boxed().toList())) {
            List<Op> ops = new ArrayList<>();
            for (Op op : p.ops()) {
                ops.add(op.onCpu(possible.indexOf(op.cpu())));
            }
            Program next = accept(new Program(withCpus(c, IntStream.range(0, possible.size()).boxed().toList()), ops));
            if (next != null) {
                return smallerConfig(next);
            }
        }
        // smaller blocks: NR_CPUS 8192 on 64-bit (256 pages, Debian's), 32 on 32-bit (64 pages)
        int smallBlocks = c.bitsPerLong() == 64 ? 8192 : 32;
        if (c.nrCpus() < smallBlocks) {
            Program next = accept(p.withConfig(new KernelConfig(c.profile(), c.pageShift(), c.vmallocStart(),
                    c.vmallocEnd(), smallBlocks, c.nrCpuIds(), c.possibleCpus(), c.onlineCpus(), c.bitsPerLong())));
            if (next != null) {
                return smallerConfig(next);
            }
        }
        // a smaller vmalloc range, where it is not x86_64's: halve it down to four blocks
        long bytes = c.vmallocEnd() - c.vmallocStart();
        long minBytes = 4L * c.blockPages() << c.pageShift();
        if (c.vmallocEnd() != KernelConfig.X86_64_VMALLOC_END && bytes / 2 >= minBytes) {
            long end = c.vmallocStart() + ((bytes + 1) / 2 & -c.pageSize()) - (c.bitsPerLong() == 64 ? 1 : 0);
            if (c.bitsPerLong() == 32) {
                end = c.vmallocStart() + (bytes / 2 & -c.pageSize());
            }
            Program next = accept(p.withConfig(new KernelConfig(c.profile(), c.pageShift(), c.vmallocStart(), end,
                    c.nrCpus(), c.nrCpuIds(), c.possibleCpus(), c.onlineCpus(), c.bitsPerLong())));
            if (next != null) {
                return smallerConfig(next);
            }
        }
        return p;
    }

    /** The configuration with these possible (and online) CPUs; nr_cpu_ids follows the highest. */
    static KernelConfig withCpus(KernelConfig c, List<Integer> cpus) {
        List<Integer> sorted = cpus.stream().sorted().toList();
        return new KernelConfig(c.profile(), c.pageShift(), c.vmallocStart(), c.vmallocEnd(), c.nrCpus(),
                sorted.get(sorted.size() - 1) + 1, sorted, sorted, c.bitsPerLong());
    }
}
