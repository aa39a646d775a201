// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What one JPF run found, read from its console output (RunJPF.jar exits 0 whatever happens, so the
 * output is the only verdict).
 *
 * @param verdict PASSED, VIOLATION or FAILED
 * @param reason one line saying why (for FAILED: what went wrong; for VIOLATION: the first error line;
 *     for PASSED: the states explored)
 * @param property the violated property's class as JPF names it (e.g.
 *     {@code gov.nasa.jpf.vm.NotDeadlockedProperty}), empty unless VIOLATION
 * @param errorText the first {@code error N} section: property line, then JPF's details (the uncaught
 *     exception and its stack, or the deadlocked threads); empty unless VIOLATION
 * @param errors the one-line {@code error #N: ...} entries of the results section
 * @param interleaving what the program printed between {@link JpfRunner#INTERLEAVING_START} and
 *     {@link JpfRunner#INTERLEAVING_END} on the violating path (marker lines excluded), empty if none
 * @param trace the {@code trace #1} section (JPF's choice-by-choice error path), empty if not reported
 * @param constraints the search constraints JPF reported (depth limit, memory, budget), distinct, in order
 * @param statistics the {@code statistics:} section, absent when JPF never printed one
 * @param wallTime how long the child process ran
 * @param exitCode the child's exit code, -1 when it was killed after the time-out
 * @param output everything the child printed (stdout and stderr interleaved)
 */
public record JpfResult(
        Verdict verdict,
        String reason,
        String property,
        String errorText,
        List<String> errors,
        String interleaving,
        String trace,
        List<String> constraints,
        Optional<Statistics> statistics,
        Duration wallTime,
        int exitCode,
        String output) {

    /** The three outcomes; only PASSED means "explored completely, nothing found". */
    public enum Verdict {
        /** Results say {@code no errors detected}, at least one end state, no search limit hit. */
        PASSED,
        /** JPF reported an {@code error #N} (deadlock, uncaught exception, other property). */
        VIOLATION,
        /** Anything else: JPF crashed, no results, end=0, a search limit hit, time-out, non-zero exit. */
        FAILED
    }

    /**
     * JPF's {@code statistics:} section.
     *
     * @param newStates states first seen
     * @param visitedStates states seen again (matched)
     * @param backtracked backtrack steps
     * @param endStates states where every thread had terminated; 0 means no path finished
     * @param maxDepth the deepest search depth reached
     * @param constraintsHit search constraints hit (depth limit, memory, budget)
     * @param elapsed JPF's own elapsed time (whole seconds)
     * @param maxMemoryMb the host heap JPF used at most, in MB (-1 if not printed)
     */
    public record Statistics(
            long newStates,
            long visitedStates,
            long backtracked,
            long endStates,
            long maxDepth,
            long constraintsHit,
            Duration elapsed,
            long maxMemoryMb) {
        public Statistics {
            Objects.requireNonNull(elapsed, "elapsed");
        }

        /** new + visited, the usual "states" figure. */
        public long states() {
            return newStates + visitedStates;
        }

        @Override
        public String toString() {
            return "states new=" + newStates + " visited=" + visitedStates + " end=" + endStates
                    + " maxDepth=" + maxDepth + " constraints=" + constraintsHit + " elapsed=" + elapsed.toSeconds() + "s";
        }
    }

    public JpfResult {
        Objects.requireNonNull(verdict, "verdict");
        Objects.requireNonNull(reason, "reason");
        Objects.requireNonNull(property, "property");
        Objects.requireNonNull(errorText, "errorText");
        errors = List.copyOf(errors);
        Objects.requireNonNull(interleaving, "interleaving");
        Objects.requireNonNull(trace, "trace");
        constraints = List.copyOf(constraints);
        Objects.requireNonNull(statistics, "statistics");
        Objects.requireNonNull(wallTime, "wallTime");
        Objects.requireNonNull(output, "output");
    }

    public boolean passed() {
        return verdict == Verdict.PASSED;
    }

    public boolean violation() {
        return verdict == Verdict.VIOLATION;
    }

    public boolean failed() {
        return verdict == Verdict.FAILED;
    }

    /** Whether the violating path printed an interleaving block. */
    public boolean hasInterleaving() {
        return !interleaving.isEmpty();
    }

    /** One line for logs and assertion messages (the raw output is not included). */
    public String summary() {
        return verdict + ": " + reason + statistics.map(s -> " [" + s + "]").orElse("")
                + " (wall " + wallTime.toMillis() + " ms)";
    }

    /** {@link #summary()}, then the interleaving and error text if any, then the raw output. */
    public String describe() {
        StringBuilder b = new StringBuilder(summary()).append('\n');
        if (hasInterleaving()) {
            b.append("--- interleaving\n").append(interleaving).append('\n');
        }
        if (!errorText.isEmpty()) {
            b.append("--- error\n").append(errorText).append('\n');
        }
        return b.append("--- JPF output\n").append(output).toString();
    }

    @Override
    public String toString() {
        return summary();
    }
}
