// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import java.util.ArrayList;
import java.util.List;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Profile;

/**
 * A small closed concurrent program for the model checkers: calls made one after another first
 * (the setup), then two or three threads, each a task on a CPU, each making one to four calls. The
 * kernel has 2 possible CPUs, NR_CPUS 16384 so that a block is 128 pages (two map(64) fill one),
 * VMAP_PURGE_THRESHOLD 32, and the x86_64 vmalloc range.
 */
public final class Harness {
    /** NR_CPUS that makes VMAP_BBMAP_BITS 128 on 64-bit with 4 KiB pages. */
    static final int NR_CPUS = 16384;

    public final String name;
    public final String description;
    public final HarnessOp[] setup;
    /** The threads' names ("cpu0", "cpu1", or "cpu0a", "cpu0b" for two tasks on one CPU). */
    public final String[] threadNames;
    public final HarnessOp[][] threads;
    /** Whether aliases-no-stale is checked (false only where the harness asks about memory safety alone). */
    public final boolean aliasesRule;

    private Harness(String name, String description, HarnessOp[] setup, String[] threadNames, HarnessOp[][] threads) {
        this(name, description, true, setup, threadNames, threads);
    }

    private Harness(String name, String description, boolean aliasesRule, HarnessOp[] setup, String[] threadNames,
                    HarnessOp[][] threads) {
        this.name = name;
        this.description = description;
        this.aliasesRule = aliasesRule;
        this.setup = setup;
        this.threadNames = threadNames;
        this.threads = threads;
    }

    /** Slots used by the maps. */
    public int slots() {
        int n = 0;
        for (HarnessOp op : setup) {
            n = Math.max(n, op.slot + 1);
        }
        for (HarnessOp[] t : threads) {
            for (HarnessOp op : t) {
                n = Math.max(n, op.slot + 1);
            }
        }
        return n;
    }

    /** The harness's kernel: two possible and online CPUs, 128-page blocks. */
    public static KernelConfig config(Profile profile) {
        List<Integer> cpus = List.of(0, 1);
        return new KernelConfig(profile, 12, KernelConfig.X86_64_VMALLOC_START, KernelConfig.X86_64_VMALLOC_END,
                NR_CPUS, 2, cpus, cpus, 64);
    }

    private static HarnessOp[] ops(HarnessOp... ops) {
        return ops;
    }

    private static final Harness[] ALL = {
        new Harness("same-block-map",
                "two tasks on CPU 0 map 64 pages each from the one block that has 64 free pages "
                        + "(vb_alloc() is preemptible: both walk CPU 0's free list)",
                ops(HarnessOp.map(0, 64, 0)),
                new String[] {"cpu0a", "cpu0b"},
                new HarnessOp[][] {ops(HarnessOp.map(0, 64, 1)), ops(HarnessOp.map(0, 64, 2))}),
        new Harness("cross-cpu-unmap",
                "CPU 1 unmaps a mapping in CPU 0's block while CPU 0 allocates from that block and unmaps its own",
                ops(HarnessOp.map(0, 32, 0), HarnessOp.map(0, 32, 1)),
                new String[] {"cpu0", "cpu1"},
                new HarnessOp[][] {ops(HarnessOp.map(0, 32, 2), HarnessOp.unmap(0, 1)), ops(HarnessOp.unmap(1, 0))}),
        new Harness("aliases-vs-fill",
                "CPU 1's vm_unmap_aliases() races CPU 0's map that fills a block holding a dirty, unflushed range",
                ops(HarnessOp.map(0, 64, 0), HarnessOp.map(0, 32, 1), HarnessOp.unmap(0, 1)),
                new String[] {"cpu0", "cpu1"},
                new HarnessOp[][] {ops(HarnessOp.map(0, 32, 2)), ops(HarnessOp.aliases(1))}),
        new Harness("aliases-vs-purge",
                "two vm_unmap_aliases() race to purge a fragmented block (no live pages, 16 free)",
                ops(HarnessOp.map(0, 64, 0), HarnessOp.map(0, 32, 1), HarnessOp.map(0, 16, 2),
                        HarnessOp.unmap(0, 0), HarnessOp.unmap(0, 1), HarnessOp.unmap(0, 2)),
                new String[] {"cpu0", "cpu1"},
                new HarnessOp[][] {ops(HarnessOp.aliases(0)), ops(HarnessOp.aliases(1))}),
        new Harness("hash-other-cpu",
                "CPU 0 creates a block while CPU 1's vm_unmap_aliases() walks the xarrays and purges CPU 0's "
                        + "fragmented block, whose address hashes to CPU 1's xarray",
                ops(HarnessOp.map(0, 64, 0), HarnessOp.map(0, 64, 1), // block 1: full, CPU 0's xarray
                        HarnessOp.map(0, 64, 2), HarnessOp.map(0, 32, 3), HarnessOp.map(0, 16, 4), // block 2: CPU 1's xarray
                        HarnessOp.unmap(0, 2), HarnessOp.unmap(0, 3), HarnessOp.unmap(0, 4)),
                new String[] {"cpu0", "cpu1"},
                new HarnessOp[][] {ops(HarnessOp.map(0, 64, 5)), ops(HarnessOp.aliases(1))}),
        new Harness("retire-vs-aliases",
                "the open question: CPU 0's last vm_unmap_ram() retires a full block (vb_free() -> free_vmap_block(), "
                        + "no vmap_purge_lock) while CPU 1's vm_unmap_aliases() runs; a page of that block was unmapped "
                        + "before vm_unmap_aliases() started",
                ops(HarnessOp.map(0, 64, 0), HarnessOp.map(0, 64, 1), HarnessOp.unmap(0, 0)),
                new String[] {"cpu0", "cpu1"},
                new HarnessOp[][] {ops(HarnessOp.unmap(0, 1)), ops(HarnessOp.aliases(1))}),
        new Harness("retire-during-walk",
                "retire-vs-aliases asked about memory safety alone (aliases-no-stale, which it breaks, not "
                        + "checked): vm_unmap_aliases() meets a block vb_free() is retiring",
                false,
                ops(HarnessOp.map(0, 64, 0), HarnessOp.map(0, 64, 1), HarnessOp.unmap(0, 0)),
                new String[] {"cpu0", "cpu1"},
                new HarnessOp[][] {ops(HarnessOp.unmap(0, 1)), ops(HarnessOp.aliases(1))}),
    };

    public static Harness[] all() {
        return ALL.clone();
    }

    /** The harness called {@code name}, or null. */
    public static Harness byName(String name) {
        for (Harness h : ALL) {
            if (h.name.equals(name)) {
                return h;
            }
        }
        return null;
    }

    public static List<String> names() {
        List<String> out = new ArrayList<>();
        for (Harness h : ALL) {
            out.add(h.name);
        }
        return out;
    }
}
