// SPDX-License-Identifier: GPL-2.0-only
// An example implementation under test for `vmapref drive`, in one file with no dependencies:
// run it with `java examples/first-fit/FirstFit.java` (Java 11+ runs a single source file).
//
// It is a first-fit allocator over the vmalloc range that flushes at once what it unmaps. Small
// mappings (up to VMAP_MAX_ALLOC pages) come from per-CPU blocks of VMAP_BLOCK_SIZE, bump-allocated,
// and a block is given back (and flushed whole) when its last mapping goes. That keeps the
// specification's rules, so it passes `drive --level spec`; it is not the kernel's algorithm, so
// `--level structure` shows where it parts from Linux.
//
//   --bug            never flush: a range is handed out again while a stale TLB entry may exist
//   --no-reset       refuse `reset` (vmapref then starts a fresh child per program)
//   --misbehave=K:N  at the N-th call after hello or reset, misbehave in way K: exit, hang, garbage,
//                    stderr, flood, long-line (for vmapref's own tests of an untrusted child)
//
// The driver protocol is described in docs/driver-protocol.md.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class FirstFit {
    static long pageSize;
    static long start;
    static long end; // exclusive
    static long blockBytes;
    static long maxAlloc;
    static final TreeMap<Long, Long> live = new TreeMap<>(); // first byte -> end byte: large areas and blocks
    // block base -> {next free byte, live maps, start and end of the unmapped range not yet flushed}
    static final Map<Long, long[]> blocks = new java.util.HashMap<>();
    static final Map<Integer, Long> current = new java.util.HashMap<>(); // CPU -> the block it bump-allocates from

    public static void main(String[] args) throws Exception {
        boolean bug = false;
        boolean reset = true;
        String misbehave = null;
        long after = -1;
        for (String a : args) {
            if (a.equals("--bug")) {
                bug = true;
            } else if (a.equals("--no-reset")) {
                reset = false;
            } else if (a.startsWith("--misbehave=")) {
                String[] kn = a.substring(12).split(":");
                misbehave = kn[0];
                after = Long.parseLong(kn[1]);
            }
        }
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        long requests = 0;
        String line;
        while ((line = in.readLine()) != null) {
            String op = text(line, "op");
            if (op.equals("hello") || op.equals("reset")) {
                requests = 0;
            } else if (++requests == after) {
                misbehave(misbehave, out);
            }
            String answer;
            switch (op) {
                case "hello", "reset" -> {
                    if (op.equals("reset") && !reset) {
                        answer = "{\"ok\":false,\"error\":\"reset is not supported\"}";
                        break;
                    }
                    pageSize = number(line, "page_size");
                    start = Long.parseUnsignedLong(text(line, "vmalloc_start").substring(2), 16);
                    // VMALLOC_END is the last byte: the last page that fits ends at or before it
                    end = Long.parseUnsignedLong(text(line, "vmalloc_end").substring(2), 16) / pageSize * pageSize;
                    blockBytes = number(line, "block_pages") * pageSize;
                    maxAlloc = number(line, "vmap_max_alloc");
                    clear();
                    answer = "{\"ok\":true,\"name\":\"first-fit" + (bug ? "-bug" : "") + "\",\"reports\":[\"flushes\"],\"reset\":"
                            + reset + "}";
                }
                case "map" -> {
                    int cpu = (int) number(line, "cpu");
                    long count = number(line, "count");
                    long addr = count == 0 ? 0 : count <= maxAlloc ? small(cpu, count * pageSize) : large(count * pageSize);
                    answer = "{\"ok\":true,\"addr\":" + (addr == 0 ? "null" : "\"0x" + Long.toHexString(addr) + "\"")
                            + ",\"flushes\":[]}";
                }
                case "unmap" -> {
                    long addr = Long.parseUnsignedLong(text(line, "addr").substring(2), 16);
                    long count = number(line, "count");
                    long[] freed = count <= maxAlloc ? unmapSmall(addr, count * pageSize) : unmapLarge(addr);
                    if (freed == null) {
                        answer = "{\"ok\":false,\"error\":\"no mapping at 0x" + Long.toHexString(addr) + "\"}";
                    } else {
                        answer = "{\"ok\":true,\"flushes\":[" + (bug || freed.length == 0 ? "" : "{\"start\":\"0x"
                                + Long.toHexString(freed[0]) + "\",\"end\":\"0x" + Long.toHexString(freed[1]) + "\"}") + "]}";
                    }
                }
                case "aliases" -> {
                    StringBuilder f = new StringBuilder();
                    for (long[] b : blocks.values()) {
                        if (b[3] != 0 && !bug) {
                            f.append(f.length() == 0 ? "" : ",").append("{\"start\":\"0x").append(Long.toHexString(b[2]))
                                    .append("\",\"end\":\"0x").append(Long.toHexString(b[3])).append("\"}");
                            b[2] = 0;
                            b[3] = 0;
                        }
                    }
                    answer = "{\"ok\":true,\"flushes\":[" + f + "]}";
                }
                case "bye" -> {
                    return;
                }
                default -> answer = "{\"ok\":false,\"error\":\"unknown op\"}";
            }
            out.println(answer);
            out.flush();
        }
    }

    static void clear() {
        live.clear();
        blocks.clear();
        current.clear();
    }

    /** A small mapping: bump allocation in this CPU's block, a new block when it has no room. */
    static long small(int cpu, long size) {
        Long base = current.get(cpu);
        if (base == null || blocks.get(base)[0] + size > base + blockBytes) {
            base = firstFit(blockBytes, blockBytes);
            if (base == 0) {
                return 0;
            }
            live.put(base, base + blockBytes);
            blocks.put(base, new long[] {base, 0, 0, 0});
            current.put(cpu, base);
        }
        long[] b = blocks.get(base);
        long addr = b[0];
        b[0] += size;
        b[1]++;
        return addr;
    }

    /** Unmaps a small mapping; the block goes when its last one does. Returns the range to flush ({} for none). */
    static long[] unmapSmall(long addr, long size) {
        Map.Entry<Long, Long> e = live.floorEntry(addr);
        long[] b = e == null ? null : blocks.get(e.getKey());
        if (b == null || Long.compareUnsigned(addr, e.getValue()) >= 0) {
            return null;
        }
        if (--b[1] > 0) { // the block lives on: its pages are not handed out again; vm_unmap_aliases() flushes them
            boolean none = b[3] == 0;
            b[2] = none || Long.compareUnsigned(addr, b[2]) < 0 ? addr : b[2]; // addresses are unsigned
            b[3] = none || Long.compareUnsigned(addr + size, b[3]) > 0 ? addr + size : b[3];
            return new long[0];
        }
        long base = e.getKey();
        live.remove(base);
        blocks.remove(base);
        current.values().remove(base);
        return new long[] {base, base + blockBytes};
    }

    static long large(long size) {
        long addr = firstFit(size, pageSize);
        if (addr != 0) {
            live.put(addr, addr + size);
        }
        return addr;
    }

    static long[] unmapLarge(long addr) {
        Long e = blocks.containsKey(addr) ? null : live.remove(addr);
        return e == null ? null : new long[] {addr, e};
    }

    /** The lowest free range of {@code size} bytes aligned to {@code align}, or 0. */
    static long firstFit(long size, long align) {
        long at = alignUp(start, align);
        for (Map.Entry<Long, Long> m : live.entrySet()) {
            if (Long.compareUnsigned(m.getKey(), at) >= 0 && Long.compareUnsigned(m.getKey() - at, size) >= 0) {
                return at;
            }
            if (Long.compareUnsigned(m.getValue(), at) > 0) {
                at = alignUp(m.getValue(), align);
            }
        }
        return Long.compareUnsigned(end, at) > 0 && Long.compareUnsigned(end - at, size) >= 0 ? at : 0;
    }

    static long alignUp(long a, long align) {
        return Long.divideUnsigned(a + align - 1, align) * align;
    }

    static void misbehave(String how, PrintStream out) throws InterruptedException {
        switch (how) {
            case "exit" -> System.exit(3);
            case "hang" -> Thread.sleep(Long.MAX_VALUE);
            case "garbage" -> {
                out.println("this is not json");
                out.flush();
            }
            case "stderr" -> System.err.println("something went wrong in the child");
            case "flood" -> {
                while (true) {
                    out.println("{\"ok\":true}");
                }
            }
            case "long-line" -> {
                out.print("{\"ok\":true,\"pad\":\"");
                for (int i = 0; i < 200_000; i++) {
                    out.print('x');
                }
                out.println("\"}");
                out.flush();
            }
            default -> throw new IllegalArgumentException(how);
        }
    }

    static String text(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":\"([^\"]*)\"").matcher(json);
        return m.find() ? m.group(1) : "";
    }

    static long number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":(\\d+)").matcher(json);
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }
}
