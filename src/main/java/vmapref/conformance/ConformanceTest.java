// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import java.nio.file.Path;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;

/**
 * The JUnit 5 entry point of the conformance kit: extend it, return your {@link VmapImplementation.Factory}
 * from {@link #factory()}, and override what else you want checked. It makes one dynamic test per
 * generated program ("program 17"); the first failing one fails with the shrunk listing, the rule and
 * the path of the written trace, later ones with their unshrunk listing.
 *
 * <pre>{@code
 * class MyVmapConformanceTest extends ConformanceTest {
 *     @Override
 *     protected VmapImplementation.Factory factory() {
 *         return (config, flushes) -> new MyVmapAdapter(config, flushes);
 *     }
 * }
 * }</pre>
 *
 * <p>Needs JUnit Jupiter on the test class path (vmapref declares junit-jupiter-api optional).
 */
public abstract class ConformanceTest {

    /** Makes a fresh implementation per program. */
    protected abstract VmapImplementation.Factory factory();

    /** The kernel the implementation claims to behave like (default linux-6.12). */
    protected Profile profile() {
        return Profile.LINUX_6_12;
    }

    /** The replay level to hold it to (default spec: only the specification's rules). */
    protected Replayer.Level level() {
        return Replayer.Level.SPEC;
    }

    /** Which programs (default 1). */
    protected long seed() {
        return 1;
    }

    /** How many programs (default 200). */
    protected int programs() {
        return 200;
    }

    /** Calls per program at most (default 40). */
    protected int maxSteps() {
        return 40;
    }

    /** The implementation's name in messages and trace files (default: this class's simple name). */
    protected String name() {
        return getClass().getSimpleName();
    }

    /** Where the traces of failing programs go (default target/conformance). */
    protected Path outputDir() {
        return Path.of("target", "conformance");
    }

    /** The kit these settings make; override to check differently. */
    protected ConformanceKit kit() {
        return new ConformanceKit(new ConformanceKit.Settings(name(), profile(), level(), seed(), programs(), maxSteps(),
                outputDir(), vmapref.hunt.Generator.Configs.ALL), factory());
    }

    @TestFactory
    public Stream<DynamicTest> conformance() {
        ConformanceKit kit = kit();
        String what = kit.settings().profile().id() + " " + kit.settings().level().id();
        return LongStream.range(0, kit.settings().programs()).mapToObj(i -> DynamicTest.dynamicTest(
                "program " + i + " (" + what + ", seed " + kit.settings().seed() + ")", () -> {
                    ConformanceKit.Failure f = kit.check(i);
                    if (f != null) {
                        throw new AssertionError(f.message());
                    }
                }));
    }
}
