// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import vmapref.kernel.Profile;

/**
 * The {@code vmapref} command line: {@code java -jar target/vmapref.jar <command> ...}.
 *
 * <p>Errors are one line on stderr, never a stack trace: bad arguments through the parameter-exception handler
 * (exit 2, with a pointer to the command's {@code --help}), anything a command throws through the
 * execution-exception handler (exit 2 for I/O, 3 for a bug in vmapref). Set {@code VMAPREF_DEBUG=1} to also get
 * the stack trace.
 */
@Command(name = "vmapref", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Executable reference model of Linux vm_map_ram(), vm_unmap_ram(), vm_unmap_aliases() "
                + "and the vmap block cache.",
        synopsisSubcommandLabel = "COMMAND",
        commandListHeading = "%nCommands:%n",
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:nothing violated",
            "1:a violation or divergence was found",
            "2:bad arguments, or an input that cannot be read or parsed",
            "3:internal error (a bug in vmapref)"},
        // To add a command (for example hunt), add its class to this list: nothing else here changes.
        // A command is a picocli @Command implementing Callable<Integer> that returns an ExitCode.
        subcommands = {
            ReplayCommand.class,
            ExplainCommand.class,
            ExploreCommand.class,
            HuntCommand.class,
            ModelcheckCommand.class,
            DriveCommand.class,
            CaptureCommand.class,
            RenderCommand.class,
            StudyCommand.class,
        })
public final class Main implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    /** {@code vmapref} alone: say which commands there are. */
    @Override
    public Integer call() {
        spec.commandLine().getErr().println("vmapref: missing command (" + String.join(", ", spec.subcommands().keySet())
                + "). Try 'vmapref --help'");
        return ExitCode.BAD_INPUT;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine(new PrintWriter(System.out, true), new PrintWriter(System.err, true)).execute(args);
        } catch (Throwable t) { // an Error escapes picocli: still one line
            System.err.println("vmapref: internal error: " + describe(t));
            debug(t, new PrintWriter(System.err, true));
            code = ExitCode.INTERNAL;
        }
        System.exit(code);
    }

    /** The configured command line, writing to {@code out} and {@code err}; tests run it in-process. */
    public static CommandLine commandLine(PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, args) -> {
            CommandLine at = ex.getCommandLine();
            String name = at.getCommandSpec().qualifiedName();
            String message = oneLine(ex.getMessage());
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !at.getSubcommands().isEmpty()
                    && !u.getUnmatched().isEmpty() && !u.getUnmatched().get(0).startsWith("-")) {
                message = "unknown command '" + u.getUnmatched().get(0) + "' (known: "
                        + String.join(", ", at.getSubcommands().keySet()) + ")";
            }
            at.getErr().println(name + ": " + message + ". Try '" + name + " --help'");
            at.getErr().flush();
            return ExitCode.BAD_INPUT;
        });
        cl.setExecutionExceptionHandler((ex, at, parseResult) -> {
            String name = at.getCommandSpec().qualifiedName();
            boolean io = ex instanceof IOException || ex instanceof UncheckedIOException;
            at.getErr().println(name + ": " + (io ? "" : "internal error: ") + describe(ex));
            debug(ex, at.getErr());
            at.getErr().flush();
            return io ? ExitCode.BAD_INPUT : ExitCode.INTERNAL;
        });
        return cl;
    }

    /** A throwable's message on one line (its kind when it has none). */
    static String describe(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? "unexpected " + t.getClass().getSimpleName().replace("Exception", " failure") : oneLine(m);
    }

    static String oneLine(String s) {
        String t = s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
        return t.endsWith(".") ? t.substring(0, t.length() - 1) : t;
    }

    private static void debug(Throwable t, PrintWriter err) {
        if (System.getenv("VMAPREF_DEBUG") != null) {
            t.printStackTrace(err);
        }
    }

    /** --version: the build's version (from the jar's Maven metadata) and the known profiles. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = "(development build)";
            try (InputStream in = Main.class.getResourceAsStream("/META-INF/maven/io.vmapref/vmapref/pom.properties")) {
                if (in != null) {
                    Properties p = new Properties();
                    p.load(in);
                    v = p.getProperty("version", v);
                }
            } catch (IOException e) {
                // keep the development label
            }
            return new String[] {
                "vmapref " + v,
                "profiles: " + Profile.known(),
                "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")"
            };
        }
    }
}
