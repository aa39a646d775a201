// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.cli.MainTestAccess;

/** capture's arguments: every mistake is one line and exit 2, before anything is fetched or booted. */
class CaptureCommandTest {

    @TempDir
    Path tmp;

    private static MainTestAccess.Run run(String... args) {
        return MainTestAccess.run(args);
    }

    private static void oneLine(MainTestAccess.Run r, String expected) {
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err().strip()).doesNotContain("\n").contains(expected).doesNotContain("Exception");
    }

    @Test
    void badArgumentsAreOneLine() {
        oneLine(run("capture", "--random", "1", "--out", "x.jsonl"), "--kernel is required");
        oneLine(run("capture", "--kernel", "linux-image-6.1.0-57-amd64", "--out", "x.jsonl"),
                "give exactly one of --program TRACE and --random SEED");
        oneLine(run("capture", "--kernel", "k", "--random", "1", "--program", "t.jsonl", "--out", "x"),
                "give exactly one of --program TRACE and --random SEED");
        oneLine(run("capture", "--kernel", "k", "--program", "t.jsonl", "--calls", "5", "--out", "x"),
                "--calls goes with --random");
        oneLine(run("capture", "--kernel", "k", "--random", "1", "--smp", "0", "--out", "x"), "--smp must be from 1 to 64");
        oneLine(run("capture", "--kernel", "k", "--random", "1"), "--out FILE is required");
        oneLine(run("capture", "--kernel", "k", "--random", "x", "--out", "o"), "--random");
    }

    @Test
    void aProgramThatCannotBeReadOrRunIsOneLine() throws Exception {
        oneLine(run("capture", "--kernel", "linux-image-6.1.0-57-amd64", "--program", tmp.resolve("none.jsonl").toString(),
                "--out", tmp.resolve("o.jsonl").toString()), "cannot read the program");
        Path t = tmp.resolve("two.jsonl");
        Files.writeString(t, CaptureOfflineTest.HUNT_61.replace("\"onlineCpus\":[0]", "\"onlineCpus\":[0,1]")
                .replace("\"possibleCpus\":[0]", "\"possibleCpus\":[0,1]").replace("\"nrCpuIds\":1", "\"nrCpuIds\":2")
                .replace("{\"op\":\"aliases\",\"cpu\":0}", "{\"op\":\"aliases\",\"cpu\":1}"));
        MainTestAccess.Run r = run("capture", "--kernel", "linux-image-6.1.0-57-amd64", "--program", t.toString(),
                "--smp", "1", "--out", tmp.resolve("o.jsonl").toString(), "--work", tmp.resolve("w").toString());
        oneLine(r, "the program calls on CPU 1 but the guest has 1 CPU: use --smp 2");
    }

    @Test
    void checkPrintsOneLinePerRequirementAndTheInstallLine() {
        MainTestAccess.Run r = run("capture", "--check");
        assertThat(r.code()).isIn(0, 2);
        assertThat(r.out()).startsWith("vmapref capture --check:").contains("qemu-system-x86_64").contains("cpio")
                .contains("busybox (static)").contains("make");
        assertThat(r.out().strip()).matches("(?s).*(nothing missing|missing: apt-get install -y .+)$");
    }
}
