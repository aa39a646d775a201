// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

/** The exit codes every vmapref command uses. */
public final class ExitCode {
    /** Everything conforms; nothing was violated. */
    public static final int OK = 0;
    /** A trace diverges from the model or breaks the specification; an exploration found a violation. */
    public static final int VIOLATION = 1;
    /** Bad arguments, or an input that cannot be read or parsed. */
    public static final int BAD_INPUT = 2;
    /** A bug in vmapref itself (the message says where; VMAPREF_DEBUG=1 prints the stack trace). */
    public static final int INTERNAL = 3;

    private ExitCode() {
    }
}
