// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@link FreeTree#check()} reports every broken invariant of the kernel's free tree: lib/rbtree.c's
 * red-black rules (a black root without a parent, no red node with a red child, the same number of
 * black nodes on every path, parent pointers that match the links), the subtree_max_size of
 * RB_DECLARE_CALLBACKS_MAX in mm/vmalloc.c (the largest va_size() in the subtree), and the order of
 * the free ranges (sorted, disjoint and never adjacent, as __merge_or_add_vmap_area() merges
 * neighbours). Each tree here is valid, then one field is broken by hand.
 */
class FreeTreeCheckTest {

    /** An empty tree that then gets the ranges [b0, b1), [b2, b3), ... freed into it in that order. */
    static FreeTree of(long... bounds) {
        FreeTree t = FreeTree.boot(-1L);
        assertThat(t.clip(1, -1L)).isTrue(); // va_clip() FL_FIT_TYPE: the tree is empty
        for (int i = 0; i < bounds.length; i += 2) {
            t.free(bounds[i], bounds[i + 1]);
        }
        assertThat(t.check()).isNull();
        return t;
    }

    /** (3000-5000:b:3000 (1000-2000:r:1000 . .) (6000-9000:r:3000 . .)) */
    static FreeTree three() {
        FreeTree t = of(0x1000, 0x2000, 0x3000, 0x5000, 0x6000, 0x9000);
        assertThat(t.dump()).isEqualTo("(3000-5000:b:3000 (1000-2000:r:1000 . .) (6000-9000:r:3000 . .))");
        return t;
    }

    /** (3000-5000:b:4000 (1000-2000:b:1000 . .) (6000-9000:b:4000 . (a000-e000:r:4000 . .))) */
    static FreeTree fourUp() {
        FreeTree t = of(0x1000, 0x2000, 0x3000, 0x5000, 0x6000, 0x9000, 0xa000, 0xe000);
        assertThat(t.dump()).isEqualTo("(3000-5000:b:4000 (1000-2000:b:1000 . .) (6000-9000:b:4000 . (a000-e000:r:4000 . .)))");
        return t;
    }

    /** (6000-9000:b:4000 (3000-5000:b:2000 (1000-2000:r:1000 . .) .) (a000-e000:b:4000 . .)) */
    static FreeTree fourDown() {
        FreeTree t = of(0xa000, 0xe000, 0x6000, 0x9000, 0x3000, 0x5000, 0x1000, 0x2000);
        assertThat(t.dump()).isEqualTo("(6000-9000:b:4000 (3000-5000:b:2000 (1000-2000:r:1000 . .) .) (a000-e000:b:4000 . .))");
        return t;
    }

    @Test
    void validTreesPass() {
        assertThat(of().check()).as("empty").isNull();
        assertThat(of().size()).isZero();
        assertThat(of(0, 0x1000).check()).as("a range from address 0 has no predecessor").isNull();
        assertThat(of(0, 0x1000, 0x2000, 0x3000).check()).isNull();
        assertThat(FreeTree.boot(-1L).check()).isNull();
    }

    // lib/rbtree.c: __rb_insert() ends with the root black ("case 1"), and the root has no parent
    @Test
    void aRedRootOrARootWithAParentIsReported() {
        FreeTree t = three();
        t.breakForTest(0x3000, "red", 1);
        assertThat(t.check()).isEqualTo("bad root");
        t = three();
        t.breakForTest(0x3000, "parent", 0x1000);
        assertThat(t.check()).isEqualTo("bad root");
    }

    @Test
    void aCountThatIsNotTheNumberOfNodesIsReported() {
        FreeTree t = three();
        t.breakForTest(0x1000, "count", 4);
        assertThat(t.check()).isEqualTo("count 4 but 3 nodes");
        assertThat(t.size()).isEqualTo(4);
    }

    // mm/vmalloc.c: __merge_or_add_vmap_area() kmem_cache_free()s the va it merged into a neighbour (6.12
    // L1457, L1488), va_clip() the one it unlinks for FL_FIT_TYPE: every vmap_area is in the tree or freed
    @Test
    void aVmapAreaNeitherInTheTreeNorFreedIsReported() {
        FreeTree t = of(0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x6000);
        t.free(0x2000, 0x3000); // merged with the next range, then with the previous one
        assertThat(t.check()).isNull();
        t.free(0x4000, 0x5000);
        assertThat(t.ranges()).hasSize(1);
        assertThat(t.check()).isNull();
        assertThat(t.clip(0x1000, 0x6000)).isTrue();
        assertThat(t.size()).isZero();
        assertThat(t.check()).isNull();
        t = three();
        t.breakForTest(0x1000, "leak", 0x20000);
        assertThat(t.check()).isEqualTo("4 vmap_areas allocated, 3 in the tree, 0 freed");
    }

    // mm/vmalloc.c: __link_va() sets subtree_max_size to 0 after rb_insert_augmented() (6.12 L1255): a
    // kmem_cache_alloc()ed vmap_area keeps its last value, which could equal its new size and stop
    // augment_tree_propagate_from() before the parent learns of it
    @Test
    void aReusedVmapAreasOldSubtreeMaxSizeDoesNotStopThePropagation() {
        FreeTree t = of(0x10000, 0x11000, 0x20000, 0x22000);
        assertThat(t.clip(0x20000, 0x22000)).isTrue(); // the leaf of size 0x2000 is freed
        t.free(0x30000, 0x32000); // its object again, a leaf of the same size
        assertThat(t.dump()).isEqualTo("(10000-11000:b:2000 . (30000-32000:r:2000 . .))");
        assertThat(t.check()).isNull();
    }

    // lib/rbtree.c: rb_link_node() sets rb_left and rb_right to NULL; the reused object of an erased node
    // with two children still has its old links until then
    @Test
    void aReusedVmapAreaIsLinkedWithoutItsOldChildren() {
        FreeTree t = three();
        assertThat(t.clip(0x3000, 0x5000)).isTrue(); // the root is erased and its object freed
        t.free(0xa000, 0xb000); // its object again, a leaf
        assertThat(t.ranges()).hasSize(3);
        assertThat(t.check()).isNull();
    }

    // lib/rbtree.c: rb_link_node() and every rotation keep rb_parent() of a child its parent
    @Test
    void aChildWhoseParentPointerIsWrongIsReported() {
        FreeTree t = three();
        t.breakForTest(0x1000, "parent", 0x6000);
        assertThat(t.check()).isEqualTo("bad parent pointer");
        t = three();
        t.breakForTest(0x6000, "parent", 0x1000);
        assertThat(t.check()).isEqualTo("bad parent pointer");
    }

    // lib/rbtree.c, property 4: both children of a red node are black
    @Test
    void aRedNodeWithARedChildIsReported() {
        FreeTree t = fourUp();
        t.breakForTest(0x6000, "red", 1); // red right child of a red right child
        t.breakForTest(0x1000, "red", 1); // keeps the black heights equal
        assertThat(t.check()).isEqualTo("red node with a red child");
        t = fourDown();
        t.breakForTest(0x3000, "red", 1); // red left child of a red left child
        t.breakForTest(0xa000, "red", 1);
        assertThat(t.check()).isEqualTo("red node with a red child");
    }

    // lib/rbtree.c, property 5: every path from a node to its leaves has the same number of black nodes
    @Test
    void unequalBlackHeightsAreReported() {
        FreeTree t = three();
        t.breakForTest(0x6000, "red", 0);
        assertThat(t.check()).isEqualTo("black heights differ");
        t = three();
        t.breakForTest(0x1000, "red", 0);
        assertThat(t.check()).isEqualTo("black heights differ");
        t = fourUp();
        t.breakForTest(0xa000, "red", 0); // below the root
        assertThat(t.check()).isEqualTo("black heights differ");
    }

    // mm/vmalloc.c: compute_subtree_max_size(): max(va_size(va), left's and right's subtree_max_size)
    @Test
    void aWrongSubtreeMaxSizeIsReported() {
        FreeTree t = three();
        t.breakForTest(0x3000, "max", 0x2000); // its own size, not its right child's larger one
        assertThat(t.check()).isEqualTo("subtree_max_size of 0x3000 is 0x2000, not 0x3000");
        t = three();
        t.breakForTest(0x3000, "max", 0x4000);
        assertThat(t.check()).isEqualTo("subtree_max_size of 0x3000 is 0x4000, not 0x3000");
        t = three();
        t.breakForTest(0x1000, "max", 0);
        assertThat(t.check()).isEqualTo("subtree_max_size of 0x1000 is 0x0, not 0x1000");
        t = fourDown();
        t.breakForTest(0x3000, "max", 0x1000); // the left child's range is the smaller one
        assertThat(t.check()).isEqualTo("subtree_max_size of 0x3000 is 0x1000, not 0x2000");
        FreeTree big = of(0x1000, 0x9000, 0xa000, 0xb000, 0xc000, 0xd000);
        assertThat(big.dump()).isEqualTo("(a000-b000:b:8000 (1000-9000:r:8000 . .) (c000-d000:r:1000 . .))");
        big.breakForTest(0xa000, "max", 0x1000); // the left child's range is the largest
        assertThat(big.check()).isEqualTo("subtree_max_size of 0xa000 is 0x1000, not 0x8000");
    }

    // mm/vmalloc.c: __merge_or_add_vmap_area() merges a range with a neighbour it touches, and
    // find_va_links() refuses an overlap, so the free ranges are disjoint and never adjacent
    @Test
    void rangesOutOfOrderAdjacentOrEmptyAreReported() {
        FreeTree t = three();
        t.breakForTest(0x6000, "start", 0x5000); // same size: only the order is wrong
        t.breakForTest(0x5000, "end", 0x8000);
        assertThat(t.check()).isEqualTo("ranges out of order or adjacent at 0x5000");
        t = three();
        t.breakForTest(0x6000, "start", 0x4000);
        t.breakForTest(0x4000, "end", 0x7000);
        assertThat(t.check()).isEqualTo("ranges out of order or adjacent at 0x4000");
        t = three();
        t.breakForTest(0x1000, "end", 0x1000); // empty: va_size() 0
        t.breakForTest(0x1000, "max", 0);
        assertThat(t.check()).isEqualTo("ranges out of order or adjacent at 0x1000");
        t = three();
        t.breakForTest(0x6000, "start", 0x5001); // one byte apart is fine
        t.breakForTest(0x5001, "end", 0x8001);
        assertThat(t.check()).isNull();
    }

    // equals() compares what the kernel's tree is: shape, colours, ranges, subtree_max_size
    @Test
    void equalTreesHaveTheSameShapeColoursRangesAndSizes() {
        FreeTree a = fourUp();
        FreeTree b = FreeTree.boot(-1L);
        assertThat(b.clip(1, -1L)).isTrue();
        b.free(0x20000, 0x30000); // a node whose slot is freed again, so the slots differ
        assertThat(b.clip(0x20000, 0x30000)).isTrue();
        for (long[] r : a.ranges()) {
            b.free(r[0], r[1]);
        }
        assertThat(b).isEqualTo(a).hasSameHashCodeAs(a);
        assertThat(fourDown().ranges()).usingRecursiveComparison().isEqualTo(a.ranges());
        assertThat(fourDown()).as("same ranges, another shape").isNotEqualTo(a);
        for (String field : new String[] {"red", "max", "end"}) {
            FreeTree c = a.copy();
            c.breakForTest(0xa000, field, field.equals("red") ? 0 : 0x5000);
            assertThat(c).as(field).isNotEqualTo(a);
            assertThat(a).as("the original, after a change to its copy").isEqualTo(b);
        }
        FreeTree c = a.copy();
        c.breakForTest(0xa000, "start", 0xb000);
        assertThat(c).isNotEqualTo(a);
        c = a.copy();
        c.breakForTest(0xa000, "count", 5);
        assertThat(c).isNotEqualTo(a);
        assertThat(a).isNotEqualTo(a.ranges());
        assertThat(of()).isEqualTo(of()).isNotEqualTo(a);
    }

    @Test
    void aChildOnTheOtherSideIsAnotherTree() {
        FreeTree left = of(0x10000, 0x20000, 0x1000, 0x2000);
        FreeTree right = of(0x10000, 0x20000, 0x30000, 0x31000);
        assertThat(left.dump()).isEqualTo("(10000-20000:b:10000 (1000-2000:r:1000 . .) .)");
        assertThat(right.dump()).isEqualTo("(10000-20000:b:10000 . (30000-31000:r:1000 . .))");
        assertThat(left).isNotEqualTo(right);
        assertThat(right).isNotEqualTo(left);
    }

    // lib/rbtree.c: __rb_erase_augmented(), case 3 (the successor is leftmost under the right child):
    // augment->copy(node, successor) before augment->propagate(), so that the propagation from the
    // successor does not stop early while the ancestors still count the erased node's size
    @Test
    void erasingTheLargestRangeWithADeepSuccessorLowersTheAncestorsMax() {
        FreeTree t = of(0x100000, 0x102000, 0x11c000, 0x15c000, 0x106000, 0x108000, 0x10c000, 0x113000, 0x15e000, 0x17e000,
                0x182000, 0x18a000, 0x18c000, 0x18f000, 0x117000, 0x11b000);
        assertThat(t.dump()).isEqualTo("(106000-108000:b:40000 (100000-102000:b:2000 . .) (11c000-15c000:r:40000"
                + " (10c000-113000:b:7000 . (117000-11b000:r:4000 . .)) (182000-18a000:b:20000 (15e000-17e000:r:20000 . .)"
                + " (18c000-18f000:r:3000 . .))))");
        assertThat(t.clip(0x11c000, 0x15c000)).isTrue(); // va_clip() FL_FIT_TYPE: unlink_va_augment()
        assertThat(t.check()).isNull();
        assertThat(t.dump()).startsWith("(106000-108000:b:20000 ");
    }
}
