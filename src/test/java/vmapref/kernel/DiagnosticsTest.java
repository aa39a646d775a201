// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.block;
import static vmapref.kernel.KernelDriver.pages;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * What the model's rejections, crashes and WARNs tell the user: the facts in each text (the byte
 * count, the CPU, the address or NULL, the kind of object, the kernel function of the profile) are
 * the kernel's, not only the rule or the outcome's type. The wording is not pinned.
 */
class DiagnosticsTest {

    static String hex(long addr) {
        return "0x" + Long.toHexString(addr);
    }

    // ------------------------------------------------------------------ vm_map_ram()

    // vm_map_ram(), 6.12 L3040: size = (unsigned long)count << PAGE_SHIFT, 32 bits on a 32-bit kernel:
    // 2^20 + 3 pages wrap to 3 pages, 12288 bytes
    @Test
    void theCountRejectionStatesTheWrappedSize() {
        KernelState s = KernelState.boot(ThirtyTwoBitCountTest.CFG32, Set.of(), KernelState.Mode.EXACT);
        Outcome o = Vmalloc.step(s, new Call.Map(0, (1L << 20) + 3)).outcome();
        assertThat(o).isInstanceOfSatisfying(Outcome.Rejected.class,
                r -> assertThat(r.message()).contains("count=" + ((1L << 20) + 3)).contains(" 12288 bytes"));
    }

    // count 0: vb_alloc() returns NULL past IS_ERR(), and the page-table walk BUGs on addr >= end: in 6.1
    // vmap_small_pages_range_noflush() (L626); in 4.8 vmap_page_range_noflush(), which had no "small" variant
    @Test
    void theZeroCountBugNamesTheProfilesFunction() {
        KernelDriver k48 = KernelDriver.boot(Profile.LINUX_4_8, 1);
        k48.step(new Call.Map(0, 0));
        assertThat(k48.outcome()).isInstanceOfSatisfying(Outcome.Bug.class,
                b -> assertThat(b.text()).contains("vmap_page_range_noflush()").doesNotContain("small"));
        KernelDriver k61 = KernelDriver.boot(Profile.LINUX_6_1, 1);
        k61.step(new Call.Map(0, 0));
        assertThat(k61.outcome()).isInstanceOfSatisfying(Outcome.Bug.class,
                b -> assertThat(b.text()).contains("vmap_small_pages_range_noflush()"));
    }

    // alloc_vmap_area() after its one purge and retry: 6.1 L1735 "vmap allocation for size %lu failed: use
    // vmalloc=<size> ...", 6.12 L2115 "vmalloc_node_range for size %lu failed: Address range restricted ..."
    @Test
    void theAllocationWarnHasTheProfilesWordingAndTheSizeInBytes() {
        for (Profile p : List.of(Profile.LINUX_6_1, Profile.LINUX_6_12)) {
            KernelDriver k = KernelDriver.boot(KernelDriver.smallRange(p, pages(512)));
            k.step(new Call.Map(0, 600));
            assertThat(k.outcome()).as("%s", p).isInstanceOf(Outcome.Null.class);
            List<String> warns = k.effects().stream().filter(Effect.Warn.class::isInstance)
                    .map(e -> ((Effect.Warn) e).text()).toList();
            assertThat(warns).as("%s", p).hasSize(1);
            assertThat(warns.get(0)).contains("for size " + pages(600) + " failed")
                    .contains(p == Profile.LINUX_6_1 ? "vmap allocation" : "vmalloc_node_range");
        }
    }

    // ------------------------------------------------------------------ vm_unmap_ram()

    // vb_free() clears the pages the mapping had: with another count the kernel corrupts the block; the
    // rejection says with which count the address was mapped
    @Test
    void theUnmapRejectionStatesTheMappedCount() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        long a = k.map(0, 3);
        k.step(new Call.Unmap(0, a, 2));
        assertThat(k.outcome()).isInstanceOfSatisfying(Outcome.Rejected.class,
                r -> assertThat(r.message()).contains("count 3").doesNotContain("no live mapping"));
        k.step(new Call.Unmap(0, a + pages(1), 1));
        assertThat(k.outcome()).isInstanceOfSatisfying(Outcome.Rejected.class,
                r -> assertThat(r.message()).contains("no live mapping"));
    }

    // ------------------------------------------------------------------ addr_to_vb_xa()

    /** Possible CPUs 0 and 3 of nr_cpu_ids 4: % num_possible_cpus() picks CPU 1 for odd blocks. */
    static KernelState sparseWithHashMutant() {
        KernelConfig c = new KernelConfig(Profile.LINUX_6_12, 12, START, KernelDriver.END, 8192, 4, List.of(0, 3),
                List.of(0, 3), 64);
        return KernelState.boot(c, Set.of(Mutant.HASH_INDEX_POSSIBLE_MASK), KernelState.Mode.EXACT);
    }

    // before a34acf30b19b, addr_to_vb_xa() (6.12 L2623) took per_cpu(vmap_block_queue, index) with index =
    // addr_to_vb_idx(addr) % num_possible_cpus(): block 1 gives CPU 1, not possible; new_vmap_block()'s
    // xa_insert() (L2711) faults on it
    @Test
    void theXaInsertCrashNamesTheImpossibleCpu() {
        KernelState s = sparseWithHashMutant();
        for (int i = 0; i < 4; i++) {
            s = Vmalloc.step(s, new Call.Map(0, 64)).state(); // block 0 is full
        }
        Outcome o = Vmalloc.step(s, new Call.Map(0, 1)).outcome();
        assertThat(o).isInstanceOfSatisfying(Outcome.Bug.class,
                b -> assertThat(b.text()).contains("xa_insert()").contains("CPU 1,").contains("[0, 3]"));
    }

    // vb_free() (6.12 L2890) loads from the same xarray: an unmap inside block 1 faults in xa_load() before
    // any vmap_block is looked at
    @Test
    void anUnmapWhereTheHashPicksAnImpossibleCpuFaultsInXaLoad() {
        KernelState s = sparseWithHashMutant();
        Outcome o = Vmalloc.step(s, new Call.Unmap(0, block(1), 1)).outcome();
        assertThat(o).isInstanceOfSatisfying(Outcome.Bug.class, b -> assertThat(b.text()).contains("xa_load()"));
    }

    // ------------------------------------------------------------------ placements of a trace

    final TraceGuidedTest.Script script = new TraceGuidedTest.Script();
    KernelState s;

    Vmalloc.Step step(Call c) {
        Vmalloc.Step st = Vmalloc.step(s, c, script);
        s = st.state();
        return st;
    }

    Vmalloc.PlacementRejected rejection(Call c, long at) {
        script.next.add(at);
        try {
            Vmalloc.step(s, c, script);
        } catch (Vmalloc.PlacementRejected r) {
            return r;
        }
        throw new AssertionError("not rejected");
    }

    /** 6.12, 2 CPUs: a 100-page area at block 4, unmapped and purged into node 0's pool. */
    void pooledArea() {
        s = KernelDriver.guided(Profile.LINUX_6_12, 2);
        script.next.add(block(4));
        step(new Call.Map(0, 100));
        step(new Call.Unmap(0, block(4), 100));
        s = Vmalloc.observeFlush(s, block(4), block(4) + pages(100), null);
        assertThat(s.areas().get(block(4) >>> 12).state()).isEqualTo(Va.State.POOLED);
    }

    // node_alloc() (6.12) takes the head of the node's pool: a trace saying otherwise is refused with what the
    // kernel would have returned and what the trace says it returned (an address, or NULL)
    @Test
    void thePoolReuseRejectionStatesTheHeadAndTheTracedAddressOrNull() {
        pooledArea();
        Vmalloc.PlacementRejected r = rejection(new Call.Map(0, 100), block(8));
        assertThat(r.rule()).isEqualTo("pool-reuse");
        assertThat(r.getMessage()).startsWith("area ").contains(hex(block(4))).endsWith("not " + hex(block(8)));
        r = rejection(new Call.Map(0, 100), -1);
        assertThat(r.getMessage()).endsWith("not NULL");
    }

    // a retired block's area goes lazy (free_vmap_block()), and the purge puts it in the pool of 256-page
    // areas; new_vmap_block()'s alloc_vmap_area() takes it back from there
    @Test
    void thePoolReuseRejectionSaysWhenTheAreaIsANewVmapBlock() {
        s = KernelDriver.guided(Profile.LINUX_6_12, 2);
        script.next.add(block(10));
        for (int i = 0; i < 4; i++) {
            assertThat(step(new Call.Map(0, 64)).outcome()).isEqualTo(new Outcome.Mapped(block(10) + pages(64L * i)));
        }
        for (int i = 0; i < 4; i++) {
            step(new Call.Unmap(0, block(10) + pages(64L * i), 64));
        }
        assertThat(s.blocks()).isEmpty();
        s = Vmalloc.observeFlush(s, block(10), block(11), null);
        assertThat(s.areas().get(block(10) >>> 12).state()).isEqualTo(Va.State.POOLED);
        Vmalloc.PlacementRejected r = rejection(new Call.Map(0, 1), block(12));
        assertThat(r.rule()).isEqualTo("pool-reuse");
        assertThat(r.getMessage()).startsWith("new vmap block ").contains(hex(block(10))).endsWith("not " + hex(block(12)));
    }

    // new_vmap_block(): alloc_vmap_area(VMAP_BLOCK_SIZE, VMAP_BLOCK_SIZE, ...): the rejection names the block
    @Test
    void thePlacementRejectionsNameTheBlockOrTheArea() {
        s = KernelDriver.guided(Profile.LINUX_6_1, 1);
        Vmalloc.PlacementRejected r = rejection(new Call.Map(0, 1), block(8) + pages(1));
        assertThat(r.rule()).isEqualTo("placement-aligned");
        assertThat(r.getMessage()).startsWith("new vmap block ").contains(String.valueOf(pages(KernelDriver.BLOCK)));
        script.next.clear();
        script.next.add(block(8));
        step(new Call.Map(0, 1));
        assertThat(s.blocks()).containsKey(block(8) >>> 12);
        script.next.add(block(4));
        step(new Call.Map(0, 100));
        r = rejection(new Call.Map(0, 100), block(8) - pages(50));
        assertThat(r.rule()).isEqualTo("placement-disjoint");
        assertThat(r.getMessage()).endsWith("the live vmap block at " + hex(block(8)));
        r = rejection(new Call.Map(0, 100), block(4) + pages(50));
        assertThat(r.getMessage()).endsWith("the live area at " + hex(block(4)));
    }

    // ------------------------------------------------------------------ another user's vm_map_ram()

    // vb_alloc(): pages_off = VMAP_BBMAP_BITS - vb->free: the rejection of another user's map at another offset
    // states that next free page
    @Test
    void theBlockOffsetRejectionStatesTheNextFreePage() {
        s = KernelDriver.guided(Profile.LINUX_6_12, 1);
        Vmalloc.Step st = Vmalloc.stepForeign(s, new Call.Map(0, 3), KernelDriver.told(block(4)));
        s = st.state();
        Outcome o = Vmalloc.stepForeign(s, new Call.Map(0, 1), KernelDriver.told(block(4) + pages(9))).outcome();
        assertThat(o).isInstanceOfSatisfying(Outcome.Rejected.class,
                r -> assertThat(r.message()).contains("page offset 9").contains("next free page is 4 with 252 free"));
    }

    // ------------------------------------------------------------------ the configuration

    @Test
    void aConfigWhoseHighestPossibleCpuIsWrongStatesNrCpuIdsMinusOne() {
        assertThatThrownBy(() -> new KernelConfig(Profile.LINUX_6_12, 12, START, KernelDriver.END, 8192, 4,
                List.of(0, 1), List.of(0), 64)).isInstanceOf(IllegalArgumentException.class).hasMessageEndingWith("= 3");
    }
}
