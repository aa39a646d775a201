// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The constants mm/vmalloc.c derives from the build and boot facts (VMAP_BBMAP_BITS, VMAP_MAX_ALLOC, lazy_max_pages()). */
class KernelConstantsTest {

    static KernelConfig withNrCpus(int bitsPerLong, int nrCpus) {
        long start = bitsPerLong == 64 ? KernelConfig.X86_64_VMALLOC_START : 0xf8000000L;
        long end = bitsPerLong == 64 ? KernelConfig.X86_64_VMALLOC_END : 0xff7fdfffL;
        return new KernelConfig(Profile.LINUX_6_12, 12, start, end, nrCpus, 1, List.of(0), List.of(0), bitsPerLong);
    }

    // VMAP_BBMAP_BITS = min(1024, max(2 * VMAP_MAX_ALLOC, VMALLOC_PAGES / roundup_pow_of_two(NR_CPUS) / 16))
    @ParameterizedTest(name = "{0}-bit, NR_CPUS {1} -> {2} pages")
    @CsvSource({
        "64, 1, 1024", "64, 2048, 1024", "64, 4096, 512", "64, 8192, 256", "64, 16384, 128",
        "32, 1, 1024", "32, 8, 256", "32, 32, 64"})
    void vmapBbmapBitsFollowsCompileTimeNrCpus(int bits, int nrCpus, int expected) {
        KernelConfig cfg = withNrCpus(bits, nrCpus);
        assertThat(cfg.vmapBbmapBits()).isEqualTo(expected);
        assertThat(cfg.blockPages()).isEqualTo(expected);
        assertThat(cfg.purgeThreshold()).isEqualTo(expected / 4); // VMAP_PURGE_THRESHOLD
        assertThat(cfg.vmapMaxAlloc()).isEqualTo(bits); // VMAP_MAX_ALLOC = BITS_PER_LONG
    }

    @Test
    void debianX86_64HasOneMebibyteBlocks() {
        KernelConfig cfg = KernelConfig.x86_64(Profile.LINUX_6_12, 2);
        assertThat(cfg.blockPages()).isEqualTo(256);
        assertThat(cfg.purgeThreshold()).isEqualTo(64);
        assertThat(cfg.vmapMaxAlloc()).isEqualTo(64);
    }

    // lazy_max_pages() = fls(num_online_cpus()) * (32 MiB / PAGE_SIZE)
    @ParameterizedTest(name = "{0} online CPUs -> {1} pages")
    @CsvSource({"1, 8192", "2, 16384", "3, 16384", "4, 24576", "5, 24576", "6, 24576", "7, 24576", "8, 32768"})
    void lazyMaxPagesScalesWithFlsOfOnlineCpus(int cpus, long expected) {
        assertThat(KernelConfig.x86_64(Profile.LINUX_6_1, cpus).lazyMaxPages()).isEqualTo(expected);
    }

    // include/asm-generic/getorder.h: get_order(); the smallest k with 2^k pages >= n
    @Test
    void getOrderIsTheSmallestPowerOfTwoThatHolds() {
        for (long n = 1; n <= 65; n++) {
            int k = 0;
            while ((1L << k) < n) {
                k++;
            }
            assertThat(KernelConfig.getOrder(n)).as("get_order(%d pages)", n).isEqualTo(k);
        }
        assertThat(KernelConfig.getOrder(1)).isZero();
        assertThat(KernelConfig.getOrder(3)).isEqualTo(2);
        assertThat(KernelConfig.getOrder(33)).isEqualTo(6);
        assertThat(KernelConfig.getOrder(64)).isEqualTo(6);
        assertThat(KernelConfig.getOrder(65)).isEqualTo(7);
    }

    // vmap_init_nodes(): nr_vmap_nodes = clamp(num_possible_cpus(), 1, 128) on 64-bit 6.9+, else 1
    @Test
    void nrVmapNodesOnlyOn64BitLinux612() {
        assertThat(KernelConfig.x86_64(Profile.LINUX_6_12, 1).nrVmapNodes()).isEqualTo(1);
        assertThat(KernelConfig.x86_64(Profile.LINUX_6_12, 2).nrVmapNodes()).isEqualTo(2);
        assertThat(KernelConfig.x86_64(Profile.LINUX_6_1, 2).nrVmapNodes()).isEqualTo(1);
        assertThat(KernelConfig.x86_64(Profile.LINUX_4_8, 2).nrVmapNodes()).isEqualTo(1);
        KernelConfig thirtyTwo = new KernelConfig(Profile.LINUX_6_12, 12, 0xf8000000L, 0xff7fdfffL, 8, 2,
                List.of(0, 1), List.of(0, 1), 32);
        assertThat(thirtyTwo.nrVmapNodes()).isEqualTo(1);
    }

    // alloc_vmap_area(): va_end <= VMALLOC_END, and VMALLOC_END is the last byte, so the last page is never used
    @Test
    void windowEndsBeforeTheLastPage() {
        KernelConfig cfg = KernelConfig.x86_64(Profile.LINUX_6_12, 1);
        assertThat(cfg.windowStartPage()).isEqualTo(KernelConfig.X86_64_VMALLOC_START >>> 12);
        assertThat(cfg.windowEndPage()).isEqualTo((KernelConfig.X86_64_VMALLOC_END >>> 12));
        assertThat(cfg.windowEndPage() - cfg.windowStartPage()).isEqualTo((32L << 40 >>> 12) - 1);
    }
}
