// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

/** {@link MainTest}'s in-process runner, for tests of commands in other packages. */
public final class MainTestAccess {
    private MainTestAccess() {
    }

    /** The exit code and what a command printed. */
    public record Run(int code, String out, String err) {
    }

    public static Run run(String... args) {
        MainTest.Run r = MainTest.run(args);
        return new Run(r.code(), r.out(), r.err());
    }
}
