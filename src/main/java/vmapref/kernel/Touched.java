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
    private long[] liveUnknown = new long[0];
    private int nLiveUnknown;
    private boolean offsetOutside;

    Touched() {
    }

    void area(long start) {
        if (nAreas == areas.length) {
            areas = Arrays.copyOf(areas, nAreas * 2);
        }
        areas[nAreas++] = start;
    }

    void liveStart(long page) {
        if (nLiveStarts == liveStarts.length) {
            liveStarts = Arrays.copyOf(liveStarts, nLiveStarts * 2);
        }
        liveStarts[nLiveStarts++] = page;
    }

    /** A block whose live entries changed without saying which: the check compares its whole map. */
    void liveUnknown(long base) {
        if (nLiveUnknown == liveUnknown.length) {
            liveUnknown = Arrays.copyOf(liveUnknown, Math.max(4, nLiveUnknown * 2));
        }
        liveUnknown[nLiveUnknown++] = base;
    }

    /** A live entry recorded at an offset outside its block. */
    void markOffsetOutside() {
        offsetOutside = true;
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

    public int liveUnknownCount() {
        return nLiveUnknown;
    }

    /** The i-th base of a block whose live entries changed in a way not recorded entry by entry. */
    public long liveUnknown(int i) {
        return liveUnknown[i];
    }

    /** Whether a recorded live entry lies outside its block (then only the full check reads it right). */
    public boolean offsetOutside() {
        return offsetOutside;
    }
}
