// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

/**
 * The first thing a run of a program did wrong.
 *
 * @param kind    what broke: a specification rule id ({@code aliases-no-stale}), a property id
 *                ({@code block-accounting}) or {@code divergence} (a mutant did something the
 *                profile does not); the shrinker keeps it
 * @param level   where it shows
 * @param step    the 1-based number of the call in the program
 * @param message what happened, expected against actual
 */
public record Failure(String kind, Level level, int step, String message) {

    /** Which replay of the written trace shows the failure. */
    public enum Level {
        /** The trace breaks the abstract specification: {@code replay --level spec} fails. */
        SPEC,
        /** The trace is legal but not what the unmutated profile does: {@code replay --level exact} fails. */
        EXACT,
        /** Only the model's internal state shows it (a state invariant): every replay of the trace passes. */
        MODEL;

        public String id() {
            return name().toLowerCase();
        }
    }

    /** The kind of every divergence between a mutant and its profile. */
    public static final String DIVERGENCE = "divergence";

    @Override
    public String toString() {
        return (kind.equals(DIVERGENCE) ? "divergence" : "violation: " + kind) + " at step " + step + ": " + message;
    }
}
