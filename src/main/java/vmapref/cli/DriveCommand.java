// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import vmapref.conformance.ConformanceKit;
import vmapref.drive.Driver;
import vmapref.hunt.Generator;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;

/**
 * {@code vmapref drive}: another process as the implementation under test, spoken to in the driver
 * protocol (docs/driver-protocol.md), checked on generated programs; the first finding is shrunk
 * and written as a trace that {@code replay} judges the same way.
 */
@Command(name = "drive", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Check another process against the model: generated programs, shrunk counterexamples.",
        description = {
            "Starts COMMAND and speaks the driver protocol (docs/driver-protocol.md) with it on its standard input "
                    + "and output: a handshake with the kernel's configuration, then one request per call (map, unmap, "
                    + "aliases), each answered with its result and the TLB flushes it made, and a reset between programs. "
                    + "Every program's answers are written as a trace and replayed at --level; the first program that "
                    + "fails is shrunk (on a reset or fresh child per candidate) and printed, and its trace is written.",
            "The child is untrusted: one that exits, crashes, stalls past --call-timeout, writes an over-long line, "
                    + "floods its output, writes to stderr or answers out of protocol is ended with its process tree and "
                    + "reported as a finding of the call that met it, shrunk like any other."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the budget was spent and nothing was found",
            "1:a finding (the shrunk program is printed and its trace written)",
            "2:bad arguments, or a COMMAND that cannot start or fails its handshake",
            "3:internal error (a bug in vmapref)"})
final class DriveCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--level", paramLabel = "L", defaultValue = "spec", converter = Converters.LevelConverter.class,
            description = "spec, structure or exact (default: ${DEFAULT-VALUE})")
    Replayer.Level level;

    @Option(names = "--profile", paramLabel = "P", defaultValue = "linux-6.12", converter = Converters.ProfileConverter.class,
            description = "the kernel the child claims to behave like (default: ${DEFAULT-VALUE})")
    Profile profile;

    @Option(names = "--configs", paramLabel = "FAMILY", defaultValue = "all",
            description = "kernel configurations: all or x86_64 (default: ${DEFAULT-VALUE})")
    String configs;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "program seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--time", paramLabel = "SECONDS", defaultValue = "60",
            description = "stop after this many seconds (default: ${DEFAULT-VALUE})")
    double seconds;

    @Option(names = "--programs", paramLabel = "N", defaultValue = "1000000",
            description = "stop after this many programs (default: ${DEFAULT-VALUE})")
    int programs;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "40", description = "calls per program at most (default: ${DEFAULT-VALUE})")
    int maxSteps;

    @Option(names = "--call-timeout", paramLabel = "MS", defaultValue = "2000",
            description = "how long the child may take to answer one request (default: ${DEFAULT-VALUE})")
    long callTimeoutMs;

    @Option(names = "--out", paramLabel = "FILE", description = "where to write the shrunk trace (default: target/drive/<child>-<seed>-<program>.jsonl)")
    Path out;

    @Parameters(paramLabel = "COMMAND", arity = "1..*", description = "the child process and its arguments (after --)")
    List<String> command;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String bad = check();
        if (bad != null) {
            err.println("vmapref drive: " + bad + ". Try 'vmapref drive --help'");
            return ExitCode.BAD_INPUT;
        }
        ConformanceKit.Settings settings = ConformanceKit.Settings.defaults("child").withProfile(profile).withLevel(level)
                .withSeed(seed).withPrograms(programs).withMaxSteps(maxSteps).withConfigs(Generator.Configs.parse(configs))
                .withOutputDir(Path.of("target", "drive"));
        try (Driver d = new Driver(command, callTimeoutMs, settings)) {
            String refused = d.start();
            if (refused != null) {
                err.println("vmapref drive: " + refused);
                return ExitCode.BAD_INPUT;
            }
            o.println("vmapref drive: " + d.childName() + " (" + String.join(" ", command) + ") against " + profile
                    + " at level " + level.id() + ", seed " + seed + ", up to " + programs + " programs of up to " + maxSteps
                    + " calls, " + seconds + " s");
            o.flush();
            Driver.Result r = d.run(seconds);
            o.println(String.format(Locale.ROOT, "%d programs, %d calls to the child (%.0f calls/s), %d child process%s, %.1f s",
                    r.programs(), r.calls(), r.calls() / Math.max(r.seconds(), 1e-9), r.children(), r.children() == 1 ? "" : "es",
                    r.seconds()));
            if (r.failure() == null) {
                o.println("nothing found");
                return ExitCode.OK;
            }
            Path trace = r.failure().trace();
            if (out != null && trace != null) {
                if (out.getParent() != null) {
                    Files.createDirectories(out.getParent());
                }
                Files.copy(trace, out, StandardCopyOption.REPLACE_EXISTING);
                trace = out;
            }
            o.println("FOUND in program " + r.failure().index() + ":");
            o.println(r.failure().message().replace(String.valueOf(r.failure().trace()), String.valueOf(trace)));
            return ExitCode.VIOLATION;
        }
    }

    private String check() {
        if (seconds <= 0) {
            return "--time must be positive, got " + seconds;
        }
        if (programs < 1 || maxSteps < 1) {
            return "--programs and --max-steps must be at least 1";
        }
        if (callTimeoutMs < 1) {
            return "--call-timeout must be at least 1 ms";
        }
        try {
            Generator.Configs.parse(configs);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
        return null;
    }
}
