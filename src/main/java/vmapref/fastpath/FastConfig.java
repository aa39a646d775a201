// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import java.util.Set;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * The constants of one kernel build and boot, and the concurrency mutants, as plain fields: the
 * fast path runs inside Java PathFinder, which must not touch records, streams or collections of
 * the host model. Built from a {@link KernelConfig} on the host ({@link #of}); every number is the
 * one {@link KernelConfig} derives, so the fast path and the reference implementation agree.
 */
public final class FastConfig {
    final Profile profile;
    final int pageShift;
    final long vmallocStart;
    /** VMALLOC_END, inclusive (the kernel's last byte). */
    final long vmallocEnd;
    /** VMAP_BBMAP_BITS = VMAP_BLOCK_SIZE in pages. */
    final int bits;
    final int vmapMaxAlloc;
    final int bitsPerLong;
    final int nrCpuIds;
    final boolean[] possible;
    final boolean[] online;
    final int[] possibleCpus;
    final long lazyMaxPages;
    final int purgeThreshold;
    final int nrVmapNodes;
    /** 6.4+: per-CPU hashed vmap_blocks xarrays and vb->cpu; 6.1 has one global xarray. */
    final boolean perCpuIndex;
    /** 6.12 or 7.2. */
    final boolean is612;
    /** 7.2's decay_va_pool_node() leaves a pool of 1 to 3 areas alone. */
    final boolean decayKeepsShortPools;
    /**
     * Whether vm_unmap_aliases() is held to aliases-no-stale: 6.1 breaks it by design (its walk
     * misses fully used blocks, fc1e0d980037 is not in it), so there the rule is known broken.
     */
    final boolean checkAliasesNoStale;

    final boolean wrongVbqLock;
    final boolean publishBeforeInit;
    final boolean aliasesUseAfterFree;
    final boolean unlockedFreeCheck;

    private FastConfig(KernelConfig c, Set<Mutant> mutants, boolean aliasesRule) {
        if (c.profile() == Profile.LINUX_4_8) {
            throw new IllegalArgumentException("the concurrent fast path models linux-6.1, linux-6.12 and linux-7.2, not "
                    + c.profile());
        }
        for (Mutant m : mutants) {
            if (!m.concurrent()) {
                throw new IllegalArgumentException("mutant " + m.id() + " is a sequential mutant (use hunt); the fast path "
                        + "takes the concurrency mutants only");
            }
            if (!m.appliesTo(c.profile())) {
                throw new IllegalArgumentException("mutant " + m.id() + " does not apply to " + c.profile());
            }
        }
        profile = c.profile();
        pageShift = c.pageShift();
        vmallocStart = c.vmallocStart();
        vmallocEnd = c.vmallocEnd();
        bits = c.vmapBbmapBits();
        vmapMaxAlloc = c.vmapMaxAlloc();
        bitsPerLong = c.bitsPerLong();
        nrCpuIds = c.nrCpuIds();
        possible = new boolean[nrCpuIds];
        online = new boolean[nrCpuIds];
        possibleCpus = new int[c.possibleCpus().size()];
        for (int i = 0; i < possibleCpus.length; i++) {
            possibleCpus[i] = c.possibleCpus().get(i);
            possible[possibleCpus[i]] = true;
        }
        for (int cpu : c.onlineCpus()) {
            online[cpu] = true;
        }
        lazyMaxPages = c.lazyMaxPages();
        purgeThreshold = c.purgeThreshold();
        nrVmapNodes = c.nrVmapNodes();
        perCpuIndex = c.profile().perCpuBlockIndex();
        is612 = c.profile().compareTo(Profile.LINUX_6_12) >= 0; // 7.2's block cache and locking are 6.12's
        decayKeepsShortPools = c.profile().decayKeepsShortPools();
        checkAliasesNoStale = is612 && aliasesRule;
        wrongVbqLock = mutants.contains(Mutant.WRONG_VBQ_LOCK);
        publishBeforeInit = mutants.contains(Mutant.PUBLISH_BEFORE_INIT);
        aliasesUseAfterFree = mutants.contains(Mutant.ALIASES_USE_AFTER_FREE);
        unlockedFreeCheck = mutants.contains(Mutant.UNLOCKED_FREE_CHECK);
    }

    /** The fast path's view of {@code c} with the given concurrency mutants switched on. */
    public static FastConfig of(KernelConfig c, Set<Mutant> mutants) {
        return new FastConfig(c, mutants, true);
    }

    /**
     * As {@link #of(KernelConfig, Set)}, with aliases-no-stale left unchecked when {@code aliasesRule}
     * is false: for a harness that asks only about memory safety where that rule is known to break.
     */
    public static FastConfig of(KernelConfig c, Set<Mutant> mutants, boolean aliasesRule) {
        return new FastConfig(c, mutants, aliasesRule);
    }

    long addr(long page) {
        return page << pageShift;
    }

    boolean isOnline(int cpu) {
        return cpu >= 0 && cpu < nrCpuIds && online[cpu];
    }

    /** cpumask_next(n, cpu_possible_mask). */
    int nextPossible(int n) {
        for (int cpu = n + 1; cpu < nrCpuIds; cpu++) {
            if (possible[cpu]) {
                return cpu;
            }
        }
        return nrCpuIds;
    }

    long windowStartPage() {
        return vmallocStart >>> pageShift;
    }

    long windowEndPage() {
        return Long.divideUnsigned(vmallocEnd, 1L << pageShift);
    }
}
