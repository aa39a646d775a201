// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf.toy;

/**
 * JPF toy: two threads each read a counter in one critical section and write it back, plus one, in
 * a second (the check-then-act shape of a lock dropped between two steps). In the interleaving where
 * both read before either writes, an update is lost; main then prints the steps between the
 * interleaving markers and throws an AssertionError, the way the fast-path harnesses report a
 * violation.
 */
public final class LostUpdate {
    private static final Object LOCK = new Object();
    private static final String[] LOG = new String[8];
    private static int logged;
    private static int value;

    private LostUpdate() {}

    static void increment(String who) {
        int seen;
        synchronized (LOCK) {
            seen = value;
            LOG[logged++] = who + " read " + seen;
        }
        synchronized (LOCK) {
            value = seen + 1;
            LOG[logged++] = who + " wrote " + (seen + 1);
        }
    }

    public static void main(String[] args) throws InterruptedException {
        Thread a = new Thread(() -> increment("a"), "a");
        Thread b = new Thread(() -> increment("b"), "b");
        a.start();
        b.start();
        a.join();
        b.join();
        synchronized (LOCK) {
            if (value != 2) {
                System.out.println("=== vmapref interleaving ===");
                for (int i = 0; i < logged; i++) {
                    System.out.println(LOG[i]);
                }
                System.out.println("value=" + value + ", expected 2");
                System.out.println("=== end interleaving ===");
                throw new AssertionError("lost update: value=" + value);
            }
        }
    }
}
