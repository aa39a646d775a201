// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/** capture --check: what capture needs on the host, what is missing, and the apt-get line that installs it. */
public final class Check {

    /** One requirement: what, whether it is there, where or why not, and the package that provides it. */
    public record Item(String what, boolean ok, String detail, String pkg) {
    }

    /** The items and the install line (null when nothing is missing). */
    public record Report(List<Item> items, String install) {
        public boolean ok() {
            return install == null;
        }

        public String text() {
            StringBuilder sb = new StringBuilder();
            for (Item i : items) {
                sb.append(String.format("  %-8s %-28s %s%n", i.ok() ? "ok" : "MISSING", i.what(), i.detail()));
            }
            sb.append(install == null ? "nothing missing\n" : "missing: " + install + "\n");
            return sb.toString();
        }
    }

    private Check() {
    }

    /** The host as it is; {@code kernel} (a package name or directory) may be null. */
    public static Report host(String kernel, Path headers) {
        return run(Host::which, () -> Capture.staticBusybox() != null, kernel, headers, Check::headersPackage);
    }

    /** The check with the host's lookups passed in (tests pass fakes). */
    static Report run(Function<String, Path> which, Supplier<Boolean> staticBusybox, String kernel, Path headers,
            Function<String, String[]> headersLookup) {
        List<Item> items = new ArrayList<>();
        tool(items, which, "qemu-system-x86_64", "qemu-system-x86", "boots the kernel (software emulation)");
        boolean bb = staticBusybox.get();
        items.add(new Item("busybox (static)", bb, bb ? String.valueOf(which.apply("busybox"))
                : "the initramfs's shell and tools; package busybox-static", "busybox-static"));
        tool(items, which, "cpio", "cpio", "packs the initramfs");
        tool(items, which, "gzip", "gzip", "compresses the initramfs");
        tool(items, which, "make", "make", "builds the module");
        tool(items, which, "apt-get", "apt", "fetches Debian's kernel packages (apt-get download)");
        tool(items, which, "dpkg-deb", "dpkg", "unpacks them (never installs them)");
        tool(items, which, "unshare", "util-linux", "mounts /proc privately for a chroot build");
        String gcc = "gcc-12";
        boolean chroot = false;
        if (kernel != null && !Files.isDirectory(Path.of(kernel)) && headers == null) {
            String release = kernel.replaceFirst("^linux-image-", "").replaceFirst("-unsigned$", "");
            String[] h = headersLookup.apply(release);
            if (h == null) {
                items.add(new Item("headers", false, "linux-headers-" + release + " is in no apt source vmapref "
                        + "knows (the host's, or Debian unstable)", null));
            } else {
                items.add(new Item("headers", true, "linux-headers-" + release + " (" + h[0] + ")", null));
                gcc = h[1] != null ? h[1] : gcc;
            }
        } else if (kernel != null) {
            Path tree = headers != null ? headers : Path.of(kernel).resolve("build");
            boolean ok = Files.isRegularFile(tree.resolve("Makefile")) || Files.isRegularFile(Path.of(kernel,
                    "Module.symvers"));
            items.add(new Item("headers", ok, ok ? tree.toString() : "no module build tree: name one with --headers", null));
        }
        boolean hostGcc = which.apply(gcc) != null || which.apply("x86_64-linux-gnu-" + gcc) != null;
        if (hostGcc || gcc.equals("gcc-12")) {
            items.add(new Item(gcc, hostGcc, hostGcc ? "the compiler the headers accept"
                    : "the compiler of bookworm's 6.1 and 6.12 headers", gcc));
        } else {
            chroot = true;
            items.add(new Item(gcc + " (in a chroot)", true, "not on the host: the module is built in a minimal "
                    + "Debian unstable chroot made with debootstrap", null));
        }
        if (chroot || kernel == null) {
            tool(items, which, "debootstrap", "debootstrap", "makes the chroot for headers that need a newer gcc (7.2)");
        }
        Set<String> pkgs = new LinkedHashSet<>();
        for (Item i : items) {
            if (!i.ok() && i.pkg() != null) {
                pkgs.add(i.pkg());
            }
        }
        boolean unfixable = items.stream().anyMatch(i -> !i.ok() && i.pkg() == null);
        String install = pkgs.isEmpty() ? (unfixable ? "(no package fixes this; see above)" : null)
                : "apt-get install -y " + String.join(" ", pkgs);
        return new Report(items, install);
    }

    private static void tool(List<Item> items, Function<String, Path> which, String name, String pkg, String role) {
        Path p = which.apply(name);
        items.add(new Item(name, p != null, p != null ? p.toString() : role + "; package " + pkg, pkg));
    }

    /** {where, gcc-N} for linux-headers-RELEASE from apt-cache (the host's sources, then private unstable lists). */
    static String[] headersPackage(String release) {
        String pkg = "linux-headers-" + release;
        try {
            Host.Result r = Host.run(List.of("apt-cache", "show", pkg), null, 60);
            if (r.ok() && r.output().contains("Package: " + pkg)) {
                return new String[] {"the host's apt sources", gccOf(r.output())};
            }
            Path lists = Capture.defaultWork().resolve("apt-unstable/lists");
            if (Files.isDirectory(lists)) {
                Host.Result u = Host.run(List.of("apt-cache", "-o", "Dir::State::Lists=" + lists, "-o",
                        "Dir::State::status=/dev/null", "-o", "Dir::Etc::SourceParts=/dev/null", "-o",
                        "Dir::Etc::SourceList=" + lists.getParent().resolve("sources.list"), "-o", "Dir::Cache="
                        + lists.getParent().resolve("cache"), "show", pkg), null, 60);
                if (u.ok() && u.output().contains("Package: " + pkg)) {
                    return new String[] {"Debian unstable, private lists", gccOf(u.output())};
                }
            } else if (release.matches("[7-9]\\..*|[1-9][0-9]\\..*")) {
                return new String[] {"expected in Debian unstable, lists not fetched yet", "gcc-16"};
            }
        } catch (CaptureException e) {
            return null;
        }
        return null;
    }

    private static String gccOf(String aptShow) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^Depends:.*?\\b(gcc-\\d+)").matcher(aptShow);
        return m.find() ? m.group(1) : null;
    }
}
