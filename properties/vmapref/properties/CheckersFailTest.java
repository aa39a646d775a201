// SPDX-License-Identifier: GPL-2.0-only
package vmapref.properties;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.pcollections.PSortedMap;
import org.pcollections.TreePVector;
import vmapref.hunt.Invariants;
import vmapref.hunt.Property;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.kernel.Vmalloc;

/**
 * Every checker of {@link Invariants} is shown to fail: each test builds a correct state with the
 * model, breaks one thing by hand (a block's free count, a free list, an address), and asserts
 * that the checker names the broken property. Without these, a checker that never fires would
 * look like a model that never breaks.
 */
class CheckersFailTest {

    static final KernelConfig CFG = KernelConfig.x86_64(Profile.LINUX_6_12, 1);
    static final int BITS = CFG.vmapBbmapBits();

    static KernelState boot() {
        return KernelState.boot(CFG, Set.of(), KernelState.Mode.EXACT);
    }

    /** Runs the calls and returns the last step. */
    static Vmalloc.Step run(KernelState s, Call... calls) {
        Vmalloc.Step step = null;
        for (Call c : calls) {
            step = Vmalloc.step(s, c);
            s = step.state();
        }
        return step;
    }

    static KernelState withBlocks(KernelState s, PSortedMap<Long, VmapBlock> blocks) {
        return new KernelState(s.cfg(), s.mutants(), s.mode(), blocks, s.freeLists(), s.areas(), s.lazy(), s.lazyNr(),
                s.pools(), s.cache(), s.crash());
    }

    static KernelState withFreeList(KernelState s, int cpu, List<Long> list) {
        return new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists().plus(cpu, TreePVector.from(list)),
                s.areas(), s.lazy(), s.lazyNr(), s.pools(), s.cache(), s.crash());
    }

    /** One block with maps of 1 and 4 pages: free BITS - 5, nothing dirty. */
    static KernelState oneBlock() {
        KernelState s = run(boot(), new Call.Map(0, 1), new Call.Map(0, 4)).state();
        assertThat(Invariants.state(s)).isNull();
        return s;
    }

    static VmapBlock theBlock(KernelState s) {
        return s.blocks().values().iterator().next();
    }

    // ------------------------------------------------------------ block-accounting

    @Test
    void blockAccountingCatchesAWrongFreeCount() {
        KernelState s = oneBlock();
        VmapBlock vb = theBlock(s);
        VmapBlock wrong = new VmapBlock(vb.base(), vb.cpu(), vb.free() - 1, vb.dirty(), vb.dirtyMin(), vb.dirtyMax(), vb.live());
        Invariants.Breach b = Invariants.blockAccounting(withBlocks(s, s.blocks().plus(vb.base(), wrong)));
        assertThat(b).isNotNull();
        assertThat(b.property()).isEqualTo(Property.BLOCK_ACCOUNTING);
        assertThat(b.message()).contains("not VMAP_BBMAP_BITS " + BITS);
    }

    @Test
    void blockAccountingCatchesALostLiveMapping() {
        KernelState s = oneBlock();
        VmapBlock vb = theBlock(s);
        VmapBlock lost = new VmapBlock(vb.base(), vb.cpu(), vb.free(), vb.dirty(), vb.dirtyMin(), vb.dirtyMax(),
                vb.live().minus(0));
        assertThat(Invariants.blockAccounting(withBlocks(s, s.blocks().plus(vb.base(), lost))).property())
                .isEqualTo(Property.BLOCK_ACCOUNTING);
    }

    @Test
    void blockAccountingCatchesAMappingPastTheBumpPointer() {
        KernelState s = oneBlock();
        VmapBlock vb = theBlock(s);
        // the 4-page mapping moved from offset 1 to the top of the block, accounting otherwise intact
        VmapBlock moved = new VmapBlock(vb.base(), vb.cpu(), vb.free(), vb.dirty(), vb.dirtyMin(), vb.dirtyMax(),
                vb.live().minus(1).plus(BITS - 4, 4L));
        assertThat(Invariants.blockAccounting(withBlocks(s, s.blocks().plus(vb.base(), moved))).message())
                .contains("past the bump pointer");
    }

    @Test
    void blockAccountingCatchesABlockWithoutItsArea() {
        KernelState s = oneBlock();
        VmapBlock vb = theBlock(s);
        KernelState noArea = new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(),
                s.areas().minus(vb.base()), s.lazy(), s.lazyNr(), s.pools(), s.cache(), s.crash());
        assertThat(Invariants.blockAccounting(noArea).message()).contains("vmap_area is missing");
        KernelState lazyArea = new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(),
                s.areas().plus(vb.base(), s.areas().get(vb.base()).with(Va.State.LAZY)), s.lazy(), s.lazyNr(), s.pools(),
                s.cache(), s.crash());
        assertThat(Invariants.blockAccounting(lazyArea).message()).contains("LAZY");
    }

    // ------------------------------------------------------------ block-free-list

    @Test
    void freeListCatchesABlockWithFreePagesMissingFromIt() {
        KernelState s = withFreeList(oneBlock(), 0, List.of());
        Invariants.Breach b = Invariants.blockFreeList(s);
        assertThat(b.property()).isEqualTo(Property.BLOCK_FREE_LIST);
        assertThat(b.message()).contains("is on no free list");
    }

    @Test
    void freeListCatchesAFullBlockLeftOnIt() {
        KernelState s = run(boot(), new Call.Map(0, 64), new Call.Map(0, 64), new Call.Map(0, 64), new Call.Map(0, 64)).state();
        VmapBlock vb = theBlock(s);
        assertThat(vb.free()).isZero();
        assertThat(Invariants.blockFreeList(s)).isNull();
        assertThat(Invariants.blockFreeList(withFreeList(s, 0, List.of(vb.base()))).message())
                .contains("has free 0 but is still on the free list");
    }

    @Test
    void freeListCatchesABlockOnTwoListsAndADeadEntry() {
        KernelConfig two = KernelConfig.x86_64(Profile.LINUX_6_12, 2);
        KernelState s = Vmalloc.step(KernelState.boot(two, Set.of(), KernelState.Mode.EXACT), new Call.Map(0, 1)).state();
        long base = theBlock(s).base();
        assertThat(Invariants.blockFreeList(withFreeList(s, 1, List.of(base))).message())
                .contains("on the free list of CPU 0 and of CPU 1");
        assertThat(Invariants.blockFreeList(withFreeList(s, 0, List.of(base, base + BITS))).message())
                .contains("which is no live block");
    }

    // ------------------------------------------------------------ free-list-best-fit

    @Test
    void bestFitCatchesFreeCountsThatDoNotRise() {
        // block A: 64+64+64+1 -> free 63; a 64-page map makes block B (free 192), after A on the list
        KernelState s = run(boot(), new Call.Map(0, 64), new Call.Map(0, 64), new Call.Map(0, 64), new Call.Map(0, 1),
                new Call.Map(0, 64)).state();
        List<Long> list = s.freeList(0);
        assertThat(list).hasSize(2);
        assertThat(Invariants.freeListBestFit(s)).isNull();
        Invariants.Breach b = Invariants.freeListBestFit(withFreeList(s, 0, List.of(list.get(1), list.get(0))));
        assertThat(b.property()).isEqualTo(Property.FREE_LIST_BEST_FIT);
        assertThat(b.message()).contains("(free 192) comes before").contains("(free 63)");
    }

    // ------------------------------------------------------------ bump-allocated

    @Test
    void bumpAllocatedCatchesAnAddressOffTheBumpPointer() {
        KernelState before = oneBlock();
        Vmalloc.Step real = Vmalloc.step(before, new Call.Map(0, 2));
        Call call = new Call.Map(0, 2);
        assertThat(Invariants.bumpAllocated(before, call, real)).isNull();
        long addr = ((Outcome.Mapped) real.outcome()).addr();
        Vmalloc.Step skewed = new Vmalloc.Step(real.state(), new Outcome.Mapped(addr + CFG.pageSize()), real.effects(),
                real.resultAt());
        Invariants.Breach b = Invariants.bumpAllocated(before, call, skewed);
        assertThat(b.property()).isEqualTo(Property.BUMP_ALLOCATED);
        assertThat(b.message()).contains("page offset 6").contains("the bump pointer is at 5");
    }

    @Test
    void bumpAllocatedCatchesANewBlockWhenAnOldOneHadRoom() {
        KernelState before = oneBlock();
        Vmalloc.Step real = Vmalloc.step(before, new Call.Map(0, 2));
        long otherBlock = CFG.vmallocStart() + 7L * BITS * CFG.pageSize();
        Vmalloc.Step elsewhere = new Vmalloc.Step(real.state(), new Outcome.Mapped(otherBlock),
                List.of(new Effect.BlockCreated(0, otherBlock)), 1);
        assertThat(Invariants.bumpAllocated(before, new Call.Map(0, 2), elsewhere).message())
                .contains("takes the first block on the CPU's free list with 2 free pages");
    }

    @Test
    void bumpAllocatedCatchesAMappingTheBlockDoesNotRecord() {
        KernelState before = oneBlock();
        Vmalloc.Step real = Vmalloc.step(before, new Call.Map(0, 2));
        Vmalloc.Step forgetful = new Vmalloc.Step(before, real.outcome(), real.effects(), real.resultAt());
        assertThat(Invariants.bumpAllocated(before, new Call.Map(0, 2), forgetful).message())
                .contains("does not record a live sub-allocation");
    }

    // ------------------------------------------------------------ null-only-when-full

    @Test
    void nullOnlyWhenFullCatchesALargeNullWithRoom() {
        KernelState s = boot();
        Vmalloc.Step fake = new Vmalloc.Step(s, new Outcome.Null("made up"), List.of(), 0);
        Invariants.Breach b = Invariants.nullOnlyWhenFull(s, new Call.Map(0, 65), fake);
        assertThat(b.property()).isEqualTo(Property.NULL_ONLY_WHEN_FULL);
        assertThat(b.message()).contains("is free");
    }

    @Test
    void nullOnlyWhenFullCatchesASmallNullWithABlockOnTheList() {
        KernelState s = oneBlock();
        Vmalloc.Step fake = new Vmalloc.Step(s, new Outcome.Null("made up"), List.of(), 0);
        assertThat(Invariants.nullOnlyWhenFull(s, new Call.Map(0, 64), fake).message())
                .contains("on its free list has " + (BITS - 5) + " free pages");
    }

    @Test
    void nullOnlyWhenFullCatchesASmallNullWithAnAlignedGap() {
        // a 16-block window; the CPU's only block is full, 14 blocks are free above it
        KernelConfig small = new KernelConfig(Profile.LINUX_6_12, 12, CFG.vmallocStart(),
                CFG.vmallocStart() + (16L << 20) - 1, 8192, 1, List.of(0), List.of(0), 64);
        KernelState s = KernelState.boot(small, Set.of(), KernelState.Mode.EXACT);
        s = run(s, new Call.Map(0, 64), new Call.Map(0, 64), new Call.Map(0, 64), new Call.Map(0, 64)).state();
        Vmalloc.Step fake = new Vmalloc.Step(s, new Outcome.Null("made up"), List.of(), 0);
        assertThat(Invariants.nullOnlyWhenFull(s, new Call.Map(0, 1), fake).message()).contains("holds the aligned block");
    }

    @Test
    void nullOnlyWhenFullAcceptsARealExhaustion() {
        // 4 blocks of room; 4 large maps of one block each take it all: the next small map has nowhere to go
        KernelConfig tiny = new KernelConfig(Profile.LINUX_6_12, 12, CFG.vmallocStart(),
                CFG.vmallocStart() + (4L << 20) - 1, 8192, 1, List.of(0), List.of(0), 64);
        KernelState s = KernelState.boot(tiny, Set.of(), KernelState.Mode.EXACT);
        s = run(s, new Call.Map(0, 256), new Call.Map(0, 256), new Call.Map(0, 256), new Call.Map(0, 255)).state();
        Vmalloc.Step step = Vmalloc.step(s, new Call.Map(0, 1));
        assertThat(step.outcome()).isInstanceOf(Outcome.Null.class);
        assertThat(Invariants.nullOnlyWhenFull(s, new Call.Map(0, 1), step)).isNull();
    }

    // ------------------------------------------------------------ block-retired-once

    @Test
    void lifecycleCatchesARetirementTwice() {
        KernelState s = oneBlock();
        long base = s.addr(theBlock(s).base());
        Invariants.BlockLifecycle life = new Invariants.BlockLifecycle(s);
        Vmalloc.Step retired = new Vmalloc.Step(boot(), new Outcome.Done(),
                List.of(new Effect.BlockRetired(0, base, "vb_free")), 0);
        assertThat(life.observe(retired)).isNull();
        Invariants.Breach b = life.observe(retired);
        assertThat(b.property()).isEqualTo(Property.BLOCK_RETIRED_ONCE);
        assertThat(b.message()).contains("retired twice");
    }

    @Test
    void lifecycleCatchesABlockThatAppearsOrVanishesSilently() {
        KernelState s = oneBlock();
        Invariants.BlockLifecycle fromBoot = new Invariants.BlockLifecycle(boot());
        Vmalloc.Step appears = new Vmalloc.Step(s, new Outcome.Done(), List.of(), 0);
        assertThat(fromBoot.observe(appears).message()).contains("was never created");
        Invariants.BlockLifecycle fromBlock = new Invariants.BlockLifecycle(s);
        Vmalloc.Step vanishes = new Vmalloc.Step(boot(), new Outcome.Done(), List.of(), 0);
        assertThat(fromBlock.observe(vanishes).message()).contains("left the state without being retired");
    }

    @Test
    void lifecycleCatchesACreationOverALiveBlock() {
        KernelState s = oneBlock();
        Invariants.BlockLifecycle life = new Invariants.BlockLifecycle(s);
        Vmalloc.Step again = new Vmalloc.Step(s, new Outcome.Mapped(s.addr(theBlock(s).base())),
                List.of(new Effect.BlockCreated(0, s.addr(theBlock(s).base()))), 1);
        assertThat(life.observe(again).message()).contains("was created while a live block sat there");
    }

    // ------------------------------------------------------------ area-accounting

    static KernelState withAreas(KernelState s, PSortedMap<Long, Va> areas, long lazyNr) {
        return new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(), areas, s.lazy(), lazyNr,
                s.pools(), s.cache(), s.crash());
    }

    @Test
    void areaAccountingCatchesAWrongLazyCountAnOverlapAndAStrayPoolEntry() {
        // a 100-page map, unmapped: one lazy area of 100 pages
        KernelState s = run(boot(), new Call.Map(0, 100), new Call.Unmap(0, CFG.vmallocStart(), 100)).state();
        assertThat(Invariants.areaAccounting(s)).isNull();
        assertThat(s.lazyNr()).isEqualTo(100);

        Invariants.Breach wrongCount = Invariants.areaAccounting(withAreas(s, s.areas(), 99));
        assertThat(wrongCount.property()).isEqualTo(Property.AREA_ACCOUNTING);
        assertThat(wrongCount.message()).contains("vmap_lazy_nr is 99");

        long start = CFG.windowStartPage();
        Va overlapping = new Va(start + 50, 10, Va.State.BUSY, Va.Kind.OTHER, -1, 0);
        Invariants.Breach overlap = Invariants.areaAccounting(withAreas(s, s.areas().plus(overlapping.start(), overlapping), 100));
        assertThat(overlap.message()).contains("overlaps the area before it");

        Va notLazy = s.areas().get(start).with(Va.State.BUSY);
        assertThat(Invariants.areaAccounting(withAreas(s, s.areas().plus(start, notLazy), 100)).message())
                .contains("is on the lazy list");

        KernelState pooled = new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(), s.areas(), s.lazy(),
                s.lazyNr(), s.pools().plus(0, TreePVector.singleton(start)), s.cache(), s.crash());
        assertThat(Invariants.areaAccounting(pooled).message()).contains("is a LAZY area");
        assertThat(Invariants.state(pooled).property()).isEqualTo(Property.AREA_ACCOUNTING);
    }
}
