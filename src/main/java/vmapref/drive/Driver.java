// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import java.io.IOException;
import java.util.List;
import vmapref.conformance.ConformanceKit;
import vmapref.kernel.KernelConfig;

/**
 * {@code drive}'s loop: the conformance kit's programs, judging and shrinking, with a child process
 * as the implementation ({@link ProcessImplementation}).
 */
public final class Driver implements AutoCloseable {
    private final ProcessImplementation child;
    private final ConformanceKit kit;
    private final ConformanceKit.Settings settings;

    /** What a drive found, and what it cost. */
    public record Result(long programs, long calls, long children, double seconds, ConformanceKit.Failure failure) {
    }

    public Driver(List<String> command, long callTimeoutMs, ConformanceKit.Settings settings) {
        this.child = new ProcessImplementation(command, callTimeoutMs);
        this.settings = settings;
        this.kit = new ConformanceKit(settings, child);
    }

    /** Starts the child and shakes hands; a message when it cannot serve as an implementation, else null. */
    public String start() {
        KernelConfig first = kit.program(0).config();
        try {
            child.handshake(first);
        } catch (IOException e) {
            return "cannot start " + e.getMessage();
        } catch (ChildProcess.ChildFailure f) {
            return "the child failed its handshake: " + f.getMessage();
        }
        if (!child.reportsFlushes()) {
            return "the child does not report its TLB flushes (\"reports\":[\"flushes\"] in its hello answer): "
                    + "without them no level can judge stale TLB entries";
        }
        return null;
    }

    public String childName() {
        return child.childName().isEmpty() ? "child" : child.childName();
    }

    /** Checks programs until one fails, the program budget is spent or {@code seconds} pass. */
    public Result run(double seconds) {
        long t0 = System.nanoTime();
        long n = 0;
        ConformanceKit.Failure found = null;
        while (n < settings.programs() && (System.nanoTime() - t0) / 1e9 < seconds) {
            found = kit.check(n++);
            if (found != null) {
                break;
            }
        }
        return new Result(n, child.calls(), child.children(), (System.nanoTime() - t0) / 1e9, found);
    }

    @Override
    public void close() {
        child.close();
    }
}
