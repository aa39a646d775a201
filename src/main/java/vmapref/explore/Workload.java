// SPDX-License-Identifier: GPL-2.0-only
package vmapref.explore;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Outcome;

/**
 * A seeded random caller of vm_map_ram() / vm_unmap_ram() / vm_unmap_aliases(), always within the contract:
 * every unmap names a live mapping with its own count, every CPU is online, every count is at least 1.
 *
 * <p>The mix, per call: 2.5% vm_unmap_aliases() (by default), 1.5% of the rest large maps (65..512 pages), and the rest small maps
 * (1..64 pages: 45% uniform in 1..8, 30% a power of two up to 64, 25% uniform in 1..64) or unmaps of a live mapping
 * (40% the oldest, 20% the newest, 40% a random one). Which of map and unmap is likelier changes in phases of
 * 100..3000 calls (grow, balanced, shrink), so the live set swings between empty and the bound, blocks fill up,
 * go fully dirty and are purged. Every call runs on a random online CPU, so cross-CPU unmaps are common. Live
 * mappings never hold more than {@code maxLivePages} pages: at the bound the workload unmaps.
 */
public final class Workload {

    /** The default bound on pages held by live mappings. */
    public static final int DEFAULT_MAX_LIVE_PAGES = 4000;

    /** The default share of vm_unmap_aliases() calls, per mille. */
    public static final int DEFAULT_ALIASES_PER_MILLE = 25;

    /** One live mapping the workload made: where, how many pages, on which CPU. */
    public record Live(long addr, long count, int cpu) {
    }

    private enum Phase { GROW, BALANCED, SHRINK }

    private final KernelConfig cfg;
    private final Random random;
    private final int maxLivePages;
    private final int aliasesPerMille;
    /** Live mappings, oldest first. */
    private final List<Live> live = new ArrayList<>();
    private long livePages;
    private Phase phase = Phase.BALANCED;
    private int phaseLeft;
    private boolean lastUnmapCrossCpu;

    public Workload(KernelConfig cfg, long seed, int maxLivePages) {
        this(cfg, seed, maxLivePages, DEFAULT_ALIASES_PER_MILLE);
    }

    /** @param aliasesPerMille the share of vm_unmap_aliases() calls (0 = none) */
    public Workload(KernelConfig cfg, long seed, int maxLivePages, int aliasesPerMille) {
        if (maxLivePages < 512) {
            throw new IllegalArgumentException("the live bound must allow a large mapping (>= 512 pages), got " + maxLivePages);
        }
        this.cfg = cfg;
        this.random = new Random(seed);
        this.maxLivePages = maxLivePages;
        this.aliasesPerMille = aliasesPerMille;
    }

    /** The next call. An unmap takes its mapping off the live list at once. */
    public Call next() {
        if (phaseLeft-- <= 0) {
            phase = Phase.values()[random.nextInt(Phase.values().length)];
            phaseLeft = 100 + random.nextInt(2901);
        }
        lastUnmapCrossCpu = false;
        int cpu = cfg.onlineCpus().get(random.nextInt(cfg.onlineCpus().size()));
        if (random.nextInt(1000) < aliasesPerMille) {
            return new Call.Aliases(cpu);
        }
        long count;
        if (random.nextInt(1000) < 15) {
            count = cfg.vmapMaxAlloc() + 1 + random.nextInt(512 - cfg.vmapMaxAlloc());
        } else {
            int mapShare = switch (phase) {
                case GROW -> 700;
                case BALANCED -> 500;
                case SHRINK -> 250;
            };
            boolean map = live.isEmpty() || random.nextInt(1000) < mapShare;
            count = map ? smallCount() : 0;
        }
        if (count == 0 || livePages + count > maxLivePages) {
            return unmap(cpu);
        }
        return new Call.Map(cpu, count);
    }

    private long smallCount() {
        int r = random.nextInt(100);
        if (r < 45) {
            return 1 + random.nextInt(8);
        }
        int max = cfg.vmapMaxAlloc();
        if (r < 75) {
            return 1L << random.nextInt(Integer.numberOfTrailingZeros(max) + 1);
        }
        return 1 + random.nextInt(max);
    }

    private Call unmap(int cpu) {
        int r = random.nextInt(10);
        int i = r < 4 ? 0 : r < 6 ? live.size() - 1 : random.nextInt(live.size());
        Live victim = live.remove(i);
        livePages -= victim.count();
        lastUnmapCrossCpu = victim.cpu() != cpu;
        return new Call.Unmap(cpu, victim.addr(), victim.count());
    }

    /** Tells the workload what a map call returned. */
    public void mapped(Call.Map call, Outcome outcome) {
        if (outcome instanceof Outcome.Mapped m) {
            live.add(new Live(m.addr(), call.count(), call.cpu()));
            livePages += call.count();
        }
    }

    /** Live mappings now. */
    public int liveCount() {
        return live.size();
    }

    /** Pages held by live mappings now. */
    public long livePages() {
        return livePages;
    }

    /** Whether the last call made is an unmap on another CPU than its map. */
    public boolean lastUnmapCrossCpu() {
        return lastUnmapCrossCpu;
    }
}
