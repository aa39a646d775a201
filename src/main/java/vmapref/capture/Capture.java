// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * capture: builds the project's module (capture/module) against the kernel's headers, packs it with busybox,
 * capture/init.sh and the program into an initramfs, boots the kernel under QEMU's software emulation and turns
 * what the guest printed into a trace. Nothing is loaded into the host's kernel.
 */
public final class Capture {

    /** Guest memory in MiB. */
    static final int MEMORY_MB = 512;
    /** A boot that shows no sign of the guest's /init by then counts as died early. */
    static final long BOOT_SECONDS = 180;

    /** What to capture. */
    public record Options(String kernel, Path headers, int smp, boolean kaslr, CallProgram program, boolean probeStale,
            Path out, Path work, long timeoutSeconds, Load load) {
        public Options(String kernel, Path headers, int smp, boolean kaslr, CallProgram program, boolean probeStale,
                Path out, Path work, long timeoutSeconds) {
            this(kernel, headers, smp, kaslr, program, probeStale, out, work, timeoutSeconds, Load.NONE);
        }
    }

    /** A finished capture. */
    public record Result(TraceBuilder.Summary summary, Path out, Path console, int boots, double seconds) {
    }

    private Capture() {
    }

    /** The default work directory: $XDG_CACHE_HOME/vmapref or ~/.cache/vmapref. */
    public static Path defaultWork() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        return xdg != null && !xdg.isBlank() ? Path.of(xdg, "vmapref")
                : Path.of(System.getProperty("user.home"), ".cache", "vmapref");
    }

    public static Result run(Options o, Consumer<String> say) throws CaptureException, IOException {
        long t0 = System.nanoTime();
        CallProgram p = o.program();
        if (p.maxCpu() >= o.smp()) {
            throw new CaptureException("the program calls on CPU " + p.maxCpu() + " but the guest has " + o.smp()
                    + " CPU" + (o.smp() == 1 ? "" : "s") + ": use --smp " + (p.maxCpu() + 1));
        }
        if (p.maxCount() > CallProgram.MAX_COUNT) {
            throw new CaptureException("the program maps " + p.maxCount() + " pages in one call; capture runs counts "
                    + "up to " + CallProgram.MAX_COUNT);
        }
        for (String tool : List.of("qemu-system-x86_64", "cpio", "gzip", "make")) {
            if (Host.which(tool) == null) {
                throw new CaptureException(tool + " is missing; see 'vmapref capture --check'");
            }
        }
        Path busybox = staticBusybox();
        if (busybox == null) {
            throw new CaptureException("no static busybox; apt-get install -y busybox-static");
        }
        Kernel.mkdirs(o.work());
        Kernel k = Kernel.resolve(o.kernel(), o.headers(), o.work(), say);
        String id = String.format(Locale.ROOT, "%d-%d", System.currentTimeMillis(), ProcessHandle.current().pid());
        Path run = o.work().resolve("runs").resolve(id);
        Kernel.mkdirs(run);
        Path ko = buildModule(k, run, id, say);
        Path modulesDeb = o.load() == Load.NONE ? null : Kernel.modulesDeb(o.kernel(), o.work(), say);
        Path initrd = initramfs(run, busybox, ko, p, o.probeStale(), o.load(), modulesDeb, say);
        List<String> cmdline = new ArrayList<>(List.of("console=ttyS0", "quiet", "no_hash_pointers", "panic=-1"));
        if (!o.kaslr()) {
            cmdline.add("nokaslr");
        }
        Path console = run.resolve("console.log");
        int boots = 0;
        String console0 = null;
        for (int attempt = 1; attempt <= 2; attempt++) {
            boots++;
            say.accept("booting " + k.label() + " under qemu-system-x86_64 -accel tcg -smp " + o.smp() + " -m "
                    + MEMORY_MB + (attempt > 1 ? " (again: the first boot died early)" : ""));
            console0 = boot(k.bzImage(), initrd, o.smp(), String.join(" ", cmdline), console, o.timeoutSeconds());
            if (console0 != null) {
                break;
            }
        }
        if (console0 == null) {
            throw new CaptureException("the guest died early in boot twice (console: " + show(console) + ")");
        }
        GuestLog log;
        try {
            log = GuestLog.parse(console0);
        } catch (CaptureException e) {
            throw new CaptureException(e.getMessage() + " (console: " + show(console) + ")", e.detail());
        }
        String source = k.label() + " under qemu-system-x86_64 -accel tcg -smp " + o.smp() + " -m " + MEMORY_MB + ", "
                + (o.kaslr() ? "kaslr" : "nokaslr") + ", no_hash_pointers, vmapref_capture.ko kthreads bound per CPU; "
                + "flushes from kretprobes on flush_tlb_kernel_range and flush_tlb_all"
                + (o.load() == Load.NONE ? "" : "; background load: " + o.load().name().toLowerCase());
        TraceBuilder.Summary s = TraceBuilder.write(log, p,
                new TraceBuilder.Meta(source, o.smp(), o.kaslr(), o.probeStale(), p.origin()), o.out());
        return new Result(s, o.out(), console, boots, (System.nanoTime() - t0) / 1e9);
    }

    /** Builds capture/module against the kernel's tree; the compiler's message when it fails. */
    static Path buildModule(Kernel k, Path run, String id, Consumer<String> say) throws CaptureException, IOException {
        Path src = k.chroot() != null ? k.chroot().resolve("build").resolve(id) : run.resolve("module");
        Kernel.mkdirs(src);
        for (String f : List.of("vmapref_capture.c", "Kbuild")) {
            copyResource("capture/module/" + f, src.resolve(f));
        }
        say.accept("building vmapref_capture.ko against " + show(k.build()) + (k.chroot() != null ? " in " + show(k.chroot()) : ""));
        List<String> args = List.of("-C", k.build().toString(), "M=" + (k.chroot() != null ? "/build/" + id : src),
                "CONFIG_DEBUG_INFO_BTF_MODULES=", "modules"); // no BTF for the module: it needs pahole, and nothing reads it
        Host.Result r;
        if (k.chroot() != null) {
            r = Chroot.make(k.chroot(), args, 600);
        } else {
            List<String> cmd = new ArrayList<>(List.of("make"));
            cmd.addAll(args);
            r = Host.run(cmd, null, 600);
        }
        Path ko = src.resolve("vmapref_capture.ko");
        if (!r.ok() || !Files.isRegularFile(ko)) {
            throw new CaptureException("the module does not build against " + k.build()
                    + (r.code() == -1 ? " (make timed out)" : ""), compilerMessage(r.output()));
        }
        Path out = run.resolve("vmapref_capture.ko");
        Files.copy(ko, out, StandardCopyOption.REPLACE_EXISTING);
        if (k.chroot() != null) {
            Host.run(List.of("rm", "-rf", src.toString()), null, 60);
        }
        return out;
    }

    /** The lines of make's output that say what went wrong (errors first), at most 30. */
    static String compilerMessage(String output) {
        List<String> keep = new ArrayList<>();
        for (String l : output.split("\n")) {
            if (l.contains("error") || l.contains("Error") || l.contains("warning:") || l.contains("not found")
                    || l.contains("No such file") || l.contains("note:")) {
                keep.add(l);
            }
        }
        List<String> lines = keep.isEmpty() ? List.of(output.strip().split("\n")) : keep;
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    }

    static Path initramfs(Path run, Path busybox, Path ko, CallProgram p, boolean probe) throws CaptureException, IOException {
        return initramfs(run, busybox, ko, p, probe, Load.NONE, null, s -> { });
    }

    static Path initramfs(Path run, Path busybox, Path ko, CallProgram p, boolean probe, Load load, Path modulesDeb,
            Consumer<String> say) throws CaptureException, IOException {
        Path stage = run.resolve("initramfs");
        Kernel.mkdirs(stage.resolve("bin"));
        Files.copy(busybox, stage.resolve("bin/busybox"), StandardCopyOption.REPLACE_EXISTING);
        stage.resolve("bin/busybox").toFile().setExecutable(true);
        copyResource("capture/init.sh", stage.resolve("init"));
        stage.resolve("init").toFile().setExecutable(true);
        Files.copy(ko, stage.resolve("vmapref_capture.ko"), StandardCopyOption.REPLACE_EXISTING);
        Files.writeString(stage.resolve("program"), p.encode(probe), StandardCharsets.US_ASCII);
        load.stage(stage, modulesDeb, null, run, say);
        int ops = p.ops().size();
        Files.writeString(stage.resolve("modparams"), "max_ops=" + Math.max(1, ops) + " max_pages="
                + Math.max(64, p.maxCount()) + " max_records=" + ((load == Load.NONE ? 65536 : 524288) + 8L * ops) + "\n", StandardCharsets.US_ASCII);
        Path initrd = run.resolve("initrd.gz");
        Host.check(List.of("sh", "-c", "cd \"$1\" && find . | cpio -o -H newc --quiet | gzip -1 > \"$2\"", "sh",
                stage.toString(), initrd.toString()), null, 120, "cannot pack the initramfs");
        Host.run(List.of("rm", "-rf", stage.toString()), null, 60);
        return initrd;
    }

    /**
     * Boots and waits; the console's text, or null when the guest died (or stalled) before its /init started.
     * A guest that runs past {@code timeout} seconds is ended.
     */
    static String boot(Path bzImage, Path initrd, int smp, String cmdline, Path console, long timeout)
            throws CaptureException, IOException {
        Files.deleteIfExists(console);
        List<String> cmd = List.of("qemu-system-x86_64", "-accel", "tcg", "-m", String.valueOf(MEMORY_MB), "-smp",
                String.valueOf(smp), "-nodefaults", "-display", "none", "-no-reboot", "-monitor", "none",
                "-serial", "file:" + console, "-kernel", bzImage.toString(), "-initrd", initrd.toString(),
                "-append", cmdline);
        Path err = console.resolveSibling("qemu.err");
        Process q = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(err.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        long start = System.nanoTime();
        try {
            boolean booted = false;
            while (true) {
                if (q.waitFor(250, TimeUnit.MILLISECONDS)) {
                    break;
                }
                double s = (System.nanoTime() - start) / 1e9;
                if (s > timeout) {
                    q.destroyForcibly().waitFor();
                    throw new CaptureException("the guest did not finish within " + timeout + " s and was ended "
                            + "(console: " + show(console) + "); a longer --timeout may help");
                }
                if (!booted) {
                    booted = read(console).contains(GuestLog.MARK + "boot");
                    if (!booted && s > BOOT_SECONDS) { // stalled early in boot: like dying there
                        q.destroyForcibly().waitFor();
                        return null;
                    }
                }
            }
        } catch (InterruptedException e) {
            q.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new CaptureException("interrupted while the guest ran");
        }
        String text = read(console);
        if (!text.contains(GuestLog.MARK + "boot")) {
            if (q.exitValue() != 0 && text.isEmpty()) {
                String why = read(err).strip();
                if (!why.isEmpty() && !why.contains("terminating on signal")) {
                    throw new CaptureException("qemu-system-x86_64 failed: " + why.split("\n")[0]);
                }
            }
            return null;
        }
        return text;
    }

    /** A path for messages: under the home directory as ~/... */
    public static String show(Path p) {
        String home = System.getProperty("user.home");
        String s = p.toAbsolutePath().normalize().toString();
        return home != null && !home.equals("/") && s.startsWith(home + "/") ? "~" + s.substring(home.length()) : p.toString();
    }

    private static String read(Path f) throws IOException {
        return Files.exists(f) ? Files.readString(f, StandardCharsets.ISO_8859_1) : "";
    }

    static void copyResource(String name, Path to) throws IOException, CaptureException {
        try (InputStream in = Capture.class.getResourceAsStream("/" + name)) {
            if (in == null) {
                throw new CaptureException("vmapref is built without its resource " + name);
            }
            Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** busybox from busybox-static: an ELF with no interpreter (PT_INTERP), or null. */
    static Path staticBusybox() {
        Path b = Host.which("busybox");
        try {
            return b != null && isStatic(Files.readAllBytes(b)) ? b : null;
        } catch (IOException e) {
            return null;
        }
    }

    static boolean isStatic(byte[] elf) {
        if (elf.length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F' || elf[4] != 2) {
            return false;
        }
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        long phoff = b.getLong(0x20);
        int phentsize = Short.toUnsignedInt(b.getShort(0x36));
        int phnum = Short.toUnsignedInt(b.getShort(0x38));
        for (int i = 0; i < phnum; i++) {
            long at = phoff + (long) i * phentsize;
            if (at + 4 > elf.length) {
                return false;
            }
            if (b.getInt((int) at) == 3) { // PT_INTERP
                return false;
            }
        }
        return true;
    }
}
