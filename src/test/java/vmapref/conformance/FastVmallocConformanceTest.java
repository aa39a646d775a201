// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import vmapref.replay.Replayer;

/** The conformance kit as a user runs it: the fast path, held to linux-6.12's exact behaviour. */
class FastVmallocConformanceTest extends ConformanceTest {

    @Override
    protected VmapImplementation.Factory factory() {
        return FastVmallocAdapter::new;
    }

    @Override
    protected Replayer.Level level() {
        return Replayer.Level.EXACT;
    }
}
