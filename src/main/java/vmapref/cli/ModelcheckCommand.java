// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.modelcheck.Expectations;
import vmapref.modelcheck.Harness;
import vmapref.modelcheck.ModelChecker;
import vmapref.modelcheck.jpf.JpfHome;
import vmapref.modelcheck.lincheck.LincheckEngine;

/**
 * {@code vmapref modelcheck}: explores the harnesses of the concurrent fast path with Lincheck or
 * Java PathFinder and prints a verdict line per harness, and the interleaving of each violation.
 */
@Command(name = "modelcheck", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Model-check the concurrent fast path: every interleaving of small closed programs.",
        description = {
            "Runs the harnesses (--list-harnesses) on the concurrent fast path, which has the kernel's locks "
                    + "(vmap_purge_lock, vb->lock, vbq->lock), RCU walks and a TLB model, and checks at every step "
                    + "the specification's rules, the block accounting and that nothing freed is touched. Lincheck "
                    + "also checks that every result is one the reference implementation gives for some order of "
                    + "the calls. Java PathFinder explores every interleaving; it needs a jpf-core build named by "
                    + "JPF_HOME (or -Djpf.home) and the compiled classes in target/classes.",
            "Unmutated linux-6.12 reports one violation, retire-vs-aliases: the window between vb_free() "
                    + "retiring a block and vm_unmap_aliases() is real (docs/concurrency.md)."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:no violation",
            "1:a violation was found (the interleaving is printed)",
            "2:bad arguments, or the engine is not available (for jpf: set JPF_HOME)",
            "3:internal error (a bug in vmapref)"})
final class ModelcheckCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--engine", paramLabel = "E", defaultValue = "lincheck",
            description = "lincheck or jpf (default: ${DEFAULT-VALUE})")
    String engine;

    @Option(names = "--harness", paramLabel = "H", description = "run only this harness (default: all)")
    String harness;

    @Option(names = "--mutant", paramLabel = "M", converter = Converters.MutantConverter.class,
            description = "switch one concurrency bug on (see --list-mutants)")
    Mutant mutant;

    @Option(names = "--profile", paramLabel = "P", defaultValue = "linux-6.12", converter = Converters.ProfileConverter.class,
            description = "linux-6.12, linux-7.2 or linux-6.1 (default: ${DEFAULT-VALUE})")
    Profile profile;

    @Option(names = "--invocations", paramLabel = "N", defaultValue = "" + LincheckEngine.DEFAULT_INVOCATIONS,
            description = "Lincheck: interleavings explored per harness at most (default: ${DEFAULT-VALUE})")
    int invocations;

    @Option(names = "--list-harnesses", description = "list the harnesses and exit")
    boolean listHarnesses;

    @Option(names = "--list-mutants", description = "list the concurrency mutants with their fix commits and exit")
    boolean listMutants;

    @Override
    public Integer call() {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (listHarnesses) {
            for (Harness h : Harness.all()) {
                o.println(h.name + "  " + h.description);
            }
            return ExitCode.OK;
        }
        if (listMutants) {
            for (Mutant m : Mutant.values()) {
                if (m.concurrent()) {
                    Expectations.Case c = Expectations.showing(m);
                    o.println(m.id() + "  " + m.breaks() + "; fix: " + m.fix() + "; shown by " + c.harness().name
                            + " on " + c.profile().id());
                }
            }
            return ExitCode.OK;
        }
        String bad = check();
        if (bad != null) {
            err.println("vmapref modelcheck: " + bad + ". Try 'vmapref modelcheck --help'");
            return ExitCode.BAD_INPUT;
        }
        List<Harness> runs = new ArrayList<>();
        if (harness != null) {
            runs.add(Harness.byName(harness));
        } else {
            runs.addAll(List.of(Harness.all()));
        }
        Path root = projectRoot();
        boolean violation = false;
        for (Harness h : runs) {
            ModelChecker.Verdict v = engine.equals("jpf") ? ModelChecker.jpf(h, profile, mutant, root)
                    : ModelChecker.lincheck(h, profile, mutant, invocations);
            o.println(v.line());
            if (v.failed() != null) {
                err.println("vmapref modelcheck: " + v.engine().id() + " gave no verdict on " + h.name + ": " + v.failed());
                return ExitCode.INTERNAL;
            }
            if (v.violation()) {
                violation = true;
                o.println();
                if (v.engine() == ModelChecker.Engine.JPF) {
                    o.println(firstLines(v.report(), 2));
                    o.println();
                }
                o.println("Interleaving (" + v.engine().id() + "):");
                o.println(readable(v.interleaving()));
            }
            o.flush();
        }
        return violation ? ExitCode.VIOLATION : ExitCode.OK;
    }

    /** The first problem with the arguments, or null. */
    private String check() {
        if (!engine.equals("lincheck") && !engine.equals("jpf")) {
            return "unknown engine '" + engine + "' (lincheck or jpf)";
        }
        if (harness != null && Harness.byName(harness) == null) {
            return "unknown harness '" + harness + "' (known: " + String.join(", ", Harness.names()) + ")";
        }
        if (profile == Profile.LINUX_4_8) {
            return "the concurrent fast path models linux-6.1, linux-6.12 and linux-7.2, not " + profile;
        }
        if (mutant != null && !mutant.concurrent()) {
            return "mutant " + mutant.id() + " is a sequential mutant: hunt finds it (modelcheck --list-mutants lists "
                    + "the concurrency mutants)";
        }
        if (mutant != null && !mutant.appliesTo(profile)) {
            return "mutant " + mutant.id() + " does not apply to " + profile + " (it is shown on "
                    + Expectations.showing(mutant).profile().id() + ")";
        }
        if (invocations < 1) {
            return "--invocations must be at least 1, got " + invocations;
        }
        if (engine.equals("jpf")) {
            JpfHome.Lookup home = JpfHome.locate();
            if (!home.found()) {
                return home.problem();
            }
            Path root = projectRoot();
            if (!Files.isDirectory(root.resolve("jpf-configs")) || !Files.isDirectory(root.resolve("target/classes"))) {
                return "the jpf engine runs from the project (jpf-configs/ and target/classes/, made by mvn package); "
                        + "none found at " + root;
            }
        }
        return null;
    }

    /** The project: the folder above target/ when run from target/vmapref.jar, else the working folder. */
    private static Path projectRoot() {
        try {
            Path jar = Path.of(ModelcheckCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path target = jar.getParent();
            if (target != null && target.getFileName() != null && target.getFileName().toString().equals("target")
                    && Files.isDirectory(target.getParent().resolve("jpf-configs"))) {
                return target.getParent();
            }
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            // fall through to the working folder
        }
        return Path.of("").toAbsolutePath();
    }

    static String firstLines(String text, int n) {
        String[] lines = text.strip().split("\\R");
        return String.join("\n", java.util.Arrays.copyOf(lines, Math.min(n, lines.length)));
    }

    /**
     * Lincheck's report up to its detailed trace, with plain arrows, and its "Exception stack traces"
     * section cut to the messages: the rule and what broke it, no Java stack.
     */
    static String readable(String report) {
        int detailed = report.indexOf("\nDetailed trace:");
        String r = detailed < 0 ? report : report.substring(0, detailed);
        StringBuilder out = new StringBuilder();
        boolean errors = false;
        for (String line : r.replace("\u279c", "->").split("\\R")) {
            if (line.startsWith("Exception stack traces:")) {
                errors = true;
                out.append("What failed:\n");
            } else if (!errors) {
                out.append(line).append('\n');
            } else if (line.startsWith("#")) {
                out.append(line.replaceFirst("^(#\\d+: )[\\w.$]+(Error|Exception): ", "$1")).append('\n');
            }
        }
        return out.toString().stripTrailing();
    }
}
