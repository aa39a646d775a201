// SPDX-License-Identifier: GPL-2.0-only
package vmapref.conformance;

import vmapref.kernel.KernelConfig;

/**
 * What a Java implementation of vm_map_ram() adapts to so that the {@link ConformanceKit} can check
 * it. One instance is one freshly booted kernel: the kit makes a new one (through a {@link Factory})
 * for every program it runs, and calls it from one thread. Addresses are unsigned 64-bit values held
 * in a long.
 *
 * <p>A call that throws counts as a kernel crash: the kit records it as the call's {@code bug} and
 * the program ends there (the model says whether that kernel crashes there too).
 */
public interface VmapImplementation {

    /** vm_map_ram(pages, count, node) on CPU {@code cpu}: the address of the mapping, or 0 for NULL. */
    long map(int cpu, long count);

    /** vm_unmap_ram(addr, count) on CPU {@code cpu}, of a mapping {@link #map} returned. */
    void unmap(int cpu, long addr, long count);

    /** vm_unmap_aliases() on CPU {@code cpu}. */
    void aliases(int cpu);

    /** Makes a fresh implementation booted with {@code config}, reporting its TLB flushes to {@code flushes}. */
    @FunctionalInterface
    interface Factory {
        VmapImplementation create(KernelConfig config, FlushListener flushes);
    }
}
