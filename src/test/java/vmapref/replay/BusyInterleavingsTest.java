// SPDX-License-Identifier: GPL-2.0-only
package vmapref.replay;

import static org.assertj.core.api.Assertions.assertThat;
import static vmapref.replay.OtherUsersTest.header;
import static vmapref.replay.OtherUsersTest.replay;

import org.junit.jupiter.api.Test;

/**
 * Structure replay of a busy kernel: events are logged when a call returns (another task's
 * vm_unmap_aliases() when it enters), so what the kernel did inside a call may come before or after the
 * events logged between its start and its record. Each case is one interleaving the kernel allows, which
 * replays, and a variant no interleaving explains, which diverges.
 */
class BusyInterleavingsTest {

    static final String B = "0xffffc90000000000"; // the first vmap block (1 MiB)
    static final String B1 = "0xffffc90000001000"; // its second page
    static final String B2 = "0xffffc90000002000";
    static final String NEXT = "0xffffc90000100000"; // the next block-aligned range
    static final String NEXT1 = "0xffffc90000101000";

    static String map(int cpu, int count, String ret) {
        return "{\"op\":\"map\",\"cpu\":" + cpu + ",\"count\":" + count + ",\"ret\":\"" + ret + "\"}";
    }

    static String otherMap(int cpu, int count, String ret) {
        return "{\"op\":\"map\",\"cpu\":" + cpu + ",\"count\":" + count + ",\"ret\":\"" + ret + "\",\"by\":\"other\"}";
    }

    static String unmap(int cpu, String addr, int count) {
        return "{\"op\":\"unmap\",\"cpu\":" + cpu + ",\"addr\":\"" + addr + "\",\"count\":" + count + "}";
    }

    static String otherUnmap(int cpu, String addr, int count) {
        return "{\"op\":\"unmap\",\"cpu\":" + cpu + ",\"addr\":\"" + addr + "\",\"count\":" + count + ",\"by\":\"other\"}";
    }

    static String otherAliases(int cpu, int task) {
        return "{\"op\":\"aliases\",\"cpu\":" + cpu + ",\"by\":\"other\",\"task\":" + task + "}";
    }

    static String flush(int cpu, String start, String end, String by, Integer task) {
        return "{\"op\":\"flush\",\"cpu\":" + cpu + ",\"start\":\"" + start + "\",\"end\":\"" + end
                + "\",\"path\":\"aliases\",\"by\":\"" + by + "\"" + (task == null ? "" : ",\"task\":" + task) + "}";
    }

    static String aliases(int cpu) {
        return "{\"op\":\"aliases\",\"cpu\":" + cpu + "}";
    }

    static String trace(String... lines) {
        return header(2, "linux-6.12", 2) + "\n" + String.join("\n", lines) + "\n";
    }

    static void passes(String... lines) throws Exception {
        Replayer.Verdict v = replay(trace(lines));
        assertThat(v.conforms()).as(v.line()).isTrue();
    }

    static void diverges(String rule, int line, String... lines) throws Exception {
        Replayer.Verdict v = replay(trace(lines));
        assertThat(v.conforms()).as(v.line()).isFalse();
        assertThat(v.divergence().rule()).as(v.line()).isEqualTo(rule);
        assertThat(v.divergence().line()).as(v.line()).isEqualTo(line);
    }

    /** Block B on CPU 0 with 248 pages dirty and 8 free: purge_fragmented_block() frees it. */
    static final String[] FRAGMENTED = {map(0, 64, B), map(0, 64, "0xffffc90000040000"), map(0, 64, "0xffffc90000080000"),
        map(0, 32, "0xffffc900000c0000"), map(0, 16, "0xffffc900000e0000"), map(0, 8, "0xffffc900000f0000"),
        unmap(0, B, 64), unmap(0, "0xffffc90000040000", 64), unmap(0, "0xffffc90000080000", 64),
        unmap(0, "0xffffc900000c0000", 32), unmap(0, "0xffffc900000e0000", 16), unmap(0, "0xffffc900000f0000", 8)};
    static final String LAST = "0xffffc900000f8000"; // its 8 free pages

    static String[] after(String[] first, String... lines) {
        String[] all = java.util.Arrays.copyOf(first, first.length + lines.length);
        System.arraycopy(lines, 0, all, first.length, lines.length);
        return all;
    }

    /**
     * mm/vmalloc.c: _vm_unmap_aliases() takes vmap_purge_lock before it walks the blocks, so a task that
     * entered may still wait while a call on another CPU takes the last pages of a block its walk would
     * have freed (purge_fragmented_block(): free + dirty == VMAP_BBMAP_BITS, free < VMAP_PURGE_THRESHOLD).
     */
    @Test
    void anotherTasksVmUnmapAliasesMayWalkTheBlocksAfterACall() throws Exception {
        passes(after(FRAGMENTED, otherAliases(1, 7),
                map(0, 8, LAST), // the walk has not come: the block still serves CPU 0
                flush(1, B, LAST, "other", 7))); // then it flushes the block's dirty range
        // after the walk the block is gone and a new one is block-aligned; before it, its next free pages
        // are at offset 248, not 240 (the message is the preferred interleaving's: the walk first)
        diverges("placement-aligned", 15, after(FRAGMENTED, otherAliases(1, 7), map(0, 8, "0xffffc900000f0000")));
    }

    /** ... or before it: the block went to the lazy list, and the call took a new one. */
    @Test
    void anotherTasksVmUnmapAliasesMayWalkTheBlocksBeforeACall() throws Exception {
        passes(after(FRAGMENTED, otherAliases(1, 7),
                map(0, 8, NEXT), // the walk came first: the fragmented block is being purged
                flush(1, B, NEXT, "other", 7)));
        // without another task's vm_unmap_aliases() nothing frees the block
        diverges("block-offset", 14, after(FRAGMENTED, map(0, 8, NEXT)));
    }

    /**
     * The traced program's vm_unmap_aliases() takes the lazy list and resets the blocks' dirty ranges
     * once it holds vmap_purge_lock, after its previous call returned and before its flush; another task
     * may dirty a page in between, and that page is not the program's to flush.
     */
    @Test
    void theProgramsVmUnmapAliasesMayWalkBeforeAnotherTasksUnmap() throws Exception {
        String[] lines = {map(0, 1, B), otherMap(1, 1, NEXT), unmap(0, B, 1),
            otherUnmap(1, NEXT, 1), // after the program's walk
            flush(0, B, B1, "program", null), aliases(0)};
        passes(lines);
        // a flush that misses the program's own dirty page is wrong whenever its walk came
        lines[4] = flush(0, NEXT, NEXT1, "program", null);
        diverges("aliases-flush-covers", 7, lines);
    }

    /**
     * mm/vmalloc.c: vb_alloc() walks this CPU's free list, then new_vmap_block() allocates an area and
     * appends the block; a block another task appended meanwhile was not seen. A block on the list
     * before the call began is.
     */
    @Test
    void aProgramMapMayMissABlockAnotherTaskAddedMeanwhile() throws Exception {
        String[] full = {map(0, 64, B), map(0, 64, "0xffffc90000040000"), map(0, 64, "0xffffc90000080000"),
            map(0, 64, "0xffffc900000c0000")}; // block B is full and leaves CPU 0's free list
        passes(after(full, otherMap(0, 64, NEXT), // another task on CPU 0 makes block NEXT: 192 pages free
                map(0, 64, "0xffffc90000200000"))); // the program's call had walked the list before that
        diverges("block-offset", 8, after(full, otherMap(0, 64, NEXT), map(0, 8, "0xffffc90000140000"),
                map(0, 64, "0xffffc90000300000"))); // NEXT was on the list before this call began
        // with NEXT known free the whole call cannot have run before the other task's (its new block
        // would be NEXT, the lowest fit): only its walk came first
        String[] freed = {map(0, 300, NEXT), unmap(0, NEXT, 300), flush(0, NEXT, "0xffffc9000022c000", "program", null),
            aliases(0)};
        String[] both = java.util.Arrays.copyOf(freed, freed.length + full.length);
        System.arraycopy(full, 0, both, freed.length, full.length);
        passes(after(both, otherMap(0, 64, NEXT), map(0, 64, "0xffffc90000300000")));
    }

    static Replayer.Verdict spec(String... lines) throws Exception {
        try (vmapref.trace.TraceReader r = vmapref.trace.TraceReader.of("t.jsonl", new java.io.StringReader(trace(lines)))) {
            return Replayer.replay("t.jsonl", r, Replayer.Level.SPEC);
        }
    }

    /**
     * The specification of vm_unmap_aliases() on a busy kernel: what was unmapped before the traced
     * program's previous call returned must not be stale when it returns; what another task unmapped
     * after that may be, as the call may have walked the blocks first.
     */
    @Test
    void onlyWhatWasUnmappedBeforeTheCallBeganMustBeFlushed() throws Exception {
        Replayer.Verdict meanwhile = spec(map(0, 1, B), otherMap(1, 1, NEXT), unmap(0, B, 1),
                otherUnmap(1, NEXT, 1), flush(0, B, B1, "program", null), aliases(0));
        assertThat(meanwhile.conforms()).as(meanwhile.line()).isTrue();
        Replayer.Verdict before = spec(map(0, 1, B), otherMap(1, 1, NEXT), otherUnmap(1, NEXT, 1),
                unmap(0, B, 1), flush(0, B, B1, "program", null), aliases(0));
        assertThat(before.conforms()).as(before.line()).isFalse();
        assertThat(before.divergence().rule()).isEqualTo("aliases-no-stale");
        assertThat(before.divergence().line()).isEqualTo(7);
    }

    /** Node 0's pool holds the 100-page area a3 after this; the free tree's lowest fit is a1. */
    static final String A1 = B;
    static final String[] POOLED = {map(0, 100, A1), map(0, 100, "0xffffc90000064000"), map(0, 100, "0xffffc900000c8000"),
        unmap(0, A1, 100), flush(0, A1, "0xffffc90000064000", "program", null), aliases(0),
        unmap(0, "0xffffc900000c8000", 100), flush(0, "0xffffc900000c8000", "0xffffc9000012c000", "program", null),
        aliases(0)};

    static String drainFlush(int cpu, String start, String end) {
        return "{\"op\":\"flush\",\"cpu\":" + cpu + ",\"start\":\"" + start + "\",\"end\":\"" + end
                + "\",\"path\":\"drain\",\"by\":\"other\"}";
    }

    /**
     * mm/vmalloc.c: decay_va_pool_node() detaches each pool while it decays it ("so no-one can access
     * it"), so a node_alloc() meanwhile finds the pool empty and takes the free tree's lowest fit: while
     * another task's vm_unmap_aliases() is under way, or when a purge shows before the program's next
     * call returns. With no purge anywhere near, the pool's head is the only answer.
     */
    @Test
    void aMapPassesOverAPoolThatAConcurrentDecayDetached() throws Exception {
        passes(after(POOLED, otherAliases(1, 9), map(0, 100, A1))); // another task's purge under way
        passes(after(POOLED, map(0, 100, A1), drainFlush(1, "0xffffc90000200000", "0xffffc90000201000"), map(0, 1, NEXT)));
        diverges("pool-reuse", 12, after(POOLED, map(0, 100, A1), map(0, 1, NEXT))); // no purge before it returned
        diverges("pool-reuse", 11, after(POOLED, map(0, 100, A1))); // nor before the trace ended
    }

    /**
     * mm/vmalloc.c: vb_alloc() bumps vb->free when the call runs, and a call is logged when it returns
     * (vm_map_ram() fills page tables in between), so a call may land past pages that another call,
     * logged later, had already taken: a power of two of them, where that call's event comes to claim.
     */
    @Test
    void aCallLoggedLaterMayHaveTakenABlocksPagesFirst() throws Exception {
        passes(map(0, 8, B), otherMap(0, 16, "0xffffc90000018000"), // offset 24: 8..24 taken by a call still running
                map(0, 16, "0xffffc90000008000")); // which returns now
        diverges("block-offset", 3, map(0, 8, B), otherMap(0, 16, "0xffffc90000018000")); // no call claims them
        diverges("block-offset", 4, map(0, 8, B), otherMap(0, 16, "0xffffc90000018000"),
                map(0, 4, "0xffffc90000008000")); // 4 pages do not take 16
    }

    /** ... or made the block, whose first pages are its own. */
    @Test
    void aCallLoggedLaterMayHaveMadeTheBlock() throws Exception {
        String[] freed = {map(0, 300, B), unmap(0, B, 300), flush(0, B, "0xffffc9000012c000", "program", null),
            aliases(0)}; // B's range is back in the free tree (too large for a node pool)
        passes(after(freed, otherMap(1, 16, "0xffffc90000010000"), otherMap(1, 16, B)));
        diverges("block-offset", 6, after(freed, otherMap(1, 16, "0xffffc90000010000"))); // nothing made it
    }

    /**
     * The traced program's map took the last pages of a block before another task's vm_unmap_aliases()
     * walked the blocks, so the walk did not free the block (free + dirty is short of
     * VMAP_BBMAP_BITS), though the program's call is logged after that task's flush.
     */
    @Test
    void theProgramsMapMayHaveRunBeforeTheCallsLoggedSinceItsPreviousCall() throws Exception {
        passes(after(FRAGMENTED, otherAliases(1, 7), flush(1, B, LAST, "other", 7), map(0, 8, LAST)));
        // not before the program's own previous call
        Replayer.Verdict v = replay(trace(after(FRAGMENTED, otherAliases(1, 7), flush(1, B, LAST, "other", 7),
                map(0, 1, NEXT), map(0, 8, LAST))));
        assertThat(v.conforms()).as(v.line()).isFalse();
        assertThat(v.divergence().line()).as(v.line()).isEqualTo(17);
    }
}
