// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static vmapref.kernel.KernelDriver.END;
import static vmapref.kernel.KernelDriver.START;
import static vmapref.kernel.KernelDriver.pages;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Calls outside the caller's contract: what the kernel does with them, and what the model refuses. */
class BadInputTest {

    /** Two CPUs; block 0 holds a live 1-page map at offset 0 and a live 2-page map at offset 1. */
    static KernelDriver withTwoSmallMaps(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 2);
        k.map(1);
        k.map(2);
        return k;
    }

    static void assertRejected(KernelDriver k, Call call, String rule) {
        KernelState before = k.state();
        Vmalloc.Step step = k.step(call);
        assertThat(step.outcome()).isInstanceOfSatisfying(Outcome.Rejected.class,
                r -> assertThat(r.rule()).isEqualTo(rule));
        assertThat(step.state()).as("state unchanged").isSameAs(before);
        assertThat(step.effects()).isEmpty();
    }

    static void assertBug(KernelDriver k, Call call) {
        Vmalloc.Step step = k.step(call);
        assertThat(step.outcome()).isInstanceOf(Outcome.Bug.class);
        assertThat(step.state().crash()).isNotNull();
    }

    // 6.12 vb_alloc(): if (WARN_ON(size == 0)) return ERR_PTR(-EINVAL); vm_map_ram(): IS_ERR(mem) -> NULL
    @Test
    void linux612CountZeroWarnsAndReturnsNull() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_12, 1);
        KernelState before = k.state();
        k.step(new Call.Map(0, 0));
        assertThat(k.outcome()).isInstanceOf(Outcome.Null.class);
        assertThat(k.effects()).singleElement().isInstanceOf(Effect.Warn.class);
        assertThat(k.state()).isEqualTo(before);
    }

    // 6.1 vb_alloc(): if (WARN_ON(size == 0)) return NULL; IS_ERR(NULL) is false: vmap_pages_range() at address 0
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_4_8"})
    void beforeSixNineCountZeroIsAKernelBug(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        assertBug(k, new Call.Map(0, 0));
        assertThat(k.effects()).first().isInstanceOf(Effect.Warn.class);
    }

    @Test
    void afterABugNoCallCanFollow() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_6_1, 1);
        assertBug(k, new Call.Map(0, 0));
        KernelState dead = k.state();
        for (Call c : new Call[] {new Call.Map(0, 1), new Call.Unmap(0, START, 1), new Call.Aliases(0)}) {
            assertThatThrownBy(() -> Vmalloc.step(dead, c)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("crashed").hasMessageContaining(dead.crash());
        }
    }

    // vm_map_ram(struct page **pages, unsigned int count, int node): a count must fit unsigned int
    @ParameterizedTest
    @ValueSource(longs = {-1, Long.MIN_VALUE, KernelConfig.MAX_COUNT + 1, Long.MAX_VALUE})
    void aCountThatDoesNotFitUnsignedIntIsRejected(long count) {
        KernelDriver k = withTwoSmallMaps(Profile.LINUX_6_12);
        assertRejected(k, new Call.Map(0, count), "bad-count");
        assertRejected(k, new Call.Unmap(0, START, count), "bad-count");
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void aCpuThatIsNotOnlineIsRejected(Profile p) {
        KernelDriver k = withTwoSmallMaps(p);
        assertRejected(k, new Call.Map(2, 1), "bad-cpu");
        assertRejected(k, new Call.Map(-1, 1), "bad-cpu");
        assertRejected(k, new Call.Unmap(7, START, 1), "bad-cpu");
        assertRejected(k, new Call.Aliases(2), "bad-cpu");
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void aPossibleCpuThatIsNotOnlineIsRejected(Profile p) {
        KernelConfig cfg = new KernelConfig(p, 12, START, END, 8192, 2, List.of(0, 1), List.of(0), 64);
        KernelDriver k = KernelDriver.boot(cfg);
        k.map(0, 1);
        assertRejected(k, new Call.Map(1, 1), "bad-cpu");
        assertRejected(k, new Call.Unmap(1, START, 1), "bad-cpu");
        assertRejected(k, new Call.Aliases(1), "bad-cpu");
    }

    // 6.x vb_free(): vb = xa_load(...) is NULL, then spin_lock(&vb->lock); 4.8 vb_free(): BUG_ON(!vb)
    @ParameterizedTest
    @EnumSource(Profile.class)
    void unmapOfAnAddressWithNoBlockIsABug(Profile p) {
        KernelDriver k = withTwoSmallMaps(p);
        assertBug(k, new Call.Unmap(0, START + pages(KernelDriver.BLOCK), 1));
        assertThat(((Outcome.Bug) k.outcome()).text())
                .contains(p == Profile.LINUX_4_8 ? "BUG_ON(!vb)" : "NULL pointer dereference");
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void unmapInTheBlockOfARetiredBlockIsABug(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long[] maps = k.mapEach(4, 64);
        k.unmapEach(maps, 64);
        assertBug(k, new Call.Unmap(0, maps[0], 64));
    }

    // vb_free() does not check the count: the model refuses a count or offset the block never handed out
    @ParameterizedTest
    @EnumSource(Profile.class)
    void unmapWithTheWrongCountOrAnUnknownOffsetInALiveBlockIsRejected(Profile p) {
        KernelDriver k = withTwoSmallMaps(p);
        assertRejected(k, new Call.Unmap(0, START, 2), "unmap-live-exact");
        assertRejected(k, new Call.Unmap(0, START + pages(1), 1), "unmap-live-exact");
        assertRejected(k, new Call.Unmap(0, START + pages(2), 1), "unmap-live-exact"); // inside the 2-page map
        assertRejected(k, new Call.Unmap(0, START + pages(3), 1), "unmap-live-exact"); // never handed out
        assertRejected(k, new Call.Unmap(0, START, 0), "unmap-live-exact");
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void aSmallDoubleUnmapIsRejected(Profile p) {
        KernelDriver k = withTwoSmallMaps(p);
        k.unmap(START, 1);
        assertRejected(k, new Call.Unmap(0, START, 1), "unmap-live-exact");
    }

    // 6.12 vm_unmap_ram(): va = find_unlink_vmap_area(addr); if (WARN_ON_ONCE(!va)) return;
    @Test
    void linux612LargeUnmapOfAnUnknownAddressWarns() {
        KernelDriver k = withTwoSmallMaps(Profile.LINUX_6_12);
        KernelState before = k.state();
        k.step(new Call.Unmap(0, START + pages(4096), 65));
        assertThat(k.outcome()).isInstanceOf(Outcome.Done.class);
        assertThat(k.effects()).singleElement().isInstanceOf(Effect.Warn.class);
        assertThat(k.state().blocks()).isEqualTo(before.blocks());
        assertThat(k.state().areas()).isEqualTo(before.areas());
        assertThat(k.state().lazy()).isEqualTo(before.lazy());
        assertThat(k.state().freeLists()).isEqualTo(before.freeLists());
        assertThat(k.state().pools()).isEqualTo(before.pools());
        assertThat(k.state().warnedOnce()).isTrue();
        // WARN_ON_ONCE(): the second such call returns as quietly, with no report
        KernelState warned = k.state();
        k.step(new Call.Unmap(0, START + pages(8192), 65));
        assertThat(k.outcome()).isInstanceOf(Outcome.Done.class);
        assertThat(k.effects()).isEmpty();
        assertThat(k.state()).isEqualTo(warned);
    }

    // 6.1 vm_unmap_ram(): va = find_vmap_area(addr); BUG_ON(!va);
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_4_8"})
    void beforeSixNineLargeUnmapOfAnUnknownAddressIsABug(Profile p) {
        KernelDriver k = withTwoSmallMaps(p);
        assertBug(k, new Call.Unmap(0, START + pages(4096), 65));
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void largeUnmapWithTheWrongCountIsRejected(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(100);
        assertRejected(k, new Call.Unmap(0, a, 65), "unmap-live-exact");
        assertRejected(k, new Call.Unmap(0, a + pages(1), 99), "unmap-live-exact");
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void largeUnmapInsideABlockIsRejected(Profile p) {
        KernelDriver k = withTwoSmallMaps(p);
        assertRejected(k, new Call.Unmap(0, START, 65), "unmap-live-exact");
    }

    // vm_unmap_ram(): BUG_ON(!addr); BUG_ON(addr < VMALLOC_START); BUG_ON(addr > VMALLOC_END); BUG_ON(!PAGE_ALIGNED(addr))
    @ParameterizedTest
    @ValueSource(longs = {0, START - 4096, END + 1, 0xfffffffffffff000L, START + 8, START + 4095})
    void unmapOfANullOutOfRangeOrMisalignedAddressIsABug(long addr) {
        for (Profile p : Profile.values()) {
            for (long count : new long[] {1, 65}) {
                KernelDriver k = withTwoSmallMaps(p);
                assertBug(k, new Call.Unmap(0, addr, count));
                assertThat(((Outcome.Bug) k.outcome()).text()).contains("vm_unmap_ram");
            }
        }
    }

    // 3c8ce1be43d3 (v5.8) removed the prot argument
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_6_12"})
    void aProtArgumentIsRejectedAfterFiveEight(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        assertRejected(k, new Call.Map(0, 1, 0x8000000000000163L), "no-prot");
    }

    @Test
    void linux48AcceptsAProtArgument() {
        KernelDriver k = KernelDriver.boot(Profile.LINUX_4_8, 1);
        k.step(new Call.Map(0, 1, 0x8000000000000163L));
        assertThat(k.outcome()).isEqualTo(new Outcome.Mapped(START));
        k.step(new Call.Map(0, 100, 0x8000000000000163L));
        assertThat(k.outcome()).isInstanceOf(Outcome.Mapped.class);
    }

    // vm_map_ram(): size = (unsigned long)count << PAGE_SHIFT: 2^32 - 1 pages is just under 16 TiB
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aHugeCountIsMappedWithoutOverflow(Profile p) {
        KernelDriver k = KernelDriver.boot(p, 1);
        long a = k.map(KernelConfig.MAX_COUNT);
        assertThat(a).isEqualTo(START);
        Va va = k.state().areas().get(START >>> 12);
        assertThat(va.pages()).isEqualTo(KernelConfig.MAX_COUNT);
        assertThat(Long.compareUnsigned(a + pages(KernelConfig.MAX_COUNT) - 1, END)).isNegative();
        assertThat(k.map(65)).isEqualTo(START + pages(KernelConfig.MAX_COUNT));
        k.unmap(a, KernelConfig.MAX_COUNT);
        assertThat(k.flushes()).as("far over lazy_max_pages(): purged at once")
                .anySatisfy(f -> assertThat(f.start()).isEqualTo(a));
        KernelInvariants.check(k.state());
    }
}
