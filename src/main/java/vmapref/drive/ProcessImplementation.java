// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import java.util.Objects;
import vmapref.conformance.FlushListener;
import vmapref.conformance.VmapImplementation;
import vmapref.kernel.KernelConfig;
import vmapref.trace.Hex;

/**
 * An implementation under test that is another process, spoken to in the driver protocol, version 1
 * (docs/driver-protocol.md). One child serves many programs: {@code reset} between them when it says
 * it can, else a fresh child per program. A child that fails in any way is closed, and the call that
 * met the failure throws {@link ChildProcess.ChildFailure}: the conformance kit records it as a crash
 * of that call, a finding like any other, shrunk like any other.
 */
final class ProcessImplementation implements VmapImplementation.Factory, AutoCloseable {
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

    @Override
    public VmapImplementation create(KernelConfig config, FlushListener flushes) {
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
        ChildProcess c = child;
        return new VmapImplementation() {
            @Override
            public long map(int cpu, long count) {
                JsonNode a = call(c, "{\"op\":\"map\",\"cpu\":" + cpu + ",\"count\":" + count + "}", flushes, "map");
                JsonNode addr = a.get("addr");
                if (addr == null || addr.isNull()) {
                    return 0;
                }
                if (!addr.isTextual()) {
                    throw fail("protocol: map answered addr " + addr + ", not a \"0x...\" string or null");
                }
                return parseAddr(addr.asText(), "addr");
            }

            @Override
            public void unmap(int cpu, long addr, long count) {
                call(c, "{\"op\":\"unmap\",\"cpu\":" + cpu + ",\"addr\":\"" + Hex.format(addr) + "\",\"count\":" + count + "}",
                        flushes, "unmap");
            }

            @Override
            public void aliases(int cpu) {
                call(c, "{\"op\":\"aliases\",\"cpu\":" + cpu + "}", flushes, "aliases");
            }
        };
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

    private JsonNode call(ChildProcess c, String request, FlushListener flushes, String op) {
        if (c != child) {
            throw fail("child-exited: the child was ended by an earlier failure");
        }
        calls++;
        JsonNode a;
        try {
            a = parse(c.ask(request), op);
            expectOk(a, op);
            if (child.stderrBytes() > 0) {
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
