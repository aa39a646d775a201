// SPDX-License-Identifier: GPL-2.0-only
/**
 * The vmap trace format, version 1 ({@code docs/trace-format.md}): records for the header and the
 * events, a streaming {@link vmapref.trace.TraceReader} that validates each line, and a
 * {@link vmapref.trace.TraceWriter} that writes one compact JSON object per line.
 */
package vmapref.trace;
