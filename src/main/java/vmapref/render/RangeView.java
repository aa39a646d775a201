// SPDX-License-Identifier: GPL-2.0-only
package vmapref.render;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Va;
import vmapref.kernel.VmapBlock;
import vmapref.spec.Spec;

/**
 * What the range picture shows: the vmalloc range at one point of a trace, page by page. Built from the model's
 * state ({@link KernelState}) and the specification's stale ranges; all positions are absolute page numbers.
 *
 * @param blocks    every live vmap block, with the state of each of its pages
 * @param areas     every other area that is not free: large mappings, lazily freed and pooled areas, other users
 * @param stale     page ranges unmapped and not flushed since, start to end
 * @param highlight the page range of the mapping the picture is about, or null
 */
public record RangeView(KernelConfig cfg, String title, List<String> notes, List<Block> blocks, List<Area> areas,
                        TreeMap<Long, Long> stale, long[] highlight, String highlightLabel, Totals totals) {

    /** The state of one page of a vmap block. */
    public enum Cell {
        /** Mapped by a live vm_map_ram() mapping. */
        LIVE,
        /** Taken by a live mapping's power-of-two rounding (vb_alloc() hands out 2^order pages), not mapped. */
        ROUNDING,
        /** Given back by vm_unmap_ram(): vb_free() never hands it out again while the block lives. */
        DIRTY,
        /** Never handed out yet: vb_alloc() still can. */
        FREE
    }

    /** One live vmap block: owner CPU (vb->cpu), each page's cell, the dirty range, whether on a free list. */
    public record Block(long base, int cpu, Cell[] cells, int dirtyMin, int dirtyMax, boolean onFreeList) {
        public boolean hasDirtyRange() {
            return dirtyMax != 0;
        }
    }

    /** One area that is not a live block. */
    public record Area(long start, long pages, Va.State state, Va.Kind kind) {
        public long end() {
            return start + pages;
        }
    }

    /** Page counts for the caption. */
    public record Totals(long held, long live, long blockLive, long rounding, long dirty, long freeInBlocks, long largeLive,
                         long lazy, long pooled, long other, long window) {
    }

    /**
     * The picture of state {@code k} (and {@code spec}'s stale ranges), with {@code highlight} (a page range, or
     * null) outlined.
     */
    public static RangeView of(KernelConfig cfg, KernelState k, Spec spec, String title, List<String> notes,
                               long[] highlight, String highlightLabel) {
        int bits = cfg.blockPages();
        java.util.Set<Long> onLists = new java.util.HashSet<>();
        for (var l : k.freeLists().values()) {
            onLists.addAll(l);
        }
        List<Block> blocks = new ArrayList<>();
        long live = 0;
        long rounding = 0;
        long dirty = 0;
        long free = 0;
        for (Map.Entry<Long, VmapBlock> e : k.blocks().entrySet()) {
            VmapBlock vb = e.getValue();
            Cell[] cells = new Cell[bits];
            int used = bits - vb.free();
            for (int p = 0; p < bits; p++) {
                cells[p] = p >= used ? Cell.FREE : Cell.DIRTY;
            }
            for (Map.Entry<Integer, Long> m : vb.live().entrySet()) {
                int off = m.getKey();
                int need = 1 << KernelConfig.getOrder(m.getValue());
                for (int p = off; p < Math.min(bits, off + need); p++) {
                    cells[p] = p - off < m.getValue() ? Cell.LIVE : Cell.ROUNDING;
                }
            }
            for (Cell c : cells) {
                switch (c) {
                    case LIVE -> live++;
                    case ROUNDING -> rounding++;
                    case DIRTY -> dirty++;
                    case FREE -> free++;
                }
            }
            blocks.add(new Block(e.getKey(), vb.cpu(), cells, vb.dirtyMin(), vb.dirtyMax(), onLists.contains(e.getKey())));
        }
        long blockLive = live;
        List<Area> areas = new ArrayList<>();
        long held = 0;
        long largeLive = 0;
        long lazy = 0;
        long pooled = 0;
        long other = 0;
        for (Va va : k.areas().values()) {
            if (va.kind() != Va.Kind.OTHER) {
                held += va.pages();
            }
            if (va.kind() == Va.Kind.BLOCK && va.state() == Va.State.BUSY && k.blocks().containsKey(va.start())) {
                continue;
            }
            areas.add(new Area(va.start(), va.pages(), va.state(), va.kind()));
            switch (va.state()) {
                case BUSY -> {
                    if (va.kind() == Va.Kind.RAM) {
                        largeLive += va.pages();
                        live += Math.min(va.pages(), va.count() == 0 ? va.pages() : va.count());
                    } else {
                        other += va.pages();
                    }
                }
                case LAZY -> lazy += va.pages();
                case POOLED -> pooled += va.pages();
            }
        }
        TreeMap<Long, Long> stale = new TreeMap<>(spec.stalePages().ranges());
        long window = cfg.windowEndPage() - cfg.windowStartPage();
        return new RangeView(cfg, title, List.copyOf(notes), blocks, areas, stale, highlight, highlightLabel,
                new Totals(held, live, blockLive, rounding, dirty, free, largeLive, lazy, pooled, other, window));
    }
}
