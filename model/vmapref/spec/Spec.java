// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.pcollections.PSortedMap;
import org.pcollections.PSortedSet;
import org.pcollections.TreePMap;
import org.pcollections.TreePSet;

/**
 * The abstract specification of vm_map_ram() / vm_unmap_ram() / vm_unmap_aliases(): which results
 * are allowed, whatever the allocator's internals. Immutable; every operation returns the next
 * specification state and, if the step is forbidden, the first rule it breaks.
 *
 * <p>State: the live mappings, the stale ranges (unmapped, not yet covered by a TLB flush) and,
 * per vmap block region, the pages handed out since the block was born. Addresses are unsigned
 * 64-bit byte addresses; inside, everything is in absolute page numbers.
 */
public final class Spec {

    /** The next state, and the violation if the step broke a rule (null if it did not). */
    public record Result(Spec next, Violation violation) {
        public boolean ok() {
            return violation == null;
        }
    }

    private final SpecConfig cfg;
    /** Live mappings: start page -> pages. */
    private final PSortedMap<Long, Long> live;
    /** Pages unmapped and not yet flushed. */
    private final IntervalSet stale;
    /** Per block number: the pages of that block handed out since it was born. */
    private final PSortedMap<Long, IntervalSet> blockUse;
    /**
     * Blocks of {@code blockUse} an unmap may have left with no live mapping: the only ones a flush
     * can retire, so it need not look at every block (some here may hold live mappings again).
     */
    private final PSortedSet<Long> idle;

    private Spec(SpecConfig cfg, PSortedMap<Long, Long> live, IntervalSet stale, PSortedMap<Long, IntervalSet> blockUse,
                 PSortedSet<Long> idle) {
        this.cfg = cfg;
        this.live = live;
        this.stale = stale;
        this.blockUse = blockUse;
        this.idle = idle;
    }

    public static Spec initial(SpecConfig cfg) {
        return new Spec(cfg, TreePMap.empty(), IntervalSet.empty(), TreePMap.empty(), TreePSet.empty());
    }

    public SpecConfig config() {
        return cfg;
    }

    /** Live mappings: start address -> page count. */
    public Map<Long, Long> liveMappings() {
        PSortedMap<Long, Long> out = TreePMap.empty();
        for (Map.Entry<Long, Long> e : live.entrySet()) {
            out = out.plus(e.getKey() << cfg.pageShift(), e.getValue());
        }
        return out;
    }

    /** Live mappings keyed by start page. */
    public PSortedMap<Long, Long> livePages() {
        return live;
    }

    /** Stale page ranges. */
    public IntervalSet stalePages() {
        return stale;
    }

    // ------------------------------------------------------------------ map

    /** vm_map_ram(count) returned NULL. Always allowed: running out of room is not a safety fault. */
    public Result mapNull(long count) {
        return new Result(this, null);
    }

    /** vm_map_ram(count) returned addr. */
    public Result map(long addr, long count) {
        if (count > cfg.maxCount()) {
            return fail(Rule.MAP_COUNT_FITS, "vm_map_ram(count=" + count + ") asks for more than a "
                    + cfg.bitsPerLong() + "-bit size can hold (at most " + cfg.maxCount() + " pages)");
        }
        if (count == 0) {
            return fail(Rule.MAP_COUNT_ZERO_NULL, "vm_map_ram(count=0) returned " + hex(addr) + " instead of NULL");
        }
        if ((addr & (cfg.pageSize() - 1)) != 0) {
            return fail(Rule.MAP_PAGE_ALIGNED, "vm_map_ram(count=" + count + ") returned " + hex(addr)
                    + ", which is not page aligned");
        }
        long bytes = count << cfg.pageShift();
        long last = addr + bytes - 1;
        if (Long.compareUnsigned(addr, cfg.vmallocStart()) < 0 || Long.compareUnsigned(last, addr) < 0
                || Long.compareUnsigned(last, cfg.vmallocEnd()) > 0) {
            return fail(Rule.MAP_IN_RANGE, "[" + hex(addr) + ", +" + count + " pages) leaves the vmalloc range "
                    + hex(cfg.vmallocStart()) + ".." + hex(cfg.vmallocEnd()));
        }
        long start = addr >>> cfg.pageShift();
        long end = start + count;
        Map.Entry<Long, Long> overlap = live.lowerEntry(end);
        if (overlap != null && overlap.getKey() + overlap.getValue() > start) {
            return fail(Rule.MAP_DISJOINT_LIVE, "[" + hex(addr) + ", +" + count + " pages) overlaps the live mapping ["
                    + hex(page(overlap.getKey())) + ", +" + overlap.getValue() + " pages)");
        }
        Map.Entry<Long, Long> s = stale.firstOverlap(start, end);
        if (s != null) {
            return fail(Rule.MAP_NOT_STALE, "[" + hex(addr) + ", +" + count + " pages) reuses ["
                    + hex(page(Math.max(start, s.getKey()))) + ", " + hex(page(Math.min(end, s.getValue())))
                    + "), unmapped and not flushed since");
        }
        PSortedMap<Long, IntervalSet> use = blockUse;
        if (count <= cfg.maxAllocPages()) {
            long block = start / cfg.blockPages();
            if ((end - 1) / cfg.blockPages() != block) {
                return fail(Rule.MAP_WITHIN_BLOCK, "[" + hex(addr) + ", +" + count + " pages) crosses the vmap block boundary at "
                        + hex(page((block + 1) * cfg.blockPages())));
            }
            IntervalSet used = blockUse.getOrDefault(block, IntervalSet.empty());
            Map.Entry<Long, Long> again = used.firstOverlap(start, end);
            if (again != null) {
                return fail(Rule.MAP_BLOCK_PAGES_FRESH, "[" + hex(addr) + ", +" + count + " pages) hands out page "
                        + hex(page(Math.max(start, again.getKey()))) + " of the live vmap block at "
                        + hex(page(block * cfg.blockPages())) + " a second time");
            }
            use = use.plus(block, used.plus(start, end));
        } else {
            long firstBlock = start / cfg.blockPages();
            long lastBlock = (end - 1) / cfg.blockPages();
            Long b = blockUse.ceilingKey(firstBlock); // the lowest live block in the range
            if (b != null && b <= lastBlock) {
                return fail(Rule.MAP_BLOCK_PAGES_FRESH, "[" + hex(addr) + ", +" + count
                        + " pages) overlaps the live vmap block at " + hex(page(b * cfg.blockPages())));
            }
        }
        return new Result(new Spec(cfg, live.plus(start, count), stale, use, idle), null);
    }

    // ------------------------------------------------------------------ unmap

    /** vm_unmap_ram(addr, count): precondition, a live mapping with exactly that start and count. */
    public Result unmap(long addr, long count) {
        long start = addr >>> cfg.pageShift();
        Long pages = (addr & (cfg.pageSize() - 1)) == 0 ? live.get(start) : null;
        if (pages == null || pages != count) {
            return fail(Rule.UNMAP_LIVE_EXACT, "vm_unmap_ram(" + hex(addr) + ", " + count + "): "
                    + (pages == null ? "no live mapping starts there" : "it was mapped with count " + pages));
        }
        PSortedMap<Long, Long> nextLive = live.minus(start);
        IntervalSet nextStale = cfg.flushesObserved() ? stale.plus(start, start + count) : stale;
        PSortedSet<Long> nextIdle = idle;
        for (Long b : blocksIn(start, start + count)) {
            if (!nextIdle.contains(b)) {
                nextIdle = nextIdle.plus(b);
            }
        }
        Spec next = new Spec(cfg, nextLive, nextStale, blockUse, nextIdle);
        if (!cfg.flushesObserved()) {
            next = next.retireEmptyBlocks(start, start + count);
        }
        return new Result(next, null);
    }

    // ------------------------------------------------------------------ flush

    /** A TLB flush of [start, end) completed: those pages are no longer stale. */
    public Result flush(long startAddr, long endAddr) {
        // a partly covered page stays stale: only whole pages count. Pages outside VMALLOC_START..VMALLOC_END
        // are never live, stale or in a block, so the range needs no clamping; an empty or reversed one
        // changes nothing (lo >= hi)
        long lo = (startAddr >>> cfg.pageShift()) + ((startAddr & (cfg.pageSize() - 1)) != 0 ? 1 : 0);
        long hi = endAddr >>> cfg.pageShift();
        Spec next = new Spec(cfg, live, stale.minus(lo, hi), blockUse, idle);
        return new Result(next.retireEmptyBlocks(lo, hi), null);
    }

    /**
     * A block region whose pages are all flushed and hold no live mapping may have died: the
     * kernel frees a block's area only through the lazy path, whose flush covers the whole block.
     * From then on its pages may be handed out again.
     */
    private Spec retireEmptyBlocks(long lo, long hi) {
        if (idle.isEmpty() || hi <= lo) {
            return this;
        }
        long firstBlock = lo / cfg.blockPages();
        long lastBlock = (hi - 1) / cfg.blockPages();
        // a block outside [firstBlock, lastBlock] is not covered; when flushes are not observed every idle
        // block is one the current unmap touched (each unmap retires or un-idles the ones before)
        Collection<Long> candidates = idle.subSet(firstBlock, true, lastBlock, true);
        PSortedMap<Long, IntervalSet> use = blockUse;
        PSortedSet<Long> stillIdle = idle;
        for (Long block : new ArrayList<>(candidates)) {
            long bs = block * cfg.blockPages();
            long be = bs + cfg.blockPages();
            Map.Entry<Long, Long> l = live.lowerEntry(be);
            if (l != null && l.getKey() + l.getValue() > bs) {
                stillIdle = stillIdle.minus(block); // live again; its next unmap puts it back
                continue;
            }
            boolean covered = !cfg.flushesObserved() || (lo <= bs && be <= hi);
            if (covered && stale.firstOverlap(bs, be) == null) {
                use = use.minus(block);
                stillIdle = stillIdle.minus(block);
            }
        }
        return new Spec(cfg, live, stale, use, stillIdle);
    }

    /** The blocks of {@code blockUse} that [start, end) touches. */
    private List<Long> blocksIn(long start, long end) {
        long firstBlock = start / cfg.blockPages();
        long lastBlock = (end - 1) / cfg.blockPages();
        return new ArrayList<>(blockUse.subMap(firstBlock, true, lastBlock, true).keySet());
    }

    // ------------------------------------------------------------------ aliases

    /** vm_unmap_aliases() returned: postcondition, nothing unmapped before it is still stale. */
    public Result aliases() {
        return aliases(IntervalSet.empty());
    }

    /**
     * vm_unmap_aliases() while other tasks run: the pages of {@code meanwhile} (page numbers) were
     * unmapped by other tasks after the call may have begun, so they may still be stale when it returns
     * (mm/vmalloc.c: _vm_unmap_aliases() walks the blocks and takes the lazy list once, under
     * vmap_purge_lock); every other page unmapped before it must not be.
     */
    public Result aliases(IntervalSet meanwhile) {
        IntervalSet required = stale;
        for (Map.Entry<Long, Long> m : meanwhile.ranges().entrySet()) {
            required = required.minus(m.getKey(), m.getValue());
        }
        if (!required.isEmpty()) {
            Map.Entry<Long, Long> first = required.ranges().entrySet().iterator().next();
            long pages = 0;
            for (Map.Entry<Long, Long> e : required.ranges().entrySet()) {
                pages += e.getValue() - e.getKey();
            }
            return fail(Rule.ALIASES_NO_STALE, "vm_unmap_aliases() returned while " + pages + " unmapped page(s) were "
                    + "never flushed, the first [" + hex(page(first.getKey())) + ", " + hex(page(first.getValue())) + ")");
        }
        return new Result(this, null);
    }

    /**
     * A read of {@code addr} right after vm_unmap_aliases() returned ({@code capture --probe-stale}):
     * a read that succeeded on a page no live mapping holds went through a stale TLB entry.
     */
    public Result probe(long addr, boolean readable) {
        long p = addr >>> cfg.pageShift();
        Map.Entry<Long, Long> l = live.floorEntry(p);
        boolean mapped = l != null && l.getKey() + l.getValue() > p;
        if (readable && !mapped) {
            return fail(Rule.ALIASES_NO_STALE, "a read of " + hex(addr) + " right after vm_unmap_aliases() returned "
                    + "succeeded, though no mapping holds that page: the CPU still had a stale TLB entry for it");
        }
        return new Result(this, null);
    }

    // ------------------------------------------------------------------ crash

    /** A call crashed the kernel; a violation when the call was within the contract. */
    public Result crash(String call, boolean withinContract, String text) {
        if (withinContract) {
            return fail(Rule.NO_CRASH_IN_CONTRACT, call + " crashed the kernel: " + text);
        }
        return new Result(this, null);
    }

    /** Whether vm_map_ram(count) is within the caller's contract. */
    public boolean mapInContract(long count) {
        return (count >= 1 || cfg.zeroCountInContract()) && count <= cfg.maxCount();
    }

    // ------------------------------------------------------------------ helpers

    private Result fail(Rule rule, String message) {
        return new Result(this, new Violation(rule, message));
    }

    private long page(long p) {
        return p << cfg.pageShift();
    }

    static String hex(long addr) {
        return "0x" + Long.toHexString(addr);
    }
}
