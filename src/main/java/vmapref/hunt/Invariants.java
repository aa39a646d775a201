// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Outcome;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.kernel.Vmalloc;
import vmapref.trace.Hex;

/**
 * The state and step invariants of {@link Property}, as plain functions of model states so that
 * the engine and the property suites (and tests feeding deliberately broken states) share them.
 * Each returns null when the invariant holds, else a {@link Breach} naming the property.
 */
public final class Invariants {

    private Invariants() {
    }

    /** An invariant that does not hold: which property, and what was found. */
    public record Breach(Property property, String message) {
        @Override
        public String toString() {
            return property.id() + ": " + message;
        }
    }

    /** Every state invariant, in order: areas, block accounting, free-list membership, best fit. */
    public static Breach state(KernelState s) {
        Breach b = areaAccounting(s);
        if (b == null) {
            b = blockAccounting(s);
        }
        if (b == null) {
            b = blockFreeList(s);
        }
        if (b == null) {
            b = freeListBestFit(s);
        }
        return b;
    }

    // ------------------------------------------------------------ areas

    /**
     * The areas that are not free are disjoint and inside the window; lazy list, vmap_lazy_nr and
     * pools agree with the areas' states; a busy block area has its block.
     */
    public static Breach areaAccounting(KernelState s) {
        KernelConfig cfg = s.cfg();
        long prevEnd = cfg.windowStartPage();
        long lazyPages = 0;
        for (Va va : s.areas().values()) {
            String where = va.state() + " " + va.kind() + " area " + Hex.format(s.addr(va.start())) + " of " + va.pages()
                    + " pages";
            if (va.pages() < 1 || va.start() < prevEnd || va.end() > cfg.windowEndPage()) {
                return new Breach(Property.AREA_ACCOUNTING, where + (va.start() < prevEnd
                        ? " overlaps the area before it or starts below VMALLOC_START" : " leaves the vmalloc window"));
            }
            prevEnd = va.end();
            if ((va.state() == Va.State.LAZY) != s.lazy().containsKey(va.start())) {
                return new Breach(Property.AREA_ACCOUNTING, where + (va.state() == Va.State.LAZY
                        ? " is not on the lazy list" : " is on the lazy list"));
            }
            if (va.state() == Va.State.LAZY) {
                lazyPages += va.pages();
            }
            if (va.kind() == Va.Kind.BLOCK && va.state() == Va.State.BUSY && !s.blocks().containsKey(va.start())) {
                return new Breach(Property.AREA_ACCOUNTING, where + " has no vmap_block");
            }
        }
        if (s.lazy().size() != s.areas().values().stream().filter(v -> v.state() == Va.State.LAZY).count()) {
            return new Breach(Property.AREA_ACCOUNTING, "the lazy list holds an area that is not a LAZY area");
        }
        if (lazyPages != s.lazyNr()) {
            return new Breach(Property.AREA_ACCOUNTING, "vmap_lazy_nr is " + s.lazyNr() + " but the lazy areas hold "
                    + lazyPages + " pages");
        }
        Set<Long> pooled = new HashSet<>();
        for (org.pcollections.PVector<Long> pool : s.pools().values()) {
            for (long start : pool) {
                Va va = s.areas().get(start);
                if (!pooled.add(start) || va == null || va.state() != Va.State.POOLED) {
                    return new Breach(Property.AREA_ACCOUNTING, "the pool entry " + Hex.format(s.addr(start))
                            + (va == null ? " is no area" : va.state() != Va.State.POOLED ? " is a " + va.state() + " area"
                            : " is in the pools twice"));
                }
            }
        }
        for (Va va : s.areas().values()) {
            if (va.state() == Va.State.POOLED && !pooled.contains(va.start())) {
                return new Breach(Property.AREA_ACCOUNTING, "the POOLED area " + Hex.format(s.addr(va.start()))
                        + " is in no pool");
            }
        }
        return null;
    }

    // ------------------------------------------------------------ block accounting

    /**
     * free + dirty + live == VMAP_BBMAP_BITS, live sub-allocations disjoint below the bump pointer,
     * the dirty range inside the used part, and the block's area busy and one block long.
     */
    public static Breach blockAccounting(KernelState s) {
        int bits = s.cfg().vmapBbmapBits();
        for (VmapBlock vb : s.blocks().values()) {
            String where = "block " + block(s, vb);
            if (vb.free() < 0 || vb.free() > bits || vb.dirty() < 0 || vb.dirty() >= bits) {
                return new Breach(Property.BLOCK_ACCOUNTING, where + " has free " + vb.free() + ", dirty " + vb.dirty()
                        + " (a live block needs 0 <= free <= " + bits + " and 0 <= dirty < " + bits + ")");
            }
            long live = 0;
            long next = 0;
            for (Map.Entry<Integer, Long> e : vb.live().entrySet()) {
                long pages = 1L << KernelConfig.getOrder(e.getValue());
                if (e.getValue() < 1 || e.getValue() > s.cfg().vmapMaxAlloc()) {
                    return new Breach(Property.BLOCK_ACCOUNTING, where + " holds a sub-allocation of count "
                            + e.getValue() + " at offset " + e.getKey());
                }
                if (e.getKey() < next) {
                    return new Breach(Property.BLOCK_ACCOUNTING, where + ": the sub-allocation at offset " + e.getKey()
                            + " overlaps the one ending at " + next);
                }
                next = e.getKey() + pages;
                live += pages;
            }
            if (vb.free() + vb.dirty() + live != bits) {
                return new Breach(Property.BLOCK_ACCOUNTING, where + ": free " + vb.free() + " + dirty " + vb.dirty()
                        + " + live " + live + " = " + (vb.free() + vb.dirty() + live) + ", not VMAP_BBMAP_BITS " + bits);
            }
            if (next > bits - vb.free()) {
                return new Breach(Property.BLOCK_ACCOUNTING, where + ": a sub-allocation ends at page " + next
                        + ", past the bump pointer " + (bits - vb.free()));
            }
            if (vb.hasDirtyRange() && (vb.dirtyMin() < 0 || vb.dirtyMin() >= vb.dirtyMax()
                    || vb.dirtyMax() > bits - vb.free())) {
                return new Breach(Property.BLOCK_ACCOUNTING, where + ": dirty range [" + vb.dirtyMin() + ", "
                        + vb.dirtyMax() + ") lies outside the used pages [0, " + (bits - vb.free()) + ")");
            }
            Va va = s.areas().get(vb.base());
            if (va == null || va.kind() != Va.Kind.BLOCK || va.state() != Va.State.BUSY || va.pages() != bits) {
                return new Breach(Property.BLOCK_ACCOUNTING, where + ": its vmap_area is " + (va == null ? "missing"
                        : va.state() + " " + va.kind() + " of " + va.pages() + " pages") + ", not a busy block area");
            }
        }
        return null;
    }

    // ------------------------------------------------------------ free lists

    /** A block is on vbq[vb->cpu].free exactly when free > 0, once, and on no other list. */
    public static Breach blockFreeList(KernelState s) {
        Map<Long, Integer> listedOn = new HashMap<>();
        for (Map.Entry<Integer, org.pcollections.PVector<Long>> e : s.freeLists().entrySet()) {
            for (long base : e.getValue()) {
                VmapBlock vb = s.blocks().get(base);
                if (vb == null) {
                    return new Breach(Property.BLOCK_FREE_LIST, "CPU " + e.getKey() + "'s free list holds "
                            + Hex.format(s.addr(base)) + ", which is no live block");
                }
                Integer other = listedOn.put(base, e.getKey());
                if (other != null) {
                    return new Breach(Property.BLOCK_FREE_LIST, "block " + block(s, vb) + " is on the free list of CPU "
                            + other + " and of CPU " + e.getKey());
                }
                if (vb.cpu() != e.getKey()) {
                    return new Breach(Property.BLOCK_FREE_LIST, "block " + block(s, vb) + " is on CPU " + e.getKey()
                            + "'s free list, not its own CPU's");
                }
            }
        }
        for (VmapBlock vb : s.blocks().values()) {
            boolean listed = listedOn.containsKey(vb.base());
            if (listed != (vb.free() > 0)) {
                return new Breach(Property.BLOCK_FREE_LIST, "block " + block(s, vb) + " has free " + vb.free()
                        + (listed ? " but is still on the free list" : " but is on no free list"));
            }
        }
        return null;
    }

    /** Free counts rise strictly from the oldest (head) to the newest block of each list. */
    public static Breach freeListBestFit(KernelState s) {
        for (Map.Entry<Integer, org.pcollections.PVector<Long>> e : s.freeLists().entrySet()) {
            VmapBlock prev = null;
            for (long base : e.getValue()) {
                VmapBlock vb = s.blocks().get(base);
                if (vb == null) {
                    continue; // blockFreeList() reports it
                }
                if (prev != null && vb.free() <= prev.free()) {
                    return new Breach(Property.FREE_LIST_BEST_FIT, "on CPU " + e.getKey() + "'s free list block "
                            + block(s, prev) + " (free " + prev.free() + ") comes before block " + block(s, vb)
                            + " (free " + vb.free() + "): first fit is no longer best fit");
                }
                prev = vb;
            }
        }
        return null;
    }

    // ------------------------------------------------------------ steps

    /**
     * A small map that returned an address took page BITS - free of the first block on the calling
     * CPU's free list with 2^order free pages, or page 0 of a block it created (vb_alloc()).
     */
    public static Breach bumpAllocated(KernelState before, Call call, Vmalloc.Step step) {
        KernelConfig cfg = before.cfg();
        if (!(call instanceof Call.Map m) || m.count() < 1 || m.count() > cfg.vmapMaxAlloc()
                || !(step.outcome() instanceof Outcome.Mapped mapped)) {
            return null;
        }
        int bits = cfg.vmapBbmapBits();
        int need = 1 << KernelConfig.getOrder(m.count());
        long page = mapped.addr() >>> cfg.pageShift();
        long base = page - Math.floorMod(page, (long) bits);
        long offset = page - base;
        VmapBlock first = null;
        for (long b : before.freeList(m.cpu())) {
            VmapBlock vb = before.blocks().get(b);
            if (vb != null && vb.free() >= need) {
                first = vb;
                break;
            }
        }
        String got = "vm_map_ram(" + m.count() + ") on CPU " + m.cpu() + " returned " + Hex.format(mapped.addr());
        if (first != null) {
            if (first.base() != base) {
                return new Breach(Property.BUMP_ALLOCATED, got + ", in block " + Hex.format(before.addr(base))
                        + "; vb_alloc() takes the first block on the CPU's free list with " + need + " free pages, "
                        + block(before, first) + " (free " + first.free() + ")");
            }
            if (offset != bits - first.free()) {
                return new Breach(Property.BUMP_ALLOCATED, got + " at page offset " + offset + " of block "
                        + block(before, first) + "; the bump pointer is at " + (bits - first.free()));
            }
        } else {
            boolean created = step.effects().stream().anyMatch(e -> e instanceof Effect.BlockCreated c
                    && c.base() == before.addr(base) && c.cpu() == m.cpu());
            if (!created || offset != 0) {
                return new Breach(Property.BUMP_ALLOCATED, got + " (page offset " + offset + "), but no block on the "
                        + "CPU's free list had " + need + " free pages, so it must be page 0 of a new block"
                        + (created ? "" : " (no block was created there)"));
            }
        }
        VmapBlock after = step.state().blocks().get(base);
        if (after == null || !Long.valueOf(m.count()).equals(after.live().get((int) offset))) {
            return new Breach(Property.BUMP_ALLOCATED, got + ", but the block does not record a live sub-allocation "
                    + "of " + m.count() + " pages at offset " + offset);
        }
        return null;
    }

    /**
     * vm_map_ram(count >= 1) returned NULL only when there was no room after its purge and retry:
     * for a large count no free gap of count pages in the window; for a small count no block on the
     * CPU's list with 2^order free pages, and no free gap find_vmap_lowest_match() would take for a
     * new block (at least 2 * BITS pages long, or at either end of the window) that holds an
     * aligned block.
     */
    public static Breach nullOnlyWhenFull(KernelState before, Call call, Vmalloc.Step step) {
        if (!(call instanceof Call.Map m) || m.count() < 1 || !(step.outcome() instanceof Outcome.Null)) {
            return null;
        }
        KernelState s = step.state();
        KernelConfig cfg = s.cfg();
        int bits = cfg.vmapBbmapBits();
        String what = "vm_map_ram(" + m.count() + ") on CPU " + m.cpu() + " returned NULL";
        if (m.count() > cfg.vmapMaxAlloc()) {
            long[] gap = largestGap(s);
            if (gap[1] - gap[0] >= m.count()) {
                return new Breach(Property.NULL_ONLY_WHEN_FULL, what + ", but [" + Hex.format(s.addr(gap[0])) + ", "
                        + Hex.format(s.addr(gap[1])) + ") (" + (gap[1] - gap[0]) + " pages) is free");
            }
            return null;
        }
        int need = 1 << KernelConfig.getOrder(m.count());
        for (long b : s.freeList(m.cpu())) {
            VmapBlock vb = s.blocks().get(b);
            if (vb != null && vb.free() >= need) {
                return new Breach(Property.NULL_ONLY_WHEN_FULL, what + ", but block " + block(s, vb) + " on its free list has "
                        + vb.free() + " free pages");
            }
        }
        long winStart = cfg.windowStartPage();
        long winEnd = cfg.windowEndPage();
        long gapStart = winStart;
        for (Va va : s.areas().tailMap(winStart, true).values()) {
            if (va.start() >= winEnd) {
                break;
            }
            Breach b = blockGap(s, what, gapStart, va.start(), gapStart == winStart, false);
            if (b != null) {
                return b;
            }
            gapStart = Math.max(gapStart, va.end());
        }
        return blockGap(s, what, gapStart, winEnd, gapStart == winStart, true);
    }

    private static Breach blockGap(KernelState s, String what, long start, long end, boolean atStart, boolean atEnd) {
        long bits = s.cfg().vmapBbmapBits();
        if (end - start < bits) {
            return null;
        }
        long aligned = (start + bits - 1) / bits * bits;
        boolean candidate = atStart || atEnd || end - start >= 2 * bits;
        if (candidate && aligned + bits <= end) {
            return new Breach(Property.NULL_ONLY_WHEN_FULL, what + ", but the free gap [" + Hex.format(s.addr(start))
                    + ", " + Hex.format(s.addr(end)) + ") (" + (end - start) + " pages) holds the aligned block "
                    + Hex.format(s.addr(aligned)));
        }
        return null;
    }

    /** The largest free gap of the vmalloc window, as {start, end} pages. */
    static long[] largestGap(KernelState s) {
        long winStart = s.cfg().windowStartPage();
        long winEnd = s.cfg().windowEndPage();
        long[] best = {winStart, winStart};
        long gapStart = winStart;
        for (Va va : s.areas().tailMap(winStart, true).values()) {
            if (va.start() >= winEnd) {
                break;
            }
            if (va.start() - gapStart > best[1] - best[0]) {
                best = new long[] {gapStart, va.start()};
            }
            gapStart = Math.max(gapStart, va.end());
        }
        if (winEnd - gapStart > best[1] - best[0]) {
            best = new long[] {gapStart, winEnd};
        }
        return best;
    }

    // ------------------------------------------------------------ block lifecycle

    /**
     * Follows BlockCreated / BlockRetired effects across a run: a block is created once, retired at
     * most once, and the state's blocks are those created and not retired.
     */
    public static final class BlockLifecycle {
        private final Set<Long> live = new HashSet<>();

        /** Starts from a state's blocks (for a run that does not begin at boot). */
        public BlockLifecycle(KernelState start) {
            for (long base : start.blocks().keySet()) {
                live.add(start.addr(base));
            }
        }

        public Breach observe(Vmalloc.Step step) {
            KernelState s = step.state();
            for (Effect e : step.effects()) {
                if (e instanceof Effect.BlockCreated c && !live.add(c.base())) {
                    return new Breach(Property.BLOCK_RETIRED_ONCE, "block " + Hex.format(c.base())
                            + " was created while a live block sat there");
                }
                if (e instanceof Effect.BlockRetired r && !live.remove(r.base())) {
                    return new Breach(Property.BLOCK_RETIRED_ONCE, "block " + Hex.format(r.base()) + " was retired by "
                            + r.by() + " but is not live (retired twice, or never created)");
                }
            }
            if (s.crash() != null) {
                return null;
            }
            for (long base : s.blocks().keySet()) {
                if (!live.contains(s.addr(base))) {
                    return new Breach(Property.BLOCK_RETIRED_ONCE, "block " + Hex.format(s.addr(base))
                            + " is in the state but was never created, or was already retired");
                }
            }
            if (live.size() != s.blocks().size()) {
                for (long a : live) {
                    if (!s.blocks().containsKey(a >>> s.cfg().pageShift())) {
                        return new Breach(Property.BLOCK_RETIRED_ONCE, "block " + Hex.format(a)
                                + " left the state without being retired");
                    }
                }
            }
            return null;
        }
    }

    static String block(KernelState s, VmapBlock vb) {
        return Hex.format(s.addr(vb.base())) + " (CPU " + vb.cpu() + ")";
    }
}
