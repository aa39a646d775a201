// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

/** What a call did, as its caller sees it. */
public sealed interface Outcome {

    /** vm_map_ram() returned this address. */
    record Mapped(long addr) implements Outcome {
    }

    /** vm_map_ram() returned NULL. */
    record Null(String why) implements Outcome {
    }

    /** vm_unmap_ram() or vm_unmap_aliases() returned. */
    record Done() implements Outcome {
    }

    /** The kernel crashed (BUG, oops) in this call; the model refuses further calls. */
    record Bug(String text) implements Outcome {
    }

    /**
     * The call breaks the caller's contract in a way the kernel does not check (or checks only by
     * corrupting itself); the model refuses it and leaves the state unchanged.
     */
    record Rejected(String rule, String message) implements Outcome {
    }
}
