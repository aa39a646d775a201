// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the guest printed on its serial console: the kernel's facts (the module's "H" lines), /proc/vmallocinfo
 * after the module loaded, and the module's records, each section between "@@VMAPREF" markers (capture/init.sh).
 */
public record GuestLog(Map<String, String> facts, List<VmallocLine> vmallocinfo, List<Rec> records,
        Map<String, String> stats, String crash) {

    /** One line of /proc/vmallocinfo: the area [start, end) and the rest of the line. */
    public record VmallocLine(long start, long end, String what) {
    }

    /**
     * One record of the module's log. {@code type} is M (map: a = count, b = returned address), U (unmap: a =
     * address, b = count), A (vm_unmap_aliases), F (flush_tlb_kernel_range: a = start, b = end), T
     * (flush_tlb_all), P (probe: a = address, b = 1 if readable, seq = the aliases it follows), X (the call did
     * not return), E (the call's CPU was not online); another task's m (map), u (unmap), a (_vm_unmap_aliases),
     * with the fields of M, U and A, K (the vmap-node shrinker ran) and B (alloc_vmap_area() for another task: a = start,
     * b = end). {@code op} is the program index (-1 for
     * flushes and other tasks); {@code caller} and {@code comm} are a flush's caller and task, {@code path} the
     * purge path behind a flush (overflow, drain, aliases, other; null from an older module).
     */
    public record Rec(char type, long seq, int cpu, int op, long a, long b, String caller, String comm, String path,
            Long pid) {
        public Rec(char type, long seq, int cpu, int op, long a, long b, String caller, String comm, String path) {
            this(type, seq, cpu, op, a, b, caller, comm, path, null);
        }

        public Rec(char type, long seq, int cpu, int op, long a, long b, String caller, String comm) {
            this(type, seq, cpu, op, a, b, caller, comm, null, null);
        }
    }

    /**
     * Whether a task name is one of the program's own kthreads: the module names them {@code vmt/CPU}
     * (capture/module: kthread_create(worker_fn, w, "vmt/%u", cpu)).
     */
    static boolean programTask(String comm) {
        return comm != null && comm.matches("vmt/\\d+");
    }

    static final String MARK = "@@VMAPREF ";
    private static final Pattern VMALLOC = Pattern.compile("^(0x[0-9a-f]+)-(0x[0-9a-f]+)\\s+\\d+\\s*(.*)$");
    private static final Pattern FLUSH = Pattern.compile(
            "^([FT]) (\\d+) (\\d+) (0x[0-9a-f]+) (0x[0-9a-f]+) (\\S+) (?:path=(\\w+) )?(?:pid=(\\d+) )?(.*)$");
    private static final Pattern OTHER_CALL = Pattern.compile("^([muB]) (\\d+) (\\d+) (-?\\d+) (0x[0-9a-f]+) (0x[0-9a-f]+) ?(.*)$");
    private static final Pattern OTHER_EVENT = Pattern.compile("^([aK]) (\\d+) (\\d+) (-?\\d+) ?(?:pid=(\\d+) )?(.*)$");
    private static final Pattern CALL = Pattern.compile("^([MU]) (\\d+) (\\d+) (\\d+) (0x[0-9a-f]+) (0x[0-9a-f]+)$");
    private static final Pattern ALIASES = Pattern.compile("^A (\\d+) (\\d+) (\\d+)$");
    private static final Pattern PROBE = Pattern.compile("^P (\\d+) (\\d+) (\\d+) (0x[0-9a-f]+) ([01])$");
    private static final Pattern OTHER = Pattern.compile("^([XE]) 0 (\\d+) (\\d+) (0x[0-9a-f]+)$");
    private static final Pattern KV = Pattern.compile("(\\w+)=(\\S*)");
    private static final Pattern CRASH = Pattern.compile("(kernel BUG at \\S+|BUG: .*|Oops: .*|general protection fault.*)");

    /** Parses the console output; a missing section or a lost line is an error naming what went wrong. */
    public static GuestLog parse(String console) throws CaptureException {
        Map<String, String> facts = new LinkedHashMap<>();
        List<VmallocLine> vm = new ArrayList<>();
        List<Rec> recs = new ArrayList<>();
        Map<String, String> stats = new LinkedHashMap<>();
        String section = null;
        String crash = null;
        boolean booted = false;
        boolean sawLog = false;
        int unparsed = 0;
        String firstUnparsed = null;
        for (String raw : console.split("\n")) {
            String line = raw.replace("\r", "");
            int at = line.indexOf(MARK);
            if (at >= 0) {
                String m = line.substring(at + MARK.length()).strip();
                if (m.startsWith("boot")) {
                    booted = true;
                } else if (m.startsWith("BEGIN ")) {
                    section = m.substring(6);
                    sawLog |= section.equals("log");
                } else if (m.startsWith("END ")) {
                    section = null;
                } else if (m.startsWith("ERROR ")) {
                    throw new CaptureException("the guest failed: " + m.substring(6).strip());
                }
                continue;
            }
            if (crash == null) {
                Matcher c = CRASH.matcher(line);
                if (c.find() && booted) {
                    crash = c.group(1).strip();
                }
            }
            if (section == null) {
                continue;
            }
            if (section.equals("vmallocinfo")) {
                Matcher v = VMALLOC.matcher(line.strip());
                if (v.matches()) {
                    vm.add(new VmallocLine(hex(v.group(1)), hex(v.group(2)), v.group(3).strip()));
                }
                continue;
            }
            String l = line.strip();
            Matcher x;
            if (l.startsWith("H ")) {
                String body = l.substring(2);
                int eq = body.indexOf('=');
                String key = body.substring(0, eq);
                if (key.equals("release") || key.equals("version")) {
                    facts.put(key, body.substring(eq + 1));
                } else {
                    for (Matcher kv = KV.matcher(body); kv.find(); ) {
                        facts.put(kv.group(1), kv.group(2));
                    }
                }
            } else if (l.startsWith("S ")) {
                for (Matcher kv = KV.matcher(l); kv.find(); ) {
                    stats.put(kv.group(1), kv.group(2));
                }
            } else if ((x = FLUSH.matcher(l)).matches()) {
                recs.add(new Rec(x.group(1).charAt(0), Long.parseLong(x.group(2)), Integer.parseInt(x.group(3)), -1,
                        hex(x.group(4)), hex(x.group(5)), x.group(6), x.group(9), x.group(7),
                        x.group(8) == null ? null : Long.parseLong(x.group(8))));
            } else if ((x = OTHER_CALL.matcher(l)).matches()) {
                recs.add(new Rec(x.group(1).charAt(0), Long.parseLong(x.group(2)), Integer.parseInt(x.group(3)), -1,
                        hex(x.group(5)), hex(x.group(6)), null, x.group(7)));
            } else if ((x = OTHER_EVENT.matcher(l)).matches()) {
                recs.add(new Rec(x.group(1).charAt(0), Long.parseLong(x.group(2)), Integer.parseInt(x.group(3)), -1,
                        0, 0, null, x.group(6), null, x.group(5) == null ? null : Long.parseLong(x.group(5))));
            } else if ((x = CALL.matcher(l)).matches()) {
                recs.add(new Rec(x.group(1).charAt(0), Long.parseLong(x.group(2)), Integer.parseInt(x.group(3)),
                        Integer.parseInt(x.group(4)), hex(x.group(5)), hex(x.group(6)), null, null));
            } else if ((x = ALIASES.matcher(l)).matches()) {
                recs.add(new Rec('A', Long.parseLong(x.group(1)), Integer.parseInt(x.group(2)),
                        Integer.parseInt(x.group(3)), 0, 0, null, null));
            } else if ((x = PROBE.matcher(l)).matches()) {
                recs.add(new Rec('P', Long.parseLong(x.group(1)), Integer.parseInt(x.group(2)),
                        Integer.parseInt(x.group(3)), hex(x.group(4)), Long.parseLong(x.group(5)), null, null));
            } else if ((x = OTHER.matcher(l)).matches()) {
                recs.add(new Rec(x.group(1).charAt(0), 0, Integer.parseInt(x.group(2)), Integer.parseInt(x.group(3)),
                        hex(x.group(4)), 0, null, null));
            } else if (!l.isEmpty()) {
                unparsed++;
                if (firstUnparsed == null) {
                    firstUnparsed = l;
                }
            }
        }
        if (!booted) {
            throw new CaptureException("the guest never reached its /init (no boot marker on the console)");
        }
        if (!sawLog || !stats.containsKey("records")) {
            throw new CaptureException("the guest's log is missing or cut short"
                    + (crash != null ? " (the kernel reported: " + crash + ")" : ""));
        }
        long printed = recs.size();
        long held = Math.min(Long.parseLong(stats.get("records")), Long.parseLong(stats.getOrDefault("max_records",
                stats.get("records"))));
        if (Long.parseLong(stats.get("records")) > held) {
            throw new CaptureException("the module's log overflowed (" + stats.get("records") + " records, room for "
                    + held + ")");
        }
        if (printed != held) {
            throw new CaptureException("the console lost lines of the module's log: " + printed + " of " + held
                    + " records arrived" + (firstUnparsed != null ? " (" + unparsed + " garbled, the first: '"
                    + firstUnparsed + "')" : ""));
        }
        for (String f : List.of("release", "nr_cpus", "nr_cpu_ids", "page_size", "vmalloc_start", "vmalloc_end",
                "possible", "online")) {
            if (!facts.containsKey(f)) {
                throw new CaptureException("the module's log lacks the kernel fact '" + f + "'");
            }
        }
        return new GuestLog(facts, vm, recs, stats, crash);
    }

    /** A CPU list as the kernel prints it ("0-2,5"). */
    public static List<Integer> cpuList(String s) {
        List<Integer> cpus = new ArrayList<>();
        if (s == null || s.isBlank()) {
            return cpus;
        }
        for (String part : s.split(",")) {
            int dash = part.indexOf('-');
            int lo = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
            int hi = dash < 0 ? lo : Integer.parseInt(part.substring(dash + 1));
            for (int c = lo; c <= hi; c++) {
                cpus.add(c);
            }
        }
        return cpus;
    }

    static long hex(String s) {
        return Long.parseUnsignedLong(s.substring(2), 16);
    }
}
