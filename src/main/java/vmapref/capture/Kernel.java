// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The kernel a capture boots and the tree its module is built against: from a Debian package name (fetched
 * with {@code apt-get download}, unpacked with {@code dpkg-deb}, never installed) or from a directory with a
 * bzImage and its module build tree. When the headers want a compiler the host lacks (7.2's gcc-16), the module
 * is built in a minimal Debian unstable chroot (debootstrap --variant=minbase) that has it.
 *
 * @param label   what the header's source says the kernel is
 * @param bzImage the kernel image QEMU boots
 * @param build   the module build tree (make -C), a path inside {@code chroot} when that is not null
 * @param chroot  the chroot to build in, or null to build on the host
 */
public record Kernel(String label, Path bzImage, Path build, Path chroot) {

    static final String MIRROR = "http://deb.debian.org/debian";
    private static final Pattern GCC = Pattern.compile("gcc-(\\d+)");

    /** Resolves {@code spec} (a package name or a directory), fetching and unpacking into {@code work}. */
    public static Kernel resolve(String spec, Path headers, Path work, Consumer<String> say) throws CaptureException {
        Path dir = Path.of(spec);
        if (Files.isDirectory(dir)) {
            return fromDirectory(dir, headers);
        }
        if (!spec.matches("linux-image-[A-Za-z0-9.+~-]+")) {
            throw new CaptureException("--kernel: '" + spec + "' is neither a directory nor a Debian package name "
                    + "linux-image-VERSION (for example linux-image-6.1.0-57-amd64)");
        }
        return fromPackage(spec, headers, work, say);
    }

    /** A directory: DIR/bzImage, DIR/arch/x86/boot/bzImage, DIR/vmlinuz* or DIR/boot/vmlinuz-*; the build tree. */
    static Kernel fromDirectory(Path dir, Path headers) throws CaptureException {
        Path image = null;
        for (Path p : List.of(dir.resolve("bzImage"), dir.resolve("arch/x86/boot/bzImage"))) {
            if (Files.isRegularFile(p)) {
                image = p;
                break;
            }
        }
        if (image == null) {
            image = first(dir, "vmlinuz*");
        }
        if (image == null && Files.isDirectory(dir.resolve("boot"))) {
            image = first(dir.resolve("boot"), "vmlinuz-*");
        }
        if (image == null) {
            throw new CaptureException("--kernel " + dir + ": no bzImage, arch/x86/boot/bzImage, vmlinuz* or "
                    + "boot/vmlinuz-* in it");
        }
        Path build = headers;
        if (build == null) {
            if (Files.isRegularFile(dir.resolve("build/Makefile"))) {
                build = dir.resolve("build");
            } else if (Files.isRegularFile(dir.resolve("Module.symvers"))) {
                build = dir;
            } else {
                throw new CaptureException("--kernel " + dir + ": no module build tree (DIR/build or DIR with "
                        + "Module.symvers); name one with --headers DIR");
            }
        }
        checkBuildTree(build);
        return new Kernel("the kernel in " + dir.getFileName(), image, build, null);
    }

    private static void checkBuildTree(Path build) throws CaptureException {
        if (!Files.isRegularFile(build.resolve("Makefile"))) {
            throw new CaptureException("--headers " + build + ": not a kernel module build tree (no Makefile)");
        }
    }

    private static Path first(Path dir, String glob) throws CaptureException {
        try (var s = Files.newDirectoryStream(dir, glob)) {
            for (Path p : s) {
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
            return null;
        } catch (IOException e) {
            throw new CaptureException("cannot list " + dir + ": " + e.getMessage());
        }
    }

    /** The .deb holding the modules of the kernel package {@code spec}: its own, or 7.2's linux-modules-RELEASE. */
    static Path modulesDeb(String spec, Path work, Consumer<String> say) throws CaptureException {
        if (!spec.matches("linux-image-[A-Za-z0-9.+~-]+")) {
            throw new CaptureException("--load needs --kernel as a Debian package name, for its modules");
        }
        Apt apt = new Apt(work, say);
        Path imageDeb = apt.download(spec);
        String list = Host.check(List.of("sh", "-c", "dpkg-deb -c \"$1\" | grep -c '/kernel/drivers/block/loop.ko' || true",
                "sh", imageDeb.toString()), null, 300, "cannot list " + imageDeb.getFileName()).output().strip();
        if (!list.equals("0")) {
            return imageDeb;
        }
        for (String dep : depends(imageDeb)) {
            if (dep.startsWith("linux-modules-")) {
                return apt.download(dep);
            }
        }
        throw new CaptureException(spec + " (and what it depends on) holds no modules");
    }

    static Kernel fromPackage(String pkg, Path headers, Path work, Consumer<String> say) throws CaptureException {
        String release = pkg.substring("linux-image-".length()).replaceFirst("-unsigned$", "");
        Apt apt = new Apt(work, say);
        Path kdir = work.resolve("kernels").resolve(release);
        Path image = kdir.resolve("vmlinuz");
        mkdirs(kdir);
        Path imageDeb = apt.download(pkg);
        String version = field(imageDeb, "Version");
        if (!Files.isRegularFile(image)) {
            say.accept("unpacking the kernel image of " + pkg);
            String member = vmlinuzIn(imageDeb);
            Path deb = imageDeb;
            if (member == null) { // 7.2: the image is in linux-binary-VERSION
                for (String dep : depends(imageDeb)) {
                    if (dep.startsWith("linux-binary-")) {
                        deb = apt.download(dep);
                        member = vmlinuzIn(deb);
                    }
                }
            }
            if (member == null) {
                throw new CaptureException(pkg + " (and what it depends on) holds no vmlinuz");
            }
            Host.check(List.of("sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -xO \"$2\" > \"$3.tmp\" && mv \"$3.tmp\" \"$3\"",
                    "sh", deb.toString(), member, image.toString()), null, 300, "cannot unpack the kernel image");
        }
        String label = "debian " + pkg + " (" + version + ")";
        if (headers != null) {
            checkBuildTree(headers);
            return new Kernel(label, image, headers, null);
        }
        List<Path> debs = new ArrayList<>();
        Path hdeb = apt.download("linux-headers-" + release);
        debs.add(hdeb);
        for (String dep : depends(hdeb)) {
            if (dep.startsWith("linux-headers-") || dep.startsWith("linux-kbuild-")) {
                debs.add(apt.download(dep));
            }
        }
        String tree = "usr/src/linux-headers-" + release;
        Path root = kdir.resolve("headers");
        if (!Files.exists(root.resolve(".vmapref-unpacked"))) {
            say.accept("unpacking the headers of " + release);
            unpack(debs, root);
        }
        String gcc = compilerOf(root.resolve(tree));
        if (gcc == null || hasCompiler(gcc)) {
            Path build = root.resolve(tree);
            relocate(build, root);
            return new Kernel(label, image, build, null);
        }
        Path chroot = Chroot.ensure(work, gcc, say);
        Path marker = chroot.resolve(".vmapref-headers-" + release);
        if (!Files.exists(marker)) {
            say.accept("unpacking the headers of " + release + " into the " + gcc + " chroot");
            unpack(debs, chroot);
        }
        return new Kernel(label, image, Path.of("/" + tree), chroot);
    }

    /** The compiler the headers ask for (gcc-N in .kernelvariables), or null when they name none. */
    static String compilerOf(Path tree) throws CaptureException {
        Path vars = tree.resolve(".kernelvariables");
        if (!Files.isRegularFile(vars)) {
            return null;
        }
        try {
            Matcher m = GCC.matcher(Files.readString(vars, StandardCharsets.ISO_8859_1));
            return m.find() ? m.group() : null;
        } catch (IOException e) {
            throw new CaptureException("cannot read " + vars + ": " + e.getMessage());
        }
    }

    /** Whether the host has {@code gcc} (gcc-12) as itself or as x86_64-linux-gnu-gcc-12. */
    static boolean hasCompiler(String gcc) {
        return Host.which(gcc) != null || Host.which("x86_64-linux-gnu-" + gcc) != null;
    }

    /** Debian's headers include the -common tree by an absolute path: point it into the unpacked copy. */
    private static void relocate(Path build, Path root) throws CaptureException {
        Path mk = build.resolve("Makefile");
        try {
            String s = Files.readString(mk, StandardCharsets.ISO_8859_1);
            String t = s.replaceAll("(?m)^include /usr/src/", "include " + root.toAbsolutePath() + "/usr/src/");
            if (!t.equals(s)) {
                Files.writeString(mk, t, StandardCharsets.ISO_8859_1);
            }
        } catch (IOException e) {
            throw new CaptureException("cannot adapt " + mk + ": " + e.getMessage());
        }
    }

    private static void unpack(List<Path> debs, Path root) throws CaptureException {
        mkdirs(root);
        for (Path d : debs) {
            Host.check(List.of("dpkg-deb", "-x", d.toString(), root.toString()), null, 300, "cannot unpack " + d.getFileName());
        }
        try {
            Files.writeString(root.resolve(root.getFileName().toString().equals("headers") ? ".vmapref-unpacked"
                    : ".vmapref-headers-" + releaseOf(debs.get(0))), "");
        } catch (IOException e) {
            throw new CaptureException("cannot write in " + root + ": " + e.getMessage());
        }
    }

    private static String releaseOf(Path headersDeb) {
        String n = headersDeb.getFileName().toString();
        return n.substring("linux-headers-".length(), n.indexOf('_'));
    }

    /** The path of the kernel image inside a package, or null. */
    static String vmlinuzIn(Path deb) throws CaptureException {
        return findVmlinuz(Host.check(List.of("sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -t", "sh",
                deb.toString()), null, 300, "cannot list " + deb.getFileName()).output());
    }

    static String findVmlinuz(String listing) {
        for (String l : listing.split("\n")) {
            String p = l.strip();
            if (p.matches("\\./boot/vmlinuz-[^/]+") || p.matches("\\./(usr/)?lib/modules/[^/]+/vmlinuz")) {
                return p;
            }
        }
        return null;
    }

    /** The package names a .deb depends on (first alternative, no versions). */
    static List<String> depends(Path deb) throws CaptureException {
        return parseDepends(field(deb, "Depends"));
    }

    static List<String> parseDepends(String depends) {
        List<String> names = new ArrayList<>();
        for (String d : depends.split(",")) {
            String first = d.split("\\|")[0].strip().replaceAll("\\(.*\\)", "").replaceAll(":any$", "").strip();
            if (!first.isEmpty()) {
                names.add(first);
            }
        }
        return names;
    }

    private static String field(Path deb, String name) throws CaptureException {
        return Host.check(List.of("dpkg-deb", "-f", deb.toString(), name), null, 60, "cannot read " + deb.getFileName())
                .output().strip();
    }

    static void mkdirs(Path d) throws CaptureException {
        try {
            Files.createDirectories(d);
        } catch (IOException e) {
            throw new CaptureException("cannot create " + d + ": " + e.getMessage());
        }
    }

    /** Debian packages with apt-get download: the host's sources, then Debian unstable from private lists. */
    static final class Apt {
        private final Path work;
        private final Path debs;
        private final Consumer<String> say;

        Apt(Path work, Consumer<String> say) throws CaptureException {
            this.work = work;
            this.debs = work.resolve("debs");
            this.say = say;
            mkdirs(debs);
        }

        /** The cached .deb of {@code pkg}, downloading it the first time. */
        Path download(String pkg) throws CaptureException {
            Path have = cached(pkg);
            if (have != null) {
                return have;
            }
            say.accept("fetching " + pkg);
            List<String> cmd = new ArrayList<>(List.of("apt-get", "-q", "-o", "APT::Sandbox::User=root", "download", pkg));
            Host.Result r = Host.run(cmd, debs, 900);
            if (!r.ok()) {
                List<String> unstable = unstableOptions();
                List<String> cmd2 = new ArrayList<>(List.of("apt-get", "-q"));
                cmd2.addAll(unstable);
                cmd2.addAll(List.of("download", pkg));
                Host.Result r2 = Host.run(cmd2, debs, 900);
                if (!r2.ok()) {
                    throw new CaptureException("cannot fetch the Debian package " + pkg + ": neither the host's apt "
                            + "sources nor Debian unstable have it (apt-get: " + r2.lastLine() + ")");
                }
            }
            have = cached(pkg);
            if (have == null) {
                throw new CaptureException("apt-get download " + pkg + " left no .deb in " + debs);
            }
            return have;
        }

        private Path cached(String pkg) throws CaptureException {
            try (Stream<Path> s = Files.list(debs)) {
                String prefix = pkg.replace("+", "%2b") + "_";
                return s.filter(p -> {
                    String n = p.getFileName().toString();
                    return n.endsWith(".deb") && (n.startsWith(pkg + "_") || n.startsWith(prefix));
                }).max(Comparator.comparing(Path::toString)).orElse(null);
            } catch (IOException e) {
                throw new CaptureException("cannot list " + debs + ": " + e.getMessage());
            }
        }

        /** apt options for Debian unstable with its own sources list and state; its lists fetched once. */
        private List<String> unstableOptions() throws CaptureException {
            Path dir = work.resolve("apt-unstable");
            Path lists = dir.resolve("lists");
            Path cache = dir.resolve("cache");
            Path sources = dir.resolve("sources.list");
            mkdirs(lists.resolve("partial"));
            mkdirs(cache.resolve("archives/partial"));
            List<String> o = List.of("-o", "Dir::Etc::SourceList=" + sources, "-o", "Dir::Etc::SourceParts=/dev/null",
                    "-o", "Dir::State::Lists=" + lists, "-o", "Dir::Cache=" + cache, "-o", "Dir::State::status=/dev/null",
                    "-o", "Acquire::Check-Valid-Until=false", "-o", "APT::Sandbox::User=root");
            try {
                if (!Files.exists(sources)) {
                    Files.writeString(sources, "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] "
                            + MIRROR + " unstable main\n");
                }
                boolean fetched;
                try (Stream<Path> s = Files.list(lists)) {
                    fetched = s.anyMatch(p -> p.getFileName().toString().contains("_Packages"));
                }
                if (!fetched) {
                    say.accept("fetching the package lists of Debian unstable (private, the host's sources are untouched)");
                    List<String> cmd = new ArrayList<>(List.of("apt-get", "-q"));
                    cmd.addAll(o);
                    cmd.add("update");
                    Host.check(cmd, null, 600, "cannot fetch Debian unstable's package lists");
                }
            } catch (IOException e) {
                throw new CaptureException("cannot set up " + dir + ": " + e.getMessage());
            }
            return o;
        }
    }
}
