// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

/**
 * A minimal Debian unstable chroot with a compiler the host lacks (debootstrap --variant=minbase), made once in
 * the work directory; modules are built in it with /proc mounted (objtool needs it) in a private mount
 * namespace, so nothing stays mounted on the host.
 */
final class Chroot {

    /** What a module build needs besides the compiler: make, and the libraries of kbuild's tools and objtool. */
    static final String PACKAGES = "make,libelf1t64,libssl3t64,zlib1g,pahole,libc6-dev";

    private Chroot() {
    }

    /** The chroot with {@code gcc} (gcc-16), made when missing. */
    static Path ensure(Path work, String gcc, Consumer<String> say) throws CaptureException {
        Path dir = work.resolve("chroot-unstable-" + gcc);
        if (Files.isRegularFile(dir.resolve(".vmapref-ready"))) {
            return dir;
        }
        if (Host.which("debootstrap") == null) {
            throw new CaptureException("the headers need " + gcc + ", which the host lacks, and making a Debian "
                    + "unstable chroot with it needs debootstrap: apt-get install -y debootstrap");
        }
        Path tmp = work.resolve("chroot-unstable-" + gcc + ".partial");
        say.accept("making a minimal Debian unstable chroot with " + gcc + " (debootstrap, once; about a minute)");
        Host.run(List.of("rm", "-rf", tmp.toString()), null, 300);
        Host.Result r = Host.run(List.of("debootstrap", "--variant=minbase", "--include=" + gcc + "," + PACKAGES,
                "unstable", tmp.toString(), Kernel.MIRROR), null, 1800);
        if (!r.ok()) {
            throw new CaptureException("debootstrap of Debian unstable with " + gcc + " failed: " + r.lastLine());
        }
        try {
            Host.run(List.of("rm", "-rf", dir.toString()), null, 300);
            Files.move(tmp, dir);
            Files.writeString(dir.resolve(".vmapref-ready"), gcc + "\n");
        } catch (IOException e) {
            throw new CaptureException("cannot set up " + dir + ": " + e.getMessage());
        }
        return dir;
    }

    /** Runs {@code make ARGS} in the chroot with /proc mounted, in a private mount namespace. */
    static Host.Result make(Path chroot, List<String> args, long seconds) throws CaptureException {
        String cmd = "mount -t proc proc /proc && exec make \"$@\"";
        List<String> full = new java.util.ArrayList<>(List.of("unshare", "--mount", "--propagation", "private",
                "chroot", chroot.toString(), "/bin/sh", "-c", cmd, "make"));
        full.addAll(args);
        return Host.run(full, null, seconds);
    }
}
