// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.List;

/**
 * The build and boot facts that fix the allocator's constants, and the constants derived from them
 * exactly as mm/vmalloc.c derives them. Addresses are unsigned 64-bit values held in a long;
 * inside the model everything is counted in absolute page numbers (address >>> pageShift), which
 * are small non-negative longs.
 *
 * @param vmallocEnd the kernel's VMALLOC_END, inclusive on x86_64 (the last byte)
 * @param nrCpus compile-time CONFIG_NR_CPUS
 * @param nrCpuIds nr_cpu_ids (highest possible CPU + 1)
 */
public record KernelConfig(Profile profile, int pageShift, long vmallocStart, long vmallocEnd,
                           int nrCpus, int nrCpuIds, List<Integer> possibleCpus, List<Integer> onlineCpus,
                           int bitsPerLong) {

    /** x86_64 4-level paging: VMALLOC_START and VMALLOC_END (arch/x86/include/asm/pgtable_64_types.h). */
    public static final long X86_64_VMALLOC_START = 0xffffc90000000000L;
    public static final long X86_64_VMALLOC_END = 0xffffe8ffffffffffL;

    /** UINT_MAX: vm_map_ram() and vm_unmap_ram() take an unsigned int count. */
    public static final long MAX_COUNT = 0xffff_ffffL;

    /** Pools cover areas up to this many pages (mm/vmalloc.c: MAX_VA_SIZE_PAGES, 6.9+). */
    public static final int MAX_VA_SIZE_PAGES = 256;

    public KernelConfig {
        possibleCpus = List.copyOf(possibleCpus);
        onlineCpus = List.copyOf(onlineCpus);
        if (pageShift < 12 || pageShift > 16) {
            throw new IllegalArgumentException("page size must be 4 KiB..64 KiB, got 2^" + pageShift);
        }
        if (bitsPerLong != 32 && bitsPerLong != 64) {
            throw new IllegalArgumentException("bitsPerLong must be 32 or 64, got " + bitsPerLong);
        }
        if ((vmallocStart & ((1L << pageShift) - 1)) != 0) {
            throw new IllegalArgumentException("VMALLOC_START must be page aligned");
        }
        if (Long.compareUnsigned(vmallocEnd, vmallocStart) <= 0) {
            throw new IllegalArgumentException("VMALLOC_END must lie above VMALLOC_START");
        }
        if (nrCpus < 1 || nrCpuIds < 1 || nrCpuIds > nrCpus) {
            throw new IllegalArgumentException("need 1 <= nr_cpu_ids <= NR_CPUS, got " + nrCpuIds + " and " + nrCpus);
        }
        if (possibleCpus.isEmpty() || !possibleCpus.contains(nrCpuIds - 1)) {
            throw new IllegalArgumentException("the highest possible CPU must be nr_cpu_ids - 1 = " + (nrCpuIds - 1));
        }
        for (int cpu : possibleCpus) {
            if (cpu < 0 || cpu >= nrCpuIds) {
                throw new IllegalArgumentException("possible CPU " + cpu + " is outside 0..nr_cpu_ids-1");
            }
        }
        if (onlineCpus.isEmpty() || !possibleCpus.containsAll(onlineCpus)) {
            throw new IllegalArgumentException("online CPUs must be a non-empty subset of the possible CPUs");
        }
    }

    /** Debian's x86_64 kernels as traced under QEMU: NR_CPUS 8192, no KASLR, CPUs 0..cpus-1. */
    public static KernelConfig x86_64(Profile profile, int cpus) {
        List<Integer> ids = java.util.stream.IntStream.range(0, cpus).boxed().toList();
        return new KernelConfig(profile, 12, X86_64_VMALLOC_START, X86_64_VMALLOC_END, 8192, cpus, ids, ids, 64);
    }

    public KernelConfig withProfile(Profile p) {
        return new KernelConfig(p, pageShift, vmallocStart, vmallocEnd, nrCpus, nrCpuIds, possibleCpus, onlineCpus, bitsPerLong);
    }

    public long pageSize() {
        return 1L << pageShift;
    }

    /** VMAP_MAX_ALLOC = BITS_PER_LONG pages: the largest request the block cache serves. */
    public int vmapMaxAlloc() {
        return bitsPerLong;
    }

    /** VMALLOC_PAGES: the built-in guess VMALLOC_SPACE (128 GiB on 64-bit, 128 MiB on 32-bit) in pages. */
    public long vmallocPagesGuess() {
        long space = bitsPerLong == 64 ? 128L << 30 : 128L << 20;
        return space >>> pageShift;
    }

    /**
     * VMAP_BBMAP_BITS = min(1024, max(2 * VMAP_MAX_ALLOC, VMALLOC_PAGES / roundup_pow_of_two(NR_CPUS) / 16)):
     * pages per vmap block. Always a power of two.
     */
    public int vmapBbmapBits() {
        long perCpu = vmallocPagesGuess() / roundupPowOfTwo(nrCpus) / 16;
        return (int) Math.min(1024, Math.max(2L * vmapMaxAlloc(), perCpu));
    }

    /** VMAP_BLOCK_SIZE in pages (= VMAP_BBMAP_BITS); blocks are aligned to it. */
    public int blockPages() {
        return vmapBbmapBits();
    }

    /** VMAP_PURGE_THRESHOLD = VMAP_BBMAP_BITS / 4 (6.5+). */
    public int purgeThreshold() {
        return vmapBbmapBits() / 4;
    }

    /** lazy_max_pages() = fls(num_online_cpus()) * (32 MiB / PAGE_SIZE). */
    public long lazyMaxPages() {
        return (long) fls(onlineCpus.size()) * ((32L << 20) >>> pageShift);
    }

    /** nr_vmap_nodes = clamp(num_possible_cpus(), 1, 128) on 64-bit 6.9+ kernels, else 1 (vmap_init_nodes()). */
    public int nrVmapNodes() {
        if (!profile.hasVmapNodes() || bitsPerLong != 64) {
            return 1;
        }
        return Math.max(1, Math.min(128, possibleCpus.size()));
    }

    /** First page of the vmalloc window. */
    public long windowStartPage() {
        return vmallocStart >>> pageShift;
    }

    /** One past the last page an area may use: va_end <= VMALLOC_END (alloc_vmap_area()). */
    public long windowEndPage() {
        return Long.divideUnsigned(vmallocEnd, pageSize());
    }

    public boolean isOnline(int cpu) {
        return onlineCpus.contains(cpu);
    }

    public boolean isPossible(int cpu) {
        return possibleCpus.contains(cpu);
    }

    /** cpumask_next(n, cpu_possible_mask): the next possible CPU after n, or nr_cpu_ids. */
    public int nextPossible(int n) {
        int best = nrCpuIds;
        for (int cpu : possibleCpus) {
            if (cpu > n && cpu < best) {
                best = cpu;
            }
        }
        return best;
    }

    /** get_order() in pages: the smallest k with 2^k >= pages (pages >= 1). */
    public static int getOrder(long pages) {
        return 64 - Long.numberOfLeadingZeros(pages - 1);
    }

    static long roundupPowOfTwo(long n) {
        return n <= 1 ? 1 : Long.highestOneBit(n - 1) << 1;
    }

    /** fls(): the position of the most significant set bit, 1-based; fls(0) = 0. */
    static int fls(int x) {
        return 32 - Integer.numberOfLeadingZeros(x);
    }

    public String describe() {
        return profile + ", " + bitsPerLong + "-bit, NR_CPUS " + nrCpus + ", CPUs " + onlineCpus
                + ", block " + blockPages() + " pages, VMAP_MAX_ALLOC " + vmapMaxAlloc()
                + ", lazy_max_pages " + lazyMaxPages();
    }
}
