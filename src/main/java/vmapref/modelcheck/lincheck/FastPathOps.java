// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.lincheck;

import java.util.Set;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Validate;
import vmapref.fastpath.FastConfig;
import vmapref.fastpath.FastVmalloc;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.modelcheck.Harness;

/**
 * The fast path as Lincheck's object under test: the three calls as operations on numbered slots
 * (an unmap names the slot its map filled, so a scenario can be written down before it runs). The
 * rules of the fast path are assertions inside it; the validation function checks the quiet
 * kernel after the threads. Lincheck builds one instance per run through the no-argument
 * constructor, so the profile and mutants come from {@link #configure}.
 */
public class FastPathOps {
    static final int SLOTS = 16;
    private static volatile Profile profile = Profile.LINUX_6_12;
    private static volatile Set<Mutant> mutants = Set.of();
    private static volatile boolean aliasesRule = true;

    private final FastVmalloc k = new FastVmalloc(FastConfig.of(Harness.config(profile), mutants, aliasesRule), null);
    private final long[] addr = new long[SLOTS];
    private final long[] count = new long[SLOTS];

    /** The kernel the next check runs on. */
    static void configure(Profile p, Set<Mutant> m, boolean checkAliases) {
        profile = p;
        mutants = Set.copyOf(m);
        aliasesRule = checkAliases;
    }

    static Profile profile() {
        return profile;
    }

    /** vm_map_ram(count) on {@code cpu}; the address goes to {@code slot}; 0 is NULL. */
    @Operation
    public long map(int cpu, int count, int slot) {
        long a = k.vmMapRam(cpu, count);
        addr[slot] = a;
        this.count[slot] = count;
        return a;
    }

    /** vm_unmap_ram() on {@code cpu} of the mapping in {@code slot} (nothing if its map returned NULL). */
    @Operation
    public void unmap(int cpu, int slot) {
        if (addr[slot] != 0) {
            k.vmUnmapRam(cpu, addr[slot], count[slot]);
        }
    }

    /** vm_unmap_aliases() on {@code cpu}. */
    @Operation
    public void aliases(int cpu) {
        k.vmUnmapAliases(cpu);
    }

    /** The block accounting, the free lists and the xarrays of a quiet kernel. */
    @Validate
    public void quiet() {
        k.checkQuiescent();
    }
}
