package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.pcollections.PMap;
import org.pcollections.PSortedMap;
import org.pcollections.PVector;
import org.pcollections.TreePMap;
import org.pcollections.TreePVector;

/**
 * The reference implementation: vm_map_ram(), vm_unmap_ram() and vm_unmap_aliases() as pure
 * functions {@code state x call -> state x outcome x effects}. Each method below models the kernel
 * function named in its comment (mm/vmalloc.c of the profile's kernel); the profile switches are in
 * {@link Profile}, the historical bugs in {@link Mutant}.
 */
public final class Vmalloc {

    private Vmalloc() {
    }

    /**
     * The result of one call. {@code effects[0, resultAt)} completed before the call returned and
     * the rest after it (the drain work the call scheduled). The PTEs of an unmapped range are
     * cleared before any flush in that call, so an unmap has {@code resultAt == 0}.
     */
    public record Step(KernelState state, Outcome outcome, List<Effect> effects, int resultAt) {
        public List<Effect> before() {
            return effects.subList(0, resultAt);
        }

        public List<Effect> after() {
            return effects.subList(resultAt, effects.size());
        }
    }

    /**
     * Where a new area lands when the trace, not the model, decides it ({@link KernelState.Mode#TRACE_GUIDED}).
     * Returns the start page, or -1 when the kernel failed to find room.
     */
    @FunctionalInterface
    public interface Placement {
        long place(Va.Kind kind, long pages, long alignPages);
    }

    /** A placement the model cannot accept: the trace put an area where the kernel never would. */
    public static final class PlacementRejected extends RuntimeException {
        private final String rule;

        public PlacementRejected(String rule, String message) {
            super(message);
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    public static Step step(KernelState s, Call call) {
        return step(s, call, null);
    }

    public static Step step(KernelState s, Call call, Placement placement) {
        if (s.crash() != null) {
            throw new IllegalStateException("the kernel crashed earlier (" + s.crash() + "); no call can follow");
        }
        Tx tx = new Tx(s, placement);
        Outcome outcome;
        try {
            if (call instanceof Call.Map m) {
                outcome = tx.vmMapRam(m);
            } else if (call instanceof Call.Unmap u) {
                outcome = tx.vmUnmapRam(u);
            } else {
                outcome = tx.vmUnmapAliases((Call.Aliases) call);
            }
        } catch (KernelCrash crash) {
            KernelState dead = new KernelState(s.cfg(), s.mutants(), s.mode(), s.blocks(), s.freeLists(), s.areas(),
                    s.lazy(), s.lazyNr(), s.pools(), s.cache(), crash.getMessage());
            return new Step(dead, new Outcome.Bug(crash.getMessage()), List.copyOf(tx.effects), tx.effects.size());
        }
        if (outcome instanceof Outcome.Rejected) {
            return new Step(s, outcome, List.of(), 0); // contract broken: nothing changes
        }
        int resultAt = call instanceof Call.Unmap ? 0 : tx.effects.size();
        tx.runPendingDrain();
        return new Step(tx.freeze(), outcome, List.copyOf(tx.effects), resultAt);
    }

    /**
     * A traced TLB flush that no modelled call explains (other users, the drain work): lazily freed
     * areas it covers are taken as purged. Only for {@link KernelState.Mode#TRACE_GUIDED}.
     */
    public static KernelState observeFlush(KernelState s, long startAddr, long endAddr) {
        Tx tx = new Tx(s, null);
        for (Va va : List.copyOf(tx.lazy.values())) {
            if (Long.compareUnsigned(s.addr(va.start()), startAddr) >= 0
                    && Long.compareUnsigned(s.addr(va.end()), endAddr) <= 0) {
                tx.lazy = tx.lazy.minus(va.start());
                tx.lazyNr -= va.pages();
                tx.areas = tx.areas.minus(va.start());
            }
        }
        return tx.freeze();
    }

    /** An area some other kernel user holds (a trace's busy line): it stays busy. */
    public static KernelState reserve(KernelState s, long startAddr, long endAddr) {
        KernelConfig cfg = s.cfg();
        long start = Math.max(startAddr >>> cfg.pageShift(), cfg.windowStartPage());
        long end = Math.min((endAddr >>> cfg.pageShift()) + ((endAddr & (cfg.pageSize() - 1)) != 0 ? 1 : 0),
                cfg.windowEndPage());
        if (end <= start) {
            return s;
        }
        Map.Entry<Long, Va> below = s.areas().lowerEntry(end);
        if (below != null && below.getValue().end() > start) {
            throw new IllegalArgumentException("busy range 0x" + Long.toHexString(startAddr) + "-0x"
                    + Long.toHexString(endAddr) + " overlaps another area");
        }
        Tx tx = new Tx(s, null);
        tx.areas = tx.areas.plus(start, new Va(start, end - start, Va.State.BUSY, Va.Kind.OTHER, -1, 0));
        return tx.freeze();
    }

    /**
     * addr_to_vb_xa(): which CPU's vmap_blocks xarray holds a block (6.4+). The hash is
     * (addr / VMAP_BLOCK_SIZE) % nr_cpu_ids, moved to the next possible CPU when that one is not
     * possible (a34acf30b19b). Returns -1 where the hash lands on a CPU that is not possible (only
     * under the hash-index-possible-mask mutant).
     */
    public static int blockBucket(KernelState s, long basePage) {
        KernelConfig cfg = s.cfg();
        long blockNr = basePage / cfg.blockPages();
        if (s.has(Mutant.HASH_INDEX_POSSIBLE_MASK)) {
            int index = (int) (blockNr % cfg.possibleCpus().size());
            return cfg.isPossible(index) ? index : -1;
        }
        int index = (int) (blockNr % cfg.nrCpuIds());
        return cfg.isPossible(index) ? index : cfg.nextPossible(index);
    }

    private static final class KernelCrash extends RuntimeException {
        KernelCrash(String text) {
            super(text, null, false, false);
        }
    }

    /** One call's working copy: it swaps persistent collections, never mutates them. */
    private static final class Tx {
        final KernelState origin;
        final KernelConfig cfg;
        final Profile profile;
        final Placement placement;
        final int bits;
        final List<Effect> effects = new ArrayList<>();

        PSortedMap<Long, VmapBlock> blocks;
        PMap<Integer, PVector<Long>> freeLists;
        PSortedMap<Long, Va> areas;
        PSortedMap<Long, Va> lazy;
        long lazyNr;
        PMap<Integer, PVector<Long>> pools;
        KernelState.FreeVmapCache cache;
        boolean drainPending;
        boolean inPurge;

        Tx(KernelState s, Placement placement) {
            this.origin = s;
            this.cfg = s.cfg();
            this.profile = cfg.profile();
            this.placement = placement;
            this.bits = cfg.vmapBbmapBits();
            this.blocks = s.blocks();
            this.freeLists = s.freeLists();
            this.areas = s.areas();
            this.lazy = s.lazy();
            this.lazyNr = s.lazyNr();
            this.pools = s.pools();
            this.cache = s.cache();
        }

        KernelState freeze() {
            return new KernelState(cfg, origin.mutants(), origin.mode(), blocks, freeLists, areas, lazy, lazyNr, pools,
                    cache, null);
        }

        boolean has(Mutant m) {
            return origin.has(m);
        }

        PVector<Long> freeList(int cpu) {
            return freeLists.getOrDefault(cpu, TreePVector.empty());
        }

        long addr(long page) {
            return page << cfg.pageShift();
        }

        // ---------------------------------------------------------------- vm_map_ram()

        /** mm/vmalloc.c: vm_map_ram(). */
        Outcome vmMapRam(Call.Map c) {
            Outcome bad = checkCall(c.cpu(), c.count());
            if (bad != null) {
                return bad;
            }
            if (c.prot() != null && !profile.hasProt()) {
                return new Outcome.Rejected("no-prot", profile + " vm_map_ram() takes no prot argument "
                        + "(removed by 3c8ce1be43d3 in v5.8); only linux-4.8 has it");
            }
            long count = c.count();
            // size = (unsigned long)count << PAGE_SHIFT; the 2016 overflow computed it in 32 bits
            long pages = has(Mutant.SIZE_INT_OVERFLOW)
                    ? ((count << cfg.pageShift()) & 0xffff_ffffL) >>> cfg.pageShift()
                    : count;
            if (count <= cfg.vmapMaxAlloc()) {
                if (pages == 0) {
                    // vb_alloc(): WARN_ON(size == 0)
                    effects.add(new Effect.Warn("vb_alloc(): WARN_ON(size == 0)"));
                    if (profile.zeroCountReturnsNull() && !has(Mutant.COUNT_ZERO_NULL)) {
                        return new Outcome.Null("count 0: vb_alloc() returns ERR_PTR(-EINVAL)");
                    }
                    // vb_alloc() returned NULL, IS_ERR() missed it: vmap_pages_range(0, 0) BUGs
                    throw new KernelCrash("kernel BUG at mm/vmalloc.c: "
                            + (profile == Profile.LINUX_4_8 ? "vmap_page_range_noflush()" : "vmap_small_pages_range_noflush()")
                            + ": BUG_ON(addr >= end) after vb_alloc() returned NULL for vm_map_ram(count=0)");
                }
                long page = vbAlloc(c.cpu(), pages, count);
                return page < 0 ? new Outcome.Null("no vmap block could be allocated") : new Outcome.Mapped(addr(page));
            }
            if (pages == 0) {
                // alloc_vmap_area(): 6.12 returns -EINVAL for size 0, earlier kernels BUG_ON(!size)
                if (profile == Profile.LINUX_6_12) {
                    return new Outcome.Null("alloc_vmap_area(): size 0 is -EINVAL");
                }
                throw new KernelCrash("kernel BUG at mm/vmalloc.c: alloc_vmap_area(): BUG_ON(!size)");
            }
            Va va = allocVmapArea(pages, 1, Va.Kind.RAM, c.cpu(), count);
            return va == null ? new Outcome.Null("alloc_vmap_area() found no room after purging")
                    : new Outcome.Mapped(addr(va.start()));
        }

        Outcome checkCall(int cpu, long count) {
            if (!cfg.isOnline(cpu)) {
                return new Outcome.Rejected("bad-cpu", "CPU " + cpu + " is not online (online: " + cfg.onlineCpus() + ")");
            }
            if (count < 0 || count > KernelConfig.MAX_COUNT) {
                return new Outcome.Rejected("bad-count", "count " + count + " does not fit unsigned int");
            }
            return null;
        }

        /** mm/vmalloc.c: vb_alloc(): first fit over this CPU's free list, bump allocation. */
        long vbAlloc(int cpu, long pages, long count) {
            int order = KernelConfig.getOrder(pages);
            int need = 1 << order;
            PVector<Long> list = freeList(cpu);
            for (int i = 0; i < list.size(); i++) {
                VmapBlock vb = blocks.get(list.get(i));
                if (vb.free() < need) {
                    continue;
                }
                int pagesOff = bits - vb.free();
                VmapBlock after = vb.withFree(vb.free() - need).withLive(vb.live().plus(pagesOff, count));
                blocks = blocks.plus(vb.base(), after);
                if (after.free() == 0) {
                    freeLists = freeLists.plus(cpu, list.minus(i));
                }
                return vb.base() + pagesOff; // vmap_block_vaddr()
            }
            return newVmapBlock(order, cpu, count);
        }

        /** mm/vmalloc.c: new_vmap_block(): a block-aligned area whose first 2^order pages go to the caller. */
        long newVmapBlock(int order, int cpu, long count) {
            Va va = allocVmapArea(bits, bits, Va.Kind.BLOCK, cpu, 0);
            if (va == null) {
                return -1;
            }
            if (profile.perCpuBlockIndex() && blockBucket(origin, va.start()) < 0) {
                throw new KernelCrash("BUG: unable to handle page fault in xa_insert(): addr_to_vb_xa() picked the "
                        + "vmap_block_queue of CPU " + (va.start() / bits % cfg.possibleCpus().size())
                        + ", which is not possible (possible: " + cfg.possibleCpus() + ")");
            }
            blocks = blocks.plus(va.start(), VmapBlock.fresh(va.start(), cpu, bits, order, count));
            PVector<Long> list = freeList(cpu);
            // list_add_tail_rcu(); the 2015 bug put new blocks at the head
            list = has(Mutant.NEW_BLOCK_AT_LIST_HEAD) ? list.plus(0, va.start()) : list.plus(va.start());
            freeLists = freeLists.plus(cpu, list);
            effects.add(new Effect.BlockCreated(cpu, addr(va.start())));
            return va.start();
        }

        // ---------------------------------------------------------------- vm_unmap_ram()

        /** mm/vmalloc.c: vm_unmap_ram(). */
        Outcome vmUnmapRam(Call.Unmap c) {
            Outcome bad = checkCall(c.cpu(), c.count());
            if (bad != null) {
                return bad;
            }
            long a = c.addr();
            if (a == 0 || Long.compareUnsigned(a, cfg.vmallocStart()) < 0
                    || Long.compareUnsigned(a, cfg.vmallocEnd()) > 0 || (a & (cfg.pageSize() - 1)) != 0) {
                throw new KernelCrash("kernel BUG at mm/vmalloc.c: vm_unmap_ram(0x" + Long.toHexString(a)
                        + "): address is NULL, outside VMALLOC_START..VMALLOC_END or not page aligned");
            }
            long page = a >>> cfg.pageShift();
            if (c.count() <= cfg.vmapMaxAlloc()) {
                return vbFree(page, c.count());
            }
            return freeLargeArea(page, c.count());
        }

        /** mm/vmalloc.c: vb_free(): the pages turn dirty; a block with every page dirty is freed. */
        Outcome vbFree(long page, long count) {
            long base = page - Math.floorMod(page, (long) bits);
            int offset = (int) (page - base);
            if (profile.perCpuBlockIndex() && blockBucket(origin, base) < 0) {
                throw new KernelCrash("BUG: unable to handle page fault in xa_load(): addr_to_vb_xa() picked a CPU "
                        + "that is not possible");
            }
            VmapBlock vb = blocks.get(base);
            if (vb == null) {
                throw new KernelCrash(profile == Profile.LINUX_4_8
                        ? "kernel BUG at mm/vmalloc.c: vb_free(): BUG_ON(!vb) for 0x" + Long.toHexString(addr(page))
                        : "BUG: kernel NULL pointer dereference in vb_free(): no vmap block holds 0x"
                                + Long.toHexString(addr(page)));
            }
            Long mapped = vb.live().get(offset);
            if (mapped == null || mapped != count) {
                return new Outcome.Rejected("unmap-live-exact", "vm_unmap_ram(0x" + Long.toHexString(addr(page)) + ", "
                        + count + "): " + (mapped == null ? "no live mapping starts there"
                        : "it was mapped with count " + mapped)
                        + " (the kernel would corrupt the block's accounting)");
            }
            int need = 1 << KernelConfig.getOrder(count);
            int dirty = vb.dirty() + need;
            VmapBlock after = vb.withLive(vb.live().minus(offset))
                    .withDirty(dirty, Math.min(vb.dirtyMin(), offset), Math.max(vb.dirtyMax(), offset + need));
            blocks = blocks.plus(base, after);
            if (dirty == bits) {
                if (after.free() != 0) {
                    throw new KernelCrash("kernel BUG at mm/vmalloc.c: vb_free(): BUG_ON(vb->free)");
                }
                freeVmapBlock(after, "vb_free");
            }
            return new Outcome.Done();
        }

        /** vm_unmap_ram() of a large area: find_unlink_vmap_area() (6.12) / find_vmap_area(), then free_unmap_vmap_area(). */
        Outcome freeLargeArea(long page, long count) {
            Map.Entry<Long, Va> e = areas.floorEntry(page);
            Va va = e == null || e.getValue().end() <= page ? null : e.getValue();
            boolean findable = va != null && (va.state() == Va.State.BUSY
                    || (profile == Profile.LINUX_4_8 && va.state() == Va.State.LAZY));
            if (!findable) {
                if (profile.unknownLargeUnmapWarns()) {
                    effects.add(new Effect.Warn("vm_unmap_ram(): WARN_ON_ONCE(!va) for 0x" + Long.toHexString(addr(page))));
                    return new Outcome.Done();
                }
                throw new KernelCrash("kernel BUG at mm/vmalloc.c: vm_unmap_ram(0x" + Long.toHexString(addr(page))
                        + ", " + count + "): BUG_ON(!va), no area holds the address");
            }
            if (va.kind() != Va.Kind.RAM || va.state() != Va.State.BUSY || va.start() != page || va.count() != count) {
                return new Outcome.Rejected("unmap-live-exact", "vm_unmap_ram(0x" + Long.toHexString(addr(page)) + ", "
                        + count + "): " + describe(va, page) + " (the kernel would free the wrong area)");
            }
            areas = areas.minus(va.start());
            freeVmapAreaNoflush(va);
            return new Outcome.Done();
        }

        String describe(Va va, long page) {
            if (va.kind() == Va.Kind.BLOCK) {
                return "the address lies in a vmap block, so it must be unmapped with its small count";
            }
            if (va.kind() == Va.Kind.OTHER) {
                return "the address belongs to another kernel user's area";
            }
            if (va.state() != Va.State.BUSY) {
                return "the area there was already unmapped";
            }
            return "the live area there was mapped at 0x" + Long.toHexString(addr(va.start())) + " with count " + va.count();
        }

        /** mm/vmalloc.c: free_vmap_block(): erase from the index, the whole block area goes lazy. */
        void freeVmapBlock(VmapBlock vb, String by) {
            blocks = blocks.minus(vb.base());
            Va va = areas.get(vb.base());
            areas = areas.minus(vb.base());
            effects.add(new Effect.BlockRetired(vb.cpu(), addr(vb.base()), by));
            freeVmapAreaNoflush(va);
        }

        /** mm/vmalloc.c: free_vmap_area_noflush(): onto the lazy list; a drain once lazy_max_pages() is passed. */
        void freeVmapAreaNoflush(Va va) {
            Va lazyVa = va.with(Va.State.LAZY);
            areas = areas.plus(va.start(), lazyVa);
            lazy = lazy.plus(va.start(), lazyVa);
            lazyNr += va.pages();
            if (lazyNr > cfg.lazyMaxPages() && origin.mode() == KernelState.Mode.EXACT) {
                if (profile.synchronousLazyPurge()) {
                    if (!inPurge) { // try_purge_vmap_area_lazy(): spin_trylock(&purge_lock)
                        purgeLazy48(false, false, Long.MAX_VALUE, 0, "try_purge_vmap_area_lazy");
                    }
                } else {
                    drainPending = true; // schedule_work(&drain_vmap_work)
                }
            }
        }

        /**
         * drain_vmap_area_work(): the model runs the scheduled work when the call that scheduled it
         * returns (the kernel runs it on a kworker soon after). 6.1 repeats while over the limit.
         */
        void runPendingDrain() {
            if (!drainPending) {
                return;
            }
            drainPending = false;
            do {
                purgeLazy(Long.MAX_VALUE, 0, false, "drain_vmap_area_work");
            } while (profile == Profile.LINUX_6_1 && lazyNr > cfg.lazyMaxPages());
        }

        // ---------------------------------------------------------------- vm_unmap_aliases()

        /** mm/vmalloc.c: vm_unmap_aliases() -> _vm_unmap_aliases(ULONG_MAX, 0, 0). */
        Outcome vmUnmapAliases(Call.Aliases c) {
            if (!cfg.isOnline(c.cpu())) {
                return new Outcome.Rejected("bad-cpu", "CPU " + c.cpu() + " is not online (online: " + cfg.onlineCpus() + ")");
            }
            long[] range = {Long.MAX_VALUE, 0};
            boolean flush = false;
            if (profile.aliasesWalksAllBlocks() && !has(Mutant.STALE_TLB_FULL_BLOCK)) {
                List<VmapBlock> purge = new ArrayList<>();
                for (int cpu : cfg.possibleCpus()) { // xa_for_each(&vbq->vmap_blocks) of each possible CPU
                    for (VmapBlock vb : List.copyOf(blocks.values())) {
                        if (blockBucket(origin, vb.base()) == cpu) {
                            flush |= aliasesVisit612(vb, purge, range);
                        }
                    }
                }
                freePurgedBlocks(purge);
            } else if (profile.aliasesWalksAllBlocks()) { // 6.12 with fc1e0d980037 reverted: free lists only
                List<VmapBlock> purge = new ArrayList<>();
                for (int cpu : cfg.possibleCpus()) {
                    for (long base : origin.freeList(cpu)) {
                        flush |= aliasesVisit612(blocks.get(base), purge, range);
                    }
                }
                freePurgedBlocks(purge);
            } else {
                for (int cpu : cfg.possibleCpus()) { // list_for_each_entry_rcu(vb, &vbq->free, free_list)
                    for (long base : origin.freeList(cpu)) {
                        VmapBlock vb = blocks.get(base);
                        boolean dirty = profile == Profile.LINUX_4_8 ? vb.dirty() != 0
                                : vb.dirty() != 0 && vb.dirty() != bits;
                        if (dirty) {
                            widen(range, vb.base() + vb.dirtyMin(), vb.base() + vb.dirtyMax());
                            flush = true;
                        }
                    }
                }
                if (profile == Profile.LINUX_4_8) {
                    purgeLazy48(true, flush, range[0], range[1], "vm_unmap_aliases");
                    return new Outcome.Done();
                }
                purgeFragmentedBlocksAllCpus();
            }
            if (!purgeLazy(range[0], range[1], false, "_vm_unmap_aliases") && flush) {
                flushRange(range[0], range[1], "_vm_unmap_aliases");
            }
            return new Outcome.Done();
        }

        /** One block of the 6.12 xarray walk in _vm_unmap_aliases(); returns whether it needs a flush. */
        boolean aliasesVisit612(VmapBlock vb, List<VmapBlock> purge, long[] range) {
            if (purgeFragmentedBlock(vb, has(Mutant.PURGE_USABLE_BLOCKS), purge)) {
                return false;
            }
            if (vb.dirtyMax() != 0 && vb.dirty() != bits) {
                widen(range, vb.base() + vb.dirtyMin(), vb.base() + vb.dirtyMax());
                if (profile.aliasesResetsDirtyRange() && !has(Mutant.FLUSH_DIRTY_AGAIN)) { // "Prevent that this is flushed again"
                    blocks = blocks.plus(vb.base(), vb.withDirty(vb.dirty(), bits, 0));
                }
                return true;
            }
            return false;
        }

        static void widen(long[] range, long start, long end) {
            range[0] = Math.min(range[0], start);
            range[1] = Math.max(range[1], end);
        }

        /**
         * mm/vmalloc.c: purge_fragmented_block(): a block with no live pages is retired, unless (6.5+)
         * it still has VMAP_PURGE_THRESHOLD free pages and the purge is not forced.
         */
        boolean purgeFragmentedBlock(VmapBlock vb, boolean force, List<VmapBlock> purge) {
            if (vb.free() + vb.dirty() != bits || vb.dirty() == bits) {
                return false;
            }
            if (profile.hasPurgeThreshold() && !(force || vb.free() < cfg.purgeThreshold())) {
                return false;
            }
            VmapBlock dead = vb.withFree(0).withDirty(bits, 0, bits);
            blocks = blocks.plus(vb.base(), dead);
            PVector<Long> list = freeList(vb.cpu());
            freeLists = freeLists.plus(vb.cpu(), list.minus(Long.valueOf(vb.base())));
            purge.add(dead);
            return true;
        }

        /** mm/vmalloc.c: free_purged_blocks(). */
        void freePurgedBlocks(List<VmapBlock> purge) {
            for (VmapBlock vb : purge) {
                freeVmapBlock(vb, "purge_fragmented_block");
            }
        }

        /** mm/vmalloc.c: purge_fragmented_blocks_allcpus(): forced, over every possible CPU's free list. */
        void purgeFragmentedBlocksAllCpus() {
            List<VmapBlock> purge = new ArrayList<>();
            for (int cpu : cfg.possibleCpus()) {
                for (long base : freeList(cpu)) {
                    purgeFragmentedBlock(blocks.get(base), true, purge);
                }
            }
            inPurge = true;
            freePurgedBlocks(purge);
            inPurge = false;
        }

        // ---------------------------------------------------------------- lazy purge

        void flushRange(long startPage, long endPage, String by) {
            effects.add(new Effect.Flush(addr(startPage), addr(endPage), by));
        }

        /**
         * mm/vmalloc.c (6.x): __purge_vmap_area_lazy(): decay the node pools (6.9+), then flush the
         * lazy areas' span together with [start, end) and give them back: to the allocating node's
         * pool (6.9+, up to MAX_VA_SIZE_PAGES, not on a full decay) or to the free tree.
         * Returns whether any area was purged.
         */
        boolean purgeLazy(long start, long end, boolean fullPoolDecay, String by) {
            boolean nodes = cfg.nrVmapNodes() > 1;
            if (nodes) {
                for (int node = 0; node < cfg.nrVmapNodes(); node++) {
                    decayVaPoolNode(node, fullPoolDecay);
                }
            }
            if (lazy.isEmpty()) {
                return false;
            }
            flushRange(Math.min(start, lazy.firstKey()), Math.max(end, lazy.lastEntry().getValue().end()), by);
            for (Va va : lazy.values()) { // purge_vmap_node(): each node's list in address order
                lazyNr -= va.pages();
                if (nodes && va.node() >= 0 && !fullPoolDecay && va.pages() <= KernelConfig.MAX_VA_SIZE_PAGES) {
                    int key = KernelState.poolKey(va.node(), va.pages());
                    pools = pools.plus(key, pools.getOrDefault(key, TreePVector.empty()).plus(0, va.start()));
                    areas = areas.plus(va.start(), va.with(Va.State.POOLED));
                } else {
                    areas = areas.minus(va.start());
                }
            }
            lazy = TreePMap.empty();
            return true;
        }

        /**
         * mm/vmalloc.c (6.12): decay_va_pool_node(): about a quarter of each pool, from its head, goes
         * back to the free tree. With fewer than four entries n_decay starts at 0 and the
         * {@code if (!--n_decay) break;} test never fires, so the whole pool goes (as in 6.12.117).
         */
        void decayVaPoolNode(int node, boolean fullDecay) {
            for (int i = 0; i < KernelConfig.MAX_VA_SIZE_PAGES; i++) {
                int key = KernelState.poolKey(node, i + 1);
                PVector<Long> pool = pools.get(key);
                if (pool == null || pool.isEmpty()) {
                    continue;
                }
                int nDecay = pool.size() >> 2;
                int take = fullDecay || nDecay == 0 ? pool.size() : nDecay;
                for (int j = 0; j < take; j++) {
                    areas = areas.minus(pool.get(j));
                }
                pools = take == pool.size() ? pools.minus(key) : pools.plus(key, pool.subList(take, pool.size()));
            }
        }

        /**
         * mm/vmalloc.c (4.8): __purge_vmap_area_lazy(&start, &end, sync, force_flush): a sync purge
         * first retires fragmented blocks; lazily freed areas leave the busy tree only after the flush.
         */
        void purgeLazy48(boolean sync, boolean forceFlush, long start, long end, String by) {
            inPurge = true;
            if (sync) {
                purgeFragmentedBlocksAllCpus();
                inPurge = true;
            }
            long s = start;
            long e = end;
            for (Va va : lazy.values()) {
                s = Math.min(s, va.start());
                e = Math.max(e, va.end());
            }
            boolean any = !lazy.isEmpty();
            if (any || forceFlush) {
                flushRange(s, e, by);
            }
            for (Va va : lazy.values()) {
                lazyNr -= va.pages();
                freeVmapArea48(va);
            }
            lazy = TreePMap.empty();
            inPurge = false;
        }

        /** mm/vmalloc.c (4.8): __free_vmap_area(): moves free_vmap_cache back below a freed area. */
        void freeVmapArea48(Va va) {
            if (cache.node() != null) {
                Va cached = areas.get(cache.node());
                if (cached == null || va.start() <= cached.start()) {
                    Long prev = areas.lowerKey(va.start()); // rb_prev()
                    cache = new KernelState.FreeVmapCache(prev, cache.holeSize(), cache.align());
                }
            }
            areas = areas.minus(va.start());
        }

        // ---------------------------------------------------------------- alloc_vmap_area()

        /**
         * mm/vmalloc.c: alloc_vmap_area(size, align, VMALLOC_START, VMALLOC_END): a node pool hit
         * (6.9+), else the lowest fit; on failure one purge and one retry; null is -EBUSY.
         */
        Va allocVmapArea(long pages, long align, Va.Kind kind, int cpu, long count) {
            if (origin.mode() == KernelState.Mode.TRACE_GUIDED) {
                return placeAsTold(pages, align, kind, count);
            }
            int node = -1;
            if (cfg.nrVmapNodes() > 1) { // node_alloc()
                node = cpu % cfg.nrVmapNodes();
                Va hit = nodePoolDelVa(node, pages, align);
                if (hit != null) {
                    Va busy = new Va(hit.start(), pages, Va.State.BUSY, kind, node, count);
                    areas = areas.plus(busy.start(), busy);
                    return busy;
                }
            }
            boolean purged = false;
            while (true) {
                long start = profile.freeVmapCacheAllocator() ? findFree48(pages, align) : findVmapLowestMatch(pages, align);
                if (start >= 0) {
                    Va va = new Va(start, pages, Va.State.BUSY, kind, node, count);
                    areas = areas.plus(start, va);
                    if (cache != null) {
                        cache = new KernelState.FreeVmapCache(start, cache.holeSize(), cache.align());
                    }
                    return va;
                }
                if (purged) {
                    effects.add(new Effect.Warn(profile == Profile.LINUX_6_12
                            ? "vmalloc_node_range for size " + addr(pages) + " failed: Address range restricted"
                            : "vmap allocation for size " + addr(pages) + " failed: use vmalloc=<size> to increase size"));
                    return null;
                }
                purged = true;
                reclaimAndPurge();
            }
        }

        /** The overflow path: reclaim_and_purge_vmap_areas() (6.9+) / purge_vmap_area_lazy(). */
        void reclaimAndPurge() {
            if (profile == Profile.LINUX_4_8) {
                purgeLazy48(true, false, Long.MAX_VALUE, 0, "purge_vmap_area_lazy");
                return;
            }
            purgeFragmentedBlocksAllCpus();
            purgeLazy(Long.MAX_VALUE, 0, profile == Profile.LINUX_6_12,
                    profile == Profile.LINUX_6_12 ? "reclaim_and_purge_vmap_areas" : "purge_vmap_area_lazy");
        }

        /** mm/vmalloc.c (6.9+): node_pool_del_va(): the pool's head if aligned, else rotate it to the tail. */
        Va nodePoolDelVa(int node, long pages, long align) {
            if (pages > KernelConfig.MAX_VA_SIZE_PAGES) {
                return null;
            }
            int key = KernelState.poolKey(node, pages);
            PVector<Long> pool = pools.get(key);
            if (pool == null || pool.isEmpty()) {
                return null;
            }
            long head = pool.get(0);
            if (head % align == 0) {
                pools = pool.size() == 1 ? pools.minus(key) : pools.plus(key, pool.minus(0));
                return areas.get(head);
            }
            pools = pools.plus(key, pool.minus(0).plus(head)); // list_move_tail()
            return null;
        }

        /**
         * mm/vmalloc.c: find_vmap_lowest_match() + va_alloc(). With align > PAGE_SIZE only free ranges
         * of at least size + align - 1 bytes are candidates (adjust_search_size). The free range that
         * reaches below VMALLOC_START or above VMALLOC_END is larger than its part in the window, so
         * it always passes that size test. The kernel's descent can also accept a smaller, luckily
         * aligned range lying on its path; which ones depends on the rbtree's shape, which the model
         * does not reproduce: it takes the lowest candidate.
         */
        long findVmapLowestMatch(long pages, long align) {
            boolean adjust = align > 1 || has(Mutant.ALIGN_SEARCH_NOT_LOWEST);
            long length = adjust ? pages + align : pages; // size + align - 1 bytes, in whole pages
            long winStart = cfg.windowStartPage();
            long winEnd = cfg.windowEndPage();
            long gapStart = winStart;
            for (Va va : areas.tailMap(winStart, true).values()) {
                long found = tryGap(gapStart, va.start(), pages, align, length, gapStart == winStart, false);
                if (found >= 0) {
                    return found;
                }
                gapStart = Math.max(gapStart, va.end());
            }
            return tryGap(gapStart, winEnd, pages, align, length, gapStart == winStart, true);
        }

        /** is_within_this_va() on one free range, and va_alloc()'s "va_end <= vend" check. */
        long tryGap(long start, long end, long pages, long align, long length, boolean reachesBelow, boolean reachesAbove) {
            if (end <= start && !reachesAbove) {
                return -1;
            }
            boolean candidate = reachesBelow || reachesAbove || end - start >= length;
            if (!candidate) {
                return -1;
            }
            long nva = alignUp(start, align);
            // for the range reaching past VMALLOC_END, a miss here is va_alloc()'s failure, not a skip
            return nva + pages <= end ? nva : -1;
        }

        static long alignUp(long page, long align) {
            return (page + align - 1) / align * align;
        }

        /**
         * mm/vmalloc.c (v4.4..v5.1): alloc_vmap_area()'s walk of the busy list, starting after
         * free_vmap_cache unless the request is more permissive than the cached one.
         */
        long findFree48(long pages, long align) {
            long vstart = cfg.windowStartPage();
            long vend = cfg.windowEndPage();
            Long node = cache.node();
            long hole = cache.holeSize();
            if (node == null || pages < hole || align < cache.align() || !areas.containsKey(node)) {
                node = null;
                hole = 0;
            }
            long addr;
            Va first;
            if (node != null) {
                first = areas.get(node);
                addr = alignUp(first.end(), align);
            } else {
                addr = alignUp(vstart, align);
                first = null;
                for (Va va : areas.tailMap(areas.floorKey(addr) == null ? addr : areas.floorKey(addr), true).values()) {
                    if (va.end() >= addr) { // the lowest area with va_end >= addr
                        first = va;
                        break;
                    }
                }
            }
            if (first != null) {
                while (addr + pages > first.start() && addr + pages <= vend) {
                    if (addr + hole < first.start()) {
                        hole = first.start() - addr;
                    }
                    addr = alignUp(first.end(), align);
                    Map.Entry<Long, Va> next = areas.higherEntry(first.start());
                    if (next == null) {
                        break;
                    }
                    first = next.getValue();
                }
            }
            cache = new KernelState.FreeVmapCache(node, hole, align);
            return addr + pages > vend ? -1 : addr;
        }

        /** TRACE_GUIDED: the trace says where the kernel put the area; check that it could have. */
        Va placeAsTold(long pages, long align, Va.Kind kind, long count) {
            long start = placement == null ? -1 : placement.place(kind, pages, align);
            if (start < 0) {
                return null;
            }
            if (start % align != 0) {
                throw new PlacementRejected("placement-aligned", (kind == Va.Kind.BLOCK ? "new vmap block" : "area")
                        + " at 0x" + Long.toHexString(addr(start)) + " is not aligned to " + addr(align) + " bytes");
            }
            if (start < cfg.windowStartPage() || start + pages > cfg.windowEndPage()) {
                throw new PlacementRejected("placement-in-range", "area at 0x" + Long.toHexString(addr(start))
                        + " of " + pages + " pages leaves VMALLOC_START..VMALLOC_END");
            }
            Map.Entry<Long, Va> e = areas.lowerEntry(start + pages);
            while (e != null && e.getValue().end() > start) {
                Va other = e.getValue();
                switch (other.state()) {
                    case BUSY -> throw new PlacementRejected("placement-disjoint", "area at 0x"
                            + Long.toHexString(addr(start)) + " of " + pages + " pages overlaps the live "
                            + (other.kind() == Va.Kind.BLOCK ? "vmap block" : "area") + " at 0x"
                            + Long.toHexString(addr(other.start())));
                    case LAZY -> throw new PlacementRejected("placement-not-lazy", "area at 0x"
                            + Long.toHexString(addr(start)) + " reuses the lazily freed area at 0x"
                            + Long.toHexString(addr(other.start())) + " before any flush purged it");
                    case POOLED -> {
                        areas = areas.minus(other.start());
                        for (Map.Entry<Integer, PVector<Long>> p : List.copyOf(pools.entrySet())) {
                            if (p.getValue().contains(other.start())) {
                                pools = pools.plus(p.getKey(), p.getValue().minus(Long.valueOf(other.start())));
                            }
                        }
                    }
                }
                e = areas.lowerEntry(other.start());
            }
            Va va = new Va(start, pages, Va.State.BUSY, kind, -1, count);
            areas = areas.plus(start, va);
            return va;
        }
    }
}
