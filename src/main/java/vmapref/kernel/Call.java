// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

/** One call into the allocator, made on a CPU. */
public sealed interface Call {

    int cpu();

    /** vm_map_ram(pages, count, node[, prot]); prot is only accepted by linux-4.8. */
    record Map(int cpu, long count, Long prot) implements Call {
        public Map(int cpu, long count) {
            this(cpu, count, null);
        }
    }

    /** vm_unmap_ram(addr, count). */
    record Unmap(int cpu, long addr, long count) implements Call {
    }

    /** vm_unmap_aliases(). */
    record Aliases(int cpu) implements Call {
    }
}
