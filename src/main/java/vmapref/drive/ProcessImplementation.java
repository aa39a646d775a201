// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import vmapref.conformance.ConformanceKit;
import vmapref.conformance.FlushListener;
import vmapref.conformance.VmapImplementation;
import vmapref.hunt.Op;
import vmapref.hunt.Program;
import vmapref.kernel.KernelConfig;
import vmapref.trace.Hex;

/**
 * An implementation under test that is another process, spoken to in the driver protocol, version 1
 * (docs/driver-protocol.md). One child serves many programs: {@code reset} between them when it says
 * it can, else a fresh child per program. A child that fails in any way is closed, and the call that
 * met the failure throws {@link ChildProcess.ChildFailure}: the conformance kit records it as a crash
 * of that call, a finding like any other, shrunk like any other.
 */
final class ProcessImplementation implements ConformanceKit.ProgramFactory, AutoCloseable {
    static final int PROTOCOL = 1;
    /** How long a child may take to start and answer hello (a JVM or an interpreter starting up). */
    static final long HELLO_TIMEOUT_MS = 30_000;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<String> command;
    private final long timeoutMs;
    private ChildProcess child;
    private KernelConfig childConfig;
    private boolean canReset;
    private String name = "";
    private boolean reportsFlushes;
    private long calls;
    private long children;

    ProcessImplementation(List<String> command, long timeoutMs) {
        this.command = List.copyOf(command);
        this.timeoutMs = timeoutMs;
    }

    /** Starts a child and says hello: what {@code drive} does first, to fail early on a child that cannot start. */
    void handshake(KernelConfig config) throws IOException {
        boot(config);
    }

    String childName() {
        return name;
    }

    boolean reportsFlushes() {
        return reportsFlushes;
    }

    long calls() {
        return calls;
    }

    long children() {
        return children;
    }

    /** One call at a time: each request waits for the answer to the one before. */
    @Override
    public VmapImplementation create(KernelConfig config, FlushListener flushes) {
        ChildProcess c = ready(config);
        return new VmapImplementation() {
            @Override
            public long map(int cpu, long count) {
                return address(call(c, () -> c.ask(mapRequest(cpu, count)), flushes, "map", true));
            }

            @Override
            public void unmap(int cpu, long addr, long count) {
                call(c, () -> c.ask(unmapRequest(cpu, addr, count)), flushes, "unmap", true);
            }

            @Override
            public void aliases(int cpu) {
                call(c, () -> c.ask(aliasesRequest(cpu)), flushes, "aliases", true);
            }
        };
    }

    /** The program known in advance: its requests are sent ahead of their answers ({@link Pipeline}). */
    @Override
    public VmapImplementation create(KernelConfig config, FlushListener flushes, Program program) {
        return new Pipeline(ready(config), flushes, program);
    }

    /** A child booted with {@code config}: the current one after a reset when it can, else a new one. */
    private ChildProcess ready(KernelConfig config) {
        if (child != null && canReset) {
            try {
                expectOk(child.ask(handshake("reset", config)), "reset"); // boot again, maybe with another configuration
                childConfig = config;
            } catch (ChildProcess.ChildFailure f) {
                close();
            }
        } else {
            close();
        }
        if (child == null) {
            try {
                boot(config);
            } catch (IOException e) {
                throw new ChildProcess.ChildFailure("child-start: " + e.getMessage());
            }
        }
        return child;
    }

    private static String mapRequest(int cpu, long count) {
        return "{\"op\":\"map\",\"cpu\":" + cpu + ",\"count\":" + count + "}";
    }

    private static String unmapRequest(int cpu, long addr, long count) {
        return "{\"op\":\"unmap\",\"cpu\":" + cpu + ",\"addr\":\"" + Hex.format(addr) + "\",\"count\":" + count + "}";
    }

    private static String aliasesRequest(int cpu) {
        return "{\"op\":\"aliases\",\"cpu\":" + cpu + "}";
    }

    /** The address a map answer gives, 0 for null. */
    private long address(JsonNode answer) {
        JsonNode addr = answer.get("addr");
        if (addr == null) {
            throw fail("protocol: a map answer without addr (null for NULL): " + cut(answer.toString()));
        }
        if (addr.isNull()) {
            return 0;
        }
        if (!addr.isTextual()) {
            throw fail("protocol: map answered addr " + addr + ", not a \"0x...\" string or null");
        }
        return parseAddr(addr.asText(), "addr");
    }

    /**
     * One program's calls with up to {@link ChildProcess#WINDOW} requests sent ahead of their answers:
     * the child answers in order, so latency is paid once per window rather than once per call. An
     * unmap is sent once the answer to its map is in (the address comes with it); it is not sent at all
     * when that map returned NULL or was unmapped already, as the kit skips it then.
     */
    private final class Pipeline implements VmapImplementation {
        private final ChildProcess c;
        private final FlushListener flushes;
        private final Program program;
        /** Per op: the address a map returned (0 for NULL), or -1 while its answer is to come. */
        private final long[] returned;
        private final boolean[] skipped;
        /** Maps answered with an address and not unmapped, as of the requests sent so far. */
        private final Set<Integer> live = new HashSet<>();
        private final ArrayDeque<Integer> inFlight = new ArrayDeque<>();
        /** Calls whose answers were read ahead of the kit's call (after the child wrote to stderr). */
        private final ArrayDeque<Integer> read = new ArrayDeque<>();
        private final ArrayDeque<String> readAnswers = new ArrayDeque<>();
        /** The call blamed for the child's writing to stderr, or -1. */
        private int stderrAt = -1;
        private int toSend;
        private int toCall;

        Pipeline(ChildProcess c, FlushListener flushes, Program program) {
            this.c = c;
            this.flushes = flushes;
            this.program = program;
            this.returned = new long[program.size()];
            this.skipped = new boolean[program.size()];
            Arrays.fill(returned, -1);
        }

        @Override
        public long map(int cpu, long count) {
            long addr = address(call(c, () -> exchange(Op.Map.class), flushes, "map", false));
            returned[toCall - 1] = addr;
            if (addr != 0) {
                live.add(toCall - 1);
            }
            return addr;
        }

        @Override
        public void unmap(int cpu, long addr, long count) {
            call(c, () -> exchange(Op.Unmap.class), flushes, "unmap", false);
        }

        @Override
        public void aliases(int cpu) {
            call(c, () -> exchange(Op.Aliases.class), flushes, "aliases", false);
        }

        /** Sends what can go ahead, then waits for the answer to the call the kit makes now. */
        private String exchange(Class<? extends Op> kind) {
            if (stderrAt < 0) {
                fill(); // decides, among others, which unmaps before this call the kit skipped
            }
            while (toCall < program.size() && skipped[toCall]) {
                toCall++;
            }
            Integer oldest = read.isEmpty() ? inFlight.poll() : read.poll();
            if (oldest == null || oldest != toCall || !kind.isInstance(program.op(toCall))) {
                throw new IllegalStateException("drive: the kit called " + kind.getSimpleName() + " where the program has "
                        + (toCall >= program.size() ? "no more calls" : "#" + (toCall + 1) + " " + program.op(toCall)));
            }
            String line = readAnswers.isEmpty() ? c.answer(inFlight.size()) : readAnswers.poll();
            if (stderrAt < 0 && c.stderrBytes() > 0) {
                // Written by this call or one sent after it: blame the last one sent, so that a program
                // cut after the call blamed still holds the one that wrote it.
                stderrAt = toCall;
                while (!inFlight.isEmpty()) {
                    stderrAt = inFlight.peek();
                    read.add(inFlight.poll());
                    readAnswers.add(c.answer(inFlight.size()));
                }
            }
            if (stderrAt == toCall) {
                throw fail("child-stderr: " + c.stderrSummary());
            }
            toCall++;
            return line;
        }

        private void fill() {
            int sent = 0;
            while (toSend < program.size() && inFlight.size() < ChildProcess.WINDOW) {
                Op op = program.op(toSend);
                if (op instanceof Op.Unmap u) {
                    int ref = u.ref();
                    if (ref >= 0 && ref < toSend && program.op(ref) instanceof Op.Map && returned[ref] == -1 && !skipped[ref]) {
                        break; // its address is in an answer still to come
                    }
                    if (!live.remove(ref)) {
                        skipped[toSend++] = true;
                        continue;
                    }
                    c.write(unmapRequest(u.cpu(), returned[ref], ((Op.Map) program.op(ref)).count()));
                } else if (op instanceof Op.Map m) {
                    c.write(mapRequest(m.cpu(), m.count()));
                } else {
                    c.write(aliasesRequest(op.cpu()));
                }
                inFlight.add(toSend++);
                sent++;
            }
            if (sent > 0) {
                c.flush();
            }
        }
    }

    private void boot(KernelConfig config) throws IOException {
        child = ChildProcess.start(command, timeoutMs);
        children++;
        childConfig = config;
        JsonNode hello = parse(child.ask(handshake("hello", config), Math.max(timeoutMs, HELLO_TIMEOUT_MS)), "hello");
        expectOk(hello, "hello");
        name = hello.path("name").asText("");
        canReset = hello.path("reset").asBoolean(false);
        reportsFlushes = false;
        for (JsonNode r : hello.path("reports")) {
            reportsFlushes |= "flushes".equals(r.asText());
        }
    }

    /** The hello request (or reset: the same fields), with the kernel's configuration. */
    static String handshake(String op, KernelConfig c) {
        ObjectNode h = JSON.createObjectNode();
        h.put("op", op);
        h.put("protocol", PROTOCOL);
        h.put("profile", c.profile().id());
        h.put("page_size", c.pageSize());
        h.put("vmalloc_start", Hex.format(c.vmallocStart()));
        h.put("vmalloc_end", Hex.format(c.vmallocEnd()));
        h.put("bits_per_long", c.bitsPerLong());
        h.put("nr_cpu_ids", c.nrCpuIds());
        ArrayNode possible = h.putArray("possible_cpus");
        c.possibleCpus().forEach(possible::add);
        ArrayNode online = h.putArray("online_cpus");
        c.onlineCpus().forEach(online::add);
        h.put("block_pages", c.blockPages());
        h.put("vmap_max_alloc", c.vmapMaxAlloc());
        return h.toString();
    }

    /**
     * One call: {@code exchange} sends what it must and returns the call's answer, checked here (and
     * for a child's writing to stderr when {@code checkStderr}; a pipelined exchange checks that itself).
     */
    private JsonNode call(ChildProcess c, Supplier<String> exchange, FlushListener flushes, String op, boolean checkStderr) {
        if (c != child) {
            throw fail("child-exited: the child was ended by an earlier failure");
        }
        calls++;
        JsonNode a;
        try {
            a = parse(exchange.get(), op);
            expectOk(a, op);
            if (checkStderr && child.stderrBytes() > 0) {
                throw fail("child-stderr: " + child.stderrSummary());
            }
        } catch (ChildProcess.ChildFailure f) {
            String err = child == null ? "" : child.stderrSummary();
            close();
            throw err.isEmpty() || f.getMessage().startsWith("child-stderr") ? f
                    : new ChildProcess.ChildFailure(f.getMessage() + "; " + err);
        }
        JsonNode fl = a.get("flushes");
        if (fl != null && !fl.isNull()) {
            if (!fl.isArray()) {
                throw fail("protocol: flushes is not an array");
            }
            for (JsonNode f : fl) {
                long start = parseAddr(f.path("start").asText(""), "flush start");
                long end = parseAddr(f.path("end").asText(""), "flush end");
                JsonNode by = f.get("by");
                flushes.flushed(start, end, by == null || by.isNull() ? null : by.asText());
            }
        }
        return a;
    }

    private static JsonNode parse(String line, String op) {
        try {
            JsonNode n = JSON.readTree(line);
            if (n == null || !n.isObject()) {
                throw new ChildProcess.ChildFailure("protocol: the answer to " + op + " is not a JSON object: " + cut(line));
            }
            return n;
        } catch (IOException e) {
            throw new ChildProcess.ChildFailure("protocol: the answer to " + op + " is not JSON: " + cut(line));
        }
    }

    private static void expectOk(String line, String op) {
        expectOk(parse(line, op), op);
    }

    private static void expectOk(JsonNode a, String op) {
        if (!a.path("ok").asBoolean(false)) {
            throw new ChildProcess.ChildFailure("child-error: " + op + " answered " + cut(a.toString()));
        }
    }

    private long parseAddr(String s, String what) {
        try {
            return Hex.parse(s);
        } catch (RuntimeException e) {
            throw fail("protocol: " + what + " '" + cut(s) + "' is not a \"0x...\" address");
        }
    }

    private ChildProcess.ChildFailure fail(String message) {
        close();
        return new ChildProcess.ChildFailure(message);
    }

    private static String cut(String s) {
        return s.length() <= 120 ? s : s.substring(0, 120) + "...";
    }

    /** Ends the current child, if any (a polite "bye" first). */
    @Override
    public void close() {
        if (child != null) {
            try {
                child.send("{\"op\":\"bye\"}");
            } catch (ChildProcess.ChildFailure e) {
                // already gone
            }
            child.close();
            child = null;
        }
    }

    @Override
    public String toString() {
        return Objects.toString(name);
    }
}
