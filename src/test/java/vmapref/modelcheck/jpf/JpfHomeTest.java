// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Finding jpf-core; runs without JPF (fake layouts in a temp folder). */
class JpfHomeTest {
    static final String NOT_SET = "JPF_HOME is not set (nor -Djpf.home); point it at a jpf-core build "
            + "(its java-17 branch, ./gradlew buildJars)";

    @TempDir
    Path tmp;

    static Path fakeHome(Path dir, String... entries) throws IOException {
        for (String e : entries) {
            Path p = dir.resolve(e);
            Files.createDirectories(p.getParent());
            Files.writeString(p, "");
        }
        return dir;
    }

    @Test
    void unsetSaysSoAndHowToGetIt() {
        JpfHome.Lookup l = JpfHome.locate(null, null);
        assertThat(l.found()).isFalse();
        assertThat(l.home()).isEmpty();
        assertThat(l.problem()).isEqualTo(NOT_SET);
        assertThat(JpfHome.locate("  ", "").problem()).isEqualTo(NOT_SET);
    }

    @Test
    void unresolvedMavenExpressionsCountAsUnset() {
        assertThat(JpfHome.locate("${env.JPF_HOME}", null).problem()).isEqualTo(NOT_SET);
        assertThat(JpfHome.locate(null, "${env.JPF_HOME}").problem()).isEqualTo(NOT_SET);
    }

    @Test
    void aMissingFolderIsNamed() {
        Path nowhere = tmp.resolve("nowhere");
        assertThat(JpfHome.locate(null, nowhere.toString()).problem())
                .startsWith("JPF_HOME=" + nowhere + " does not exist");
    }

    @Test
    void aFileIsNotAHome() throws IOException {
        Path file = Files.writeString(tmp.resolve("file"), "");
        assertThat(JpfHome.locate(null, file.toString()).problem()).startsWith("JPF_HOME=" + file + " is not a folder");
    }

    @Test
    void namesExactlyWhatIsMissing() throws IOException {
        Path home = fakeHome(tmp, "jpf.properties", "build/RunJPF.jar");
        assertThat(JpfHome.locate(null, home.toString()).problem()).isEqualTo("JPF_HOME=" + home + " has no build/jpf.jar");
    }

    @Test
    void namesEverythingMissingFromAnEmptyFolder() {
        assertThat(JpfHome.locate(null, tmp.toString()).problem())
                .isEqualTo("JPF_HOME=" + tmp + " has no jpf.properties, no build/jpf.jar, no build/RunJPF.jar");
    }

    @Test
    void aCompleteLayoutIsFound() throws IOException {
        Path home = fakeHome(tmp, "jpf.properties", "build/jpf.jar", "build/RunJPF.jar");
        JpfHome.Lookup l = JpfHome.locate(null, home.toString());
        assertThat(l.found()).isTrue();
        assertThat(l.problem()).isEmpty();
        assertThat(l.require()).isEqualTo(home.toAbsolutePath().normalize());
        assertThat(l.runJpfJar()).isEqualTo(home.toAbsolutePath().normalize().resolve("build/RunJPF.jar"));
    }

    @Test
    void thePropertyWinsOverTheEnvironmentEvenWhenWrong() throws IOException {
        Path good = fakeHome(tmp.resolve("good"), "jpf.properties", "build/jpf.jar", "build/RunJPF.jar");
        Path bad = Files.createDirectories(tmp.resolve("bad"));
        assertThat(JpfHome.locate(good.toString(), bad.toString()).require()).isEqualTo(good.toAbsolutePath().normalize());
        assertThat(JpfHome.locate(bad.toString(), good.toString()).problem()).startsWith("-Djpf.home=" + bad + " has no ");
        assertThat(JpfHome.locate("${env.JPF_HOME}", good.toString()).found()).isTrue();
    }

    @Test
    void requireCarriesTheMessage() {
        assertThatThrownBy(() -> JpfHome.locate(null, null).require())
                .isInstanceOf(IllegalStateException.class)
                .hasMessage(NOT_SET);
    }
}
