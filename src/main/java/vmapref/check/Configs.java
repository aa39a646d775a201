// SPDX-License-Identifier: GPL-2.0-only
package vmapref.check;

import vmapref.kernel.KernelConfig;
import vmapref.kernel.Profile;
import vmapref.spec.SpecConfig;
import vmapref.trace.TraceHeader;

/** Conversions between a trace header, the kernel configuration and the specification's view of it. */
public final class Configs {
    private Configs() {
    }

    /** The kernel a trace header describes; IllegalArgumentException names the bad field. */
    public static KernelConfig kernel(TraceHeader h) {
        Profile profile = Profile.parse(h.profile());
        int shift = Long.numberOfTrailingZeros(h.pageSize());
        return new KernelConfig(profile, shift, h.vmallocStart(), h.vmallocEnd(), h.nrCpus(), h.nrCpuIds(),
                h.possibleCpus(), h.onlineCpus(), h.bitsPerLong());
    }

    public static SpecConfig spec(KernelConfig k, boolean flushesObserved) {
        return new SpecConfig(k.pageShift(), k.vmallocStart(), k.vmallocEnd(), k.blockPages(), k.vmapMaxAlloc(),
                k.profile().zeroCountReturnsNull(), flushesObserved);
    }

    /** The header of a trace the model writes: exclusive, every flush reported. */
    public static TraceHeader header(KernelConfig k) {
        return TraceHeader.of(k.profile().id(), k.pageSize(), k.vmallocStart(), k.vmallocEnd(), k.nrCpus(), k.nrCpuIds(),
                k.possibleCpus(), k.onlineCpus(), k.bitsPerLong(), true, true);
    }
}
