// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

class ShrinkerTest {

    @Test
    void countCandidatesAreSmallerAndSmallestFirst() {
        assertThat(Shrinker.candidates(65)).containsExactly(1L, 2L, 3L, 4L, 5L, 7L, 8L, 9L, 15L, 16L, 17L, 31L, 32L,
                33L, 63L, 64L);
        assertThat(Shrinker.candidates(2)).containsExactly(1L);
        assertThat(Shrinker.candidates(1)).isEmpty();
    }

    /** The 6.1 stale-TLB bug buried in noise on four CPUs with a hole, 1024-page blocks. */
    static Program noisyStaleTlb() {
        List<Integer> cpus = List.of(0, 1, 3);
        KernelConfig c = new KernelConfig(Profile.LINUX_6_1, 12, KernelConfig.X86_64_VMALLOC_START,
                KernelConfig.X86_64_VMALLOC_END, 2048, 4, cpus, cpus, 64);
        return new Program(c, List.of(
                new Op.Map(3, 7), new Op.Map(1, 300), new Op.Aliases(1),
                new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64),
                new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64),
                new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64), new Op.Map(3, 64),
                new Op.Map(3, 32), new Op.Map(3, 16), new Op.Map(3, 8), // block of CPU 3 full: 8 + 15 * 64 + 56
                new Op.Unmap(1, 1), new Op.Unmap(0, 4), new Op.Map(0, 1), new Op.Aliases(3), new Op.Map(1, 2)));
    }

    @Test
    void shrinksToTheCoreOfTheFailureDeterministically() {
        Program p = noisyStaleTlb();
        Failure f = Execution.run(p, null, Set.of()).verdict();
        assertThat(f.kind()).isEqualTo("aliases-no-stale");
        Program small = new Shrinker(null, Set.of(), f).shrink(p);
        Program again = new Shrinker(null, Set.of(), f).shrink(p);
        assertThat(small).isEqualTo(again);
        assertThat(small.size()).as(small.listing()).isLessThanOrEqualTo(6);
        assertThat(small.config().possibleCpus()).containsExactly(0);
        assertThat(small.config().blockPages()).isEqualTo(256);
        assertThat(Execution.run(small, null, Set.of()).verdict().kind()).isEqualTo("aliases-no-stale");
    }

    @Test
    void keepsTheKindOfFailure() {
        // flush-dirty-again diverges at the second aliases; shrinking never turns it into something else
        Program p = new Program(KernelConfig.x86_64(Profile.LINUX_6_12, 2), List.of(new Op.Map(1, 5), new Op.Map(0, 3),
                new Op.Unmap(1, 1), new Op.Aliases(1), new Op.Map(0, 9), new Op.Aliases(0)));
        Failure f = Execution.run(p, Mutant.FLUSH_DIRTY_AGAIN, Set.of()).verdict();
        Shrinker s = new Shrinker(Mutant.FLUSH_DIRTY_AGAIN, Set.of(), f);
        Program small = s.shrink(p);
        assertThat(small.listing()).isEqualTo("1. cpu0 map(1)\n2. cpu0 unmap(#1)\n3. cpu0 vm_unmap_aliases()\n"
                + "4. cpu0 vm_unmap_aliases()\n");
        assertThat(small.config().onlineCpus()).containsExactly(0);
        assertThat(s.runs()).isPositive();
    }

    @Test
    void refusesAProgramThatDoesNotFail() {
        Program p = new Program(KernelConfig.x86_64(Profile.LINUX_6_12, 1), List.of(new Op.Map(0, 1)));
        assertThatThrownBy(() -> new Shrinker(null, Set.of(), new Failure("aliases-no-stale", Failure.Level.SPEC, 1, ""))
                .shrink(p)).isInstanceOf(IllegalArgumentException.class);
    }
}
