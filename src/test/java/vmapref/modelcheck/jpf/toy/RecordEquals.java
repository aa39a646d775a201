// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf.toy;

/**
 * JPF toy for a silent failure: a record's generated equals (an invokedynamic bootstrap JPF does
 * not model) ends the run with "no errors detected" but no end state (end=0). The runner must call
 * that FAILED, not PASSED.
 */
public final class RecordEquals {
    record Point(int x, int y) {}

    private RecordEquals() {}

    public static void main(String[] args) {
        Point p = new Point(1, 2);
        Point q = new Point(1, 2);
        if (!p.equals(q)) {
            throw new AssertionError("records differ");
        }
    }
}
