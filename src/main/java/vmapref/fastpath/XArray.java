// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

/**
 * The vmap_blocks xarray (one per CPU since 6.4, one global before): blocks by index. xa_insert()
 * and xa_erase() take the xarray's own lock and publish a new array; xa_load() and xa_for_each()
 * read under RCU, each step seeing the array as published then.
 */
final class XArray {
    private final Object xaLock = new Object();
    /** Sorted by base page. */
    private volatile Block[] entries = new Block[0];

    /** xa_insert(): the slot must be empty. */
    void insert(Block vb) {
        synchronized (xaLock) {
            Block[] old = entries;
            int at = 0;
            while (at < old.length && old[at].base < vb.base) {
                at++;
            }
            if (at < old.length && old[at].base == vb.base) {
                throw new AssertionError("xa_insert(): index of 0x" + Long.toHexString(vb.base) + " pages is taken");
            }
            Block[] next = new Block[old.length + 1];
            System.arraycopy(old, 0, next, 0, at);
            next[at] = vb;
            System.arraycopy(old, at, next, at + 1, old.length - at);
            entries = next;
        }
    }

    /** xa_erase(): returns what the slot held. */
    Block erase(long base) {
        synchronized (xaLock) {
            Block[] old = entries;
            for (int i = 0; i < old.length; i++) {
                if (old[i].base == base) {
                    Block[] next = new Block[old.length - 1];
                    System.arraycopy(old, 0, next, 0, i);
                    System.arraycopy(old, i + 1, next, i, old.length - i - 1);
                    entries = next;
                    return old[i];
                }
            }
            return null;
        }
    }

    /** xa_load(). */
    Block load(long base) {
        for (Block b : entries) {
            if (b.base == base) {
                return b;
            }
        }
        return null;
    }

    /** One step of xa_for_each(): the first block above {@code base} (-1 for the first). */
    Block next(long base) {
        for (Block b : entries) {
            if (b.base > base) {
                return b;
            }
        }
        return null;
    }

    Block[] all() {
        return entries;
    }
}
