// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The header line of a trace (docs/trace-format.md, "The header"). {@code version} is the {@code vmaptrace}
 * field; {@code extra} holds the unknown header fields, in file order.
 *
 * <p>The constructor checks the header's own consistency and throws {@link IllegalArgumentException} naming the
 * field (the reader reports that as {@code bad-header-field}). Profile names are not checked here.
 */
public record TraceHeader(
        int version,
        String profile,
        long pageSize,
        long vmallocStart,
        long vmallocEnd,
        int nrCpus,
        int nrCpuIds,
        List<Integer> possibleCpus,
        List<Integer> onlineCpus,
        int bitsPerLong,
        boolean flushes,
        boolean exclusive,
        String kernel,
        String source,
        Map<String, JsonNode> extra) {

    /** The format version a trace without foreign calls, purge paths or shrinker runs is written in. */
    public static final int VERSION = 1;
    /** The newest version this code reads and writes: 2 adds other users' calls, purge paths and the shrinker. */
    public static final int MAX_VERSION = 2;

    /** The header fields docs/trace-format.md defines, in the order the writer puts them. */
    public static final List<String> FIELDS = List.of("vmaptrace", "profile", "kernel", "pageSize",
            "vmallocStart", "vmallocEnd", "nrCpus", "nrCpuIds", "possibleCpus", "onlineCpus", "bitsPerLong",
            "flushes", "exclusive", "source");

    public TraceHeader {
        possibleCpus = List.copyOf(possibleCpus);
        onlineCpus = List.copyOf(onlineCpus);
        LinkedHashMap<String, JsonNode> copy = new LinkedHashMap<>();
        extra.forEach((k, v) -> {
            if (FIELDS.contains(k)) {
                throw new IllegalArgumentException("extra field \"" + k + "\" is a defined header field");
            }
            copy.put(k, Objects.requireNonNull(v, "extra value").deepCopy());
        });
        extra = Collections.unmodifiableMap(copy);
        check(version >= VERSION && version <= MAX_VERSION, "vmaptrace", "must be " + VERSION + " or " + MAX_VERSION
                + ", got " + version);
        check(profile != null && !profile.isBlank(), "profile", "is missing");
        check(pageSize >= 4096 && Long.bitCount(pageSize) == 1, "pageSize",
                "must be a power of two >= 4096, got " + pageSize);
        check((vmallocStart & (pageSize - 1)) == 0, "vmallocStart",
                "must be page aligned, got " + Hex.format(vmallocStart));
        check(Long.compareUnsigned(vmallocEnd, vmallocStart) >= 0, "vmallocEnd",
                "must not be below vmallocStart, got " + Hex.format(vmallocEnd));
        check(bitsPerLong == 32 || bitsPerLong == 64, "bitsPerLong", "must be 32 or 64, got " + bitsPerLong);
        check(bitsPerLong == 64 || Long.compareUnsigned(vmallocEnd, 0xffffffffL) <= 0, "vmallocEnd",
                "must fit in 32 bits when bitsPerLong is 32, got " + Hex.format(vmallocEnd));
        check(nrCpus >= 1, "nrCpus", "must be >= 1, got " + nrCpus);
        check(nrCpuIds >= 1, "nrCpuIds", "must be >= 1, got " + nrCpuIds);
        check(nrCpuIds <= nrCpus, "nrCpuIds", "must not exceed nrCpus (" + nrCpus + "), got " + nrCpuIds);
        checkCpus("possibleCpus", possibleCpus, nrCpuIds);
        checkCpus("onlineCpus", onlineCpus, nrCpuIds);
        for (int cpu : onlineCpus) {
            check(possibleCpus.contains(cpu), "onlineCpus", "CPU " + cpu + " is online but not possible");
        }
    }

    /** A version-1 header with no kernel, source or extra fields, as a trace generator would write it. */
    public static TraceHeader of(String profile, long pageSize, long vmallocStart, long vmallocEnd, int nrCpus,
            int nrCpuIds, List<Integer> possibleCpus, List<Integer> onlineCpus, int bitsPerLong, boolean flushes,
            boolean exclusive) {
        return new TraceHeader(VERSION, profile, pageSize, vmallocStart, vmallocEnd, nrCpus, nrCpuIds,
                possibleCpus, onlineCpus, bitsPerLong, flushes, exclusive, null, null, Map.of());
    }

    /** The same header under format version {@code v}. */
    public TraceHeader withVersion(int v) {
        return new TraceHeader(v, profile, pageSize, vmallocStart, vmallocEnd, nrCpus, nrCpuIds,
                possibleCpus, onlineCpus, bitsPerLong, flushes, exclusive, kernel, source, extra);
    }

    public TraceHeader withKernel(String kernel) {
        return new TraceHeader(version, profile, pageSize, vmallocStart, vmallocEnd, nrCpus, nrCpuIds,
                possibleCpus, onlineCpus, bitsPerLong, flushes, exclusive, kernel, source, extra);
    }

    public TraceHeader withSource(String source) {
        return new TraceHeader(version, profile, pageSize, vmallocStart, vmallocEnd, nrCpus, nrCpuIds,
                possibleCpus, onlineCpus, bitsPerLong, flushes, exclusive, kernel, source, extra);
    }

    /** Adds (or replaces) the extra text field {@code "note"}. */
    public TraceHeader withNote(String note) {
        return withExtra("note", note);
    }

    /** Adds (or replaces) an extra text field such as {@code "mutant"}; it is written after the defined ones. */
    public TraceHeader withExtra(String name, String text) {
        return withExtra(name, TextNode.valueOf(Objects.requireNonNull(text, "text")));
    }

    public TraceHeader withExtra(String name, JsonNode value) {
        LinkedHashMap<String, JsonNode> more = new LinkedHashMap<>(extra);
        more.put(name, value);
        return new TraceHeader(version, profile, pageSize, vmallocStart, vmallocEnd, nrCpus, nrCpuIds,
                possibleCpus, onlineCpus, bitsPerLong, flushes, exclusive, kernel, source, more);
    }

    /** The text of extra field {@code name}, or null if it is absent or not a string. */
    public String extraText(String name) {
        JsonNode v = extra.get(name);
        return v != null && v.isTextual() ? v.textValue() : null;
    }

    private static void check(boolean ok, String field, String problem) {
        if (!ok) {
            throw new IllegalArgumentException("\"" + field + "\" " + problem);
        }
    }

    private static void checkCpus(String field, List<Integer> cpus, int nrCpuIds) {
        Set<Integer> seen = new HashSet<>();
        for (int cpu : cpus) {
            check(cpu >= 0 && cpu < nrCpuIds, field, "lists CPU " + cpu + ", outside 0.." + (nrCpuIds - 1)
                    + " (nrCpuIds " + nrCpuIds + ")");
            check(seen.add(cpu), field, "lists CPU " + cpu + " twice");
        }
    }
}
