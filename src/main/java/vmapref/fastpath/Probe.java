// SPDX-License-Identifier: GPL-2.0-only
package vmapref.fastpath;

/**
 * Where the fast path reports each step it takes (the kernel function and the lock or shared object
 * it touches), for the interleaving tables of {@code modelcheck}. Null when nobody listens.
 */
public interface Probe {

    /** {@code task} is the thread playing a CPU; {@code function} the kernel function; {@code what} the step. */
    void step(String task, String function, String what);

    /** Prints each step as one line, "@@|task|function|what": Java PathFinder keeps the lines of the error path. */
    Probe STDOUT = (task, function, what) -> System.out.println("@@|" + task + "|" + function + "|" + what);
}
