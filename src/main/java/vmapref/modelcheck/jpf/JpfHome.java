// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Finds the jpf-core build that the JPF runs use. jpf-core is not on Maven Central, so it is named
 * from outside: the system property {@code jpf.home} first, else the environment variable
 * {@code JPF_HOME}. A home is usable when it holds {@code jpf.properties}, {@code build/jpf.jar} and
 * {@code build/RunJPF.jar} (the layout of jpf-core's {@code java-17} branch after
 * {@code ./gradlew buildJars}).
 *
 * <p>Values that start with <code>${</code> are treated as unset: Maven passes an unresolved
 * <code>${env.JPF_HOME}</code> through literally when the variable is not set.
 */
public final class JpfHome {
    /** The system property that names the jpf-core build; it wins over the environment. */
    public static final String PROPERTY = "jpf.home";
    /** The environment variable that names the jpf-core build. */
    public static final String ENV = "JPF_HOME";
    /** What a usable home holds, relative to it. */
    public static final List<String> REQUIRED = List.of("jpf.properties", "build/jpf.jar", "build/RunJPF.jar");

    static final String HOW_TO_GET =
            "point it at a jpf-core build (its java-17 branch, ./gradlew buildJars)";

    private JpfHome() {}

    /**
     * Either a usable jpf-core home or a message naming exactly what is missing; never both.
     *
     * @param home the jpf-core folder (absolute, normalized) when usable
     * @param problem why there is no usable home, for {@code Assumptions.assumeTrue(found(), problem())}
     */
    public record Lookup(Optional<Path> home, String problem) {
        public Lookup {
            Objects.requireNonNull(home, "home");
            Objects.requireNonNull(problem, "problem");
            if (home.isPresent() == !problem.isEmpty()) {
                throw new IllegalArgumentException("exactly one of home and problem: " + home + " / " + problem);
            }
        }

        static Lookup found(Path home) {
            return new Lookup(Optional.of(home), "");
        }

        static Lookup missing(String problem) {
            return new Lookup(Optional.empty(), problem);
        }

        /** Whether a usable home was found. */
        public boolean found() {
            return home.isPresent();
        }

        /** The home, or an {@link IllegalStateException} carrying {@link #problem()}. */
        public Path require() {
            return home.orElseThrow(() -> new IllegalStateException(problem));
        }

        /** {@code build/RunJPF.jar} under the home. */
        public Path runJpfJar() {
            return require().resolve("build").resolve("RunJPF.jar");
        }
    }

    /** Looks in {@code -Djpf.home}, then {@code $JPF_HOME}. */
    public static Lookup locate() {
        return locate(System.getProperty(PROPERTY), System.getenv(ENV));
    }

    /**
     * Looks in the given property value, then the given environment value (either may be null).
     * A set property is used even when it is invalid: the message then names the property, so a
     * wrong {@code -Djpf.home} is not silently replaced by {@code JPF_HOME}.
     */
    public static Lookup locate(String propertyValue, String envValue) {
        if (isSet(propertyValue)) {
            return check(Path.of(propertyValue.trim()), "-D" + PROPERTY + "=" + propertyValue.trim());
        }
        if (isSet(envValue)) {
            return check(Path.of(envValue.trim()), ENV + "=" + envValue.trim());
        }
        return Lookup.missing(ENV + " is not set (nor -D" + PROPERTY + "); " + HOW_TO_GET);
    }

    /**
     * Checks one candidate folder; {@code label} names where it came from in the message
     * (e.g. {@code "JPF_HOME=/x"}).
     */
    public static Lookup check(Path dir, String label) {
        if (!Files.exists(dir)) {
            return Lookup.missing(label + " does not exist; " + HOW_TO_GET);
        }
        if (!Files.isDirectory(dir)) {
            return Lookup.missing(label + " is not a folder; " + HOW_TO_GET);
        }
        List<String> missing = new ArrayList<>();
        for (String entry : REQUIRED) {
            if (!Files.isRegularFile(dir.resolve(entry))) {
                missing.add(entry);
            }
        }
        if (!missing.isEmpty()) {
            return Lookup.missing(label + " has no " + String.join(", no ", missing));
        }
        return Lookup.found(dir.toAbsolutePath().normalize());
    }

    static boolean isSet(String value) {
        return value != null && !value.isBlank() && !value.trim().startsWith("${");
    }
}
