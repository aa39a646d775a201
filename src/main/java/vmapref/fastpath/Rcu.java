// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

import java.util.ArrayList;

/**
 * RCU as the fast path needs it: rcu_read_lock()/rcu_read_unlock() mark a thread as a reader, and
 * kfree_rcu() of a block poisons it only after every reader that was inside a read section when it
 * was called has left it (a grace period). List walks read published snapshots, so a reader may
 * still reach a block that was unlinked after its walk began; it must not find it freed.
 */
final class Rcu {
    /** Threads inside a read section, once per nesting level. */
    private final ArrayList<Thread> readers = new ArrayList<>();
    /** Blocks waiting for a grace period, each with the readers it waits for. */
    private final ArrayList<Block> pending = new ArrayList<>();
    private final ArrayList<ArrayList<Thread>> waitingFor = new ArrayList<>();

    /** rcu_read_lock(). */
    synchronized void readLock() {
        readers.add(Thread.currentThread());
    }

    /** rcu_read_unlock(): a grace period ends for the callbacks that waited only for this reader. */
    synchronized void readUnlock() {
        Thread me = Thread.currentThread();
        readers.remove(me);
        if (readers.contains(me)) {
            return; // still nested
        }
        for (int i = pending.size() - 1; i >= 0; i--) {
            ArrayList<Thread> wait = waitingFor.get(i);
            wait.remove(me);
            if (wait.isEmpty()) {
                pending.remove(i).poison();
                waitingFor.remove(i);
            }
        }
    }

    /** kfree_rcu(vb, rcu_head). */
    synchronized void kfreeRcu(Block vb) {
        ArrayList<Thread> wait = new ArrayList<>();
        for (Thread t : readers) {
            if (!wait.contains(t)) {
                wait.add(t);
            }
        }
        if (wait.isEmpty()) {
            vb.poison();
        } else {
            pending.add(vb);
            waitingFor.add(wait);
        }
    }
}
