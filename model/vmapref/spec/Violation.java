// SPDX-License-Identifier: GPL-2.0-only
package vmapref.spec;

/** A step the specification forbids: which rule, and what happened. */
public record Violation(Rule rule, String message) {
    @Override
    public String toString() {
        return rule.id() + ": " + message;
    }
}
