// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.function.Function;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Every rule of the abstract specification: a step that breaks it (the violation names the rule and
 * the state stays as it was) and the nearest step that does not. x86_64 constants: 256-page blocks,
 * VMAP_MAX_ALLOC 64, VMALLOC_END inclusive.
 */
class SpecRulesTest {
    static final long START = 0xffffc90000000000L;
    static final long END = 0xffffe8ffffffffffL;
    static final int BLOCK = 256;
    static final SpecConfig OBSERVED = new SpecConfig(12, START, END, BLOCK, 64, true, true);
    static final SpecConfig UNOBSERVED = new SpecConfig(12, START, END, BLOCK, 64, true, false);

    static long pages(long n) {
        return n << 12;
    }

    /** Block region k counted from VMALLOC_START. */
    static long block(int k) {
        return START + pages((long) k * BLOCK);
    }

    Spec spec = Spec.initial(OBSERVED);

    /** Applies a step that must be allowed. */
    Spec ok(Function<Spec, Spec.Result> op) {
        Spec.Result r = op.apply(spec);
        assertThat(r.violation()).as("no violation").isNull();
        assertThat(r.ok()).isTrue();
        spec = r.next();
        return spec;
    }

    /** Applies a step that must break {@code rule}; the state is left as it was. */
    Violation breaks(Rule rule, Function<Spec, Spec.Result> op) {
        Spec.Result r = op.apply(spec);
        assertThat(r.violation()).as("a violation of " + rule.id()).isNotNull();
        assertThat(r.violation().rule()).isEqualTo(rule);
        assertThat(r.violation().toString()).startsWith(rule.id() + ": ");
        assertThat(r.ok()).isFalse();
        assertThat(r.next()).isSameAs(spec);
        return r.violation();
    }

    Spec map(long addr, long count) {
        return ok(s -> s.map(addr, count));
    }

    Spec unmap(long addr, long count) {
        return ok(s -> s.unmap(addr, count));
    }

    Spec flush(long start, long end) {
        return ok(s -> s.flush(start, end));
    }

    @Nested
    class MapCountZeroNull {
        // 6.12 vm_map_ram(): vb_alloc() returns ERR_PTR(-EINVAL) for size 0, so NULL
        @Test
        void anAddressForCountZeroBreaksIt() {
            Violation v = breaks(Rule.MAP_COUNT_ZERO_NULL, s -> s.map(START, 0));
            assertThat(v.message()).contains("count=0");
        }

        @Test
        void nullForCountZeroIsFine() {
            ok(s -> s.mapNull(0));
            assertThat(spec.livePages()).isEmpty();
        }

        @Test
        void nullIsAlwaysAllowed() {
            ok(s -> s.mapNull(1));
            ok(s -> s.mapNull(65));
        }
    }

    @Nested
    class MapPageAligned {
        @Test
        void aMisalignedAddressBreaksIt() {
            breaks(Rule.MAP_PAGE_ALIGNED, s -> s.map(START + 0x800, 1));
            breaks(Rule.MAP_PAGE_ALIGNED, s -> s.map(START + 1, 100));
        }

        @Test
        void aPageAlignedAddressIsFine() {
            map(START + pages(1), 1);
        }
    }

    @Nested
    class MapInRange {
        @Test
        void belowVmallocStartBreaksIt() {
            breaks(Rule.MAP_IN_RANGE, s -> s.map(START - pages(1), 1));
            breaks(Rule.MAP_IN_RANGE, s -> s.map(START - pages(1), 2));
        }

        @Test
        void startingAtVmallocStartIsFine() {
            map(START, 1);
        }

        // VMALLOC_END is the last byte: [a, a + count * PAGE) may end at VMALLOC_END + 1
        @Test
        void endingExactlyAtVmallocEndPlusOneIsFine() {
            map(END + 1 - pages(2), 2);
            spec = Spec.initial(OBSERVED);
            map(END + 1 - pages(100), 100);
        }

        @Test
        void endingOnePageFurtherBreaksIt() {
            breaks(Rule.MAP_IN_RANGE, s -> s.map(END + 1 - pages(1), 2));
            breaks(Rule.MAP_IN_RANGE, s -> s.map(END + 1, 1));
        }

        // START + 2^52 bytes would wrap past 2^64 to below VMALLOC_END; no unsigned int count gets
        // there, so such a count is refused first (map-count-fits); an address near 2^64 still wraps
        @Test
        void aRangeWrappingPast2To64BreaksIt() {
            long count = 1L << 40;
            assertThat(Long.compareUnsigned(START + pages(count) - 1, END)).isNegative();
            Violation v = breaks(Rule.MAP_COUNT_FITS, s -> s.map(START, count));
            assertThat(v.message()).contains("at most 4294967295 pages");
            Violation w = breaks(Rule.MAP_IN_RANGE, s -> s.map(0xfffffffffffff000L, 2));
            assertThat(w.message()).contains("leaves the vmalloc range");
        }
    }

    @Nested
    class MapDisjointLive {
        @Test
        void overlappingALiveMappingBreaksIt() {
            map(START, 4);
            Violation v = breaks(Rule.MAP_DISJOINT_LIVE, s -> s.map(START + pages(2), 1));
            assertThat(v.message()).contains("0xffffc90000000000");
            breaks(Rule.MAP_DISJOINT_LIVE, s -> s.map(START, 1));
        }

        @Test
        void aLargeMappingOverlappingALiveOneBreaksIt() {
            map(block(1), 100);
            breaks(Rule.MAP_DISJOINT_LIVE, s -> s.map(block(1) - pages(10), 65));
            breaks(Rule.MAP_DISJOINT_LIVE, s -> s.map(block(1) + pages(99), 65));
        }

        @Test
        void rightAfterALiveMappingIsFine() {
            map(START, 4);
            map(START + pages(4), 1);
            map(block(1), 100);
            map(block(1) + pages(100), 65);
        }
    }

    @Nested
    class MapNotStale {
        @Test
        void reusingAnUnflushedRangeBreaksIt() {
            map(block(1), 100);
            unmap(block(1), 100);
            Violation v = breaks(Rule.MAP_NOT_STALE, s -> s.map(block(1) + pages(50), 100));
            assertThat(v.message()).contains("unmapped and not flushed");
        }

        @Test
        void aSmallMapOnAnUnflushedPageBreaksItFirst() {
            map(START, 1);
            unmap(START, 1);
            breaks(Rule.MAP_NOT_STALE, s -> s.map(START, 1));
        }

        @Test
        void afterAFlushCoveringTheRangeMappingThereIsFine() {
            map(block(1), 100);
            unmap(block(1), 100);
            flush(block(1), block(1) + pages(100));
            assertThat(spec.stalePages().isEmpty()).isTrue();
            map(block(1), 100);
        }

        @Test
        void aFlushMissingOnePageLeavesThatPageStale() {
            map(block(1), 100);
            unmap(block(1), 100);
            flush(block(1), block(1) + pages(99));
            breaks(Rule.MAP_NOT_STALE, s -> s.map(block(1), 100));
            map(block(1), 99);
        }

        @Test
        void aFlushEndingInsideAPageLeavesThatPageStale() {
            map(block(1), 100);
            unmap(block(1), 100);
            flush(block(1) + 1, block(1) + pages(100) - 1);
            assertThat(spec.stalePages().ranges()).hasSize(2);
            breaks(Rule.MAP_NOT_STALE, s -> s.map(block(1), 65));
        }

        @Test
        void aFullFlushClearsEverything() {
            map(block(1), 100);
            map(block(3), 100);
            unmap(block(1), 100);
            unmap(block(3), 100);
            flush(0, -1L); // flush_tlb_all
            assertThat(spec.stalePages().isEmpty()).isTrue();
            map(block(1), 600);
        }
    }

    @Nested
    class MapWithinBlock {
        @Test
        void aSmallMappingCrossingABlockBoundaryBreaksIt() {
            Violation v = breaks(Rule.MAP_WITHIN_BLOCK, s -> s.map(block(1) - pages(1), 2));
            assertThat(v.message()).contains(Long.toHexString(block(1)));
            breaks(Rule.MAP_WITHIN_BLOCK, s -> s.map(block(1) - pages(32), 64));
        }

        @Test
        void aSmallMappingEndingAtTheBoundaryIsFine() {
            map(block(1) - pages(2), 2);
            map(block(1), 64);
        }

        @Test
        void aLargeMappingMayCrossBlockBoundaries() {
            map(block(1) - pages(1), 65);
        }
    }

    @Nested
    class MapBlockPagesFresh {
        @Test
        void aSmallMappingReusingAPageOfALiveBlockBreaksIt() {
            map(START, 1);
            map(START + pages(1), 1);
            unmap(START, 1);
            flush(START, START + pages(1)); // flushed, but the block lives on
            Violation v = breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(START, 1));
            assertThat(v.message()).contains("a second time");
        }

        @Test
        void aWholeBlockFlushDoesNotRetireABlockWithALiveMapping() {
            map(START, 1);
            map(START + pages(1), 1);
            unmap(START, 1);
            flush(block(0), block(1));
            breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(START, 1));
        }

        @Test
        void aPartlyFlushedEmptyBlockIsStillAlive() {
            map(START, 1);
            unmap(START, 1);
            flush(START, START + pages(1));
            breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(START, 1));
            map(START + pages(1), 1);
        }

        @Test
        void afterTheBlockRegionIsFullyFlushedWithNothingLiveItsPagesMayBeHandedOutAgain() {
            map(START, 1);
            map(START + pages(1), 2);
            unmap(START, 1);
            unmap(START + pages(1), 2);
            flush(block(0), block(1));
            map(START, 1);
        }

        @Test
        void aLargeMappingOverALiveBlockRegionBreaksIt() {
            map(START, 1);
            Violation v = breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(START + pages(10), 100));
            assertThat(v.message()).contains("live vmap block");
            map(block(1), 100);
            map(block(2) + pages(5), 1);
            breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(block(1) + pages(150), 110)); // 4 pages into block 2
        }

        @Test
        void aLargeMappingOverADeadBlockRegionIsFine() {
            map(START, 1);
            unmap(START, 1);
            flush(block(0), block(1));
            map(START + pages(10), 100);
        }
    }

    @Nested
    class UnmapLiveExact {
        @Test
        void anUnknownAddressBreaksIt() {
            map(START, 2);
            Violation v = breaks(Rule.UNMAP_LIVE_EXACT, s -> s.unmap(START + pages(1), 1));
            assertThat(v.message()).contains("no live mapping starts there");
            breaks(Rule.UNMAP_LIVE_EXACT, s -> s.unmap(START + 1, 2));
            breaks(Rule.UNMAP_LIVE_EXACT, s -> s.unmap(block(5), 100));
        }

        @Test
        void theWrongCountBreaksIt() {
            map(START, 2);
            Violation v = breaks(Rule.UNMAP_LIVE_EXACT, s -> s.unmap(START, 1));
            assertThat(v.message()).contains("mapped with count 2");
            breaks(Rule.UNMAP_LIVE_EXACT, s -> s.unmap(START, 3));
        }

        @Test
        void aDoubleUnmapBreaksIt() {
            map(START, 2);
            unmap(START, 2);
            breaks(Rule.UNMAP_LIVE_EXACT, s -> s.unmap(START, 2));
        }

        @Test
        void theExactAddressAndCountAreFine() {
            map(START, 2);
            map(block(1), 100);
            unmap(block(1), 100);
            unmap(START, 2);
            assertThat(spec.livePages()).isEmpty();
            assertThat(spec.liveMappings()).isEmpty();
        }
    }

    @Nested
    class AliasesNoStale {
        @Test
        void returningWithAnUnflushedUnmapBreaksIt() {
            map(START, 1);
            map(block(1), 100);
            unmap(START, 1);
            unmap(block(1), 100);
            flush(block(1), block(1) + pages(100));
            Violation v = breaks(Rule.ALIASES_NO_STALE, Spec::aliases);
            assertThat(v.message()).contains("1 unmapped page(s)").contains("0xffffc90000000000");
        }

        @Test
        void afterAFlushCoveringEveryUnmapItIsFine() {
            map(START, 1);
            unmap(START, 1);
            flush(START, START + pages(1));
            ok(Spec::aliases);
        }

        @Test
        void withNothingUnmappedItIsFine() {
            map(START, 1);
            ok(Spec::aliases);
        }
    }

    @Nested
    class NoCrashInContract {
        @Test
        void aCrashInContractBreaksIt() {
            Violation v = breaks(Rule.NO_CRASH_IN_CONTRACT, s -> s.crash("vm_unmap_aliases() on CPU 0", true, "oops"));
            assertThat(v.message()).contains("vm_unmap_aliases() on CPU 0").contains("oops");
        }

        @Test
        void aCrashOutsideTheContractIsFine() {
            ok(s -> s.crash("vm_unmap_ram(0x0, 1)", false, "kernel BUG"));
        }

        // before the 2024 vb_alloc() fix vm_map_ram(count=0) is a caller error; since then it returns NULL
        @Test
        void countZeroIsInTheContractOnlyWhereItReturnsNull() {
            assertThat(Spec.initial(OBSERVED).mapInContract(0)).isTrue();
            SpecConfig old = new SpecConfig(12, START, END, BLOCK, 64, false, true);
            assertThat(Spec.initial(old).mapInContract(0)).isFalse();
            assertThat(Spec.initial(old).mapInContract(1)).isTrue();
        }
    }

    @Nested
    class FlushesNotObserved {
        @Test
        void nothingIsEverStale() {
            spec = Spec.initial(UNOBSERVED);
            map(block(1), 100);
            unmap(block(1), 100);
            assertThat(spec.stalePages().isEmpty()).isTrue();
            map(block(1), 100);
            ok(Spec::aliases);
        }

        @Test
        void anEmptiedBlockMayBeReusedAtOnce() {
            spec = Spec.initial(UNOBSERVED);
            map(START, 1);
            unmap(START, 1);
            ok(Spec::aliases);
            map(START, 1);
        }

        @Test
        void aLiveBlockStillNeverHandsOutAPageTwice() {
            spec = Spec.initial(UNOBSERVED);
            map(START, 1);
            map(START + pages(1), 1);
            unmap(START, 1);
            breaks(Rule.MAP_BLOCK_PAGES_FRESH, s -> s.map(START, 1));
        }
    }

    @Test
    void everyRuleHasAnIdAndAStatement() {
        for (Rule r : Rule.values()) {
            assertThat(r.id()).matches("[a-z]+(-[a-z]+)+");
            assertThat(r.toString()).isEqualTo(r.id());
            assertThat(r.statement()).isNotBlank();
        }
    }
}
