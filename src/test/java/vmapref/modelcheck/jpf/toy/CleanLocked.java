// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf.toy;

/**
 * JPF toy: two threads add to a counter under one lock; the total is always right, so JPF must
 * report no errors (and reach end states).
 */
public final class CleanLocked {
    private static final Object LOCK = new Object();
    private static int counter;

    private CleanLocked() {}

    static void add(int times) {
        for (int i = 0; i < times; i++) {
            synchronized (LOCK) {
                counter++;
            }
        }
    }

    public static void main(String[] args) throws InterruptedException {
        Thread a = new Thread(() -> add(2), "a");
        Thread b = new Thread(() -> add(2), "b");
        a.start();
        b.start();
        a.join();
        b.join();
        synchronized (LOCK) {
            if (counter != 4) {
                throw new AssertionError("counter=" + counter);
            }
        }
    }
}
