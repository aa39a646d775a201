// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import java.util.Set;
import vmapref.fastpath.FastConfig;
import vmapref.fastpath.FastVmalloc;
import vmapref.fastpath.Probe;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * Runs a {@link Harness} on the fast path with real threads: the setup on the calling thread, then
 * one thread per task, then the checks of a quiet kernel. Every rule is an assertion inside the
 * fast path ({@code vmapref.fastpath.Tlb}, the block accounting, poisoned objects), so a violation
 * is an {@link AssertionError}, rethrown here from whichever thread met it. Plain Java: this is
 * what Java PathFinder explores ({@link JpfHarnessMain}).
 */
public final class HarnessRun {
    private final Harness h;
    private final FastVmalloc k;
    private final long[] addr;
    private final long[] count;

    public HarnessRun(Harness h, Profile profile, Set<Mutant> mutants, Probe probe) {
        this.h = h;
        this.k = new FastVmalloc(FastConfig.of(Harness.config(profile), mutants, h.aliasesRule), probe);
        this.addr = new long[h.slots()];
        this.count = new long[h.slots()];
    }

    /** One call, as a task on {@code op.cpu}. */
    void call(HarnessOp op) {
        if (op.kind == HarnessOp.MAP) {
            addr[op.slot] = k.vmMapRam(op.cpu, op.count);
            count[op.slot] = op.count;
        } else if (op.kind == HarnessOp.UNMAP) {
            if (addr[op.slot] != 0) {
                k.vmUnmapRam(op.cpu, addr[op.slot], count[op.slot]);
            }
        } else {
            k.vmUnmapAliases(op.cpu);
        }
    }

    /** The whole harness; throws the first AssertionError any thread met. */
    public void run() throws InterruptedException {
        for (HarnessOp op : h.setup) {
            call(op);
        }
        Thread[] threads = new Thread[h.threads.length];
        Throwable[] failed = new Throwable[h.threads.length];
        for (int i = 0; i < threads.length; i++) {
            HarnessOp[] ops = h.threads[i];
            int me = i;
            threads[i] = new Thread(() -> {
                try {
                    for (HarnessOp op : ops) {
                        call(op);
                    }
                } catch (RuntimeException | Error e) {
                    failed[me] = e;
                    throw e;
                }
            }, h.threadNames[i]);
        }
        for (Thread t : threads) {
            t.start();
        }
        for (Thread t : threads) {
            t.join();
        }
        for (Throwable f : failed) {
            if (f instanceof RuntimeException r) {
                throw r;
            }
            if (f instanceof Error e) {
                throw e;
            }
        }
        k.checkQuiescent();
    }
}
