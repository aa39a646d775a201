// SPDX-License-Identifier: GPL-2.0-only
/**
 * The conformance kit: checks a Java implementation of vm_map_ram() against the reference model.
 * An implementation adapts to {@link vmapref.conformance.VmapImplementation} (map, unmap, aliases,
 * flushes reported to a {@link vmapref.conformance.FlushListener}); the
 * {@link vmapref.conformance.ConformanceKit} runs the hunt's generated programs against it, records
 * what it returned and flushed as a trace and judges the trace by replay at a chosen level; the
 * first failing program is shrunk, its trace written under {@code target/conformance/}, and the
 * failure names the rule, the numbered calls and the trace. {@link vmapref.conformance.ConformanceTest}
 * is the JUnit 5 entry point (JUnit Jupiter's API is an optional dependency: the user's tests bring it).
 */
package vmapref.conformance;
