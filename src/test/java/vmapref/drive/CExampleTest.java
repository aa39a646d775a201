// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.cli.MainTestAccess;

/** The C example (examples/first-fit-c), built by the machine's own compiler: skipped when there is none. */
class CExampleTest {

    static Path build(Path dir) throws IOException, InterruptedException {
        Path exe = dir.resolve("first_fit");
        Process p;
        try {
            p = new ProcessBuilder("cc", "-O2", "-o", exe.toString(), "examples/first-fit-c/first_fit.c")
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            Assumptions.abort("no C compiler (cc) on this machine: the C example is not built (" + e.getMessage() + ")");
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("cc examples/first-fit-c/first_fit.c:%n%s", out).isZero();
        return exe;
    }

    @Test
    void theCExampleConformsAtSpecAndItsBugIsFound(@TempDir Path dir) throws Exception {
        Path exe = build(dir);
        MainTestAccess.Run ok = MainTestAccess.run("drive", "--programs", "200", "--", exe.toString());
        assertThat(ok.code()).as(ok.out() + ok.err()).isZero();
        assertThat(ok.out()).contains("first-fit-c").contains("200 programs").contains("nothing found");
        MainTestAccess.Run bug = MainTestAccess.run("drive", "--programs", "200", "--", exe.toString(), "--bug");
        assertThat(bug.code()).as(bug.out() + bug.err()).isEqualTo(1);
        assertThat(bug.out()).contains("rule map-not-stale").contains("shrunk to 3");
        assertThat(List.of(bug.out().split("\\R"))).anyMatch(l -> l.startsWith("trace: "));
    }
}
