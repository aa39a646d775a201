// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;

/**
 * Test helper: runs calls on the reference implementation one after another and keeps the last
 * step. The {@code map}/{@code unmap}/{@code aliases} shortcuts assert the call succeeded.
 */
public final class KernelDriver {
    /** VMALLOC_START on x86_64 with 4-level paging. */
    public static final long START = KernelConfig.X86_64_VMALLOC_START;
    /** VMALLOC_END, inclusive. */
    public static final long END = KernelConfig.X86_64_VMALLOC_END;
    /** Pages per vmap block on Debian's x86_64 kernels (NR_CPUS 8192). */
    public static final int BLOCK = 256;

    private KernelState state;
    private Vmalloc.Step last;

    private KernelDriver(KernelState state) {
        this.state = state;
    }

    public static KernelDriver boot(Profile profile, int cpus) {
        return boot(KernelConfig.x86_64(profile, cpus));
    }

    public static KernelDriver boot(KernelConfig cfg) {
        return new KernelDriver(KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT));
    }

    /** A config like x86_64(profile, 1) but with a vmalloc range of only {@code bytes}. */
    public static KernelConfig smallRange(Profile profile, long bytes) {
        return new KernelConfig(profile, 12, START, START + bytes - 1, 8192, 1, List.of(0), List.of(0), 64);
    }

    /** {@code n} pages in bytes. */
    public static long pages(long n) {
        return n << 12;
    }

    /** A TRACE_GUIDED kernel: the trace says where each area went. */
    public static KernelState guided(Profile p, int cpus) {
        return KernelState.boot(KernelConfig.x86_64(p, cpus), Set.of(), KernelState.Mode.TRACE_GUIDED);
    }

    /** The traced program's vm_map_ram() of {@code count} pages on {@code cpu}, which the trace says returned {@code at}. */
    public static KernelState mapAt(KernelState s, int cpu, long count, long at) {
        Vmalloc.Step st = Vmalloc.step(s, new Call.Map(cpu, count), (kind, pages, align) -> at >>> 12);
        assertThat(st.outcome()).isEqualTo(new Outcome.Mapped(at));
        return st.state();
    }

    /** The program's vm_unmap_ram(at, count), then a traced flush of just that range purging it. */
    public static KernelState purged(KernelState s, int cpu, long at, long count) {
        s = Vmalloc.step(s, new Call.Unmap(cpu, at, count)).state();
        return Vmalloc.observeFlush(s, at, at + pages(count), null);
    }

    /** What the trace says another user's call returned: {@code addr}, or NULL for -1 (as the replayer tells it). */
    public static Vmalloc.Placement told(long addr) {
        return new Vmalloc.Placement() {
            @Override
            public long place(Va.Kind kind, long pages, long alignPages) {
                return addr == -1 ? -1 : addr >>> 12;
            }

            @Override
            public boolean foreign() {
                return true;
            }
        };
    }

    /** The address of block {@code k} counted from VMALLOC_START (blocks are 1 MiB aligned). */
    public static long block(int k) {
        return START + pages((long) k * BLOCK);
    }

    public KernelState state() {
        return state;
    }

    public Vmalloc.Step last() {
        return last;
    }

    public Outcome outcome() {
        return last.outcome();
    }

    public List<Effect> effects() {
        return last.effects();
    }

    public List<Effect.Flush> flushes() {
        return last.effects().stream().filter(Effect.Flush.class::isInstance).map(Effect.Flush.class::cast).toList();
    }

    public Vmalloc.Step step(Call call) {
        last = Vmalloc.step(state, call);
        state = last.state();
        return last;
    }

    /** vm_map_ram(count) on {@code cpu}; asserts it mapped, returns the address. */
    public long map(int cpu, long count) {
        step(new Call.Map(cpu, count));
        assertThat(last.outcome()).as("vm_map_ram(count=%d) on CPU %d", count, cpu).isInstanceOf(Outcome.Mapped.class);
        return ((Outcome.Mapped) last.outcome()).addr();
    }

    public long map(long count) {
        return map(0, count);
    }

    /** {@code n} maps of {@code count} pages on CPU 0 (four 64-page maps fill a fresh block); their addresses. */
    public long[] mapEach(int n, long count) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = map(0, count);
        }
        return out;
    }

    /** Unmaps each address with the same count on CPU 0. */
    public void unmapEach(long[] addrs, long count) {
        for (long a : addrs) {
            unmap(0, a, count);
        }
    }

    /** vm_unmap_ram(addr, count) on {@code cpu}; asserts it returned normally. */
    public void unmap(int cpu, long addr, long count) {
        step(new Call.Unmap(cpu, addr, count));
        assertThat(last.outcome()).as("vm_unmap_ram(0x%x, %d) on CPU %d", addr, count, cpu)
                .isInstanceOf(Outcome.Done.class);
    }

    public void unmap(long addr, long count) {
        unmap(0, addr, count);
    }

    public void aliases(int cpu) {
        step(new Call.Aliases(cpu));
        assertThat(last.outcome()).isInstanceOf(Outcome.Done.class);
    }

    public void aliases() {
        aliases(0);
    }

    /** Whether some flush of the last step covers [start, end). */
    public boolean lastFlushCovers(long start, long end) {
        return flushes().stream().anyMatch(f -> Long.compareUnsigned(f.start(), start) <= 0
                && Long.compareUnsigned(end, f.end()) <= 0);
    }

    /** Whether some flush of the last step touches [start, end). */
    public boolean lastFlushTouches(long start, long end) {
        return flushes().stream().anyMatch(f -> Long.compareUnsigned(f.start(), end) < 0
                && Long.compareUnsigned(start, f.end()) < 0);
    }

    /** The vmap block whose base is the given address. */
    public VmapBlock blockAt(long addr) {
        return state.blocks().get(addr >>> 12);
    }

    /** The free list of {@code cpu} as block base addresses, oldest first. */
    public List<Long> freeList(int cpu) {
        return state.freeList(cpu).stream().map(state::addr).toList();
    }
}
