// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import java.util.List;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * What each engine must answer, the same for both: each harness on the unmutated profile, and for
 * each concurrency mutant the harness and profile that show it. The tests hold both engines to
 * this table; docs/modelcheck.md prints it.
 */
public final class Expectations {
    private Expectations() {
    }

    /**
     * One run and its expected result: "pass", or the rule the violation names ("a|b": either, when
     * the bug shows as one consequence or another depending on the interleaving found first).
     */
    public record Case(Harness harness, Profile profile, Mutant mutant, String expected) {
        public String label() {
            return harness.name + " " + profile.id() + " " + (mutant == null ? "no mutant" : mutant.id());
        }

        /** Whether {@code rule} is one of the expected ones. */
        public boolean accepts(String rule) {
            return List.of(expected.split("\\|")).contains(rule);
        }
    }

    public static List<Case> cases() {
        return List.of(
                new Case(Harness.byName("same-block-map"), Profile.LINUX_6_12, null, "pass"),
                new Case(Harness.byName("cross-cpu-unmap"), Profile.LINUX_6_12, null, "pass"),
                new Case(Harness.byName("aliases-vs-fill"), Profile.LINUX_6_12, null, "pass"),
                new Case(Harness.byName("aliases-vs-purge"), Profile.LINUX_6_12, null, "pass"),
                new Case(Harness.byName("hash-other-cpu"), Profile.LINUX_6_12, null, "pass"),
                // the open question's answer: the window is real (docs/concurrency.md)
                new Case(Harness.byName("retire-vs-aliases"), Profile.LINUX_6_12, null, "aliases-no-stale"),
                new Case(Harness.byName("aliases-vs-purge"), Profile.LINUX_6_1, null, "pass"),
                new Case(Harness.byName("hash-other-cpu"), Profile.LINUX_6_12, Mutant.WRONG_VBQ_LOCK,
                        "list corruption|use after free"), // a lost list update: a block missing, or a freed one left on
                new Case(Harness.byName("hash-other-cpu"), Profile.LINUX_6_12, Mutant.PUBLISH_BEFORE_INIT, "uninitialised vb->cpu"),
                new Case(Harness.byName("aliases-vs-purge"), Profile.LINUX_6_1, Mutant.ALIASES_USE_AFTER_FREE, "use after free"),
                new Case(Harness.byName("retire-during-walk"), Profile.LINUX_6_12, null, "pass"),
                // 6.12's walk holds vmap_purge_lock, so the area of a block it meets retiring is never
                // freed under it: the same change is harmless there (its read of vb->va is reached here)
                new Case(Harness.byName("retire-during-walk"), Profile.LINUX_6_12, Mutant.ALIASES_USE_AFTER_FREE, "pass"),
                new Case(Harness.byName("same-block-map"), Profile.LINUX_6_12, Mutant.UNLOCKED_FREE_CHECK, "kernel BUG"));
    }

    /** The harness and profile that show {@code m}. */
    public static Case showing(Mutant m) {
        for (Case c : cases()) {
            if (c.mutant() == m && !c.expected().equals("pass")) {
                return c;
            }
        }
        throw new IllegalArgumentException("no harness shows " + m);
    }
}
