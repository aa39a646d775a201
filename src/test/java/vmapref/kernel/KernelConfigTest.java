// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static vmapref.kernel.KernelDriver.START;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The build and boot facts a configuration may take (page size, word size, NR_CPUS, nr_cpu_ids and
 * the possible and online masks), and what follows from a possible mask with holes:
 * addr_to_vb_xa() (mm/vmalloc.c, 6.4+, with a34acf30b19b in 6.10) moves a block hashed to a CPU
 * that is not possible to the next possible one.
 */
class KernelConfigTest {

    static KernelConfig cfg(int pageShift, long start, long end, int nrCpus, int nrCpuIds, List<Integer> possible,
                            List<Integer> online, int bits) {
        return new KernelConfig(Profile.LINUX_6_12, pageShift, start, end, nrCpus, nrCpuIds, possible, online, bits);
    }

    static KernelConfig ok(int pageShift, int bits) {
        return cfg(pageShift, START, KernelDriver.END, 8192, 1, List.of(0), List.of(0), bits);
    }

    @Test
    void pageSizesFrom4KiBTo64KiBAndWordsOf32Or64Bits() {
        assertThat(ok(12, 64).pageSize()).isEqualTo(4096);
        assertThat(ok(16, 32).pageSize()).isEqualTo(65536);
        assertThatThrownBy(() -> ok(11, 64)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ok(17, 64)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ok(12, 48)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theWindowMustBePageAlignedAndNotEmpty() {
        assertThatThrownBy(() -> cfg(12, START + 0x800, KernelDriver.END, 8192, 1, List.of(0), List.of(0), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, START, 8192, 1, List.of(0), List.of(0), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, START - 1, 8192, 1, List.of(0), List.of(0), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(cfg(12, START, START + 1, 8192, 1, List.of(0), List.of(0), 64).windowEndPage())
                .isEqualTo(START >>> 12);
    }

    @Test
    void cpuIdsFitNrCpusAndTheMasksNest() {
        assertThat(cfg(12, START, KernelDriver.END, 1, 1, List.of(0), List.of(0), 64).nrCpuIds()).isEqualTo(1);
        assertThat(cfg(12, START, KernelDriver.END, 4, 4, List.of(0, 3), List.of(3), 64).onlineCpus()).containsExactly(3);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 0, 1, List.of(0), List.of(0), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 0, List.of(0), List.of(0), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 5, List.of(0, 4), List.of(0), 64))
                .as("nr_cpu_ids > NR_CPUS").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 4, List.of(0, 1), List.of(0), 64))
                .as("nr_cpu_ids is the highest possible CPU + 1").isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 2, List.of(), List.of(0), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 2, List.of(-1, 1), List.of(1), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 2, List.of(1, 2), List.of(1), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 2, List.of(0, 1), List.of(), 64))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> cfg(12, START, KernelDriver.END, 4, 2, List.of(1), List.of(0), 64))
                .as("online CPU 0 is not possible").isInstanceOf(IllegalArgumentException.class);
    }

    // VMAP_BBMAP_BITS = min(1024, max(2 * VMAP_MAX_ALLOC, VMALLOC_PAGES / roundup_pow_of_two(NR_CPUS) / 16))
    @Test
    void manyCpusGiveTheSmallestBlockOfTwiceVmapMaxAlloc() {
        assertThat(cfg(12, START, KernelDriver.END, 32768, 1, List.of(0), List.of(0), 64).vmapBbmapBits())
                .as("2^25 / 32768 / 16 = 64 < 128").isEqualTo(128);
    }

    // addr_to_vb_xa(): index = (addr / VMAP_BLOCK_SIZE) % nr_cpu_ids; if (!cpu_possible(index))
    // index = cpumask_next(index, cpu_possible_mask)
    @Test
    void aBlockHashedToAnImpossibleCpuGoesToTheNextPossibleOne() {
        KernelConfig c = cfg(12, START, KernelDriver.END, 8192, 4, List.of(0, 3), List.of(0, 3), 64);
        KernelState s = KernelState.boot(c, Set.of(), KernelState.Mode.EXACT);
        assertThat(c.isPossible(1)).isFalse();
        assertThat(c.isPossible(3)).isTrue();
        assertThat(c.nextPossible(0)).isEqualTo(3);
        assertThat(c.nextPossible(3)).as("none after the last: nr_cpu_ids").isEqualTo(4);
        int[] buckets = new int[8];
        for (int k = 0; k < 8; k++) {
            buckets[k] = Vmalloc.blockBucket(s, (START >>> 12) + 256L * k);
        }
        // START / 1 MiB is a multiple of 4, so block k hashes to k % 4
        assertThat(buckets).containsExactly(0, 3, 3, 3, 0, 3, 3, 3);
    }
}
