// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FreeTree} against the kernel's own code: each resource in src/test/resources/freetree is a
 * script of free-tree operations with the answers of linux-6.12's mm/vmalloc.c free-tree functions
 * and lib/rbtree.c, compiled in a userspace harness (not part of this repository). Every answer and
 * every dump (shape, colours, subtree_max_size) must match.
 */
class FreeTreeTest {

    static final long ULONG_MAX = -1L;
    static final long PAGE = 4096;

    /** Runs one op line through the tree and returns the harness's answer. */
    static String apply(FreeTree t, String op) {
        String[] f = op.trim().split("\\s+");
        return switch (f[0]) {
            case "alloc" -> {
                long vend = hex(f[4]);
                long r = t.alloc(hex(f[1]), hex(f[2]), hex(f[3]), vend, PAGE, false);
                yield r == vend ? "FAIL" : Long.toHexString(r);
            }
            case "free" -> {
                t.free(hex(f[1]), hex(f[2]));
                yield "ok";
            }
            case "clip" -> t.clip(hex(f[1]), hex(f[2])) ? "ok" : "NOFIT";
            case "dump" -> t.dump();
            default -> throw new IllegalArgumentException(op);
        };
    }

    static long hex(String s) {
        return Long.parseUnsignedLong(s.startsWith("0x") ? s.substring(2) : s, 16);
    }

    static List<String> lines(String name) throws IOException {
        try (InputStream in = FreeTreeTest.class.getResourceAsStream("/freetree/" + name)) {
            assertThat(in).as(name).isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"seed2005.txt", "seed2013.txt", "seed2016.txt", "seed2021.txt"})
    void replaysTheKernelsAnswers(String name) throws IOException {
        FreeTree t = FreeTree.boot(ULONG_MAX);
        int n = 0;
        for (String line : lines(name)) {
            n++;
            int arrow = line.indexOf(" => ");
            String op = line.substring(0, arrow);
            String expected = line.substring(arrow + 4);
            FreeTree before = t.copy();
            String before1 = before.dump();
            assertThat(apply(t, op)).as("%s op %d: %s", name, n, op).isEqualTo(expected);
            assertThat(t.check()).as("%s op %d: %s", name, n, op).isNull();
            assertThat(before.dump()).as("a copy is independent").isEqualTo(before1);
        }
        assertThat(n).isGreaterThan(200);
    }

    @Test
    void bootIsOneRangeFromOneToUlongMax() {
        FreeTree t = FreeTree.boot(ULONG_MAX);
        assertThat(t.dump()).isEqualTo("(1-ffffffffffffffff:b:fffffffffffffffe . .)");
        assertThat(t.size()).isEqualTo(1);
    }

    @Test
    void anExactHoleOnTheDescentPathIsTaken() {
        // Only ranges of size + align - 1 bytes are search candidates, but with three free ranges all
        // of them lie on the descent path and is_within_this_va() accepts the exact, aligned hole.
        // The harness answers the same for every hole 1..7.
        long start = 0xffffc90000000000L;
        long end = 0xffffe8ffffffffffL;
        long blk = 0x100000;
        for (int hole = 1; hole < 8; hole++) {
            FreeTree t = FreeTree.boot(ULONG_MAX);
            for (int i = 0; i < 8; i++) {
                assertThat(t.alloc(blk, blk, start, end, PAGE, false)).isEqualTo(start + i * blk);
            }
            t.free(start + hole * blk, start + (hole + 1) * blk);
            FreeTree copy = t.copy();
            assertThat(copy).isEqualTo(t).hasSameHashCodeAs(t);
            assertThat(t.alloc(blk, blk, start, end, PAGE, false)).as("hole %d", hole).isEqualTo(start + hole * blk);
            assertThat(t.check()).isNull();
            assertThat(copy).as("the copy kept the hole").isNotEqualTo(t);
        }
    }

    @Test
    void everyCopyStaysAsItWasWhileBothSidesChange() {
        // more than 32 * 32 nodes at once, so the slot trie grows a level while copies share it
        long start = 0xffffc90000000000L;
        long end = 0xffffe8ffffffffffL;
        FreeTree t = FreeTree.boot(ULONG_MAX);
        List<FreeTree> copies = new java.util.ArrayList<>();
        List<String> dumps = new java.util.ArrayList<>();
        java.util.Random rnd = new java.util.Random(7);
        for (int i = 0; i < 2500; i++) {
            assertThat(t.alloc(PAGE, PAGE, start, end, PAGE, false)).isEqualTo(start + i * PAGE);
        }
        for (int i = 0; i < 2500; i += 2) {
            t.free(start + i * PAGE, start + (i + 1) * PAGE);
            if (rnd.nextInt(50) == 0) {
                FreeTree c = t.copy();
                copies.add(c);
                dumps.add(c.dump());
                c.alloc(PAGE, PAGE, start, end, PAGE, false); // the copy changes too
                dumps.set(dumps.size() - 1, c.dump());
            }
        }
        assertThat(t.size()).isGreaterThan(1250);
        for (int i = 1; i < 2500; i += 2) {
            t.free(start + i * PAGE, start + (i + 1) * PAGE);
        }
        assertThat(t.check()).isNull();
        assertThat(t.dump()).isEqualTo(FreeTree.boot(ULONG_MAX).dump());
        for (int i = 0; i < copies.size(); i++) {
            assertThat(copies.get(i).dump()).as("copy %d", i).isEqualTo(dumps.get(i));
            assertThat(copies.get(i).check()).isNull();
        }
    }
}
