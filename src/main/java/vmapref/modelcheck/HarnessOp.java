// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

/**
 * One call of a harness: vm_map_ram(count) into a numbered slot, vm_unmap_ram() of the mapping in
 * a slot (skipped when its map returned NULL), or vm_unmap_aliases(). Plain Java: Java PathFinder
 * runs it.
 */
public final class HarnessOp {
    public static final int MAP = 0;
    public static final int UNMAP = 1;
    public static final int ALIASES = 2;

    public final int kind;
    public final int cpu;
    public final int count;
    public final int slot;

    private HarnessOp(int kind, int cpu, int count, int slot) {
        this.kind = kind;
        this.cpu = cpu;
        this.count = count;
        this.slot = slot;
    }

    public static HarnessOp map(int cpu, int count, int slot) {
        return new HarnessOp(MAP, cpu, count, slot);
    }

    public static HarnessOp unmap(int cpu, int slot) {
        return new HarnessOp(UNMAP, cpu, 0, slot);
    }

    public static HarnessOp aliases(int cpu) {
        return new HarnessOp(ALIASES, cpu, 0, -1);
    }

    /** "map(64) -> #1", "unmap(#1)", "vm_unmap_aliases()". */
    public String describe() {
        if (kind == MAP) {
            return "map(" + count + ") -> #" + slot;
        }
        if (kind == UNMAP) {
            return "unmap(#" + slot + ")";
        }
        return "vm_unmap_aliases()";
    }
}
