// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import java.util.ArrayList;
import java.util.Set;
import vmapref.fastpath.FastConfig;
import vmapref.fastpath.FastVmalloc;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;

/** A correct example adapter: the concurrent fast path (FastVmalloc), its flush effects passed to the kit. */
final class FastVmallocAdapter implements VmapImplementation {
    private final FastVmalloc k;

    FastVmallocAdapter(KernelConfig config, FlushListener flushes) {
        k = new FastVmalloc(FastConfig.of(config, Set.of()), null);
        k.recordEffects(new ArrayList<>() {
            @Override
            public boolean add(Effect e) {
                if (e instanceof Effect.Flush f) {
                    flushes.flushed(f.start(), f.end(), f.by());
                }
                return true;
            }
        });
    }

    @Override
    public long map(int cpu, long count) {
        return k.vmMapRam(cpu, count);
    }

    @Override
    public void unmap(int cpu, long addr, long count) {
        k.vmUnmapRam(cpu, addr, count);
    }

    @Override
    public void aliases(int cpu) {
        k.vmUnmapAliases(cpu);
    }
}
