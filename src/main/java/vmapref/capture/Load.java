// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Background load in the guest while the program runs (capture --load): other users of the vmalloc range.
 * {@code modules} loads and unloads small modules from the kernel's package: each load changes page
 * attributes (set_memory_*), which calls vm_unmap_aliases(), and each unload's vfree() runs vm_reset_perms().
 * {@code erofs} reads the files of an lz4-compressed erofs image (mkfs.erofs on the host, mounted in the guest
 * through a loop device): erofs decompresses a multi-page cluster through vm_map_ram(), and drop_caches between
 * passes makes it decompress again and runs the shrinkers (vmap_node_shrink_scan() among them).
 */
public enum Load {
    NONE, MODULES, EROFS, ALL;

    /** Modules loaded and unloaded over and over: small, with no dependencies. */
    static final List<String> CHURN = List.of("ts_kmp", "ts_bm", "ts_fsm", "crc7", "crc-itu-t");
    /** What the erofs load needs loaded first (their dependencies are added from modinfo). */
    static final List<String> EROFS_MODULES = List.of("loop", "erofs");

    public static Load parse(String s) {
        for (Load l : values()) {
            if (l.name().equalsIgnoreCase(s)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown load '" + s + "' (none, modules, erofs or all)");
    }

    boolean modules() {
        return this == MODULES || this == ALL;
    }

    boolean erofs() {
        return this == EROFS || this == ALL;
    }

    /**
     * Puts into the initramfs {@code stage} what the load needs: mod/NAME.ko (decompressed), the lists
     * "load-base" (insmod once, in order) and "load-churn", the erofs image, and "load" naming the kinds.
     */
    void stage(Path stage, Path modulesDeb, String release, Path run, Consumer<String> say)
            throws CaptureException, IOException {
        if (this == NONE) {
            return;
        }
        for (String tool : List.of("xz", "modinfo", "dpkg-deb")) {
            if (Host.which(tool) == null) {
                throw new CaptureException(tool + " is missing: capture --load needs it");
            }
        }
        Path mods = run.resolve("modules");
        Kernel.mkdirs(mods);
        say.accept("unpacking modules for --load " + name().toLowerCase() + " from " + modulesDeb.getFileName());
        Host.check(List.of("sh", "-c", "dpkg-deb --fsys-tarfile \"$1\" | tar -x -C \"$2\" --wildcards "
                + "'*/kernel/lib/*' '*/kernel/fs/erofs/*' '*/kernel/drivers/block/loop.ko*' '*/kernel/crypto/*'",
                "sh", modulesDeb.toString(), mods.toString()), null, 300, "cannot unpack the kernel's modules");
        Path out = stage.resolve("mod");
        Kernel.mkdirs(out);
        Set<String> base = new LinkedHashSet<>();
        if (erofs()) {
            for (String m : EROFS_MODULES) {
                addWithDeps(m, mods, base, 0);
            }
        }
        List<String> churn = new ArrayList<>();
        if (modules()) {
            for (String m : CHURN) {
                if (find(mods, m) != null) {
                    churn.add(m);
                }
            }
            if (churn.isEmpty()) {
                throw new CaptureException("none of the modules " + CHURN + " is in " + modulesDeb.getFileName());
            }
        }
        for (String m : concat(base, churn)) {
            Path ko = find(mods, m);
            String name = ko.getFileName().toString();
            Path dst = out.resolve(m + ".ko");
            if (name.endsWith(".xz")) {
                Host.check(List.of("sh", "-c", "xz -dc \"$1\" > \"$2\"", "sh", ko.toString(), dst.toString()), null, 60,
                        "cannot decompress " + name);
            } else if (name.endsWith(".zst")) {
                Host.check(List.of("sh", "-c", "zstd -dc \"$1\" > \"$2\"", "sh", ko.toString(), dst.toString()), null, 60,
                        "cannot decompress " + name);
            } else {
                Files.copy(ko, dst);
            }
        }
        Files.writeString(stage.resolve("load-base"), String.join("\n", base) + "\n", StandardCharsets.US_ASCII);
        Files.writeString(stage.resolve("load-churn"), String.join("\n", churn.stream()
                .map(m -> m.replace('-', '_')).toList()) + "\n", StandardCharsets.US_ASCII);
        if (erofs()) {
            erofsImage(stage.resolve("load.erofs"), run, say);
        }
        Files.writeString(stage.resolve("load"), (modules() ? "modules\n" : "") + (erofs() ? "erofs\n" : ""),
                StandardCharsets.US_ASCII);
        Host.run(List.of("rm", "-rf", mods.toString()), null, 60);
    }

    private static List<String> concat(Set<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** {@code m} after its dependencies (modinfo -F depends). */
    private static void addWithDeps(String m, Path mods, Set<String> order, int depth) throws CaptureException {
        if (order.contains(m) || depth > 8) {
            return;
        }
        Path ko = find(mods, m);
        if (ko == null) {
            throw new CaptureException("the kernel's package has no module " + m + " (needed by --load erofs)");
        }
        String deps = Host.check(List.of("modinfo", "-F", "depends", ko.toString()), null, 60,
                "cannot read the dependencies of " + m).output().strip();
        for (String d : deps.isEmpty() ? new String[0] : deps.split(",")) {
            addWithDeps(d.strip(), mods, order, depth + 1);
        }
        // "softdep pre: crc32c" (libcrc32c): the algorithm's module, NAME or NAME_generic, must be there first
        String soft = Host.check(List.of("modinfo", "-F", "softdep", ko.toString()), null, 60,
                "cannot read the soft dependencies of " + m).output().strip();
        int pre = soft.indexOf("pre:");
        if (pre >= 0) {
            String list = soft.substring(pre + 4).split("post:")[0].strip();
            for (String d : list.isEmpty() ? new String[0] : list.split("\\s+")) {
                String name = find(mods, d) != null ? d : find(mods, d + "_generic") != null ? d + "_generic" : null;
                if (name != null) {
                    addWithDeps(name, mods, order, depth + 1);
                }
            }
        }
        order.add(m);
    }

    /** NAME.ko, NAME.ko.xz or NAME.ko.zst under {@code mods}, with - and _ taken as the same. */
    private static Path find(Path mods, String m) throws CaptureException {
        String want = m.replace('_', '-');
        try (Stream<Path> s = Files.walk(mods)) {
            return s.filter(p -> {
                String n = p.getFileName().toString().replace('_', '-');
                return n.equals(want + ".ko") || n.equals(want + ".ko.xz") || n.equals(want + ".ko.zst");
            }).findFirst().orElse(null);
        } catch (IOException e) {
            throw new CaptureException("cannot list " + mods + ": " + e.getMessage());
        }
    }

    /** An lz4 erofs image with 64 KiB physical clusters, so a cluster decompresses into several pages. */
    private static void erofsImage(Path image, Path run, Consumer<String> say) throws CaptureException, IOException {
        if (Host.which("mkfs.erofs") == null) {
            throw new CaptureException("mkfs.erofs is missing: apt-get install -y erofs-utils");
        }
        Path src = run.resolve("erofs-src");
        Kernel.mkdirs(src);
        for (int f = 0; f < 8; f++) { // compressible text, 512 KiB a file
            StringBuilder b = new StringBuilder();
            for (int i = 0; b.length() < 512 * 1024; i++) {
                b.append("vmapref erofs load file ").append(f).append(" line ").append(i).append(' ')
                        .append(Long.toHexString((long) i * 0x9e3779b97f4a7c15L)).append('\n');
            }
            Files.writeString(src.resolve("f" + f + ".txt"), b.toString(), StandardCharsets.US_ASCII);
        }
        say.accept("making an lz4 erofs image for --load erofs");
        Host.check(List.of("mkfs.erofs", "-zlz4", "-C65536", image.toString(), src.toString()), null, 120,
                "mkfs.erofs failed");
        Host.run(List.of("rm", "-rf", src.toString()), null, 60);
    }
}
