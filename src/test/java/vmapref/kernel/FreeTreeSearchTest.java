// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * {@link FreeTree}'s answers against the kernel's own reference for them: with an unadjusted search
 * length, find_vmap_lowest_match() must return what find_vmap_lowest_linear_match() finds walking
 * the address-sorted list (mm/vmalloc.c checks exactly that under DEBUG_AUGMENT_LOWEST_MATCH_CHECK),
 * va_alloc()/va_clip() cut exactly the allocated bytes out of that range, and
 * __merge_or_add_vmap_area() merges a freed range with the free ranges it touches. After every step
 * the tree must pass its own red-black and subtree_max_size check, and a copy taken before the step
 * must be unchanged.
 */
class FreeTreeSearchTest {

    static final long PAGE = 4096;
    static final long BASE = 0xffffc90000000000L; // VMALLOC_START of x86_64: above the signed range
    static final long SPAN = 4096 * PAGE;

    /** The free ranges as a start -> end map. */
    static TreeMap<Long, Long> map(FreeTree t) {
        TreeMap<Long, Long> m = new TreeMap<>(Long::compareUnsigned);
        for (long[] r : t.ranges()) {
            m.put(r[0], r[1]);
        }
        return m;
    }

    static long alignUp(long x, long a) {
        return (x + a - 1) & ~(a - 1);
    }

    // mm/vmalloc.c: is_within_this_va()
    static boolean within(long vaStart, long vaEnd, long size, long align, long vstart) {
        long nva = Long.compareUnsigned(vaStart, vstart) > 0 ? alignUp(vaStart, align) : alignUp(vstart, align);
        if (Long.compareUnsigned(nva + size, nva) < 0 || Long.compareUnsigned(nva, vstart) < 0) {
            return false;
        }
        return Long.compareUnsigned(nva + size, vaEnd) <= 0;
    }

    /**
     * mm/vmalloc.c: find_vmap_lowest_linear_match() then va_alloc(): the start address, or vend; the
     * expected free ranges afterwards go to {@code after}.
     */
    static long linear(TreeMap<Long, Long> ranges, long size, long align, long vstart, long vend,
                       TreeMap<Long, Long> after) {
        after.putAll(ranges);
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            if (!within(e.getKey(), e.getValue(), size, align, vstart)) {
                continue;
            }
            long nva = Long.compareUnsigned(e.getKey(), vstart) > 0 ? alignUp(e.getKey(), align) : alignUp(vstart, align);
            if (Long.compareUnsigned(nva + size, vend) > 0) { // va_alloc(): the "vend" restriction
                return vend;
            }
            after.remove(e.getKey());
            if (nva != e.getKey()) {
                after.put(e.getKey(), nva);
            }
            if (nva + size != e.getValue()) {
                after.put(nva + size, e.getValue());
            }
            return nva;
        }
        return vend;
    }

    /** A tree with a random pattern of free and busy pages in [BASE, BASE + SPAN), and what it holds. */
    static FreeTree fragmented(Random rnd, int rounds) {
        FreeTree t = FreeTree.boot(-1L);
        assertThat(t.clip(BASE, BASE + SPAN)).isTrue();
        for (int i = 0; i < rounds; i++) {
            long s = BASE + rnd.nextInt((int) (SPAN / PAGE)) * PAGE;
            long pages = 1 + rnd.nextInt(rnd.nextBoolean() ? 4 : 64);
            long e = Math.min(s + pages * PAGE, BASE + SPAN);
            TreeMap<Long, Long> m = map(t);
            Map.Entry<Long, Long> below = m.lowerEntry(e);
            if (below != null && Long.compareUnsigned(below.getValue(), s) > 0) {
                continue; // overlaps a free range
            }
            t.free(s, e);
        }
        return t;
    }

    @Test
    void theLowestMatchIsTheLinearLowestMatch() {
        // mm/vmalloc.c: find_vmap_lowest_match() with adjust_search_size false, checked against
        // find_vmap_lowest_linear_match() as find_vmap_lowest_match_check() does
        Random rnd = new Random(2024);
        long[] aligns = {1, PAGE, 2 * PAGE, 8 * PAGE, 64 * PAGE};
        int found = 0;
        int failed = 0;
        for (int tree = 0; tree < 12; tree++) {
            FreeTree t = fragmented(rnd, 150 + 60 * tree);
            assertThat(t.check()).isNull();
            for (int q = 0; q < 150; q++) {
                long align = aligns[rnd.nextInt(aligns.length)];
                long size = (1 + rnd.nextInt(rnd.nextBoolean() ? 3 : 40)) * PAGE - (rnd.nextInt(8) == 0 ? 1 : 0);
                long vstart = BASE + rnd.nextInt((int) (SPAN / PAGE)) * PAGE + (rnd.nextInt(4) == 0 ? rnd.nextInt(4096) : 0);
                long vend = rnd.nextInt(3) == 0 ? vstart + rnd.nextInt(200) * PAGE : -1L;
                TreeMap<Long, Long> before = map(t);
                TreeMap<Long, Long> after = new TreeMap<>(Long::compareUnsigned);
                long expected = linear(before, size, align, vstart, vend, after);
                FreeTree c = t.copy();
                String dump = t.dump();
                // pageSize = align: __alloc_vmap_area() does not adjust the search length
                long got = c.alloc(size, align, vstart, vend, Math.max(align, PAGE), false);
                assertThat(got).as("tree %d query %d: size 0x%x align 0x%x vstart 0x%x vend 0x%x", tree, q, size, align,
                        vstart, vend).isEqualTo(expected);
                assertThat(map(c)).as("va_clip() cut out [0x%x, +0x%x)", got, size).isEqualTo(after);
                assertThat(c.size()).isEqualTo(after.size());
                assertThat(c.check()).isNull();
                assertThat(t.dump()).as("the tree it was copied from").isEqualTo(dump);
                if (got == vend) {
                    failed++;
                } else {
                    found++;
                    if (rnd.nextBoolean()) {
                        t = c;
                    }
                }
            }
        }
        assertThat(found).isGreaterThan(500);
        assertThat(failed).isGreaterThan(200);
    }

    @Test
    void aFreedRangeMergesWithTheFreeRangesItTouches() {
        // mm/vmalloc.c: __merge_or_add_vmap_area(): "next" sibling at its end, "prev" at its start, both
        Random rnd = new Random(11);
        for (int round = 0; round < 20; round++) {
            FreeTree t = FreeTree.boot(-1L);
            int n = 64 + rnd.nextInt(200);
            for (int i = 0; i < n; i++) {
                assertThat(t.alloc(PAGE, PAGE, BASE, BASE + SPAN, PAGE, false)).isEqualTo(BASE + i * PAGE);
            }
            TreeMap<Long, Long> expected = map(t);
            List<Integer> order = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                order.add(i);
            }
            java.util.Collections.shuffle(order, rnd);
            for (int i : order) {
                long s = BASE + i * PAGE;
                long e = s + PAGE;
                FreeTree c = t.copy();
                String dump = c.dump();
                t.free(s, e);
                Map.Entry<Long, Long> prev = expected.lowerEntry(s);
                Long nextEnd = expected.remove(e);
                long ns = prev != null && prev.getValue() == s ? prev.getKey() : s;
                expected.put(ns, nextEnd != null ? nextEnd : e);
                assertThat(map(t)).as("free 0x%x", s).isEqualTo(expected);
                assertThat(t.size()).isEqualTo(expected.size());
                assertThat(t.check()).isNull();
                assertThat(c.dump()).isEqualTo(dump);
            }
            assertThat(t).isEqualTo(FreeTree.boot(-1L));
        }
    }

    @Test
    void aFreedRangeThatOverlapsAFreeRangeIsABug() {
        // mm/vmalloc.c: find_va_links() WARNs and returns NULL on an overlap; merge_or_add_vmap_area() gives NULL
        FreeTree t = FreeTree.boot(-1L);
        assertThat(t.clip(BASE, BASE + 16 * PAGE)).isTrue();
        FreeTree before = t.copy();
        assertThatThrownBy(() -> t.free(BASE + 15 * PAGE, BASE + 17 * PAGE)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> t.free(BASE - PAGE, BASE + PAGE)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> t.free(BASE - PAGE, BASE)).isInstanceOf(IllegalStateException.class);
        assertThat(t).isEqualTo(before);
        t.free(BASE + 4 * PAGE, BASE + 8 * PAGE);
        t.free(BASE + 8 * PAGE, BASE + 12 * PAGE); // the freed slot of the failed frees is reused
        assertThat(map(t)).containsEntry(BASE + 4 * PAGE, BASE + 12 * PAGE).hasSize(3);
        assertThat(t.check()).isNull();
    }

    @Test
    void clipCutsABusyRangeOutOfTheFreeRangeHoldingIt() {
        // mm/vmalloc.c: va_clip() by classify_va_fit_type(): LE, RE, NE and FL fits, NOTHING_FIT
        FreeTree t = FreeTree.boot(-1L);
        assertThat(t.clip(BASE, BASE + 16 * PAGE)).as("NE fit").isTrue();
        assertThat(map(t)).isEqualTo(Map.of(1L, BASE, BASE + 16 * PAGE, -1L));
        t.free(BASE + 4 * PAGE, BASE + 8 * PAGE);
        FreeTree c = t.copy();
        assertThat(t.clip(BASE + 4 * PAGE, BASE + 5 * PAGE)).as("LE fit").isTrue();
        assertThat(t.clip(BASE + 7 * PAGE, BASE + 8 * PAGE)).as("RE fit").isTrue();
        assertThat(map(t)).containsEntry(BASE + 5 * PAGE, BASE + 7 * PAGE).hasSize(3);
        assertThat(t.clip(BASE + 6 * PAGE, BASE + 8 * PAGE)).as("past the free range's end").isFalse();
        assertThat(t.clip(BASE + 4 * PAGE, BASE + 6 * PAGE)).as("starts in a busy page").isFalse();
        assertThat(t.clip(BASE + 7 * PAGE, BASE + 8 * PAGE)).as("wholly busy").isFalse();
        assertThat(t.clip(BASE + 5 * PAGE, BASE + 7 * PAGE)).as("FL fit").isTrue();
        assertThat(map(t)).isEqualTo(Map.of(1L, BASE, BASE + 16 * PAGE, -1L));
        assertThat(t.size()).isEqualTo(2);
        assertThat(t.check()).isNull();
        assertThat(map(c)).as("the copy").containsEntry(BASE + 4 * PAGE, BASE + 8 * PAGE).hasSize(3);
        assertThat(c.clip(BASE + 7 * PAGE, BASE + 8 * PAGE)).isTrue();
        assertThat(c.clip(BASE + 8 * PAGE, BASE + 9 * PAGE)).isFalse();
        assertThat(c.clip(BASE + 3 * PAGE, BASE + 4 * PAGE)).isFalse();
        assertThat(c.clip(BASE + 16 * PAGE - 1, BASE + 16 * PAGE)).isFalse();
        assertThat(c.clip(BASE + 16 * PAGE, BASE + 17 * PAGE)).isTrue();
        assertThat(c.clip(-PAGE, -1L)).as("the last bytes below ULONG_MAX").isTrue();
        assertThat(c.clip(-PAGE, -1L)).isFalse();
        assertThat(c.check()).isNull();
    }

    @Test
    void randomClipsAndFreesKeepTheTreeTheComplementOfTheBusyRanges() {
        // mm/vmalloc.c: va_clip() and merge_or_add_vmap_area(), with lib/rbtree.c's insert and erase
        Random rnd = new Random(5);
        FreeTree t = FreeTree.boot(-1L);
        TreeMap<Long, Long> busy = new TreeMap<>(Long::compareUnsigned);
        for (int i = 0; i < 3000; i++) {
            if (busy.isEmpty() || rnd.nextInt(5) < 3) {
                long s = BASE + rnd.nextInt(2048) * PAGE;
                long e = s + (1 + rnd.nextInt(8)) * PAGE;
                Map.Entry<Long, Long> below = busy.lowerEntry(e);
                boolean free = below == null || Long.compareUnsigned(below.getValue(), s) <= 0;
                assertThat(t.clip(s, e)).as("clip 0x%x-0x%x", s, e).isEqualTo(free);
                if (free) {
                    busy.put(s, e);
                }
            } else {
                List<Long> keys = new ArrayList<>(busy.keySet());
                long s = keys.get(rnd.nextInt(keys.size()));
                t.free(s, busy.remove(s));
            }
            TreeMap<Long, Long> expected = new TreeMap<>(Long::compareUnsigned);
            long from = 1;
            for (Map.Entry<Long, Long> b : busy.entrySet()) {
                if (b.getKey() != from) {
                    expected.put(from, b.getKey());
                }
                from = b.getValue();
            }
            expected.put(from, -1L);
            assertThat(map(t)).isEqualTo(expected);
            assertThat(t.size()).isEqualTo(expected.size());
            assertThat(t.check()).as("after op %d", i).isNull();
        }
    }

    /** 64 free holes of 16 pages, 16-page aligned and 48 busy pages apart, between busy ranges in [BASE, BASE + SPAN). */
    static FreeTree holes() {
        FreeTree t = FreeTree.boot(-1L);
        assertThat(t.clip(BASE, BASE + SPAN)).isTrue();
        for (int i = 0; i < 64; i++) {
            t.free(BASE + (i * 64 + 16) * PAGE, BASE + (i * 64 + 32) * PAGE);
        }
        assertThat(t.size()).isEqualTo(66);
        return t;
    }

    @Test
    void aWindowOfExactlyTheSizeIsSearchedWithoutTheAlignmentOverhead() {
        // mm/vmalloc.c: __alloc_vmap_area(): adjust_search_size is false when align > PAGE_SIZE and
        // vend - vstart == size, "with adjusted search length an allocation would not succeed"
        FreeTree t = holes();
        for (int i = 0; i < 64; i++) {
            long x = BASE + (i * 64 + 16) * PAGE;
            FreeTree c = t.copy();
            assertThat(c.alloc(16 * PAGE, 16 * PAGE, x, x + 16 * PAGE, PAGE, false)).as("hole %d", i).isEqualTo(x);
            assertThat(c.size()).isEqualTo(65);
            assertThat(c.check()).isNull();
        }
        // one byte more room: the search length is size + align - 1 again, so no 16-page hole qualifies
        // unless it lies on the descent path; the kernel may then fail where a linear search would not
        int failed = 0;
        for (int i = 0; i < 64; i++) {
            long x = BASE + (i * 64 + 16) * PAGE;
            if (t.copy().alloc(16 * PAGE, 16 * PAGE, x, x + 16 * PAGE + 1, PAGE, false) != x) {
                failed++;
            }
        }
        assertThat(failed).isPositive();
    }

    @Test
    void thePre2021SearchLengthSkipsExactHolesOffTheDescentPath() {
        // mm/vmalloc.c before "mm/vmalloc: do not adjust the search size for alignment overhead":
        // find_vmap_lowest_match() always searched for size + align - 1 bytes
        FreeTree t = holes();
        int skipped = 0;
        for (int i = 0; i < 64; i++) {
            long x = BASE + (i * 64 + 16) * PAGE;
            assertThat(t.copy().alloc(16 * PAGE, PAGE, x, BASE + SPAN, PAGE, false)).isEqualTo(x);
            if (t.copy().alloc(16 * PAGE, PAGE, x, BASE + SPAN, PAGE, true) != x) {
                skipped++;
            }
        }
        assertThat(skipped).isPositive();
    }

    @Test
    void aRequestWhoseEndWrapsPastUlongMaxFindsNothing() {
        // mm/vmalloc.c: is_within_this_va(): "Can be overflowed due to big size or alignment"
        FreeTree t = FreeTree.boot(-1L);
        FreeTree before = t.copy();
        assertThat(t.alloc(2 * PAGE, PAGE, -PAGE, -1L, PAGE, false)).isEqualTo(-1L);
        assertThat(t.alloc(PAGE, PAGE, -PAGE + 1, -1L, PAGE, false)).as("ALIGN(vstart) wraps to 0").isEqualTo(-1L);
        assertThat(t.alloc(PAGE, PAGE, -PAGE, -1L, PAGE, false)).as("the end wraps to exactly 0").isEqualTo(-1L);
        assertThat(t).isEqualTo(before);
        assertThat(t.alloc(PAGE, PAGE, -2 * PAGE, -1L, PAGE, false)).as("the last whole page below ULONG_MAX").isEqualTo(-2 * PAGE);
    }

    @Test
    void anAreaMayEndExactlyAtVend() {
        // mm/vmalloc.c: va_alloc(): fails only when nva_start_addr + size > vend
        FreeTree t = FreeTree.boot(-1L);
        assertThat(t.alloc(PAGE, PAGE, BASE, BASE + PAGE, PAGE, false)).isEqualTo(BASE);
        assertThat(t.alloc(2 * PAGE, PAGE, BASE, BASE + 3 * PAGE, PAGE, false)).isEqualTo(BASE + PAGE);
        assertThat(t.alloc(2 * PAGE, PAGE, BASE, BASE + 4 * PAGE, PAGE, false)).as("a page short").isEqualTo(BASE + 4 * PAGE);
        assertThat(map(t)).isEqualTo(Map.of(1L, BASE, BASE + 3 * PAGE, -1L));
    }
}
