// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The exported calls: vm_map_ram(), vm_unmap_ram() and vm_unmap_aliases() (mm/vmalloc.c). */
final class VmMapRam extends VmapBlocks {

    VmMapRam(KernelState s, Vmalloc.Placement placement) {
        super(s, placement);
    }

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
        if (cfg.bitsPerLong() == 32 && count > (KernelConfig.MAX_COUNT >>> cfg.pageShift())) {
            // size = (unsigned long)count << PAGE_SHIFT wraps on a 32-bit kernel, even after the 2016 fix
            return new Outcome.Rejected("map-count-fits", "vm_map_ram(count=" + count + ") on a 32-bit kernel: "
                    + "count << PAGE_SHIFT does not fit an unsigned long, the kernel would map "
                    + ((count << cfg.pageShift()) & KernelConfig.MAX_COUNT) + " bytes");
        }
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
            if (profile.zeroCountReturnsNull()) {
                return new Outcome.Null("alloc_vmap_area(): size 0 is -EINVAL");
            }
            throw new KernelCrash("kernel BUG at mm/vmalloc.c: alloc_vmap_area(): BUG_ON(!size)");
        }
        Va va = allocVmapArea(pages, 1, Va.Kind.RAM, c.cpu(), count);
        return va == null ? new Outcome.Null("alloc_vmap_area() found no room after purging")
                : new Outcome.Mapped(addr(va.start()));
    }

    /**
     * Another user's vm_map_ram() (TRACE_GUIDED): {@link #placement} says what it returned. A small one
     * took the next free pages of a known block (vb_alloc()'s bump allocation: offset VMAP_BBMAP_BITS -
     * vb->free), or offset 0 of a new block (new_vmap_block()); one inside a block the trace never saw
     * made came from a block older than the trace and changes nothing the model knows.
     */
    Outcome foreignMap(Call.Map c) {
        Outcome bad = checkCall(c.cpu(), c.count());
        if (bad != null) {
            return bad;
        }
        long told = placement == null ? -1 : placement.place(Va.Kind.RAM, c.count(), 1);
        if (told < 0 || c.count() == 0) {
            return new Outcome.Null("another user's vm_map_ram() returned NULL");
        }
        long count = c.count();
        if (count > cfg.vmapMaxAlloc()) {
            Va va = allocVmapArea(count, 1, Va.Kind.RAM, c.cpu(), count); // placed where told (told >= 0)
            return new Outcome.Mapped(addr(va.start()));
        }
        long base = told - Math.floorMod(told, (long) bits);
        int order = KernelConfig.getOrder(count);
        int need = 1 << order;
        VmapBlock vb = blocks.get(base);
        if (vb == null) {
            Va there = areas.get(base);
            if (told != base) {
                Map.Entry<Long, Long> free = released.floorEntry(base);
                if (there != null && there.state() != Va.State.BUSY || free != null && free.getValue() > base) {
                    // not a block made before the trace began: the model knows that area lazy, pooled or free
                    return new Outcome.Rejected("block-offset", "another user's vm_map_ram(count=" + count
                            + ") returned 0x" + Long.toHexString(addr(told)) + ", page offset " + (told - base)
                            + " of a vmap block at 0x" + Long.toHexString(addr(base)) + " that no call has made (the area "
                            + "there is " + (there != null ? there.state().toString().toLowerCase() : "free") + ")");
                }
                return new Outcome.Done(); // a block made before the trace began
            }
            if (there != null && there.state() == Va.State.BUSY) {
                return new Outcome.Done(); // its base in another user's busy range: that range is the older block
            }
            long page = newVmapBlock(order, c.cpu(), count);
            return page < 0 ? new Outcome.Null("no vmap block could be allocated") : new Outcome.Mapped(addr(page));
        }
        int offset = (int) (told - base);
        if (offset != bits - vb.free() || vb.free() < need) {
            return new Outcome.Rejected("block-offset", "another user's vm_map_ram(count=" + count + ") returned 0x"
                    + Long.toHexString(addr(told)) + ", page offset " + offset + " of block 0x" + Long.toHexString(addr(base))
                    + ", whose next free page is " + (bits - vb.free()) + " with " + vb.free()
                    + " free (vb_alloc() hands out a block's pages in order)");
        }
        VmapBlock after = vb.withFree(vb.free() - need).withLive(vb.live().plus(offset, count));
        putBlockLive(after, offset); // Step.touched() lists the new live entry, as for vb_alloc()
        if (after.free() == 0) {
            freeLists = freeLists.plus(vb.cpu(), freeList(vb.cpu()).minus(Long.valueOf(base)));
        }
        return new Outcome.Mapped(addr(told));
    }

    /** Another user's vm_unmap_ram() (TRACE_GUIDED): of a mapping the model knows, as vm_unmap_ram(); else nothing. */
    Outcome foreignUnmap(Call.Unmap c) {
        Outcome bad = checkCall(c.cpu(), c.count());
        if (bad != null) {
            return bad;
        }
        long page = c.addr() >>> cfg.pageShift();
        if (c.count() <= cfg.vmapMaxAlloc()) {
            return blocks.containsKey(page - Math.floorMod(page, (long) bits)) ? vmUnmapRam(c) : new Outcome.Done();
        }
        Map.Entry<Long, Va> e = areas.floorEntry(page);
        return e != null && e.getValue().end() > page ? vmUnmapRam(c) : new Outcome.Done();
    }

    Outcome checkCpu(int cpu) {
        return cfg.isOnline(cpu) ? null
                : new Outcome.Rejected("bad-cpu", "CPU " + cpu + " is not online (online: " + cfg.onlineCpus() + ")");
    }

    Outcome checkCall(int cpu, long count) {
        Outcome bad = checkCpu(cpu);
        if (bad != null) {
            return bad;
        }
        if (count < 0 || count > KernelConfig.MAX_COUNT) {
            return new Outcome.Rejected("bad-count", "count " + count + " does not fit unsigned int");
        }
        return null;
    }

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

    /** vm_unmap_ram() of a large area: find_unlink_vmap_area() (6.12) / find_vmap_area(), then free_unmap_vmap_area(). */
    Outcome freeLargeArea(long page, long count) {
        Map.Entry<Long, Va> e = areas.floorEntry(page);
        Va va = e == null || e.getValue().end() <= page ? null : e.getValue();
        boolean findable = va != null && (va.state() == Va.State.BUSY
                || (profile == Profile.LINUX_4_8 && va.state() == Va.State.LAZY));
        if (!findable) {
            if (profile.unknownLargeUnmapWarns()) {
                if (!warnedOnce) { // WARN_ON_ONCE(): reported once per boot
                    effects.add(new Effect.Warn("vm_unmap_ram(): WARN_ON_ONCE(!va) for 0x" + Long.toHexString(addr(page))));
                    warnedOnce = true;
                }
                return new Outcome.Done();
            }
            throw new KernelCrash("kernel BUG at mm/vmalloc.c: vm_unmap_ram(0x" + Long.toHexString(addr(page))
                    + ", " + count + "): BUG_ON(!va), no area holds the address");
        }
        if (va.kind() != Va.Kind.RAM || va.state() != Va.State.BUSY || va.start() != page || va.count() != count) {
            return new Outcome.Rejected("unmap-live-exact", "vm_unmap_ram(0x" + Long.toHexString(addr(page)) + ", "
                    + count + "): " + describe(va, page) + " (the kernel would free the wrong area)");
        }
        freeVmapAreaNoflush(va); // unlinked from the busy areas: its entry becomes the lazy one
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

    /** mm/vmalloc.c: vm_unmap_aliases() -> _vm_unmap_aliases(ULONG_MAX, 0, 0). */
    Outcome vmUnmapAliases(Call.Aliases c) {
        Outcome bad = checkCpu(c.cpu());
        if (bad != null) {
            return bad;
        }
        long[] range = {Long.MAX_VALUE, 0};
        if (profile == Profile.LINUX_4_8) {
            purgeLazy48(true, aliasesWalk(range), range[0], range[1], "vm_unmap_aliases");
            return new Outcome.Done();
        }
        boolean flush = aliasesWalk(range);
        if (!purgeLazy(range[0], range[1], false, "_vm_unmap_aliases") && flush) {
            flushRange(range[0], range[1], "_vm_unmap_aliases");
        }
        return new Outcome.Done();
    }

    /**
     * TRACE_GUIDED: what another task's _vm_unmap_aliases() has done by the time a call on another CPU
     * can see it, before its purge: the walk of the blocks, with the fragmented ones freed to the lazy
     * list. Its __purge_vmap_area_lazy() (the pools' decay, the flush, the lazy areas to the pools and
     * the tree) runs under vmap_purge_lock after that, and the trace shows it as the flush that
     * follows; the replay applies it there ({@link Vmalloc#observePurge}).
     */
    void vmUnmapAliasesWalk() {
        aliasesWalk(new long[] {Long.MAX_VALUE, 0});
    }

    /**
     * The first half of _vm_unmap_aliases(): the walk of the blocks, which widens {@code range} over
     * their dirty ranges and frees the fragmented blocks (6.1 and later) to the lazy list. Returns
     * whether a dirty range was found.
     */
    private boolean aliasesWalk(long[] range) {
        boolean flush = false;
        if (profile.aliasesWalksAllBlocks()) {
            List<VmapBlock> purge = new ArrayList<>();
            for (VmapBlock vb : aliasesWalk612()) {
                flush |= aliasesVisit612(vb, purge, range);
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
            if (profile != Profile.LINUX_4_8) {
                purgeFragmentedBlocksAllCpus();
            }
        }
        return flush;
    }

    /**
     * The blocks 6.12's _vm_unmap_aliases() visits, in order: xa_for_each(&vbq->vmap_blocks) of each
     * possible CPU; with fc1e0d980037 reverted, each possible CPU's free list instead.
     */
    List<VmapBlock> aliasesWalk612() {
        List<VmapBlock> walk = new ArrayList<>();
        for (int cpu : cfg.possibleCpus()) {
            if (has(Mutant.STALE_TLB_FULL_BLOCK)) {
                for (long base : origin.freeList(cpu)) {
                    walk.add(blocks.get(base));
                }
            } else {
                for (VmapBlock vb : blocks.values()) {
                    if (Vmalloc.blockBucket(origin, vb.base()) == cpu) {
                        walk.add(vb);
                    }
                }
            }
        }
        return walk;
    }
}
