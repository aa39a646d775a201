// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf.toy;

/** JPF toy: thread a takes FIRST then SECOND, thread b the other way round; one interleaving deadlocks. */
public final class LockOrderDeadlock {
    private static final Object FIRST = new Object();
    private static final Object SECOND = new Object();
    private static int work;

    private LockOrderDeadlock() {}

    public static void main(String[] args) throws InterruptedException {
        Thread a = new Thread(() -> {
            synchronized (FIRST) {
                synchronized (SECOND) {
                    work++;
                }
            }
        }, "a");
        Thread b = new Thread(() -> {
            synchronized (SECOND) {
                synchronized (FIRST) {
                    work++;
                }
            }
        }, "b");
        a.start();
        b.start();
        a.join();
        b.join();
    }
}
