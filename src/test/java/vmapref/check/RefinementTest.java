// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;
import vmapref.kernel.Call;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.kernel.Vmalloc;
import vmapref.spec.IntervalSet;
import vmapref.spec.Rule;
import vmapref.spec.Violation;

/** The refinement check: the implementation's steps, seen through the abstraction function, obey the spec. */
class RefinementTest {
    static final long START = KernelConfig.X86_64_VMALLOC_START;
    static final long START_PAGE = START >>> 12;

    static Refinement refinement(Profile p, int cpus) {
        return new Refinement(KernelState.boot(KernelConfig.x86_64(p, cpus), Set.of(), KernelState.Mode.EXACT), true, 1);
    }

    /** Runs a call that must not break any rule; returns the mapped address for a map. */
    static long run(Refinement r, Call call) {
        Refinement.StepReport report = r.step(call);
        assertThat(report.violation()).as("%s", call).isNull();
        return report.result().outcome() instanceof Outcome.Mapped m ? m.addr() : 0;
    }

    static PSortedMap<Long, Long> live(long... pageAndCount) {
        PSortedMap<Long, Long> m = TreePMap.empty();
        for (int i = 0; i < pageAndCount.length; i += 2) {
            m = m.plus(pageAndCount[i], pageAndCount[i + 1]);
        }
        return m;
    }

    @ParameterizedTest
    @EnumSource(Profile.class)
    void liveMappingsAgreeWithTheCallsMade(Profile p) {
        Refinement r = refinement(p, 2);
        long a = run(r, new Call.Map(0, 3));
        long b = run(r, new Call.Map(1, 64));
        long c = run(r, new Call.Map(0, 100));
        long d = run(r, new Call.Map(0, 1));
        run(r, new Call.Unmap(1, a, 3));
        run(r, new Call.Unmap(0, c, 100));
        PSortedMap<Long, Long> expected = live(b >>> 12, 64, d >>> 12, 1);
        assertThat(Refinement.liveMappings(r.state())).isEqualTo(expected);
        assertThat(r.specChecker().spec().livePages()).isEqualTo(expected);
        assertThat(r.steps()).isEqualTo(6);
    }

    @Test
    void theAbstractionAgreesWithAMatchingSpecState() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        long a = run(r, new Call.Map(0, 2));
        long b = run(r, new Call.Map(0, 65));
        assertThat(Refinement.abstractionAgrees(r.state(), live(a >>> 12, 2, b >>> 12, 65), IntervalSet.empty()))
                .isNull();
    }

    @Test
    void aSpecLiveMapThatDiffersIsRefineLiveAgrees() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        long a = run(r, new Call.Map(0, 2));
        long b = run(r, new Call.Map(0, 65));
        KernelState s = r.state();
        for (PSortedMap<Long, Long> wrong : List.of(
                live(a >>> 12, 2), // one missing
                live(a >>> 12, 2, b >>> 12, 66), // a count differs
                live(a >>> 12, 2, b >>> 12, 65, (b >>> 12) + 100, 1), // one too many
                live())) {
            Violation v = Refinement.abstractionAgrees(s, wrong, IntervalSet.empty());
            assertThat(v).as("spec live %s", wrong).isNotNull();
            assertThat(v.rule()).isEqualTo(Rule.REFINE_LIVE_AGREES);
            assertThat(v.message()).startsWith("live mappings differ");
        }
    }

    @Test
    void aStaleRangeInAFreeGapIsRefineStaleHeld() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        long a = run(r, new Call.Map(0, 65));
        KernelState s = r.state();
        IntervalSet stale = IntervalSet.empty().plus(START_PAGE + 1000, START_PAGE + 1001);
        Violation v = Refinement.abstractionAgrees(s, live(a >>> 12, 65), stale);
        assertThat(v).isNotNull();
        assertThat(v.rule()).isEqualTo(Rule.REFINE_STALE_HELD);
        assertThat(v.message()).contains("is in a free range");
        IntervalSet straddling = IntervalSet.empty().plus(START_PAGE + 60, START_PAGE + 70);
        assertThat(Refinement.abstractionAgrees(s, live(a >>> 12, 65), straddling))
                .as("held for 5 pages, then free").extracting(Violation::rule).isEqualTo(Rule.REFINE_STALE_HELD);
    }

    @Test
    void aStaleRangeHeldByALazyAreaOrABlockIsFine() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        long small = run(r, new Call.Map(0, 1));
        long keep = run(r, new Call.Map(0, 1));
        long large = run(r, new Call.Map(0, 65));
        run(r, new Call.Unmap(0, small, 1));
        run(r, new Call.Unmap(0, large, 65));
        IntervalSet stale = IntervalSet.empty().plus(small >>> 12, (small >>> 12) + 1)
                .plus(large >>> 12, (large >>> 12) + 65);
        assertThat(r.specChecker().spec().stalePages()).isEqualTo(stale);
        assertThat(Refinement.abstractionAgrees(r.state(), live(keep >>> 12, 1), stale)).isNull();
    }

    // 6.12 purge_vmap_node(): node_pool_add_va(): a pooled area could be handed out at once, so it must be flushed
    @Test
    void aStaleRangeInANodePoolIsRefineStaleHeld() {
        Refinement r = refinement(Profile.LINUX_6_12, 2);
        long a = run(r, new Call.Map(0, 100));
        run(r, new Call.Unmap(0, a, 100));
        run(r, new Call.Aliases(0));
        IntervalSet stale = IntervalSet.empty().plus(a >>> 12, (a >>> 12) + 100);
        Violation v = Refinement.abstractionAgrees(r.state(), live(), stale);
        assertThat(v).isNotNull();
        assertThat(v.rule()).isEqualTo(Rule.REFINE_STALE_HELD);
        assertThat(v.message()).contains("sits in a node pool");
    }

    /** Four 64-page maps fill block 0, which leaves the free list; then the first is unmapped. */
    static void fillABlockAndUnmapTheFirst(Refinement r) {
        long first = run(r, new Call.Map(0, 64));
        for (int i = 0; i < 3; i++) {
            run(r, new Call.Map(0, 64));
        }
        run(r, new Call.Unmap(0, first, 64));
    }

    // Debian 6.1.192 has no fc1e0d980037: vm_unmap_aliases() misses the fully used block (notes section 7)
    @ParameterizedTest
    @EnumSource(value = Profile.class, names = {"LINUX_6_1", "LINUX_4_8"})
    void theStaleTlbBugOfFullyUsedBlocksBreaksAliasesNoStale(Profile p) {
        Refinement r = refinement(p, 1);
        fillABlockAndUnmapTheFirst(r);
        Refinement.StepReport report = r.step(new Call.Aliases(0));
        assertThat(report.violation()).isNotNull();
        assertThat(report.violation().rule()).isEqualTo(Rule.ALIASES_NO_STALE);
    }

    @Test
    void linux612FlushesTheFullyUsedBlockSoAliasesHolds() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        fillABlockAndUnmapTheFirst(r);
        run(r, new Call.Aliases(0));
    }

    @Test
    void aRejectedCallHasNoEventsAndChangesNothing() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        long a = run(r, new Call.Map(0, 2));
        KernelState before = r.state();
        Refinement.StepReport report = r.step(new Call.Unmap(0, a, 1));
        assertThat(report.result().outcome()).isInstanceOf(Outcome.Rejected.class);
        assertThat(report.events()).isEmpty();
        assertThat(report.violation()).isNull();
        assertThat(r.state()).isSameAs(before);
        assertThat(r.specChecker().spec().livePages()).containsEntry(a >>> 12, 2L);
    }

    @Test
    void aCrashOutsideTheContractIsNoViolation() {
        Refinement r = refinement(Profile.LINUX_6_1, 1);
        Refinement.StepReport report = r.step(new Call.Unmap(0, START, 1));
        assertThat(report.result().outcome()).isInstanceOf(Outcome.Bug.class);
        assertThat(report.violation()).isNull();
    }

    @Test
    void countZeroCrashingBeforeSixNineIsOutsideTheContract() {
        Refinement r = refinement(Profile.LINUX_6_1, 1);
        Refinement.StepReport report = r.step(new Call.Map(0, 0));
        assertThat(report.result().outcome()).isInstanceOf(Outcome.Bug.class);
        assertThat(report.violation()).isNull();
    }

    /**
     * A seeded random program of maps, unmaps and aliases calls on two CPUs: 6.12 never breaks a rule;
     * 6.1 and 4.8 break only aliases-no-stale (the stale-TLB bug of fully used blocks).
     */
    @ParameterizedTest
    @EnumSource(Profile.class)
    void aRandomProgramBreaksOnlyTheKnownRule(Profile p) {
        long[] counts = {1, 2, 3, 5, 8, 16, 33, 64, 65, 100, 256, 1000};
        for (long seed = 1; seed <= 5; seed++) {
            Random rnd = new Random(seed);
            Refinement r = refinement(p, 2);
            List<long[]> live = new ArrayList<>();
            for (int i = 0; i < 600; i++) {
                int cpu = rnd.nextInt(2);
                int dice = rnd.nextInt(10);
                Call call;
                if (dice < 5 || live.isEmpty()) {
                    call = new Call.Map(cpu, counts[rnd.nextInt(counts.length)]);
                } else if (dice < 9) {
                    long[] l = live.remove(rnd.nextInt(live.size()));
                    call = new Call.Unmap(cpu, l[0], l[1]);
                } else {
                    call = new Call.Aliases(cpu);
                }
                Refinement.StepReport report = r.step(call);
                if (report.result().outcome() instanceof Outcome.Mapped m) {
                    live.add(new long[] {m.addr(), ((Call.Map) call).count()});
                }
                if (report.violation() != null) {
                    assertThat(p).as("seed %d step %d %s: %s", seed, i, call, report.violation())
                            .isNotEqualTo(Profile.LINUX_6_12);
                    assertThat(report.violation().rule()).as("seed %d step %d: %s", seed, i, report.violation())
                            .isEqualTo(Rule.ALIASES_NO_STALE);
                }
            }
        }
    }

    // ------------------------------------------------------------ the incremental abstraction check

    /** A real step, with its state replaced by a hand-broken one; the step's record of what it touched is kept. */
    static Vmalloc.Step broken(Vmalloc.Step real, KernelState wrong) {
        return new Vmalloc.Step(wrong, real.outcome(), real.effects(), real.resultAt(), real.touched());
    }

    static KernelState with(KernelState s, PSortedMap<Long, VmapBlock> blocks, PSortedMap<Long, Va> areas) {
        return new KernelState(s.cfg(), s.mutants(), s.mode(), blocks, s.freeLists(), areas, s.lazy(), s.lazyNr(),
                s.pools(), s.cache(), s.crash(), s.freeTree());
    }

    /** Both checks on the broken step's state: the incremental one must find what the full one finds. */
    static Violation bothFind(KernelState before, Vmalloc.Step step, Call call, Refinement spec) {
        PSortedMap<Long, Long> live = spec.specChecker().spec().livePages();
        IntervalSet stale = spec.specChecker().spec().stalePages();
        Violation full = Refinement.abstractionAgrees(step.state(), live, stale);
        Violation incremental = Refinement.abstractionStep(before, step, call, live, stale);
        assertThat(full).isNotNull();
        assertThat(incremental).isEqualTo(full);
        return incremental;
    }

    @Test
    void theIncrementalCheckPassesWhatTheFullOnePasses() {
        Refinement r = refinement(Profile.LINUX_6_12, 2);
        run(r, new Call.Map(0, 2));
        KernelState before = r.state();
        Call call = new Call.Map(0, 4);
        Refinement.StepReport report = r.step(call);
        assertThat(report.violation()).isNull();
        assertThat(report.result().touched()).isNotNull();
        PSortedMap<Long, Long> live = r.specChecker().spec().livePages();
        assertThat(Refinement.abstractionStep(before, report.result(), call, live, r.specChecker().spec().stalePages()))
                .isNull();
        assertThatCode(r::crossCheck).doesNotThrowAnyException();
    }

    @Test
    void theIncrementalCheckFindsABlockThatForgotTheNewMapping() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        run(r, new Call.Map(0, 2));
        KernelState before = r.state();
        Call call = new Call.Map(0, 4);
        Refinement.StepReport report = r.step(call);
        long a = ((Outcome.Mapped) report.result().outcome()).addr();
        KernelState s = report.result().state();
        VmapBlock vb = s.blocks().floorEntry(a >>> 12).getValue();
        long off = (a >>> 12) - vb.base();
        VmapBlock forgot = new VmapBlock(vb.base(), vb.cpu(), vb.free(), vb.dirty(), vb.dirtyMin(), vb.dirtyMax(),
                vb.live().minus((int) off));
        Violation v = bothFind(before, broken(report.result(), with(s, s.blocks().plus(vb.base(), forgot), s.areas())),
                call, r);
        assertThat(v.rule()).isEqualTo(Rule.REFINE_LIVE_AGREES);
        assertThat(v.message()).contains("specification has 0x" + Long.toHexString(a) + " (4 pages)");
        VmapBlock wrongCount = new VmapBlock(vb.base(), vb.cpu(), vb.free(), vb.dirty(), vb.dirtyMin(), vb.dirtyMax(),
                vb.live().plus((int) off, 5L));
        assertThat(bothFind(before, broken(report.result(), with(s, s.blocks().plus(vb.base(), wrongCount),
                s.areas())), call, r).message()).contains("implementation has 0x" + Long.toHexString(a) + " (5 pages)");
    }

    @Test
    void theIncrementalCheckFindsAnUnmappedAreaFreedBeforeItsFlush() {
        Refinement r = refinement(Profile.LINUX_6_12, 2);
        long a = run(r, new Call.Map(0, 100));
        KernelState before = r.state();
        Call call = new Call.Unmap(0, a, 100);
        Refinement.StepReport report = r.step(call);
        assertThat(report.violation()).isNull();
        KernelState s = report.result().state();
        Va lazy = s.areas().get(a >>> 12);
        assertThat(lazy.state()).isEqualTo(Va.State.LAZY);
        // freed at once: a free range
        Violation free = bothFind(before, broken(report.result(), with(s, s.blocks(), s.areas().minus(a >>> 12))), call, r);
        assertThat(free.rule()).isEqualTo(Rule.REFINE_STALE_HELD);
        assertThat(free.message()).contains("0x" + Long.toHexString(a) + " is in a free range");
        // parked in a node pool with no flush
        Violation pooled = bothFind(before, broken(report.result(),
                with(s, s.blocks(), s.areas().plus(a >>> 12, lazy.with(Va.State.POOLED)))), call, r);
        assertThat(pooled.message()).contains("sits in a node pool");
    }

    @Test
    void aStepMadeByHandGetsTheFullCheck() {
        Refinement r = refinement(Profile.LINUX_6_12, 1);
        long a = run(r, new Call.Map(0, 65));
        KernelState before = r.state();
        Call call = new Call.Map(0, 1);
        Vmalloc.Step real = Vmalloc.step(before, call);
        KernelState lost = with(real.state(), real.state().blocks(), real.state().areas().minus(a >>> 12));
        Vmalloc.Step byHand = new Vmalloc.Step(lost, real.outcome(), real.effects(), real.resultAt());
        assertThat(byHand.touched()).isNull();
        PSortedMap<Long, Long> live = live(a >>> 12, 65);
        assertThat(Refinement.abstractionStep(before, byHand, call, live, IntervalSet.empty()))
                .isEqualTo(Refinement.abstractionAgrees(lost, live, IntervalSet.empty())).isNotNull();
    }
}
