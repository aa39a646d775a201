// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Properties;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The {@code .jpf} files under {@code jpf-configs/} match the harnesses one to one, run
 * {@link JpfHarnessMain} on their own harness, and set no search limit (a harness is explored
 * completely or the run fails). Needs no JPF.
 */
class JpfConfigsTest {
    static final Path CONFIGS = Path.of("jpf-configs");
    /** JPF keys that bound the search; a limited search could pass without exploring everything. */
    static final List<String> LIMIT_KEYS = List.of("search.depth_limit", "search.min_free");
    static final String BUDGET_PREFIX = "budget.";

    static List<Path> jpfFiles() throws IOException {
        try (Stream<Path> files = Files.list(CONFIGS)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".jpf")).sorted().toList();
        }
    }

    static String stem(Path file) {
        String name = file.getFileName().toString();
        return name.substring(0, name.length() - ".jpf".length());
    }

    /** The file's settings, continuation lines joined; a {@code key+=value} shows up as key {@code key+}. */
    static Properties load(Path file) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
        }
        return p;
    }

    @Test
    void everyHarnessHasAJpfFile() {
        assertThat(Harness.all()).isNotEmpty();
        for (Harness h : Harness.all()) {
            assertThat(CONFIGS.resolve(h.name + ".jpf")).as("the .jpf file of harness %s", h.name).isRegularFile();
        }
    }

    @Test
    void everyJpfFileNamesAHarness() throws IOException {
        List<Path> files = jpfFiles();
        assertThat(files).isNotEmpty();
        for (Path f : files) {
            assertThat(Harness.byName(stem(f))).as("the harness %s names (known: %s)", f, Harness.names()).isNotNull();
        }
    }

    @Test
    void everyJpfFileRunsItsOwnHarness() throws IOException {
        for (Path f : jpfFiles()) {
            Properties p = load(f);
            assertThat(p.getProperty("target")).as("target in %s", f).isNotNull()
                    .isEqualTo(JpfHarnessMain.class.getName());
            String args = p.getProperty("target.args");
            assertThat(args).as("target.args in %s", f).isNotNull();
            assertThat(args.strip().split("\\s*,\\s*")[0]).as("target.args in %s: %s", f, args).isEqualTo(stem(f));
        }
    }

    @Test
    void noJpfFileLimitsTheSearch() throws IOException {
        for (Path f : jpfFiles()) {
            for (String raw : load(f).stringPropertyNames()) {
                String key = raw.strip().replaceFirst("^\\+", "").replaceFirst("\\+$", "").strip();
                assertThat(key).as("a search limit in %s", f).isNotIn(LIMIT_KEYS).doesNotStartWith(BUDGET_PREFIX);
            }
            assertThat(String.valueOf(load(f).getProperty("listener", ""))).as("listeners in %s", f)
                    .doesNotContain("BudgetChecker");
        }
    }
}
