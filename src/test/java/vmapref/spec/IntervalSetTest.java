// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** IntervalSet: disjoint, non-adjacent half-open ranges [start, end). */
class IntervalSetTest {

    static IntervalSet of(long... bounds) {
        IntervalSet s = IntervalSet.empty();
        for (int i = 0; i < bounds.length; i += 2) {
            s = s.plus(bounds[i], bounds[i + 1]);
        }
        return s;
    }

    static Map<Long, Long> ranges(long... bounds) {
        Map<Long, Long> m = new java.util.TreeMap<>();
        for (int i = 0; i < bounds.length; i += 2) {
            m.put(bounds[i], bounds[i + 1]);
        }
        return m;
    }

    @Test
    void plusMergesAdjacentRanges() {
        assertThat(of(0, 5, 5, 10).ranges()).isEqualTo(ranges(0, 10));
        assertThat(of(5, 10, 0, 5).ranges()).isEqualTo(ranges(0, 10));
        assertThat(of(0, 5, 10, 15, 5, 10).ranges()).as("fills the gap between two").isEqualTo(ranges(0, 15));
    }

    @Test
    void plusKeepsSeparateRangesApart() {
        assertThat(of(0, 5, 6, 10).ranges()).isEqualTo(ranges(0, 5, 6, 10));
    }

    @Test
    void plusSwallowsEveryRangeItOverlaps() {
        assertThat(of(2, 3, 5, 6, 8, 9, 20, 30).plus(1, 10).ranges()).isEqualTo(ranges(1, 10, 20, 30));
        assertThat(of(0, 10).plus(3, 5)).as("already covered").isEqualTo(of(0, 10));
        assertThat(of(0, 10).plus(5, 15).ranges()).isEqualTo(ranges(0, 15));
    }

    @Test
    void plusOfAnEmptyRangeIsANoOp() {
        IntervalSet s = of(0, 10);
        assertThat(s.plus(4, 4)).isSameAs(s);
        assertThat(s.plus(20, 10)).isSameAs(s);
    }

    @Test
    void minusSplitsARangeInTheMiddle() {
        assertThat(of(0, 10).minus(3, 5).ranges()).isEqualTo(ranges(0, 3, 5, 10));
    }

    @Test
    void minusTrimsEitherEnd() {
        assertThat(of(0, 10).minus(0, 3).ranges()).isEqualTo(ranges(3, 10));
        assertThat(of(0, 10).minus(7, 10).ranges()).isEqualTo(ranges(0, 7));
        assertThat(of(0, 10).minus(7, 12).ranges()).isEqualTo(ranges(0, 7));
        assertThat(of(5, 10).minus(0, 7).ranges()).isEqualTo(ranges(7, 10));
    }

    @Test
    void minusSpanningSeveralRanges() {
        assertThat(of(0, 2, 4, 6, 8, 10).minus(1, 9).ranges()).isEqualTo(ranges(0, 1, 9, 10));
        assertThat(of(0, 2, 4, 6, 8, 10).minus(0, 10).isEmpty()).isTrue();
        assertThat(of(0, 2, 4, 6, 8, 10).minus(2, 8).ranges()).as("touching ends stay").isEqualTo(ranges(0, 2, 8, 10));
    }

    @Test
    void minusOfNothingInsideReturnsTheSameSet() {
        IntervalSet s = of(0, 5, 10, 15);
        assertThat(s.minus(5, 10)).isSameAs(s);
        assertThat(s.minus(20, 30)).isSameAs(s);
        assertThat(s.minus(3, 3)).isSameAs(s);
        assertThat(IntervalSet.empty().minus(0, 100)).isSameAs(IntervalSet.empty());
    }

    @Test
    void coversOnlyWhatOneRangeHolds() {
        IntervalSet s = of(0, 10, 11, 20);
        assertThat(s.covers(0, 10)).isTrue();
        assertThat(s.covers(3, 7)).isTrue();
        assertThat(s.covers(11, 20)).isTrue();
        assertThat(s.covers(5, 11)).isFalse();
        assertThat(s.covers(5, 15)).as("across a gap").isFalse();
        assertThat(s.covers(10, 11)).isFalse();
        assertThat(IntervalSet.empty().covers(0, 1)).isFalse();
    }

    @Test
    void firstOverlapFindsTheLowestOverlappingRange() {
        IntervalSet s = of(0, 5, 10, 15, 20, 25);
        assertThat(s.firstOverlap(3, 30)).isEqualTo(entry(0L, 5L));
        assertThat(s.firstOverlap(5, 30)).as("a range ending at start does not overlap").isEqualTo(entry(10L, 15L));
        assertThat(s.firstOverlap(12, 13)).as("inside a range").isEqualTo(entry(10L, 15L));
        assertThat(s.firstOverlap(5, 10)).as("exactly a gap").isNull();
        assertThat(s.firstOverlap(15, 21)).isEqualTo(entry(20L, 25L));
        assertThat(s.firstOverlap(25, 100)).isNull();
        assertThat(IntervalSet.empty().firstOverlap(0, 100)).isNull();
    }

    @Test
    void equalSetsAreEqualHoweverBuilt() {
        assertThat(of(0, 3, 3, 6)).isEqualTo(of(0, 6)).hasSameHashCodeAs(of(0, 6));
        assertThat(of(0, 10).minus(3, 5)).isEqualTo(of(0, 3, 5, 10));
        assertThat(of(0, 6)).isNotEqualTo(of(0, 7));
    }

    @Test
    void worksWithLargePageNumbers() {
        long base = 0xffffc90000000L;
        assertThat(of(base, base + 256).minus(base + 1, base + 2).ranges())
                .isEqualTo(ranges(base, base + 1, base + 2, base + 256));
    }
}
