// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import vmapref.kernel.KernelConfig;

/**
 * A call program: a kernel configuration and a list of calls on its CPUs. Running it through the
 * model ({@link Execution}) yields a trace; it is what the generator produces and the shrinker
 * makes smaller.
 */
public record Program(KernelConfig config, List<Op> ops) {

    public Program {
        ops = List.copyOf(ops);
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op instanceof Op.Unmap u && (u.ref() < 0 || u.ref() >= i || !(ops.get(u.ref()) instanceof Op.Map))) {
                throw new IllegalArgumentException("call #" + (i + 1) + " unmaps #" + (u.ref() + 1)
                        + ", which is not an earlier map");
            }
        }
    }

    public int size() {
        return ops.size();
    }

    public Op op(int i) {
        return ops.get(i);
    }

    /** The first {@code n} calls. */
    public Program prefix(int n) {
        return new Program(config, ops.subList(0, Math.min(n, ops.size())));
    }

    public Program withConfig(KernelConfig c) {
        return new Program(c, ops);
    }

    /** This program with call {@code i} replaced (an unmap's ref must still name an earlier map). */
    public Program with(int i, Op op) {
        List<Op> next = new ArrayList<>(ops);
        next.set(i, op);
        return new Program(config, next);
    }

    /**
     * This program without the calls at {@code drop}; an unmap whose map is dropped goes too, and
     * the remaining refs are renumbered.
     */
    public Program without(Collection<Integer> drop) {
        Set<Integer> gone = new HashSet<>(drop);
        int[] newIndex = new int[ops.size()];
        List<Op> next = new ArrayList<>();
        for (int i = 0; i < ops.size(); i++) {
            Op op = ops.get(i);
            if (op instanceof Op.Unmap u && gone.contains(u.ref())) {
                gone.add(i);
            }
            if (gone.contains(i)) {
                newIndex[i] = -1;
                continue;
            }
            newIndex[i] = next.size();
            next.add(op instanceof Op.Unmap u ? new Op.Unmap(u.cpu(), newIndex[u.ref()]) : op);
        }
        return new Program(config, next);
    }

    /** The CPUs the calls run on. */
    public Set<Integer> cpusUsed() {
        return ops.stream().map(Op::cpu).collect(Collectors.toSet());
    }

    /** The numbered list, without results: {@code 1. cpu0 map(64)}. */
    public String listing() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < ops.size(); i++) {
            sb.append(i + 1).append(". ").append(describe(ops.get(i))).append('\n');
        }
        return sb.toString();
    }

    /** One call as the listing shows it. */
    public static String describe(Op op) {
        if (op instanceof Op.Map m) {
            return "cpu" + m.cpu() + " map(" + m.count() + ")";
        }
        if (op instanceof Op.Unmap u) {
            return "cpu" + u.cpu() + " unmap(#" + (u.ref() + 1) + ")";
        }
        return "cpu" + op.cpu() + " vm_unmap_aliases()";
    }
}
