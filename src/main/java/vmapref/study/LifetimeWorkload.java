// SPDX-License-Identifier: GPL-2.0-only
package vmapref.study;

import java.util.PriorityQueue;
import java.util.SplittableRandom;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Outcome;

/**
 * A seeded caller that makes short-lived and long-lived mappings, the man page's case: "if you mix long-life and
 * short-life objects with vm_map_ram(), it could consume lots of address space through fragmentation".
 *
 * <p>Each round maps once: with probability 1/{@code longEvery} a long-lived mapping (never unmapped), else a
 * short-lived one (unmapped 1..{@code shortMax} rounds later, on a random CPU). Counts: 1..8 pages (60%) or a power
 * of two up to 16; with {@link Sizes#LARGE} each count gets VMAP_MAX_ALLOC more pages, so every mapping is a large
 * area. {@link Mix#MIXED} maps on a random CPU, so both kinds share blocks; {@link Mix#SEPARATED} maps long-lived
 * ones on the last online CPU and short-lived ones on the first, so they never share a block (each CPU has its own
 * blocks). The random draws are the same whatever the mix and sizes, so the runs differ only by that choice.
 * Every {@code aliasesEvery} rounds one vm_unmap_aliases() is made.
 */
final class LifetimeWorkload {

    /** Whether long- and short-lived mappings share blocks. */
    enum Mix { MIXED, SEPARATED }

    /** Small mappings (served by vmap blocks) or the same counts plus VMAP_MAX_ALLOC (served by their own areas). */
    enum Sizes { SMALL, LARGE }

    private record Pending(long due, long seq, long addr, long count) {
    }

    private final KernelConfig cfg;
    private final Mix mix;
    private final Sizes sizes;
    private final SplittableRandom random;
    private final int longEvery;
    private final int shortMax;
    private final int aliasesEvery;
    private final PriorityQueue<Pending> pending = new PriorityQueue<>(
            (a, b) -> a.due != b.due ? Long.compare(a.due, b.due) : Long.compare(a.seq, b.seq));
    private long round;
    private long seq;
    private long lastLifetime;
    private boolean aliasesDue;

    LifetimeWorkload(KernelConfig cfg, Mix mix, Sizes sizes, long seed, int longEvery, int shortMax, int aliasesEvery) {
        this.cfg = cfg;
        this.mix = mix;
        this.sizes = sizes;
        this.random = new SplittableRandom(seed);
        this.longEvery = longEvery;
        this.shortMax = shortMax;
        this.aliasesEvery = aliasesEvery;
    }

    /** The next call: the unmaps that are due first, then this round's vm_unmap_aliases() or map. */
    Call next() {
        Pending p = pending.peek();
        if (p != null && p.due <= round) {
            pending.poll();
            return new Call.Unmap(cpu(random.nextInt(cfg.onlineCpus().size())), p.addr, p.count);
        }
        if (aliasesDue) {
            aliasesDue = false;
            return new Call.Aliases(cpu(0));
        }
        round++;
        if (aliasesEvery > 0 && round % aliasesEvery == 0) {
            aliasesDue = true;
        }
        boolean longLived = random.nextInt(longEvery) == 0;
        int r = random.nextInt(100);
        long count = r < 60 ? 1 + random.nextInt(8) : 1L << random.nextInt(5);
        int anyCpu = random.nextInt(cfg.onlineCpus().size());
        lastLifetime = longLived ? Long.MAX_VALUE : 1 + random.nextInt(shortMax);
        if (sizes == Sizes.LARGE) {
            count += cfg.vmapMaxAlloc();
        }
        int last = cfg.onlineCpus().size() - 1;
        int cpu = mix == Mix.MIXED ? anyCpu : longLived ? last : 0;
        return new Call.Map(cpu(cpu), count);
    }

    private int cpu(int i) {
        return cfg.onlineCpus().get(i);
    }

    /** Tells the workload what the map it made returned. */
    void mapped(Call.Map m, Outcome o) {
        if (o instanceof Outcome.Mapped mapped && lastLifetime != Long.MAX_VALUE) {
            pending.add(new Pending(round + lastLifetime, seq++, mapped.addr(), m.count()));
        }
    }
}
