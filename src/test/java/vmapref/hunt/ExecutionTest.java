// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/** The run of one program: checks, skipping, and the two comparisons (mutant vs profile, 6.1 vs 6.12). */
class ExecutionTest {

    static Program program(Profile p, Op... ops) {
        return new Program(KernelConfig.x86_64(p, 1), List.of(ops));
    }

    /** Fills a 256-page block with four 64-page maps, unmaps the first, calls vm_unmap_aliases(). */
    static Op[] staleTlb() {
        return new Op[] {new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 64),
            new Op.Unmap(0, 0), new Op.Aliases(0)};
    }

    @Test
    void theSpecificationRulesAreChecked() {
        Execution e = Execution.run(program(Profile.LINUX_6_1, staleTlb()), null, Set.of());
        assertThat(e.verdict().kind()).isEqualTo("aliases-no-stale");
        assertThat(e.verdict().level()).isEqualTo(Failure.Level.SPEC);
        assertThat(e.verdict().step()).isEqualTo(6);
        assertThat(Execution.run(program(Profile.LINUX_6_12, staleTlb()), null, Set.of()).verdict()).isNull();
    }

    @Test
    void ignoredKindsAreNotReported() {
        Execution e = Execution.run(program(Profile.LINUX_6_1, staleTlb()), null, Property.knownBroken(Profile.LINUX_6_1));
        assertThat(e.verdict()).isNull();
        assertThat(e.calls()).isEqualTo(6);
    }

    @Test
    void aMutantIsNotBlamedForWhatItsProfileDoesAtTheSameCall() {
        // 6.1 breaks aliases-no-stale itself; new-block-at-list-head changes nothing in one block
        Execution e = Execution.run(program(Profile.LINUX_6_1, staleTlb()), Mutant.NEW_BLOCK_AT_LIST_HEAD, Set.of());
        assertThat(e.verdict()).isNull();
    }

    @Test
    void aDivergenceIsTheFirstDifferentFlushOrOutcome() {
        Execution e = Execution.run(program(Profile.LINUX_6_12, new Op.Map(0, 1), new Op.Unmap(0, 0), new Op.Aliases(0),
                new Op.Aliases(0)), Mutant.FLUSH_DIRTY_AGAIN, Set.of());
        Failure f = e.verdict();
        assertThat(f.kind()).isEqualTo(Failure.DIVERGENCE);
        assertThat(f.level()).isEqualTo(Failure.Level.EXACT);
        assertThat(f.step()).isEqualTo(4);
        assertThat(f.message()).contains("linux-6.12 does no flush, but flush [0xffffc90000000000, 0xffffc90000001000)")
                .contains("with mutant flush-dirty-again");
    }

    @Test
    void aStateInvariantOfAMutantIsASymptomUntilSomethingShows() {
        // A free 63, then a 64-page map: the new block goes to the head of the list
        Op[] ops = {new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 1), new Op.Map(0, 64)};
        Execution e = Execution.run(program(Profile.LINUX_6_12, ops), Mutant.NEW_BLOCK_AT_LIST_HEAD, Set.of());
        assertThat(e.symptom().kind()).isEqualTo("free-list-best-fit");
        assertThat(e.verdict()).isSameAs(e.symptom());
        assertThat(e.verdict().level()).isEqualTo(Failure.Level.MODEL);
        List<Op> more = new ArrayList<>(List.of(ops));
        more.add(new Op.Map(0, 1)); // plain: block A (free 63); mutant: the new block
        Execution shows = Execution.run(new Program(KernelConfig.x86_64(Profile.LINUX_6_12, 1), more),
                Mutant.NEW_BLOCK_AT_LIST_HEAD, Set.of());
        assertThat(shows.verdict().kind()).isEqualTo(Failure.DIVERGENCE);
        assertThat(shows.verdict().step()).isEqualTo(6);
        assertThat(shows.symptom().step()).isEqualTo(5);
        assertThat(Report.listing(shows)).contains("first symptom: free-list-best-fit at step 5");
    }

    @Test
    void unmapsOfNullOrFreedMapsAreSkippedAndACrashEndsTheRun() {
        KernelConfig small = new KernelConfig(Profile.LINUX_6_1, 12, KernelConfig.X86_64_VMALLOC_START,
                KernelConfig.X86_64_VMALLOC_START + (16L << 20) - 1, 8192, 1, List.of(0), List.of(0), 64);
        Execution e = Execution.run(new Program(small, List.of(new Op.Map(0, 100_000), new Op.Unmap(0, 0),
                new Op.Map(0, 1), new Op.Unmap(0, 2), new Op.Unmap(0, 2), new Op.Map(0, 0), new Op.Aliases(0))), null,
                Set.of());
        assertThat(e.verdict()).isNull(); // count 0 is outside 6.1's contract: a crash, not a violation
        assertThat(e.stopped()).isTrue(); // nothing runs after the crash
        assertThat(e.steps()).extracting(Execution.Step::skipped).containsExactly(null, "#1 is not mapped", null, null,
                "#3 is not mapped", null);
        e.apply(new Op.Aliases(0));
        assertThat(e.steps().get(6).skipped()).isEqualTo("the kernel crashed earlier");
        assertThat(e.calls()).isEqualTo(4);
        assertThat(Report.listing(e)).contains("1. cpu0 map(100000) -> NULL").contains("6. cpu0 map(0) -> crash: ");
    }

    /** 7.2 beside 6.12 on one CPU: no pools, so they agree throughout, aliases included; a broken side is seen. */
    @Test
    void profilesAgreeHolds72To612ThroughAliases() {
        Op[] ops = {new Op.Map(0, 100), new Op.Map(0, 100), new Op.Unmap(0, 0), new Op.Aliases(0), new Op.Aliases(0),
            new Op.Map(0, 100), new Op.Map(0, 64), new Op.Map(0, 1)};
        Execution plain = Execution.run(program(Profile.LINUX_7_2, ops), null, Set.of());
        assertThat(plain.verdict()).isNull();
        assertThat(plain.profilesCompared()).isEqualTo(ops.length);
        KernelConfig cfg = KernelConfig.x86_64(Profile.LINUX_7_2, 1);
        Execution e = new Execution(cfg, null, Set.of(),
                KernelState.boot(cfg.withProfile(Profile.LINUX_6_12), Set.of(Mutant.NEW_BLOCK_AT_LIST_HEAD), KernelState.Mode.EXACT));
        for (Op op : new Op[] {new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 1),
            new Op.Map(0, 64), new Op.Map(0, 1)}) {
            e.apply(op);
        }
        assertThat(e.verdict().kind()).isEqualTo("profiles-agree");
    }

    @Test
    void profilesAgreeComparesWithTheOtherProfileUntilAliases() {
        Op[] ops = {new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 64), new Op.Map(0, 1), new Op.Map(0, 64),
            new Op.Map(0, 1)};
        Execution plain = Execution.run(program(Profile.LINUX_6_12, ops), null, Set.of());
        assertThat(plain.verdict()).isNull();
        assertThat(plain.profilesCompared()).isEqualTo(6);
        // the checker fails when the other side behaves differently: here 6.1 with its new blocks at the list head
        KernelConfig cfg = KernelConfig.x86_64(Profile.LINUX_6_12, 1);
        Execution e = new Execution(cfg, null, Set.of(),
                KernelState.boot(cfg.withProfile(Profile.LINUX_6_1), Set.of(Mutant.NEW_BLOCK_AT_LIST_HEAD), KernelState.Mode.EXACT));
        for (Op op : ops) {
            e.apply(op);
        }
        assertThat(e.verdict().kind()).isEqualTo("profiles-agree");
        assertThat(e.verdict().step()).isEqualTo(6);
        assertThat(e.verdict().message()).startsWith("vm_map_ram(1) on CPU 0: linux-6.1 returns 0xffffc90000140000");
        // after vm_unmap_aliases() the profiles may differ: nothing is compared
        Execution after = new Execution(cfg, null, Set.of(),
                KernelState.boot(cfg.withProfile(Profile.LINUX_6_1), Set.of(Mutant.NEW_BLOCK_AT_LIST_HEAD), KernelState.Mode.EXACT));
        after.apply(new Op.Aliases(0));
        for (Op op : ops) {
            after.apply(op);
        }
        assertThat(after.verdict()).isNull();
        assertThat(after.profilesCompared()).isZero();
    }

    @Test
    void profilesAgreeIsOnlyForOnePossibleCpu() {
        Execution e = Execution.run(new Program(KernelConfig.x86_64(Profile.LINUX_6_12, 2), List.of(new Op.Map(0, 1))),
                null, Set.of());
        assertThat(e.profilesCompared()).isZero();
    }
}
