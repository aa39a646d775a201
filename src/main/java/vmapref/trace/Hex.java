// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

/**
 * Addresses as docs/trace-format.md defines them ("The file": {@code 0x} and hex digits, unsigned 64-bit).
 */
public final class Hex {
    private Hex() {}

    /** {@code "0x"} and the lowercase hex of {@code addr} read as unsigned 64-bit, no padding. */
    public static String format(long addr) {
        return "0x" + Long.toHexString(addr);
    }

    /**
     * Parses {@code 0x} followed by 1 to 16 hex digits (either case) as an unsigned 64-bit value, so
     * {@code 0xffffc90000000000} is a negative {@code long}.
     *
     * @throws IllegalArgumentException if {@code s} has any other shape
     */
    public static long parse(String s) {
        if (!isAddress(s)) {
            throw new IllegalArgumentException("not an address: " + (s == null ? "null" : "\"" + s + "\"")
                    + " (expected 0x followed by 1 to 16 hex digits)");
        }
        return Long.parseUnsignedLong(s, 2, s.length(), 16);
    }

    static boolean isAddress(String s) {
        if (s == null || s.length() < 3 || s.length() > 18 || !s.startsWith("0x")) {
            return false;
        }
        for (int i = 2; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
                return false;
            }
        }
        return true;
    }
}
