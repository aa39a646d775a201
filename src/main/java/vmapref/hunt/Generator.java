// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Profile;
import vmapref.kernel.VmapBlock;

/**
 * Generates call programs that reach the interesting states, not uniform noise. One generator
 * makes one program: {@link #config} first, then {@link #next} call by call, looking at the state
 * the calls so far produced (so that it can, say, fill a block exactly). Everything comes from
 * one {@link SplittableRandom}; {@link #forProgram} derives it from (seed, index), so every
 * program of a hunt can be made again.
 *
 * <p>Biases: counts 1, powers of two and their neighbours, VMAP_MAX_ALLOC and VMAP_MAX_ALLOC + 1,
 * a block's worth and a few blocks; counts repeated from earlier maps (exact holes); count 0 only
 * where the profile's contract has it; now and then a count of 2^20 pages and more (the 32-bit
 * size overflow) on 64-bit; runs that fill a block exactly; unmaps of the oldest, the newest and a
 * random live mapping, from the mapping's CPU or another; unmapping a whole block; bursts of
 * vm_unmap_aliases(); and configurations with small vmalloc ranges, the 32-bit 128 MiB window, big
 * blocks, several CPUs and possible-CPU masks with holes.
 */
public final class Generator {

    /** What the generator may look at while it picks the next call. */
    public interface View {
        KernelConfig config();

        /** The unmutated profile's state after the calls so far. */
        KernelState state();

        /** The live mappings, oldest first. */
        List<Execution.LiveMap> live();

        /** How many calls the program has so far. */
        int size();

        /** The counts of every map so far. */
        List<Long> mapCounts();
    }

    /** x86_64's VMALLOC_START, where the small 64-bit ranges start too. */
    static final long START_64 = KernelConfig.X86_64_VMALLOC_START;
    /** A 32-bit x86 vmalloc window of 128 MiB below 4 GiB (VMALLOC_END page aligned). */
    static final long START_32 = 0xf8000000L;
    static final long END_32 = 0xffffe000L;

    private final Profile profile;
    private final SplittableRandom rnd;
    private final Deque<Op> plan = new ArrayDeque<>();
    private KernelConfig cfg;
    private int cpu;

    /** Which configurations to draw from. */
    public enum Configs {
        /** x86_64, big blocks, small 64-bit ranges, possible masks with holes, the 32-bit window. */
        ALL,
        /** Only Debian's x86_64 kernels as traced (KernelConfig.x86_64): NR_CPUS 8192, the full range, 1..4 CPUs. */
        X86_64;

        public String id() {
            return name().toLowerCase().replace('_', '-').replace("x86-64", "x86_64");
        }

        public static Configs parse(String s) {
            for (Configs c : values()) {
                if (c.id().equals(s)) {
                    return c;
                }
            }
            throw new IllegalArgumentException("unknown configuration family '" + s + "' (all or x86_64)");
        }
    }

    private final Configs family;

    public Generator(Profile profile, Configs family, SplittableRandom rnd) {
        this.profile = profile;
        this.family = family;
        this.rnd = rnd;
    }

    /** The generator of program {@code index} of the hunt with {@code seed}. */
    public static Generator forProgram(Profile profile, Configs family, long seed, long index) {
        return new Generator(profile, family, new SplittableRandom(mix(seed ^ mix(index + 0x632be59bd9b4e019L))));
    }

    /**
     * How many calls program {@code nth} of a hunt (0 = the first) gets: the size bound grows from
     * 10 calls by 2 per program up to {@code maxSteps} (QuickCheck's growing size, so that a bug a
     * short program shows is found by a short program first); the bound half the time, else 1..bound.
     */
    public int length(int maxSteps, long nth) {
        int bound = (int) Math.min(maxSteps, 10 + 2 * Math.min(nth, Integer.MAX_VALUE / 4));
        return rnd.nextBoolean() ? bound : 1 + rnd.nextInt(bound);
    }

    // ------------------------------------------------------------ configurations

    /** Picks the configuration; call once, before {@link #next}. */
    public KernelConfig config() {
        int r = rnd.nextInt(100);
        int cpus = pick(new int[] {1, 1, 1, 1, 2, 2, 2, 3, 4});
        if (r < 30 || family == Configs.X86_64) {
            cfg = KernelConfig.x86_64(profile, cpus);
        } else if (r < 40) { // bigger blocks: NR_CPUS 2048 -> 1024 pages, 4096 -> 512
            cfg = config64(rnd.nextBoolean() ? 2048 : 4096, KernelConfig.X86_64_VMALLOC_END, contiguous(cpus));
        } else if (r < 62) { // a small 64-bit range, where the allocator runs out
            long mib = pick(new int[] {16, 16, 32, 64, 256});
            cfg = config64(rnd.nextInt(4) == 0 ? 2048 : 8192, START_64 + (mib << 20) - 1,
                    rnd.nextInt(5) == 0 ? holes() : contiguous(cpus));
        } else if (r < 78) { // possible-CPU masks with holes (SPARC), e.g. {0, 2}
            cfg = config64(8192, KernelConfig.X86_64_VMALLOC_END, holes());
        } else { // 32-bit: 128 MiB window; NR_CPUS 8 -> 256-page blocks, 32 -> 64-page blocks
            List<Integer> ids = contiguous(cpus);
            cfg = new KernelConfig(profile, 12, START_32, END_32, rnd.nextBoolean() ? 8 : 32, ids.size(), ids, ids, 32);
        }
        cpu = cfg.onlineCpus().get(0);
        return cfg;
    }

    private KernelConfig config64(int nrCpus, long end, List<Integer> possible) {
        int nrCpuIds = possible.get(possible.size() - 1) + 1;
        return new KernelConfig(profile, 12, START_64, end, nrCpus, nrCpuIds, possible, possible, 64);
    }

    private static List<Integer> contiguous(int n) {
        return IntStream.range(0, n).boxed().toList();
    }

    /** nr_cpu_ids 2..5, the highest CPU possible, at least one lower CPU not. */
    private List<Integer> holes() {
        int n = 2 + rnd.nextInt(4);
        List<Integer> out = new ArrayList<>();
        for (int c = 0; c < n - 1; c++) {
            if (rnd.nextBoolean()) {
                out.add(c);
            }
        }
        if (out.size() == n - 1) {
            out.remove(rnd.nextInt(out.size()));
        }
        out.add(n - 1);
        return out;
    }

    // ------------------------------------------------------------ calls

    /** The next call, given the state the program has reached. */
    public Op next(View v) {
        if (plan.isEmpty()) {
            plan(v);
        }
        return plan.poll();
    }

    private void plan(View v) {
        int r = rnd.nextInt(100);
        List<Execution.LiveMap> live = v.live();
        if (r < 26) {
            plan.add(new Op.Map(pickCpu(), smallCount()));
        } else if (r < 35) {
            plan.add(new Op.Map(pickCpu(), largeCount()));
        } else if (r < 41) {
            fill(v);
        } else if (r < 47 && !v.mapCounts().isEmpty()) { // the same count again: exact holes
            plan.add(new Op.Map(pickCpu(), v.mapCounts().get(rnd.nextInt(v.mapCounts().size()))));
        } else if (r < 51) { // test_vmalloc's vm_map_ram_test loop: map, unmap
            int c = pickCpu();
            plan.add(new Op.Map(c, rnd.nextInt(5) == 0 ? largeCount() : smallCount()));
            plan.add(new Op.Unmap(unmapCpu(c), v.size()));
        } else if (r < 58) {
            int n = rnd.nextInt(3) == 0 ? 2 + rnd.nextInt(2) : 1;
            for (int i = 0; i < n; i++) {
                plan.add(new Op.Aliases(rnd.nextBoolean() ? pickCpu() : anyCpu()));
            }
        } else if (r < 61 && !live.isEmpty()) {
            unmapBlock(v, live.get(rnd.nextInt(live.size())));
        } else if (!live.isEmpty()) {
            int k = rnd.nextInt(10);
            Execution.LiveMap m = live.get(k < 3 ? 0 : k < 6 ? live.size() - 1 : rnd.nextInt(live.size()));
            plan.add(new Op.Unmap(unmapCpu(m.cpu()), m.ref()));
        } else {
            plan.add(new Op.Map(pickCpu(), smallCount()));
        }
    }

    /**
     * Maps whose rounded sizes add up to exactly the free pages of the oldest (or newest) block on a
     * CPU's free list, or to a whole block: largest first, so first fit keeps choosing that block.
     */
    private void fill(View v) {
        int c = pickCpu();
        KernelState s = v.state();
        int bits = cfg.vmapBbmapBits();
        int free = bits;
        List<Long> list = s.freeList(c);
        if (!list.isEmpty() && rnd.nextInt(4) != 0) {
            VmapBlock vb = s.blocks().get(rnd.nextInt(3) == 0 ? list.get(list.size() - 1) : list.get(0));
            free = vb == null ? bits : vb.free();
        }
        int max = cfg.vmapMaxAlloc();
        while (free > 0) {
            int chunk = Math.min(max, Integer.highestOneBit(free));
            long count = chunk == 1 || rnd.nextBoolean() ? chunk : chunk / 2 + 1 + rnd.nextInt(chunk / 2);
            plan.add(new Op.Map(c, count));
            free -= chunk;
        }
    }

    /** Unmaps every live mapping in the block of {@code m} (or just m, for a large one). */
    private void unmapBlock(View v, Execution.LiveMap m) {
        long blockBytes = (long) cfg.blockPages() << cfg.pageShift();
        long base = m.addr() - Long.remainderUnsigned(m.addr(), blockBytes);
        int c = unmapCpu(m.cpu());
        for (Execution.LiveMap o : v.live()) {
            boolean inBlock = o.count() <= cfg.vmapMaxAlloc() && o.addr() - base >= 0 && o.addr() - base < blockBytes;
            if (o.ref() == m.ref() || (m.count() <= cfg.vmapMaxAlloc() && inBlock)) {
                plan.add(new Op.Unmap(rnd.nextInt(4) == 0 ? anyCpu() : c, o.ref()));
            }
        }
    }

    /** Mostly the CPU the program is on; now and then it moves. */
    private int pickCpu() {
        if (rnd.nextInt(4) == 0) {
            cpu = anyCpu();
        }
        return cpu;
    }

    private int anyCpu() {
        return cfg.onlineCpus().get(rnd.nextInt(cfg.onlineCpus().size()));
    }

    /** The mapping's own CPU mostly, another one (a cross-CPU unmap) otherwise. */
    private int unmapCpu(int mapCpu) {
        return rnd.nextInt(5) < 3 ? mapCpu : anyCpu();
    }

    /** 1..VMAP_MAX_ALLOC, biased to 1, powers of two, their neighbours and the maximum; 0 where legal. */
    long smallCount() {
        int max = cfg.vmapMaxAlloc();
        int log = Integer.numberOfTrailingZeros(max);
        int r = rnd.nextInt(100);
        if (r < 1 && profile.zeroCountReturnsNull()) {
            return 0;
        }
        if (r < 30) {
            return 1;
        }
        if (r < 55) {
            return 1L << (1 + rnd.nextInt(log));
        }
        if (r < 75) {
            long p = 1L << (1 + rnd.nextInt(log));
            return Math.max(1, Math.min(max, rnd.nextBoolean() ? p - 1 : p + 1));
        }
        if (r < 85) {
            return max;
        }
        return 1 + rnd.nextInt(max);
    }

    /**
     * Above VMAP_MAX_ALLOC: VMAP_MAX_ALLOC + 1, a block's worth and its neighbours, a few blocks,
     * powers of two; on 64-bit now and then 2^20 pages or more, whose size wraps in 32 bits.
     */
    long largeCount() {
        int max = cfg.vmapMaxAlloc();
        int bits = cfg.vmapBbmapBits();
        int r = rnd.nextInt(100);
        if (r < 10 && cfg.bitsPerLong() == 64) {
            long base = rnd.nextInt(4) == 0 ? 1L << 21 : 1L << 20;
            int k = rnd.nextInt(3);
            return k == 0 ? base : k == 1 ? base + 1 + rnd.nextInt(max) : base + bits;
        }
        if (r < 30) {
            return max + 1;
        }
        if (r < 42) {
            return bits;
        }
        if (r < 50) {
            return rnd.nextBoolean() ? bits - 1 : bits + 1;
        }
        if (r < 60) {
            return (long) bits * (2 + rnd.nextInt(3));
        }
        if (r < 70) {
            int lo = Integer.numberOfTrailingZeros(max) + 1;
            int hi = Integer.numberOfTrailingZeros(bits) + 2;
            return 1L << (lo + rnd.nextInt(hi - lo + 1));
        }
        return max + 1 + rnd.nextInt(4 * bits - max);
    }

    private int pick(int[] choices) {
        return choices[rnd.nextInt(choices.length)];
    }

    /** MurmurHash3's fmix64: spreads (seed, index) over the seed space. */
    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }
}
