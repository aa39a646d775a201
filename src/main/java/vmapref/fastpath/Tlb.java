// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * The page tables and TLBs of the vmalloc range, as the checks see them (the kernel's
 * vmap_pages_range(), vunmap_range_noflush() and flush_tlb_kernel_range()). Each page has a PTE
 * (mapped or not) and may be stale: its PTE was cleared but some CPU's TLB may still hold the old
 * translation, until a flush that covers it completes. The specification's rules, in concurrent
 * form, are checked here:
 * <ul>
 * <li>map-page-aligned, map-in-range, map-disjoint-live, map-not-stale: when vm_map_ram() hands out a range;
 * <li>aliases-no-stale: when vm_unmap_aliases() returns, no page unmapped by a vm_unmap_ram() that
 * returned before that vm_unmap_aliases() started is stale.
 * </ul>
 * Every method is one atomic step (the hardware, or the checker's bookkeeping).
 */
final class Tlb {
    private final FastConfig cfg;
    /** Mapped ranges: first page -> {end page}. */
    private final TreeMap<Long, long[]> mapped = new TreeMap<>();
    /** Stale ranges: first page -> {end page, ticket of the vm_unmap_ram() that cleared them}. */
    private final TreeMap<Long, long[]> stale = new TreeMap<>();
    /** returnedAt[ticket]: the clock when that vm_unmap_ram() returned, 0 while it runs. */
    private long[] returnedAt = new long[8];
    private int tickets;
    private long clock;

    Tlb(FastConfig cfg) {
        this.cfg = cfg;
    }

    /** vmap_pages_range(): a range vm_map_ram() is about to return gets its PTEs. */
    synchronized void map(long addr, long count) {
        long pageSize = 1L << cfg.pageShift;
        if ((addr & (pageSize - 1)) != 0) {
            throw new AssertionError("map-page-aligned: vm_map_ram() returned 0x" + Long.toHexString(addr));
        }
        long start = addr >>> cfg.pageShift;
        long end = start + count;
        if (start < cfg.windowStartPage() || end > cfg.windowEndPage()) {
            throw new AssertionError("map-in-range: vm_map_ram(" + count + ") returned 0x" + Long.toHexString(addr)
                    + ", outside VMALLOC_START..VMALLOC_END");
        }
        long[] live = overlap(mapped, start, end);
        if (live != null) {
            throw new AssertionError("map-disjoint-live: vm_map_ram(" + count + ") returned 0x" + Long.toHexString(addr)
                    + ", which overlaps the live mapping at 0x" + Long.toHexString(cfg.addr(live[2])));
        }
        long[] old = overlap(stale, start, end);
        if (old != null) {
            throw new AssertionError("map-not-stale: vm_map_ram(" + count + ") returned 0x" + Long.toHexString(addr)
                    + ", whose page 0x" + Long.toHexString(cfg.addr(Math.max(start, old[2])))
                    + " may still be in a TLB (unmapped, not flushed since)");
        }
        mapped.put(start, new long[] {end});
    }

    /** vunmap_range_noflush(): the PTEs go, the pages turn stale. Returns the unmap's ticket. */
    synchronized int unmap(long addr, long count) {
        long start = addr >>> cfg.pageShift;
        long[] m = mapped.get(start);
        if (m == null || m[0] != start + count) {
            throw new AssertionError("unmap-live-exact: vm_unmap_ram(0x" + Long.toHexString(addr) + ", " + count
                    + ") does not match a live mapping");
        }
        mapped.remove(start);
        if (tickets == returnedAt.length) {
            returnedAt = Arrays.copyOf(returnedAt, tickets * 2);
        }
        int ticket = tickets++;
        cut(start, start + count);
        stale.put(start, new long[] {start + count, ticket});
        return ticket;
    }

    /** vm_unmap_ram() returned. */
    synchronized void unmapReturned(int ticket) {
        returnedAt[ticket] = ++clock;
    }

    /** flush_tlb_kernel_range(start, end) completed: every page it covers is clean. */
    synchronized void flush(long startAddr, long endAddr) {
        long start = startAddr >>> cfg.pageShift;
        long end = (endAddr >>> cfg.pageShift) + ((endAddr & ((1L << cfg.pageShift) - 1)) != 0 ? 1 : 0);
        cut(start, end);
    }

    /** vm_unmap_aliases() starts: the clock it will be judged by. */
    synchronized long aliasesStart() {
        return clock;
    }

    /** vm_unmap_aliases() returns: nothing unmapped by a call that returned before {@code started} is stale. */
    synchronized void aliasesReturned(long started) {
        if (!cfg.checkAliasesNoStale) {
            return;
        }
        for (Map.Entry<Long, long[]> e : stale.entrySet()) {
            long at = returnedAt[(int) e.getValue()[1]];
            if (at != 0 && at <= started) {
                throw new AssertionError("aliases-no-stale: vm_unmap_aliases() returned, but page 0x"
                        + Long.toHexString(cfg.addr(e.getKey())) + ", unmapped by a vm_unmap_ram() that returned before "
                        + "it started, may still be in a TLB");
            }
        }
    }

    /** Whether any page is stale (for the checks at the end of a run). */
    synchronized boolean anyStale() {
        return !stale.isEmpty();
    }

    /** The first entry of {@code ranges} overlapping [start, end) as {start, end, overlapStart}, or null. */
    private static long[] overlap(TreeMap<Long, long[]> ranges, long start, long end) {
        Map.Entry<Long, long[]> e = ranges.floorEntry(start);
        if (e != null && e.getValue()[0] > start) {
            return new long[] {e.getKey(), e.getValue()[0], start};
        }
        Map.Entry<Long, long[]> h = ranges.ceilingEntry(start);
        if (h != null && h.getKey() < end) {
            return new long[] {h.getKey(), h.getValue()[0], h.getKey()};
        }
        return null;
    }

    /** Removes [start, end) from the stale ranges, splitting those it cuts. */
    private void cut(long start, long end) {
        Map.Entry<Long, long[]> e = stale.floorEntry(start);
        if (e == null || e.getValue()[0] <= start) {
            e = stale.ceilingEntry(start);
        }
        while (e != null && e.getKey() < end) {
            long s = e.getKey();
            long[] v = e.getValue();
            stale.remove(s);
            if (s < start) {
                stale.put(s, new long[] {start, v[1]});
            }
            if (v[0] > end) {
                stale.put(end, new long[] {v[0], v[1]});
            }
            e = stale.ceilingEntry(s + 1);
        }
    }
}
