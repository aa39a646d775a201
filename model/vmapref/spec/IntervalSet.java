// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

import java.util.Map;
import org.pcollections.PSortedMap;
import org.pcollections.TreePMap;

/** An immutable set of disjoint, non-adjacent half-open page ranges [start, end). */
public final class IntervalSet {
    private static final IntervalSet EMPTY = new IntervalSet(TreePMap.empty());

    private final PSortedMap<Long, Long> ranges;

    private IntervalSet(PSortedMap<Long, Long> ranges) {
        this.ranges = ranges;
    }

    public static IntervalSet empty() {
        return EMPTY;
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    public Map<Long, Long> ranges() {
        return ranges;
    }

    /** The set with [start, end) added, merged with its neighbours. */
    public IntervalSet plus(long start, long end) {
        if (end <= start) {
            return this;
        }
        PSortedMap<Long, Long> r = ranges;
        Map.Entry<Long, Long> left = r.floorEntry(start);
        if (left != null && left.getValue() >= start) { // merged: its entry takes the new end below
            start = left.getKey();
            end = Math.max(end, left.getValue());
        }
        for (Map.Entry<Long, Long> e = r.higherEntry(start); e != null && e.getKey() <= end; e = r.higherEntry(start)) {
            end = Math.max(end, e.getValue());
            r = r.minus(e.getKey());
        }
        return new IntervalSet(r.plus(start, end));
    }

    /** The set with [start, end) removed. */
    public IntervalSet minus(long start, long end) {
        if (end <= start) {
            return this;
        }
        PSortedMap<Long, Long> r = ranges;
        Map.Entry<Long, Long> left = r.lowerEntry(start);
        if (left != null && left.getValue() > start) {
            r = r.plus(left.getKey(), start);
            if (left.getValue() > end) {
                r = r.plus(end, left.getValue());
            }
        }
        for (Map.Entry<Long, Long> e = r.ceilingEntry(start); e != null && e.getKey() < end; e = r.ceilingEntry(start)) {
            r = r.minus(e.getKey());
            if (e.getValue() > end) {
                r = r.plus(end, e.getValue());
                break;
            }
        }
        return r == ranges ? this : new IntervalSet(r);
    }

    /** The lowest range that overlaps [start, end), or null. */
    public Map.Entry<Long, Long> firstOverlap(long start, long end) {
        Map.Entry<Long, Long> left = ranges.lowerEntry(start);
        if (left != null && left.getValue() > start) {
            return left;
        }
        Map.Entry<Long, Long> right = ranges.ceilingEntry(start);
        return right != null && right.getKey() < end ? right : null;
    }

    /** Whether [start, end) lies inside one range of the set. */
    public boolean covers(long start, long end) {
        Map.Entry<Long, Long> e = ranges.floorEntry(start);
        return e != null && e.getValue() >= end;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IntervalSet other && ranges.equals(other.ranges);
    }

    @Override
    public int hashCode() {
        return ranges.hashCode();
    }

    @Override
    public String toString() {
        return ranges.toString();
    }
}
