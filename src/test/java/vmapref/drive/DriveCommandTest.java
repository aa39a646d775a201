// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import vmapref.cli.MainTestAccess;

/**
 * {@code vmapref drive} end to end with the Java example child (examples/first-fit): it conforms at
 * spec and parts from Linux at structure; its buggy variant is caught and shrunk; a child that
 * misbehaves in any of the ways the protocol rules out is contained and reported; bad arguments and
 * children that cannot serve exit 2.
 */
class DriveCommandTest {
    static Path classes;

    @BeforeAll
    static void compileTheExampleChild(@TempDir Path dir) throws IOException {
        classes = dir;
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", dir.toString(),
                "examples/first-fit/FirstFit.java");
        assertThat(rc).as("javac examples/first-fit/FirstFit.java").isZero();
    }

    static List<String> child(String... args) {
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classes.toString(), "FirstFit"));
        c.addAll(List.of(args));
        return c;
    }

    static MainTestAccess.Run drive(List<String> options, List<String> child) {
        List<String> args = new ArrayList<>(List.of("drive"));
        args.addAll(options);
        args.add("--");
        args.addAll(child);
        return MainTestAccess.run(args.toArray(new String[0]));
    }

    @Test
    void theFirstFitExampleConformsAtSpec() {
        MainTestAccess.Run r = drive(List.of("--programs", "60"), child());
        assertThat(r.code()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("60 programs").contains("1 child process,").contains("nothing found");
    }

    @Test
    void itPartsFromLinuxAtStructure() {
        MainTestAccess.Run r = drive(List.of("--programs", "60", "--level", "structure"), child());
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("FOUND").contains("rule block-offset");
    }

    @Test
    void theBuggyVariantIsCaughtShrunkAndItsTraceFailsReplay(@TempDir Path dir) {
        Path out = dir.resolve("found.jsonl");
        MainTestAccess.Run r = drive(List.of("--programs", "60", "--out", out.toString()), child("--bug"));
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("rule map-not-stale").contains("shrunk to 3").contains("trace: " + out);
        assertThat(Files.exists(out)).isTrue();
        MainTestAccess.Run replay = MainTestAccess.run("replay", "--level", "spec", out.toString());
        assertThat(replay.code()).isEqualTo(1);
        assertThat(replay.out()).contains("map-not-stale");
    }

    @ParameterizedTest
    @ValueSource(strings = {"exit", "hang", "garbage", "stderr", "flood", "long-line"})
    void aMisbehavingChildIsContainedAndReportedAsAFinding(String how) {
        long t0 = System.nanoTime();
        MainTestAccess.Run r = drive(List.of("--programs", "5", "--call-timeout", "500"), child("--misbehave=" + how + ":3"));
        assertThat(r.code()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("FOUND").contains("ChildFailure: ");
        if (!how.equals("flood")) { // a flood is seen when its second line arrives: the call it is pinned on varies
            assertThat(r.out()).contains("shrunk to 3");
        }
        assertThat((System.nanoTime() - t0) / 1e9).as("seconds").isLessThan(60);
    }

    @Test
    void childrenThatCannotServeAndBadArgumentsExitTwo() {
        MainTestAccess.Run none = drive(List.of(), List.of("/no/such/program"));
        assertThat(none.code()).isEqualTo(2);
        assertThat(none.err()).contains("cannot start");
        MainTestAccess.Run silent = drive(List.of("--call-timeout", "200"), List.of("sleep", "60"));
        assertThat(silent.code()).isEqualTo(2);
        assertThat(silent.err()).contains("handshake").contains("child-timeout");
        MainTestAccess.Run noCommand = MainTestAccess.run("drive", "--programs", "3");
        assertThat(noCommand.code()).isEqualTo(2);
        MainTestAccess.Run badTime = drive(List.of("--time", "0"), child());
        assertThat(badTime.code()).isEqualTo(2);
        assertThat(badTime.err().strip().lines()).hasSize(1);
    }
}
