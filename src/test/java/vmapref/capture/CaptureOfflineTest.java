// SPDX-License-Identifier: GPL-2.0-only
package vmapref.capture;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import vmapref.hunt.Op;
import vmapref.replay.Replayer;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceReader;

/** The parts of capture that need no QEMU: programs, the guest's log, the trace it becomes, --check. */
class CaptureOfflineTest {

    @TempDir
    Path tmp;

    /** What the 6.1 guest printed for hunt's stale-TLB program with --probe-stale (trimmed: 2 vmallocinfo lines). */
    static final String CONSOLE_61 = String.join("\r\n",
            "[    0.000000] Linux version 6.1.0-57-amd64",
            "@@VMAPREF boot 6.1.0-57-amd64",
            "@@VMAPREF BEGIN vmallocinfo",
            "0xffffc90000000000-0xffffc90000005000   20480 irq_init_percpu_irqstack+0xf0/0x120 vmap",
            "0xffffc90000005000-0xffffc90000007000    8192 acpi_os_map_iomem+0x1b6/0x1d0 phys=0x000000001ffe1000 ioremap",
            "0xffffffffc0000000-0xffffffffc0005000   20480 load_module+0x1/0x2 pages=4 vmalloc",
            "@@VMAPREF END vmallocinfo",
            "@@VMAPREF BEGIN log",
            "H release=6.1.0-57-amd64",
            "H version=#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)",
            "H nr_cpus=8192 nr_cpu_ids=1 page_size=4096 vmalloc_start=0xffffc90000000000 vmalloc_end=0xffffe8ffffffffff",
            "H possible=0",
            "H online=0",
            "H lazy_max_hint=8192 ops=6 ran=1 probing=1",
            "F 1 0 0xffff888006259000 0xffffffffc020b000 __purge_vmap_area_lazy+0xd6/0x750 kworker/0:2",
            "M 2 0 0 0x21 0xffffc90000700000",
            "M 3 0 1 0x21 0xffffc90000740000",
            "M 4 0 2 0x21 0xffffc90000780000",
            "M 5 0 3 0x21 0xffffc900007c0000",
            "U 6 0 4 0xffffc90000700000 0x21",
            "A 7 0 5",
            "P 7 0 5 0xffffc90000700000 1",
            "S records=8 max_records=65584 krp_range_missed=0 krp_all_missed=0",
            "@@VMAPREF END log",
            "@@VMAPREF done",
            "[    2.831625] reboot: Power down", "");

    static final String HUNT_61 = String.join("\n",
            "{\"vmaptrace\":1,\"profile\":\"linux-6.1\",\"pageSize\":4096,\"vmallocStart\":\"0xffffc90000000000\","
                    + "\"vmallocEnd\":\"0xffffe8ffffffffff\",\"nrCpus\":8192,\"nrCpuIds\":1,\"possibleCpus\":[0],"
                    + "\"onlineCpus\":[0],\"flushes\":true,\"exclusive\":true}",
            "{\"op\":\"map\",\"cpu\":0,\"count\":33,\"ret\":\"0xffffc90000000000\"}",
            "{\"op\":\"map\",\"cpu\":0,\"count\":33,\"ret\":\"0xffffc90000040000\"}",
            "{\"op\":\"map\",\"cpu\":0,\"count\":33,\"ret\":\"0xffffc90000080000\"}",
            "{\"op\":\"map\",\"cpu\":0,\"count\":33,\"ret\":\"0xffffc900000c0000\"}",
            "{\"op\":\"flush\",\"start\":\"0xffffc90000000000\",\"end\":\"0xffffc90000001000\"}",
            "{\"op\":\"unmap\",\"cpu\":0,\"count\":33,\"addr\":\"0xffffc90000000000\"}",
            "{\"op\":\"aliases\",\"cpu\":0}", "");

    private Path write(String name, String text) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    @Test
    void aTraceBecomesCallsWithUnmapsByReference() throws Exception {
        CallProgram p = CallProgram.fromTrace(write("hunt.jsonl", HUNT_61));
        assertThat(p.ops()).containsExactly(new Op.Map(0, 33), new Op.Map(0, 33), new Op.Map(0, 33), new Op.Map(0, 33),
                new Op.Unmap(0, 0), new Op.Aliases(0));
        assertThat(p.encode(true)).isEqualTo("probe\nm 0 33\nm 0 33\nm 0 33\nm 0 33\nu 0 0\na 0\nrun\n");
        assertThat(p.encode(false)).startsWith("m 0 33\n").endsWith("u 0 0\na 0\nrun\n");
        assertThat(p.maxCpu()).isZero();
        assertThat(p.maxCount()).isEqualTo(33);
    }

    @Test
    void anUnmapOfAnAddressNoMapReturnedIsRefused() throws Exception {
        String t = HUNT_61.replace("\"addr\":\"0xffffc90000000000\"", "\"addr\":\"0xffffc90000001000\"");
        assertThatThrownBy(() -> CallProgram.fromTrace(write("bad.jsonl", t))).isInstanceOf(CaptureException.class)
                .hasMessageContaining("bad.jsonl:7").hasMessageContaining("names no mapping");
        String noCalls = HUNT_61.lines().findFirst().orElseThrow() + "\n";
        assertThatThrownBy(() -> CallProgram.fromTrace(write("empty.jsonl", noCalls)))
                .hasMessageContaining("no calls");
        assertThatThrownBy(() -> CallProgram.fromTrace(write("junk.jsonl", "not json\n")))
                .hasMessageStartingWith("cannot read the program");
    }

    @Test
    void aRandomProgramIsReproducibleAndWithinTheContract() {
        CallProgram a = CallProgram.random(7, 500, 2);
        assertThat(a.ops()).hasSize(500).isEqualTo(CallProgram.random(7, 500, 2).ops());
        assertThat(a.maxCpu()).isLessThanOrEqualTo(1);
        List<Integer> undone = new ArrayList<>();
        for (int i = 0; i < a.ops().size(); i++) {
            if (a.ops().get(i) instanceof Op.Unmap u) {
                assertThat(a.ops().get(u.ref())).isInstanceOf(Op.Map.class);
                assertThat(undone).doesNotContain(u.ref());
                undone.add(u.ref());
            }
        }
        assertThat(undone).isNotEmpty();
    }

    /** The same run by a module that logs other users: paths, their calls, a shrinker run, their areas. */
    static final String CONSOLE_OTHERS = CONSOLE_61
            .replace("H lazy_max_hint=8192 ops=6 ran=1 probing=1", "H lazy_max_hint=8192 ops=6 ran=1 probing=1\r\n"
                    + "H probes=vm_map_ram,vm_unmap_ram,_vm_unmap_aliases,drain_vmap_area_work,alloc_vmap_area,")
            .replace("__purge_vmap_area_lazy+0xd6/0x750 kworker/0:2", "__purge_vmap_area_lazy+0xd6/0x750 path=drain kworker/0:2")
            .replace("A 7 0 5", "m 8 0 -1 0x4 0xffffc90000800000 kworker/u9:2\r\nu 9 0 -1 0xffffc90000800000 0x4 cat\r\n"
                    + "a 10 0 -1 insmod\r\nK 11 0 -1 sh\r\nB 12 0 -1 0xffffc90000900000 0xffffc90000905000 sh\r\nA 7 0 5")
            .replace("records=8", "records=13");

    @Test
    void otherUsersBecomeVersion2Events() throws Exception {
        GuestLog log = GuestLog.parse(CONSOLE_OTHERS);
        assertThat(log.records()).hasSize(13);
        CallProgram p = CallProgram.fromTrace(write("hunt.jsonl", HUNT_61));
        Path out = tmp.resolve("out/others.jsonl");
        TraceBuilder.Summary s = TraceBuilder.write(log, p, new TraceBuilder.Meta("test", 1, false, true, p.origin()), out);
        assertThat(s.calls()).isEqualTo(6);
        assertThat(s.foreignCalls()).isEqualTo(3);
        assertThat(s.shrinks()).isEqualTo(1);
        List<String> lines = Files.readAllLines(out);
        assertThat(lines.get(0)).startsWith("{\"vmaptrace\":2,");
        assertThat(lines).anyMatch(l -> l.contains("\"op\":\"flush\"") && l.contains("\"path\":\"drain\""));
        assertThat(lines).anyMatch(l -> l.startsWith("{\"op\":\"map\",\"cpu\":0,\"count\":4,\"ret\":\"0xffffc90000800000\","
                + "\"by\":\"other\""));
        assertThat(lines).anyMatch(l -> l.contains("\"op\":\"unmap\"") && l.contains("\"by\":\"other\""));
        assertThat(lines).anyMatch(l -> l.startsWith("{\"op\":\"aliases\",\"cpu\":0,\"by\":\"other\""));
        assertThat(lines).anyMatch(l -> l.startsWith("{\"op\":\"shrink\",\"cpu\":0"));
        assertThat(lines).anyMatch(l -> l.startsWith("{\"op\":\"busy\",\"start\":\"0xffffc90000900000\""));
        // a program taken from such a trace holds only the program's own calls
        assertThat(CallProgram.fromTrace(out).ops()).hasSize(6);
    }

    /** A module that also logs each task's pid: flushes and other tasks' vm_unmap_aliases() carry it as "task". */
    @Test
    void tasksAndWhoFlushedBecomeVersion2Fields() throws Exception {
        String console = CONSOLE_OTHERS
                .replace("path=drain kworker/0:2", "path=drain pid=41 kworker/0:2")
                .replace("a 10 0 -1 insmod", "a 10 0 -1 pid=77 insmod");
        GuestLog log = GuestLog.parse(console);
        CallProgram p = CallProgram.fromTrace(write("hunt.jsonl", HUNT_61));
        Path out = tmp.resolve("out/tasks.jsonl");
        TraceBuilder.write(log, p, new TraceBuilder.Meta("test", 1, false, true, p.origin()), out);
        List<String> lines = Files.readAllLines(out);
        assertThat(lines).anyMatch(l -> l.contains("\"op\":\"flush\"") && l.contains("\"by\":\"other\",\"task\":41"));
        assertThat(lines).anyMatch(l -> l.startsWith("{\"op\":\"aliases\",\"cpu\":0,\"by\":\"other\",\"task\":77"));
        try (TraceReader r = TraceReader.open(out)) {
            List<TraceEvent> evs = new ArrayList<>();
            for (TraceEvent e = r.next(); e != null; e = r.next()) {
                evs.add(e);
            }
            assertThat(evs).filteredOn(e -> e instanceof TraceEvent.Flush).extracting(TraceEvent::task).contains(41L);
            assertThat(evs).filteredOn(e -> e instanceof TraceEvent.Aliases && e.foreign()).extracting(TraceEvent::task)
                    .containsExactly(77L);
        }
        // the program's own kthreads (vmt/CPU) flush as "program"
        assertThat(GuestLog.programTask("vmt/1")).isTrue();
        assertThat(GuestLog.programTask("kworker/0:2")).isFalse();
    }

    @Test
    void theGuestLogBecomesATraceThatReplaysWithItsProbes() throws Exception {
        GuestLog log = GuestLog.parse(CONSOLE_61);
        assertThat(log.vmallocinfo()).hasSize(3);
        assertThat(log.records()).hasSize(8);
        CallProgram p = CallProgram.fromTrace(write("hunt.jsonl", HUNT_61));
        Path out = tmp.resolve("out/real.jsonl");
        TraceBuilder.Summary s = TraceBuilder.write(log, p, new TraceBuilder.Meta("test", 1, false, true, p.origin()), out);
        assertThat(s.profile()).isEqualTo("linux-6.1");
        assertThat(s.kernel()).isEqualTo("6.1.192-3 (6.1.0-57-amd64)");
        assertThat(s.calls()).isEqualTo(6);
        assertThat(s.flushes()).isEqualTo(1);
        assertThat(s.busy()).isEqualTo(2); // the module area is outside the vmalloc range
        assertThat(s.readableProbes()).isEqualTo(1);
        try (TraceReader r = TraceReader.open(out)) {
            assertThat(r.header().nrCpus()).isEqualTo(8192);
            assertThat(r.header().flushes()).isTrue();
            assertThat(r.header().extra().get("blockPages").intValue()).isEqualTo(256);
            List<TraceEvent> evs = new ArrayList<>();
            for (TraceEvent e = r.next(); e != null; e = r.next()) {
                evs.add(e);
            }
            assertThat(evs).hasSize(9);
            assertThat(evs.get(2)).isInstanceOf(TraceEvent.Flush.class);
            assertThat(evs.get(2).note()).isEqualTo("flush_tlb_kernel_range from __purge_vmap_area_lazy+0xd6/0x750 in "
                    + "kworker/0:2; x86 did a full flush (range > 33 pages)");
            assertThat(evs.get(8)).isInstanceOf(TraceEvent.Aliases.class);
            assertThat(evs.get(8).seq()).isEqualTo(7L);
        }
        String aliasesLine = Files.readAllLines(out).stream().filter(l -> l.contains("\"aliases\"")).findFirst().orElseThrow();
        assertThat(aliasesLine).isEqualTo("{\"op\":\"aliases\",\"cpu\":0,\"seq\":7,\"probes\":[{\"addr\":"
                + "\"0xffffc90000700000\",\"readable\":true}]}");
        JsonNode probes = new ObjectMapper().readTree(aliasesLine).get("probes");
        assertThat(probes.get(0).get("readable").booleanValue()).isTrue();
        // 6.1 never flushed the unmapped range: the spec fails, the structure (6.1's own behaviour) passes
        assertThat(Replayer.replay(out, Replayer.Level.SPEC).divergence().rule()).isEqualTo("aliases-no-stale");
        assertThat(Replayer.replay(out, Replayer.Level.STRUCTURE).conforms()).isTrue();
    }

    @Test
    void aGuestLogThatLostLinesOrNeverBootedIsAnError() {
        assertThatThrownBy(() -> GuestLog.parse(CONSOLE_61.replace("M 3 0 1 0x21 0xffffc90000740000\r\n", "M 3 0 1 0x2")))
                .hasMessageContaining("lost lines").hasMessageContaining("6 of 8 records arrived (1 garbled");
        assertThatThrownBy(() -> GuestLog.parse("[    0.0] Linux version\r\n"))
                .hasMessageContaining("never reached its /init");
        assertThatThrownBy(() -> GuestLog.parse(CONSOLE_61.substring(0, CONSOLE_61.indexOf("M 4"))
                + "[    3.1] kernel BUG at mm/vmalloc.c:1865!\r\n"))
                .hasMessageContaining("cut short").hasMessageContaining("kernel BUG at mm/vmalloc.c:1865!");
        assertThatThrownBy(() -> GuestLog.parse("@@VMAPREF boot 6.1\n@@VMAPREF ERROR insmod: Invalid module format\n"))
                .hasMessage("the guest failed: insmod: Invalid module format");
    }

    @Test
    void aCallThatDidNotReturnIsTheLastEventWithTheKernelsMessage() throws Exception {
        String console = CONSOLE_61.replace("A 7 0 5\r\nP 7 0 5 0xffffc90000700000 1\r\n", "X 0 0 5 0x0\r\n")
                .replace("records=8", "records=7") + "[   25.0] kernel BUG at mm/vmalloc.c:2000!\r\n";
        GuestLog log = GuestLog.parse(console);
        CallProgram p = CallProgram.fromTrace(write("hunt.jsonl", HUNT_61));
        Path out = tmp.resolve("crash.jsonl");
        TraceBuilder.Summary s = TraceBuilder.write(log, p, new TraceBuilder.Meta("test", 1, false, false, "x"), out);
        assertThat(s.crash()).isEqualTo("kernel BUG at mm/vmalloc.c:2000!");
        List<String> lines = Files.readAllLines(out);
        assertThat(lines.get(lines.size() - 1)).isEqualTo("{\"op\":\"aliases\",\"cpu\":0,\"bug\":\"kernel BUG at mm/vmalloc.c:2000!\"}");
    }

    @Test
    void kernelFacts() {
        assertThat(TraceBuilder.profileOf("6.1.0-57-amd64")).isEqualTo("linux-6.1");
        assertThat(TraceBuilder.profileOf("6.12.117+deb12-amd64")).isEqualTo("linux-6.12");
        assertThat(TraceBuilder.profileOf("7.2.13+deb14-amd64")).isEqualTo("linux-7.2");
        assertThat(TraceBuilder.kernelText("7.2.13+deb14-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 7.2.13-1 (2026-10-28)"))
                .isEqualTo("7.2.13-1 (7.2.13+deb14-amd64)");
        assertThat(TraceBuilder.kernelText("6.9.0", "#1 SMP")).isEqualTo("6.9.0");
        assertThat(TraceBuilder.blockPages(8192, 4096)).isEqualTo(256);
        assertThat(TraceBuilder.blockPages(64, 4096)).isEqualTo(1024);
        assertThat(TraceBuilder.blockPages(4096, 4096)).isEqualTo(512);
        assertThat(GuestLog.cpuList("0-2,5")).containsExactly(0, 1, 2, 5);
    }

    @Test
    void debianPackages() {
        assertThat(Kernel.parseDepends("linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3), "
                + "linux-compiler-gcc-12-x86")).containsExactly("linux-headers-6.1.0-57-common", "linux-kbuild-6.1",
                "linux-compiler-gcc-12-x86");
        assertThat(Kernel.parseDepends("dracut | initramfs-tools (>= 0.120), linux-binary-7.2.13+deb14-amd64 (= 7.2.13-1)"))
                .containsExactly("dracut", "linux-binary-7.2.13+deb14-amd64");
        assertThat(Kernel.findVmlinuz("./\n./boot/\n./boot/System.map-6.1.0-57-amd64\n./boot/vmlinuz-6.1.0-57-amd64\n"))
                .isEqualTo("./boot/vmlinuz-6.1.0-57-amd64");
        assertThat(Kernel.findVmlinuz("./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz\n"))
                .isEqualTo("./usr/lib/modules/7.2.13+deb14-amd64/vmlinuz");
        assertThat(Kernel.findVmlinuz("./usr/share/doc/x\n")).isNull();
    }

    @Test
    void aKernelNameThatIsNeitherADirectoryNorAPackageIsRefused() throws Exception {
        assertThatThrownBy(() -> Kernel.resolve("6.1", null, tmp, s -> { })).isInstanceOf(CaptureException.class)
                .hasMessageContaining("neither a directory nor a Debian package name");
        Path dir = Files.createDirectories(tmp.resolve("k"));
        assertThatThrownBy(() -> Kernel.resolve(dir.toString(), null, tmp, s -> { })).hasMessageContaining("no bzImage");
        Files.writeString(dir.resolve("bzImage"), "x");
        assertThatThrownBy(() -> Kernel.resolve(dir.toString(), null, tmp, s -> { }))
                .hasMessageContaining("no module build tree");
        Files.createDirectories(dir.resolve("build"));
        Files.writeString(dir.resolve("build/Makefile"), "all:\n");
        Kernel k = Kernel.resolve(dir.toString(), null, tmp, s -> { });
        assertThat(k.bzImage()).isEqualTo(dir.resolve("bzImage"));
        assertThat(k.build()).isEqualTo(dir.resolve("build"));
        assertThat(k.chroot()).isNull();
    }

    @Test
    void checkListsWhatIsMissingWithTheInstallLine() {
        Map<String, Path> have = Map.of("qemu-system-x86_64", Path.of("/usr/bin/qemu-system-x86_64"), "gzip",
                Path.of("/bin/gzip"), "make", Path.of("/usr/bin/make"), "apt-get", Path.of("/usr/bin/apt-get"),
                "dpkg-deb", Path.of("/usr/bin/dpkg-deb"), "unshare", Path.of("/usr/bin/unshare"), "gcc-12",
                Path.of("/usr/bin/gcc-12"));
        Check.Report r = Check.run(have::get, () -> false, "linux-image-7.2.13+deb14-amd64", null,
                rel -> new String[] {"Debian unstable, private lists", "gcc-16"});
        assertThat(r.ok()).isFalse();
        assertThat(r.install()).isEqualTo("apt-get install -y busybox-static cpio debootstrap");
        assertThat(r.text()).contains("  ok       qemu-system-x86_64").contains("  MISSING  cpio")
                .contains("gcc-16 (in a chroot)").contains("linux-headers-7.2.13+deb14-amd64 (Debian unstable")
                .endsWith("missing: apt-get install -y busybox-static cpio debootstrap\n");
        Map<String, Path> all = new java.util.HashMap<>(have);
        all.put("cpio", Path.of("/usr/bin/cpio"));
        Check.Report ok = Check.run(all::get, () -> true, "linux-image-6.1.0-57-amd64", null,
                rel -> new String[] {"the host's apt sources", null});
        assertThat(ok.ok()).isTrue();
        assertThat(ok.text()).endsWith("nothing missing\n");
        Check.Report noHeaders = Check.run(all::get, () -> true, "linux-image-9.9-amd64", null, rel -> null);
        assertThat(noHeaders.install()).isEqualTo("(no package fixes this; see above)");
    }

    @Test
    void staticBusyboxIsAnElfWithoutInterpreter() {
        byte[] elf = new byte[64 + 56 * 2];
        elf[0] = 0x7f;
        elf[1] = 'E';
        elf[2] = 'L';
        elf[3] = 'F';
        elf[4] = 2;
        elf[0x20] = 64; // e_phoff
        elf[0x36] = 56; // e_phentsize
        elf[0x38] = 2; // e_phnum
        elf[64] = 1; // PT_LOAD
        elf[64 + 56] = 1;
        assertThat(Capture.isStatic(elf)).isTrue();
        elf[64 + 56] = 3; // PT_INTERP
        assertThat(Capture.isStatic(elf)).isFalse();
        assertThat(Capture.isStatic(new byte[] {1, 2, 3})).isFalse();
    }

    @Test
    void compilerMessagesKeepTheErrors() {
        String out = "make: Entering directory\n  CC [M]  x.o\nx.c:3:1: error: unknown type name 'foo'\nmake[2]: *** Error 1\n";
        assertThat(Capture.compilerMessage(out)).isEqualTo("x.c:3:1: error: unknown type name 'foo'\nmake[2]: *** Error 1");
    }
}
