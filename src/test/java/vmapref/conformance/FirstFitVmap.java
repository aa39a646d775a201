// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import java.util.TreeMap;
import vmapref.kernel.KernelConfig;

/**
 * A WRONG example implementation the kit must fail: a first-fit page allocator over the vmalloc
 * window that gives an unmapped range back at once and never flushes the TLB, so a later map can
 * return an address some CPU's TLB may still translate to the old pages (a stale alias).
 */
final class FirstFitVmap implements VmapImplementation {
    private final KernelConfig cfg;
    /** Mapped ranges: first page -> pages. */
    private final TreeMap<Long, Long> used = new TreeMap<>();

    FirstFitVmap(KernelConfig config, FlushListener flushes) {
        this.cfg = config;
    }

    @Override
    public long map(int cpu, long count) {
        if (count == 0) {
            return 0;
        }
        long page = cfg.windowStartPage();
        for (var e : used.entrySet()) {
            if (e.getKey() - page >= count) {
                break;
            }
            page = Math.max(page, e.getKey() + e.getValue());
        }
        if (page + count > cfg.windowEndPage()) {
            return 0;
        }
        used.put(page, count);
        return page << cfg.pageShift();
    }

    @Override
    public void unmap(int cpu, long addr, long count) {
        used.remove(addr >>> cfg.pageShift()); // bug: reusable at once, no flush
    }

    @Override
    public void aliases(int cpu) {
        // bug: nothing to flush, it thinks
    }
}
