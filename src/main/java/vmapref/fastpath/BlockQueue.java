// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

/**
 * struct vmap_block_queue (mm/vmalloc.c): one per possible CPU. {@code free} is an RCU list: it is
 * changed under {@link #lock} by publishing a new array (list_add_tail_rcu(), list_del_rcu()), and
 * walked without the lock by reading the array once. A change made under the wrong lock can lose a
 * concurrent change, as a list_del_rcu() racing a list_add_tail_rcu() corrupts the kernel's list.
 */
final class BlockQueue {
    /** vbq->lock. */
    final Object lock = new Object();
    final int cpu;
    /** vbq->free: blocks of this CPU with free pages, oldest first. */
    private volatile Block[] free = new Block[0];
    /** vbq->vmap_blocks (6.4+): the blocks whose address hashes to this CPU (addr_to_vb_xa()). */
    final XArray vmapBlocks = new XArray();

    BlockQueue(int cpu) {
        this.cpu = cpu;
    }

    /** list_for_each_entry_rcu(): the list as published now. */
    Block[] free() {
        return free;
    }

    /** list_add_tail_rcu(&vb->free_list, &vbq->free). */
    void addTail(Block vb) {
        Block[] old = free;
        Block[] next = new Block[old.length + 1];
        System.arraycopy(old, 0, next, 0, old.length);
        next[old.length] = vb;
        free = next;
    }

    /** list_del_rcu(&vb->free_list). */
    void del(Block vb) {
        Block[] old = free;
        int at = -1;
        for (int i = 0; i < old.length; i++) {
            if (old[i] == vb) {
                at = i;
            }
        }
        if (at < 0) {
            throw new AssertionError("list corruption: list_del_rcu() of vmap_block 0x" + Long.toHexString(vb.base)
                    + " pages, which is not on CPU " + cpu + "'s free list");
        }
        Block[] next = new Block[old.length - 1];
        System.arraycopy(old, 0, next, 0, at);
        System.arraycopy(old, at + 1, next, at, old.length - at - 1);
        free = next;
    }

    boolean contains(Block vb) {
        for (Block b : free) {
            if (b == vb) {
                return true;
            }
        }
        return false;
    }
}
