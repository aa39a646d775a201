// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.Arrays;

/**
 * What one call changed in {@link KernelState}'s areas and blocks: the area starts it put or removed, and the
 * start pages of the blocks' live sub-allocations it added or removed. Keys may repeat. The incremental
 * abstraction check reads only these ({@code vmapref.check.Refinement#abstractionStep}).
 */
public final class Touched {
    /** Nothing changed (a rejected or crashed call). */
    public static final Touched NONE = new Touched();

    private long[] areas = new long[4];
    private int nAreas;
    private long[] liveStarts = new long[4];
    private int nLiveStarts;

    Touched() {
    }

    void area(long start) {
        areas = append(areas, nAreas++, start);
    }

    void liveStart(long page) {
        liveStarts = append(liveStarts, nLiveStarts++, page);
    }

    /** {@code a} with {@code v} at index {@code n}, grown when full. */
    private static long[] append(long[] a, int n, long v) {
        long[] b = n == a.length ? Arrays.copyOf(a, n * 2) : a;
        b[n] = v;
        return b;
    }

    public int areaCount() {
        return nAreas;
    }

    /** The i-th area start put or removed. */
    public long area(int i) {
        return areas[i];
    }

    public int liveStartCount() {
        return nLiveStarts;
    }

    /** The i-th start page of a block sub-allocation added or removed (or of a block created or freed). */
    public long liveStart(int i) {
        return liveStarts[i];
    }
}
