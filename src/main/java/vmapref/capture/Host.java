// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the host's tools (apt-get, dpkg-deb, make, cpio, qemu) and finds them on the PATH. */
final class Host {

    /** A finished command: its exit status and its standard output and error, merged. */
    record Result(int code, String output) {
        boolean ok() {
            return code == 0;
        }

        /** The last non-empty line of the output, for one-line messages. */
        String lastLine() {
            String[] lines = output.strip().split("\n");
            return lines.length == 0 ? "" : lines[lines.length - 1].strip();
        }
    }

    private Host() {
    }

    /** Runs {@code cmd} in {@code dir}; a command that runs past {@code seconds} is ended (status -1). */
    static Result run(List<String> cmd, Path dir, long seconds) throws CaptureException {
        try {
            Path log = Files.createTempFile("vmapref-cmd", ".log");
            try {
                ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                        .redirectOutput(log.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                if (dir != null) {
                    pb.directory(dir.toFile());
                }
                pb.environment().put("LC_ALL", "C");
                Process p = pb.start();
                boolean done = p.waitFor(seconds, TimeUnit.SECONDS);
                if (!done) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
                String out = Files.readString(log, StandardCharsets.ISO_8859_1);
                return new Result(done ? p.exitValue() : -1, out);
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new CaptureException("cannot run " + cmd.get(0) + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CaptureException("interrupted while running " + cmd.get(0));
        }
    }

    /** Runs {@code cmd} and fails with {@code what} and the tool's last line when it does not succeed. */
    static Result check(List<String> cmd, Path dir, long seconds, String what) throws CaptureException {
        Result r = run(cmd, dir, seconds);
        if (r.code() == -1) {
            throw new CaptureException(what + ": " + cmd.get(0) + " did not finish within " + seconds + " s");
        }
        if (!r.ok()) {
            throw new CaptureException(what + ": " + cmd.get(0) + " failed: " + r.lastLine());
        }
        return r;
    }

    /** The executable {@code name} on the PATH, or null. */
    static Path which(String name) {
        String path = System.getenv("PATH");
        for (String d : (path == null ? "/usr/bin:/bin:/usr/sbin:/sbin" : path + ":/usr/sbin:/sbin").split(":")) {
            if (d.isEmpty()) {
                continue;
            }
            Path p = Path.of(d, name);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }
}
