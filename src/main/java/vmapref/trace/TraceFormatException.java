// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

/**
 * A trace that breaks docs/trace-format.md: names the file, the 1-based line and a short kebab-case rule, and reads
 * like {@code rand.jsonl:17: bad-address: "addr" must be 0x followed by hex digits, got "12ab"}.
 *
 * <p>Rules (docs/trace-format.md, "Format errors"): {@code not-utf8}, {@code not-json}, {@code not-object},
 * {@code empty-trace}, {@code bad-header},
 * {@code unsupported-version}, {@code bad-header-field}, {@code missing-field}, {@code bad-field-type},
 * {@code bad-address}, {@code bad-count}, {@code bad-cpu}, {@code unknown-op}, {@code bad-range},
 * {@code ret-and-bug}, {@code event-after-bug}.
 */
public class TraceFormatException extends Exception {
    private final String file;
    private final int line;
    private final String rule;
    private final String detail;

    public TraceFormatException(String file, int line, String rule, String detail) {
        this(file, line, rule, detail, null);
    }

    public TraceFormatException(String file, int line, String rule, String detail, Throwable cause) {
        super(file + ":" + line + ": " + rule + ": " + detail, cause);
        this.file = file;
        this.line = line;
        this.rule = rule;
        this.detail = detail;
    }

    /** The file name as given to the reader. */
    public String file() {
        return file;
    }

    /** The 1-based line the problem is on. */
    public int line() {
        return line;
    }

    /** The rule broken, kebab-case, e.g. {@code bad-address}. */
    public String rule() {
        return rule;
    }

    /** The message without the {@code file:line: rule: } prefix. */
    public String detail() {
        return detail;
    }
}
