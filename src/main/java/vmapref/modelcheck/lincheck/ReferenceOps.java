// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.lincheck;

import java.util.Set;
import vmapref.kernel.Call;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Vmalloc;
import vmapref.modelcheck.Harness;

/**
 * Lincheck's sequential specification: the same operations run through the immutable reference
 * implementation ({@link Vmalloc#step}) with the unmutated profile. A linearizable fast path
 * returns, for every interleaving, what the reference returns for some order of the calls that
 * respects their real-time order.
 */
public class ReferenceOps {
    private KernelState state = KernelState.boot(Harness.config(FastPathOps.profile()), Set.of(), KernelState.Mode.EXACT);
    private final long[] addr = new long[FastPathOps.SLOTS];
    private final long[] count = new long[FastPathOps.SLOTS];

    public long map(int cpu, int count, int slot) {
        Vmalloc.Step s = Vmalloc.step(state, new Call.Map(cpu, count));
        state = s.state();
        long a = s.outcome() instanceof Outcome.Mapped m ? m.addr() : 0;
        addr[slot] = a;
        this.count[slot] = count;
        return a;
    }

    public void unmap(int cpu, int slot) {
        if (addr[slot] != 0) {
            state = Vmalloc.step(state, new Call.Unmap(cpu, addr[slot], count[slot])).state();
        }
    }

    public void aliases(int cpu) {
        state = Vmalloc.step(state, new Call.Aliases(cpu)).state();
    }
}
