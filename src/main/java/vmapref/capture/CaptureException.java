// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

/**
 * A capture that cannot go on: {@link #getMessage()} is the one line for the user; {@link #detail()} is what
 * the tool that failed printed (the compiler's message when the module does not build), or null.
 */
public final class CaptureException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String detail;

    public CaptureException(String message) {
        this(message, null);
    }

    public CaptureException(String message, String detail) {
        super(message);
        this.detail = detail;
    }

    public String detail() {
        return detail;
    }
}
