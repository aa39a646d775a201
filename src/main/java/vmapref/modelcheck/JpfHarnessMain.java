// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import java.util.HashSet;
import java.util.Set;
import vmapref.fastpath.Probe;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;

/**
 * The program Java PathFinder runs for one harness ({@code jpf-configs/*.jpf}): arguments are the
 * harness, the profile and the mutant ("none" for none). Each step of the fast path is printed
 * (JPF keeps the output of the error path only), so a violation comes with its interleaving.
 */
public final class JpfHarnessMain {
    private JpfHarnessMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        Harness h = Harness.byName(args[0]);
        if (h == null) {
            throw new IllegalArgumentException("no harness " + args[0]);
        }
        Profile profile = Profile.parse(args.length > 1 ? args[1] : "linux-6.12");
        Set<Mutant> mutants = new HashSet<>();
        if (args.length > 2 && !args[2].equals("none")) {
            mutants.add(Mutant.parse(args[2]));
        }
        new HarnessRun(h, profile, mutants, args.length > 3 && args[3].equals("quiet") ? null : Probe.STDOUT).run();
    }
}
