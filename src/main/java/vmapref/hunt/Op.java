// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

/**
 * One call of a {@link Program}. An unmap names the map it undoes by its position in the program,
 * not by address, so that a program stays valid when the shrinker deletes calls (Hypothesis'
 * bundles): the address is whatever that map returned when the program runs.
 */
public sealed interface Op {

    /** The CPU the call runs on. */
    int cpu();

    /** The same call on another CPU. */
    Op onCpu(int cpu);

    /** vm_map_ram(pages, count, node) on {@code cpu}. */
    record Map(int cpu, long count) implements Op {
        @Override
        public Op onCpu(int c) {
            return new Map(c, count);
        }

        public Map withCount(long c) {
            return new Map(cpu, c);
        }
    }

    /**
     * vm_unmap_ram(addr, count) on {@code cpu}, where addr and count are those of the map at
     * position {@code ref} (0-based) of the program. Skipped when that map returned NULL, crashed or
     * was already unmapped.
     */
    record Unmap(int cpu, int ref) implements Op {
        @Override
        public Op onCpu(int c) {
            return new Unmap(c, ref);
        }
    }

    /** vm_unmap_aliases() on {@code cpu}. */
    record Aliases(int cpu) implements Op {
        @Override
        public Op onCpu(int c) {
            return new Aliases(c);
        }
    }
}
