// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.modelcheck.jpf.JpfHome;
import vmapref.modelcheck.jpf.JpfResult;
import vmapref.modelcheck.jpf.JpfRunner;
import vmapref.modelcheck.lincheck.LincheckEngine;

/** Runs one harness on one engine and says what it found: what {@code modelcheck} and the tests use. */
public final class ModelChecker {
    private ModelChecker() {
    }

    /** The model checkers. */
    public enum Engine {
        LINCHECK, JPF;

        public String id() {
            return name().toLowerCase();
        }
    }

    /** What a run found. {@code failed} is set when the engine could not give a verdict (JPF crashed, a limit was hit). */
    public record Verdict(Engine engine, Harness harness, Profile profile, Mutant mutant, boolean violation,
                          String failed, String explored, Duration time, String rule, String interleaving, String report) {

        /** One line: engine, harness, profile, mutant, what was explored, time, result. */
        public String line() {
            String result = failed != null ? "FAILED (" + failed + ")"
                    : violation ? "VIOLATION" + (rule.isEmpty() ? "" : " " + rule) : "pass";
            return String.format("%-8s %-18s %-10s %-22s %-30s %6.1f s  %s", engine.id(), harness.name, profile.id(),
                    mutant == null ? "no mutant" : mutant.id(), explored, time.toMillis() / 1000.0, result);
        }
    }

    /** Lincheck's model checker, {@code invocations} interleavings at most. */
    public static Verdict lincheck(Harness h, Profile p, Mutant m, int invocations) {
        long t0 = System.nanoTime();
        LincheckEngine.Result r = LincheckEngine.check(h, p, m == null ? Set.of() : Set.of(m), invocations);
        Duration time = Duration.ofNanos(System.nanoTime() - t0);
        return new Verdict(Engine.LINCHECK, h, p, m, r.violation(), null, "scenario, <= " + invocations + " interleavings",
                time, r.violation() ? rule(r.report()) : "", r.violation() ? r.report() : "", r.report());
    }

    /**
     * Java PathFinder on {@code jpf-configs/HARNESS.jpf} under {@code projectRoot}, with the profile
     * and mutant passed as the target's arguments.
     */
    public static Verdict jpf(Harness h, Profile p, Mutant m, Path projectRoot) {
        JpfHome.Lookup home = JpfHome.locate();
        if (!home.found()) {
            throw new IllegalStateException(home.problem());
        }
        Path config = projectRoot.resolve("jpf-configs").resolve(h.name + ".jpf");
        JpfRunner runner = new JpfRunner(home.require(), projectRoot);
        JpfResult r = runner.run(config, "+target.args=" + h.name + "," + p.id() + "," + (m == null ? "none" : m.id()));
        String explored = r.statistics().map(s -> s.states() + " states, depth " + s.maxDepth()).orElse("no statistics");
        String failed = r.failed() ? r.reason() : null;
        String table = r.violation() ? Interleaving.parse(r.output()).render() : "";
        return new Verdict(Engine.JPF, h, p, m, r.violation(), failed, explored, r.wallTime(),
                r.violation() ? rule(r.errorText()) : "", table, r.violation() ? r.errorText() : r.reason());
    }

    /** What the fast path's assertions (or the engine) call the violation, most specific first. */
    private static final String[][] RULES = {
        {"aliases-no-stale", "aliases-no-stale"}, {"map-not-stale", "map-not-stale"},
        {"map-disjoint-live", "map-disjoint-live"}, {"map-in-range", "map-in-range"},
        {"map-page-aligned", "map-page-aligned"}, {"unmap-live-exact", "unmap-live-exact"},
        {"use after free", "use after free"}, {"list corruption", "list corruption"},
        {"per_cpu(vmap_block_queue", "uninitialised vb->cpu"}, {"kernel BUG", "kernel BUG"},
        {"!= VMAP_BBMAP_BITS", "block accounting"}, {"eadlock", "deadlock"}, {"Livelock", "livelock"},
        {"Validation function", "validation"}, {"Invalid execution results", "not linearizable"},
    };

    /** The rule a report names, or "". */
    static String rule(String report) {
        for (String[] r : RULES) {
            if (report.contains(r[0])) {
                return r[1];
            }
        }
        return "";
    }
}
