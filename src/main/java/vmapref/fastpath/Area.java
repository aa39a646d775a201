// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

/**
 * struct vmap_area (mm/vmalloc.c), in pages. Mutable, as in the kernel: it moves from the busy
 * tree to the lazy list, then to a node pool or back into the free tree. Once it is given back to
 * the free tree the kernel's struct is merged away or reused as a free node
 * (merge_or_add_vmap_area(), kmem_cache_free()): the model poisons it, so a late reader (a block
 * still pointing at it) fails an assertion instead of reading a free range.
 */
final class Area {
    static final int BUSY = 0;
    static final int LAZY = 1;
    static final int POOLED = 2;

    /** VMAP_RAM of a large vm_map_ram() area, VMAP_RAM|VMAP_BLOCK of a vmap block. */
    boolean block;
    /** va_start, in pages: the allocator's own bookkeeping reads it directly (the range lives on in the tree). */
    long first;
    long pages;
    /** The vmap node encoded in va->flags by node_alloc(), or -1. */
    int node;
    /** The vm_map_ram() count of a large mapping, 0 for a block. */
    long count;
    int state;
    private boolean poisoned;

    Area(long start, long pages, boolean block, int node, long count) {
        this.first = start;
        this.pages = pages;
        this.block = block;
        this.node = node;
        this.count = count;
        this.state = BUSY;
    }

    /** va->va_start read through a pointer the block cache holds (vb->va): fails once the struct is freed. */
    long start() {
        live();
        return first;
    }

    long end() {
        return first + pages;
    }

    /** A pooled area handed out again (node_alloc()): the struct is reused for the new size. */
    void reuse(long newPages, boolean isBlock, long newCount) {
        live();
        block = isBlock;
        pages = newPages;
        count = newCount;
        state = BUSY;
    }

    /** Given back to the free tree: the kernel's struct is gone. */
    void poison() {
        poisoned = true;
    }

    void live() {
        if (poisoned) {
            throw new AssertionError("use after free: vmap_area at page 0x" + Long.toHexString(first)
                    + " was given back to the free tree (merge_or_add_vmap_area) and is read again");
        }
    }
}
