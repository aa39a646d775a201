// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

/**
 * One struct vmap_area that is not free: on a busy tree, on a lazy (purge) list, or parked in a
 * node pool (6.9+). Counted in pages.
 *
 * @param node the vmap node id encoded in va->flags by node_alloc(), or -1 for none
 * @param count the vm_map_ram() count for a large mapping (it may differ from pages under the
 *              size-int-overflow mutant), 0 otherwise
 */
public record Va(long start, long pages, State state, Kind kind, int node, long count) {

    /** Where the area is: mm/vmalloc.c keeps it on exactly one of these lists at a time. */
    public enum State { BUSY, LAZY, POOLED }

    /** VMAP_RAM area of a large vm_map_ram(), VMAP_RAM|VMAP_BLOCK of a vmap block, or another kernel user's area. */
    public enum Kind { RAM, BLOCK, OTHER }

    public long end() {
        return start + pages;
    }

    public Va with(State s) {
        return new Va(start, pages, s, kind, node, count);
    }
}
