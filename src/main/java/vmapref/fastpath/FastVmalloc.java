// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import java.util.ArrayList;
import java.util.List;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;

/**
 * The concurrent fast path: mm/vmalloc.c's vm_map_ram(), vm_unmap_ram() and vm_unmap_aliases()
 * with the vmap block cache, mutable and shared by threads that each play a CPU, with the kernel's
 * locks: {@link #purgeLock} (vmap_purge_lock), each block's {@code vb->lock}, each CPU's
 * {@code vbq->lock}, and one lock for the area allocator ({@link Areas}); lock order
 * vmap_purge_lock, then vb->lock, then vbq->lock. RCU list walks read published snapshots
 * ({@link BlockQueue}, {@link XArray}); retired blocks are poisoned after a grace period
 * ({@link Rcu}), freed areas at once ({@link Area}). The page tables and TLBs are {@link Tlb}, which
 * checks the specification's rules in concurrent form. linux-6.12 by default; linux-6.1 where it
 * differs (one global xarray and no vb->cpu, no lockless pre-check, the aliases walk over the free
 * lists under RCU before vmap_purge_lock, no dirty-range reset).
 *
 * <p>Single-threaded, it computes exactly what {@code vmapref.kernel.Vmalloc.step} computes (the
 * same addresses, NULLs and effects in the same order): {@code FastPathAgreementTest} checks this.
 */
public final class FastVmalloc {
    final FastConfig cfg;
    /** vmap_purge_lock (a mutex). */
    final Object purgeLock = new Object();
    final Areas areas;
    final Tlb tlb;
    final Rcu rcu = new Rcu();
    /** per_cpu(vmap_block_queue, cpu), null for a CPU that is not possible. */
    private final BlockQueue[] vbq;
    /** 6.1's global vmap_blocks xarray. */
    private final XArray globalBlocks = new XArray();
    private final Probe probe;
    /** The effects of the calls, in order, when recorded (single-threaded use only). */
    private List<Effect> effects;
    /** vm_unmap_ram()'s WARN_ON_ONCE(!va) has fired. */
    private volatile boolean warnedOnce;

    public FastVmalloc(FastConfig cfg, Probe probe) {
        this.cfg = cfg;
        this.probe = probe;
        this.areas = new Areas(this);
        this.tlb = new Tlb(cfg);
        this.vbq = new BlockQueue[cfg.nrCpuIds];
        for (int cpu : cfg.possibleCpus) {
            vbq[cpu] = new BlockQueue(cpu);
        }
    }

    /** A kernel BUG or oops: the call does not return. */
    public static final class KernelBug extends RuntimeException {
        KernelBug(String text) {
            super(text, null, false, false);
        }
    }

    /** A call that breaks the caller's contract; nothing changed (the reference implementation's Rejected). */
    public static final class Refused extends RuntimeException {
        public final String rule;

        Refused(String rule, String message) {
            super(message, null, false, false);
            this.rule = rule;
        }
    }

    /** Records every effect from now on into {@code sink} (single-threaded use). */
    public void recordEffects(List<Effect> sink) {
        this.effects = sink;
    }

    // ------------------------------------------------------------------ the exported calls

    /** mm/vmalloc.c: vm_map_ram(pages, count, node) on {@code cpu}; 0 is NULL. */
    public long vmMapRam(int cpu, long count) {
        checkCall(cpu, count);
        if (cfg.bitsPerLong == 32 && count > (0xffff_ffffL >>> cfg.pageShift)) {
            throw new Refused("map-count-fits", "vm_map_ram(count=" + count + ") on a 32-bit kernel: count << PAGE_SHIFT "
                    + "does not fit an unsigned long");
        }
        Task t = new Task(cpu);
        step(t, "vm_map_ram", "count " + count);
        long page;
        if (count <= cfg.vmapMaxAlloc) {
            if (count == 0) {
                warn("vb_alloc(): WARN_ON(size == 0)");
                if (cfg.is612) {
                    return 0; // vb_alloc() returns ERR_PTR(-EINVAL)
                }
                throw new KernelBug("kernel BUG at mm/vmalloc.c: vmap_small_pages_range_noflush(): BUG_ON(addr >= end) "
                        + "after vb_alloc() returned NULL for vm_map_ram(count=0)");
            }
            page = vbAlloc(t, count);
        } else {
            Area va = areas.allocVmapArea(t, count, 1, false, count);
            page = va == null ? -1 : va.first;
        }
        if (page >= 0) {
            tlb.map(cfg.addr(page), count); // vmap_pages_range()
        }
        runPendingDrain(t);
        step(t, "vm_map_ram", page < 0 ? "returns NULL" : "returns 0x" + Long.toHexString(cfg.addr(page)));
        return page < 0 ? 0 : cfg.addr(page);
    }

    /** mm/vmalloc.c: vm_unmap_ram(mem, count) on {@code cpu}. */
    public void vmUnmapRam(int cpu, long addr, long count) {
        checkCall(cpu, count);
        if (addr == 0 || Long.compareUnsigned(addr, cfg.vmallocStart) < 0 || Long.compareUnsigned(addr, cfg.vmallocEnd) > 0
                || (addr & ((1L << cfg.pageShift) - 1)) != 0) {
            throw new KernelBug("kernel BUG at mm/vmalloc.c: vm_unmap_ram(0x" + Long.toHexString(addr)
                    + "): address is NULL, outside VMALLOC_START..VMALLOC_END or not page aligned");
        }
        Task t = new Task(cpu);
        step(t, "vm_unmap_ram", "0x" + Long.toHexString(addr) + ", count " + count);
        long page = addr >>> cfg.pageShift;
        int ticket = count <= cfg.vmapMaxAlloc ? vbFree(t, page, count) : freeLargeArea(t, page, count);
        if (ticket >= 0) {
            tlb.unmapReturned(ticket);
        }
        step(t, "vm_unmap_ram", "returns");
        runPendingDrain(t);
    }

    /** mm/vmalloc.c: vm_unmap_aliases() -> _vm_unmap_aliases(ULONG_MAX, 0, 0) on {@code cpu}. */
    public void vmUnmapAliases(int cpu) {
        checkCpu(cpu);
        Task t = new Task(cpu);
        long started = tlb.aliasesStart();
        step(t, "vm_unmap_aliases", "starts");
        if (cfg.is612) {
            unmapAliases612(t);
        } else {
            unmapAliases61(t);
        }
        tlb.aliasesReturned(started);
        step(t, "vm_unmap_aliases", "returns");
        runPendingDrain(t);
    }

    private void checkCpu(int cpu) {
        if (!cfg.isOnline(cpu)) {
            throw new Refused("bad-cpu", "CPU " + cpu + " is not online");
        }
    }

    private void checkCall(int cpu, long count) {
        checkCpu(cpu);
        if (count < 0 || count > 0xffff_ffffL) {
            throw new Refused("bad-count", "count " + count + " does not fit unsigned int");
        }
    }

    // ------------------------------------------------------------------ the block cache

    /** per_cpu(vmap_block_queue, cpu): fails on an index that is no possible CPU (UBSAN's array-index-out-of-bounds). */
    BlockQueue vbq(int cpu) {
        if (cpu < 0 || cpu >= vbq.length || vbq[cpu] == null) {
            throw new AssertionError("per_cpu(vmap_block_queue, " + (cpu == Block.UNSET_CPU ? "uninitialised vb->cpu" : cpu)
                    + "): index out of bounds");
        }
        return vbq[cpu];
    }

    /** addr_to_vb_xa() (6.4+): the xarray of CPU (block number % nr_cpu_ids), or the next possible one; 6.1's global one. */
    private XArray blocksOf(long basePage) {
        if (!cfg.perCpuIndex) {
            return globalBlocks;
        }
        int index = (int) ((basePage / cfg.bits) % cfg.nrCpuIds);
        return vbq(cfg.possible[index] ? index : cfg.nextPossible(index)).vmapBlocks;
    }

    /** mm/vmalloc.c: vb_alloc(): first fit over this CPU's free list under RCU, bump allocation under vb->lock. */
    private long vbAlloc(Task t, long count) {
        int order = KernelConfig.getOrder(count);
        int need = 1 << order;
        long page = -1;
        rcu.readLock();
        BlockQueue q = vbq(t.cpu); // raw_cpu_ptr(&vmap_block_queue)
        for (Block vb : q.free()) {
            int seen = vb.free; // READ_ONCE(vb->free) (6.5+)
            step(t, "vb_alloc", "READ_ONCE(vb->free) = " + seen + " of block 0x" + Long.toHexString(cfg.addr(vb.base)));
            if (cfg.is612 && seen < need) {
                continue;
            }
            synchronized (vb.lock) {
                step(t, "vb_alloc", "spin_lock(vb->lock) of block 0x" + Long.toHexString(cfg.addr(vb.base)));
                vb.live();
                if (vb.free < need && !cfg.unlockedFreeCheck) {
                    continue;
                }
                int pagesOff = cfg.bits - vb.free;
                if (pagesOff >= cfg.bits) { // vmap_block_vaddr(): BUG_ON(addr_to_vb_idx(addr) != addr_to_vb_idx(va_start))
                    throw new AssertionError("kernel BUG at vmap_block_vaddr(): vb_alloc() took page offset " + pagesOff
                            + " of block 0x" + Long.toHexString(cfg.addr(vb.base)) + ", past its end");
                }
                vb.free = vb.free - need; // WRITE_ONCE(vb->free, vb->free - (1UL << order))
                vb.liveCount[pagesOff] = count; // bitmap_set(vb->used_map, pages_off, (1UL << order))
                vb.usedPages += need;
                if (vb.free == 0) {
                    synchronized (q.lock) {
                        step(t, "vb_alloc", "spin_lock(vbq->lock) of CPU " + q.cpu + ": list_del_rcu full block");
                        q.del(vb);
                    }
                }
                vb.checkAccounting(cfg.bits);
                page = vb.base + pagesOff;
            }
            break;
        }
        rcu.readUnlock();
        return page >= 0 ? page : newVmapBlock(t, order, count);
    }

    /** mm/vmalloc.c: new_vmap_block(): a block-aligned area; its first 2^order pages go to the caller. */
    private long newVmapBlock(Task t, int order, long count) {
        Area va = areas.allocVmapArea(t, cfg.bits, cfg.bits, true, 0);
        if (va == null) {
            return -1;
        }
        Block vb = new Block(va, cfg.bits);
        vb.free = cfg.bits - (1 << order);
        vb.dirty = 0;
        vb.dirtyMin = cfg.bits;
        vb.dirtyMax = 0;
        vb.liveCount[0] = count;
        vb.usedPages = 1 << order;
        if (!cfg.publishBeforeInit) {
            vb.cpu = t.cpu; // vb->cpu = raw_smp_processor_id(), before the block is published (3e3de7947c75)
        }
        step(t, "new_vmap_block", "xa_insert block 0x" + Long.toHexString(cfg.addr(vb.base)));
        blocksOf(vb.base).insert(vb);
        if (cfg.publishBeforeInit) {
            step(t, "new_vmap_block", "vb->cpu = " + t.cpu + " (after xa_insert)");
            vb.cpu = t.cpu;
        }
        BlockQueue q = vbq(cfg.perCpuIndex ? vb.cpu : t.cpu);
        synchronized (q.lock) {
            step(t, "new_vmap_block", "spin_lock(vbq->lock) of CPU " + q.cpu + ": list_add_tail_rcu");
            q.addTail(vb);
        }
        effect(new Effect.BlockCreated(t.cpu, cfg.addr(vb.base)));
        return vb.base;
    }

    /**
     * mm/vmalloc.c: vb_free(): clear the sub-allocation's bits (6.3+, under vb->lock), clear its
     * PTEs, then count its pages dirty under vb->lock; a block whose every page is dirty is freed,
     * after vb->lock is dropped and without vmap_purge_lock. Returns the unmap's TLB ticket.
     */
    private int vbFree(Task t, long page, long count) {
        long base = page - Math.floorMod(page, (long) cfg.bits);
        int offset = (int) (page - base);
        Block vb = blocksOf(base).load(base); // xa_load()
        if (vb == null) {
            throw new KernelBug("BUG: kernel NULL pointer dereference in vb_free(): no vmap block holds 0x"
                    + Long.toHexString(cfg.addr(page)));
        }
        int need = 1 << KernelConfig.getOrder(count);
        if (cfg.is612) {
            synchronized (vb.lock) {
                step(t, "vb_free", "spin_lock(vb->lock) of block 0x" + Long.toHexString(cfg.addr(base)) + ": bitmap_clear");
                vb.live();
                checkLive(vb, page, offset, count);
                vb.liveCount[offset] = 0; // bitmap_clear(vb->used_map, offset, (1UL << order))
                vb.usedPages -= need;
                vb.unmapping += need;
                vb.checkAccounting(cfg.bits);
            }
        } else {
            vb.live();
            checkLive(vb, page, offset, count); // the caller's own mapping: nobody else changes it
        }
        int ticket = tlb.unmap(cfg.addr(page), count); // vunmap_range_noflush()
        step(t, "vb_free", "vunmap_range_noflush: PTEs of 0x" + Long.toHexString(cfg.addr(page)) + " cleared, no flush");
        boolean retire;
        synchronized (vb.lock) {
            step(t, "vb_free", "spin_lock(vb->lock): dirty += " + need);
            vb.live();
            vb.dirtyMin = Math.min(vb.dirtyMin, offset);
            vb.dirtyMax = Math.max(vb.dirtyMax, offset + need);
            if (cfg.is612) {
                vb.unmapping -= need;
            } else {
                vb.liveCount[offset] = 0; // 6.1 has no used_map: the page count is all there is
                vb.usedPages -= need;
            }
            vb.dirty = vb.dirty + need; // WRITE_ONCE(vb->dirty, vb->dirty + (1UL << order))
            retire = vb.dirty == cfg.bits;
            if (retire && vb.free != 0) {
                throw new KernelBug("kernel BUG at mm/vmalloc.c: vb_free(): BUG_ON(vb->free)");
            }
            vb.checkAccounting(cfg.bits);
        }
        if (retire) {
            freeVmapBlock(t, vb, "vb_free");
        }
        return ticket;
    }

    /** The caller's contract, checked as the reference implementation checks it (the kernel does not). */
    private void checkLive(Block vb, long page, int offset, long count) {
        long mapped = vb.liveCount[offset];
        if (mapped != count) {
            throw new Refused("unmap-live-exact", "vm_unmap_ram(0x" + Long.toHexString(cfg.addr(page)) + ", " + count
                    + "): " + (mapped == 0 ? "no live mapping starts there" : "it was mapped with count " + mapped)
                    + " (the kernel would corrupt the block's accounting)");
        }
    }

    /** mm/vmalloc.c: free_vmap_block(): erase from the xarray, unlink the area, the whole block goes lazy. */
    private void freeVmapBlock(Task t, Block vb, String by) {
        step(t, "free_vmap_block", "xa_erase block 0x" + Long.toHexString(cfg.addr(vb.base)) + " (no vmap_purge_lock)");
        Block erased = blocksOf(vb.base).erase(vb.base);
        if (erased != vb) {
            throw new AssertionError("kernel BUG at free_vmap_block(): xa_erase() found no such block 0x"
                    + Long.toHexString(cfg.addr(vb.base)));
        }
        areas.unlinkBusy(vb.va);
        effect(new Effect.BlockRetired(vb.cpu, cfg.addr(vb.base), by));
        areas.freeVmapAreaNoflush(t, vb.va);
        rcu.kfreeRcu(vb);
    }

    /**
     * mm/vmalloc.c: purge_fragmented_block(), vb->lock held: a block with no live pages is retired,
     * unless (6.5+) it still has VMAP_PURGE_THRESHOLD free pages and the purge is not forced. Its
     * free-list entry goes under the owner's vbq->lock ({@code lockOf} is the queue whose lock the
     * caller passes: the owner's, or under the wrong-vbq-lock mutant the xarray's).
     */
    private boolean purgeFragmentedBlock(Task t, Block vb, List<Block> purge, boolean force, BlockQueue lockOf) {
        BlockQueue owner = cfg.perCpuIndex ? vbq(vb.cpu) : lockOf; // &per_cpu(vmap_block_queue, vb->cpu)
        int free = vb.free;
        int dirty = vb.dirty;
        if (free + dirty != cfg.bits || dirty == cfg.bits) {
            return false;
        }
        if (cfg.is612 && !(force || free < cfg.purgeThreshold)) {
            return false;
        }
        vb.free = 0; // WRITE_ONCE(vb->free, 0): no more allocations
        vb.dirty = cfg.bits; // WRITE_ONCE(vb->dirty, VMAP_BBMAP_BITS): no second purge
        vb.dirtyMin = 0;
        vb.dirtyMax = cfg.bits;
        BlockQueue locked = cfg.wrongVbqLock ? lockOf : owner;
        synchronized (locked.lock) {
            step(t, "purge_fragmented_block", "spin_lock(vbq->lock) of CPU " + locked.cpu + ": list_del_rcu block 0x"
                    + Long.toHexString(cfg.addr(vb.base)) + " from CPU " + owner.cpu + "'s list");
            owner.del(vb);
        }
        purge.add(vb);
        return true;
    }

    /** mm/vmalloc.c: free_purged_blocks(). */
    private void freePurgedBlocks(Task t, List<Block> purge) {
        for (Block vb : purge) {
            freeVmapBlock(t, vb, "purge_fragmented_block");
        }
    }

    /** mm/vmalloc.c: purge_fragmented_blocks(cpu): forced, over one CPU's free list under RCU. */
    private void purgeFragmentedBlocks(Task t, int cpu) {
        List<Block> purge = new ArrayList<>();
        BlockQueue q = vbq(cpu);
        rcu.readLock();
        for (Block vb : q.free()) {
            int free = vb.free; // READ_ONCE
            int dirty = vb.dirty;
            if (free + dirty != cfg.bits || dirty == cfg.bits) {
                continue;
            }
            synchronized (vb.lock) {
                step(t, "purge_fragmented_blocks", "spin_lock(vb->lock) of block 0x" + Long.toHexString(cfg.addr(vb.base)));
                vb.live();
                purgeFragmentedBlock(t, vb, purge, true, q);
                vb.checkAccounting(cfg.bits);
            }
        }
        rcu.readUnlock();
        freePurgedBlocks(t, purge);
    }

    /** mm/vmalloc.c: purge_fragmented_blocks_allcpus(). */
    private void purgeFragmentedBlocksAllCpus(Task t) {
        for (int cpu : cfg.possibleCpus) {
            purgeFragmentedBlocks(t, cpu);
        }
    }

    /** The allocation-failure purge: reclaim_and_purge_vmap_areas() (6.9+) / purge_vmap_area_lazy(). */
    void reclaimAndPurge(Task t) {
        synchronized (purgeLock) {
            step(t, cfg.is612 ? "reclaim_and_purge_vmap_areas" : "purge_vmap_area_lazy", "mutex_lock(vmap_purge_lock)");
            purgeFragmentedBlocksAllCpus(t);
            areas.purgeLazy(t, Long.MAX_VALUE, 0, cfg.is612,
                    cfg.is612 ? "reclaim_and_purge_vmap_areas" : "purge_vmap_area_lazy");
        }
    }

    /** drain_vmap_area_work(), run by the task that scheduled it when its call ends; 6.1 repeats while over the limit. */
    private void runPendingDrain(Task t) {
        if (!t.drainPending) {
            return;
        }
        t.drainPending = false;
        synchronized (purgeLock) {
            step(t, "drain_vmap_area_work", "mutex_lock(vmap_purge_lock)");
            do {
                areas.purgeLazy(t, Long.MAX_VALUE, 0, false, "drain_vmap_area_work");
            } while (!cfg.is612 && areas.overLazyLimit());
        }
    }

    /**
     * mm/vmalloc.c (6.12): _vm_unmap_aliases(ULONG_MAX, 0, 0): under vmap_purge_lock, every block of
     * every CPU's xarray: purge the fragmented ones, collect and reset the dirty ranges of the rest;
     * then free the purged blocks, purge the lazy areas and flush.
     */
    private void unmapAliases612(Task t) {
        long start = Long.MAX_VALUE;
        long end = 0;
        boolean flush = false;
        synchronized (purgeLock) {
            step(t, "_vm_unmap_aliases", "mutex_lock(vmap_purge_lock)");
            List<Block> purge = new ArrayList<>();
            for (int cpu : cfg.possibleCpus) {
                BlockQueue q = vbq(cpu);
                rcu.readLock();
                step(t, "_vm_unmap_aliases", "rcu_read_lock; xa_for_each over CPU " + cpu + "'s xarray");
                for (Block vb = q.vmapBlocks.next(-1); vb != null; vb = q.vmapBlocks.next(vb.base)) { // xa_for_each()
                    synchronized (vb.lock) {
                        step(t, "_vm_unmap_aliases", "spin_lock(vb->lock) of block 0x" + Long.toHexString(cfg.addr(vb.base))
                                + " in CPU " + cpu + "'s xarray");
                        vb.live();
                        if (!purgeFragmentedBlock(t, vb, purge, false, q) && vb.dirtyMax != 0
                                && (cfg.aliasesUseAfterFree || vb.dirty != cfg.bits)) {
                            long vaStart = vb.va.start(); // vb->va->va_start
                            start = Math.min(start, vaStart + vb.dirtyMin);
                            end = Math.max(end, vaStart + vb.dirtyMax);
                            vb.dirtyMin = cfg.bits; // prevent that this is flushed again
                            vb.dirtyMax = 0;
                            flush = true;
                        }
                        vb.checkAccounting(cfg.bits);
                    }
                }
                rcu.readUnlock();
            }
            freePurgedBlocks(t, purge);
            if (!areas.purgeLazy(t, start, end, false, "_vm_unmap_aliases") && flush) {
                flushRange(t, start, end, "_vm_unmap_aliases");
            }
            step(t, "_vm_unmap_aliases", "mutex_unlock(vmap_purge_lock)");
        }
    }

    /**
     * mm/vmalloc.c (6.1): _vm_unmap_aliases(ULONG_MAX, 0, 0): walk each CPU's free list under RCU
     * (not the full blocks) collecting dirty ranges, then under vmap_purge_lock purge the fragmented
     * blocks and the lazy areas and flush.
     */
    private void unmapAliases61(Task t) {
        long start = Long.MAX_VALUE;
        long end = 0;
        boolean flush = false;
        for (int cpu : cfg.possibleCpus) {
            BlockQueue q = vbq(cpu);
            rcu.readLock();
            for (Block vb : q.free()) {
                synchronized (vb.lock) {
                    step(t, "_vm_unmap_aliases", "spin_lock(vb->lock) of block 0x" + Long.toHexString(cfg.addr(vb.base))
                            + " on CPU " + cpu + "'s free list");
                    vb.live();
                    if (vb.dirty != 0 && (cfg.aliasesUseAfterFree || vb.dirty != cfg.bits)) {
                        long vaStart = vb.va.start(); // vb->va->va_start
                        start = Math.min(start, vaStart + vb.dirtyMin);
                        end = Math.max(end, vaStart + vb.dirtyMax);
                        flush = true;
                    }
                }
            }
            rcu.readUnlock();
        }
        synchronized (purgeLock) {
            step(t, "_vm_unmap_aliases", "mutex_lock(vmap_purge_lock)");
            purgeFragmentedBlocksAllCpus(t);
            if (!areas.purgeLazy(t, start, end, false, "_vm_unmap_aliases") && flush) {
                flushRange(t, start, end, "_vm_unmap_aliases");
            }
        }
    }

    /** vm_unmap_ram() of a large area: find_unlink_vmap_area(), then free_unmap_vmap_area(). Returns the TLB ticket, -1 if none. */
    private int freeLargeArea(Task t, long page, long count) {
        Area va = areas.findBusy(page);
        if (va == null) {
            if (cfg.is612) {
                if (!warnedOnce) { // WARN_ON_ONCE(): reported once per boot
                    warnedOnce = true;
                    warn("vm_unmap_ram(): WARN_ON_ONCE(!va) for 0x" + Long.toHexString(cfg.addr(page)));
                }
                return -1;
            }
            throw new KernelBug("kernel BUG at mm/vmalloc.c: vm_unmap_ram(0x" + Long.toHexString(cfg.addr(page)) + ", "
                    + count + "): BUG_ON(!va), no area holds the address");
        }
        if (va.block || va.first != page || va.count != count) {
            throw new Refused("unmap-live-exact", "vm_unmap_ram(0x" + Long.toHexString(cfg.addr(page)) + ", " + count
                    + "): no live large mapping of that address and count (the kernel would free the wrong area)");
        }
        areas.unlinkBusy(va);
        int ticket = tlb.unmap(cfg.addr(page), count); // vunmap_range_noflush()
        step(t, "free_unmap_vmap_area", "PTEs of 0x" + Long.toHexString(cfg.addr(page)) + " cleared, no flush");
        areas.freeVmapAreaNoflush(t, va);
        return ticket;
    }

    // ------------------------------------------------------------------ effects and the checks

    /** flush_tlb_kernel_range() of pages [startPage, endPage). */
    void flushRange(Task t, long startPage, long endPage, String by) {
        step(t, by, "flush_tlb_kernel_range(0x" + Long.toHexString(cfg.addr(startPage)) + ", 0x"
                + Long.toHexString(cfg.addr(endPage)) + ")");
        tlb.flush(cfg.addr(startPage), cfg.addr(endPage));
        effect(new Effect.Flush(cfg.addr(startPage), cfg.addr(endPage), by));
    }

    void warn(String text) {
        effect(new Effect.Warn(text));
    }

    private void effect(Effect e) {
        if (effects != null) {
            effects.add(e);
        }
    }

    void step(Task t, String function, String what) {
        if (probe != null) {
            probe.step(t.name, function, what);
        }
    }

    /**
     * The checks when no call runs: every block's accounting; each CPU's free list holds exactly its
     * live blocks with free pages (vb->cpu is that CPU, none freed); every block is in the xarray its
     * address hashes to.
     */
    public void checkQuiescent() {
        for (int cpu : cfg.possibleCpus) {
            for (Block vb : vbq[cpu].free()) {
                vb.live();
                if (vb.free <= 0) {
                    throw new AssertionError("list corruption: block 0x" + Long.toHexString(cfg.addr(vb.base))
                            + " has no free pages but is on CPU " + cpu + "'s free list");
                }
                if (blocksOf(vb.base).load(vb.base) != vb) {
                    throw new AssertionError("list corruption: block 0x" + Long.toHexString(cfg.addr(vb.base))
                            + " is on CPU " + cpu + "'s free list but in no xarray (already freed)");
                }
            }
        }
        List<Block> all = new ArrayList<>();
        if (cfg.perCpuIndex) {
            for (int cpu : cfg.possibleCpus) {
                for (Block vb : vbq[cpu].vmapBlocks.all()) {
                    all.add(vb);
                }
            }
        } else {
            for (Block vb : globalBlocks.all()) {
                all.add(vb);
            }
        }
        for (Block vb : all) {
            synchronized (vb.lock) {
                vb.checkAccounting(cfg.bits);
                vb.checkUsedMap(cfg.bits);
            }
            if (blocksOf(vb.base).load(vb.base) != vb) {
                throw new AssertionError("block 0x" + Long.toHexString(cfg.addr(vb.base)) + " is in the wrong xarray");
            }
            if (vb.free > 0) {
                boolean found = false;
                for (int cpu : cfg.possibleCpus) {
                    if (vbq[cpu].contains(vb)) {
                        found = !cfg.perCpuIndex || cpu == vb.cpu;
                    }
                }
                if (!found) {
                    throw new AssertionError("list corruption: block 0x" + Long.toHexString(cfg.addr(vb.base)) + " has "
                            + vb.free + " free pages but is not on its CPU's free list (lost list update)");
                }
            }
        }
    }
}
