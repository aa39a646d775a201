// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import vmapref.capture.CallProgram;
import vmapref.capture.Capture;
import vmapref.capture.CaptureException;
import vmapref.capture.Check;
import vmapref.capture.Load;
import vmapref.capture.TraceBuilder;

/**
 * {@code vmapref capture}: run a call program on a real kernel under QEMU and write what it did as a trace
 * (docs/trace-format.md), flushes and stale-TLB probes included.
 */
@Command(name = "capture", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        header = "Run a call program on a real kernel under QEMU and write the trace it produced.",
        description = {
            "Takes the kernel from a Debian package (apt-get download and dpkg-deb -x; never installed, never booted "
                    + "on the host) or from a directory with a bzImage and its module build tree, builds the project's "
                    + "module (capture/module) against its headers, boots it under qemu-system-x86_64 -accel tcg with a "
                    + "busybox initramfs, runs the program on kthreads bound to CPUs, and writes a trace: the kernel's "
                    + "facts in the header, a busy event per /proc/vmallocinfo area, every call, and every completed "
                    + "kernel TLB flush (kretprobes on flush_tlb_kernel_range and flush_tlb_all), in the order of one "
                    + "global counter.",
            "--program replays the calls of a trace (an unmap by reference to its map, not by address); --random "
                    + "generates calls like explore. --probe-stale reads the first page of each range unmapped before a "
                    + "vm_unmap_aliases() right after it returns; a successful read is a stale TLB entry on the real CPU "
                    + "and makes replay --level spec fail with aliases-no-stale.",
            "Downloads, the chroot for newer compilers and each run's files (console.log) stay in --work."},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:the trace is written (--check: nothing is missing)",
            "2:bad arguments, something missing (--check lists it), or the kernel, the module build or the guest failed",
            "3:internal error (a bug in vmapref)"})
final class CaptureCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandSpec spec;

    @Option(names = "--check", description = "list what capture needs, what is missing and the apt-get line that installs it")
    boolean check;

    @Option(names = "--kernel", paramLabel = "DEB-OR-DIR",
            description = "a Debian package name (linux-image-6.1.0-57-amd64, linux-image-7.2.13+deb14-amd64) or a "
                    + "directory with a bzImage and its module build tree")
    String kernel;

    @Option(names = "--headers", paramLabel = "DIR", description = "the module build tree to use (default: the package's headers, or DIR/build)")
    Path headers;

    @Option(names = "--smp", paramLabel = "N", description = "guest CPUs (default: what the program uses, or 1)")
    Integer smp;

    @Option(names = "--kaslr", description = "boot with KASLR (default: nokaslr, so VMALLOC_START is 0xffffc90000000000)")
    boolean kaslr;

    @Option(names = "--program", paramLabel = "TRACE", description = "run the calls of this trace (for example one hunt wrote)")
    Path program;

    @Option(names = "--random", paramLabel = "SEED", description = "run generated calls (like explore) from this seed")
    Long random;

    @Option(names = "--calls", paramLabel = "N", description = "calls of a --random program (default: 1000)")
    Integer calls;

    @Option(names = "--probe-stale", description = "after every vm_unmap_aliases(), probe the ranges unmapped before it")
    boolean probeStale;

    @Option(names = "--load", paramLabel = "KIND", defaultValue = "none",
            description = "background load in the guest while the program runs: modules (load and unload modules: "
                    + "vm_unmap_aliases() from set_memory_*), erofs (read an lz4 erofs image: vm_map_ram() in "
                    + "decompression), all, or none (default)")
    String load;

    @Option(names = "--out", paramLabel = "FILE", description = "where to write the trace")
    Path out;

    @Option(names = "--work", paramLabel = "DIR", description = "downloads, chroot and runs (default: $XDG_CACHE_HOME/vmapref or ~/.cache/vmapref)")
    Path work;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "900",
            description = "end a guest that runs longer (default: ${DEFAULT-VALUE})")
    long timeout;

    @Override
    public Integer call() throws IOException {
        PrintWriter o = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (check) {
            Check.Report r = Check.host(kernel, headers);
            o.println("vmapref capture --check" + (kernel != null ? " --kernel " + kernel : "") + ":");
            o.print(r.text());
            o.flush();
            return r.ok() ? ExitCode.OK : ExitCode.BAD_INPUT;
        }
        String bad = arguments();
        if (bad != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), bad);
        }
        try {
            CallProgram p = program != null ? CallProgram.fromTrace(program)
                    : CallProgram.random(random, calls == null ? 1000 : calls, smp == null ? 1 : smp);
            int cpus = smp != null ? smp : p.maxCpu() + 1;
            o.println("vmapref capture: " + p.ops().size() + " calls (" + p.origin() + ") on " + kernel + ", " + cpus
                    + " CPU" + (cpus == 1 ? "" : "s") + (probeStale ? ", probing stale TLB entries" : ""));
            o.flush();
            Load kind;
            try {
                kind = Load.parse(load);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--load: " + e.getMessage());
            }
            Capture.Options opts = new Capture.Options(kernel, headers, cpus, kaslr, p, probeStale, out,
                    work != null ? work : Capture.defaultWork(), timeout, kind);
            Capture.Result r = Capture.run(opts, line -> {
                o.println("  " + line);
                o.flush();
            });
            TraceBuilder.Summary s = r.summary();
            o.println(String.format(Locale.ROOT, "captured %s, %s, %s from %s (profile %s) in %.0f s%s",
                    HuntCommand.plural(s.calls(), "call"), HuntCommand.plural(s.flushes(), "flush").replace("flushs", "flushes"),
                    HuntCommand.plural(s.busy(), "busy area"), s.kernel(), s.profile(), r.seconds(),
                    r.boots() > 1 ? " (" + r.boots() + " boots)" : ""));
            if (s.foreignCalls() > 0 || s.shrinks() > 0) {
                o.println("other users: " + HuntCommand.plural(s.foreignCalls(), "call") + " by other tasks, "
                        + HuntCommand.plural(s.shrinks(), "shrinker run"));
            }
            if (!s.flushesComplete()) {
                o.println("warning: kretprobes missed flushes; the trace does not promise \"flushes\"");
            }
            if (s.crash() != null) {
                o.println("the kernel crashed: " + s.crash());
            }
            if (probeStale) {
                o.println(s.readableProbes() == 0 ? "probes: " + s.probes() + ", none read an unmapped page after "
                        + "vm_unmap_aliases()" : "probes: " + s.readableProbes() + " of " + s.probes() + " read an "
                        + "unmapped page after vm_unmap_aliases(): a stale TLB entry on the real CPU");
            }
            o.println("trace: " + out);
            o.println("replay: java -jar target/vmapref.jar replay --level " + (probeStale ? "spec" : "structure") + " " + out);
            o.flush();
            return ExitCode.OK;
        } catch (CaptureException e) {
            err.println("vmapref capture: " + Main.oneLine(e.getMessage()));
            if (e.detail() != null && !e.detail().isBlank()) {
                for (String l : e.detail().strip().split("\n")) {
                    err.println("  " + l);
                }
            }
            err.flush();
            return ExitCode.BAD_INPUT;
        }
    }

    /** The first problem with the arguments, or null. */
    String arguments() {
        if (kernel == null) {
            return "--kernel is required (a Debian package name or a directory)";
        }
        if ((program == null) == (random == null)) {
            return "give exactly one of --program TRACE and --random SEED";
        }
        if (calls != null && random == null) {
            return "--calls goes with --random";
        }
        if (calls != null && calls < 1) {
            return "--calls must be at least 1, got " + calls;
        }
        if (smp != null && (smp < 1 || smp > 64)) {
            return "--smp must be from 1 to 64, got " + smp;
        }
        if (out == null) {
            return "--out FILE is required";
        }
        if (timeout < 10) {
            return "--timeout must be at least 10 seconds, got " + timeout;
        }
        return null;
    }
}
