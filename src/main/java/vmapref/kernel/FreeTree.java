// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * mm/vmalloc.c (v5.2+, identical in 6.1 and 6.12): free_vmap_area_root, the augmented red-black
 * tree of free vmap_areas, with the kernel's exact shape. The tree is a line-by-line port of
 * lib/rbtree.c ({@code __rb_insert}, {@code __rb_erase_augmented}, {@code ____rb_erase_color})
 * with the {@code free_vmap_area_rb_augment_cb} callbacks of {@code RB_DECLARE_CALLBACKS_MAX}
 * (subtree_max_size, including the early stop of {@code _propagate}), and of the free-tree
 * functions of mm/vmalloc.c: find_va_links(), get_va_next_sibling(), __link_va(), __unlink_va(),
 * augment_tree_propagate_from(), insert_vmap_area_augment(), __merge_or_add_vmap_area(),
 * is_within_this_va(), find_vmap_lowest_match(), classify_va_fit_type(), va_clip(), va_alloc()
 * and __alloc_vmap_area(). So find_vmap_lowest_match() accepts exactly the free ranges the kernel
 * accepts, including a smaller, luckily aligned range on its descent path.
 *
 * <p>Addresses and sizes are in bytes, unsigned 64-bit values in a {@code long} (the kernel's
 * unsigned long); the free range [1, ULONG_MAX) of vmap_init_free_space() does not fit a signed
 * long. The model converts its page numbers at the boundary.
 *
 * <p>Representation: nodes in numbered slots (slot 0 is NULL), with parent pointers as in struct
 * rb_node, so the ported code reads as the kernel's. The slots live in a persistent trie (32 wide):
 * {@link #copy()} is O(1), and a change copies only the node it touches and the trie arrays above
 * it, once per copy. A call that touches O(log n) nodes (lib/rbtree.c's insert and erase with their
 * rotations, augment_tree_propagate_from()) thus costs O(log n) time and space, and the state it
 * started from keeps its tree ({@link Transaction#freeTree()}); a tree held by a {@link KernelState}
 * is never changed. {@link #equals} compares shape, colours, ranges and subtree_max_size, not slot
 * numbers.
 */
public final class FreeTree {
    private static final int NIL = 0;

    /** One struct vmap_area of the tree: va_start, va_end, subtree_max_size and its rb_node. */
    private static final class Node {
        long vaStart;
        long vaEnd;
        long subtreeMax;
        int left;
        int right;
        int parent;
        boolean red;
        /** The tree that may change this node in place; any other copies it first. */
        final Object owner;

        Node(Object owner) {
            this.owner = owner;
        }

        Node copy(Object newOwner) {
            Node n = new Node(newOwner);
            n.vaStart = vaStart;
            n.vaEnd = vaEnd;
            n.subtreeMax = subtreeMax;
            n.left = left;
            n.right = right;
            n.parent = parent;
            n.red = red;
            return n;
        }
    }

    /** Slot store: a trie of WIDTH-wide arrays, one more element each for its owner. */
    private static final int BITS = 5;
    private static final int WIDTH = 1 << BITS;
    private static final int MASK = WIDTH - 1;

    private Object[] slots;
    /** Shift of the trie's top level; 0 when the top array holds the nodes. */
    private int shift;
    /** Trie arrays and nodes tagged with this are this tree's own; the rest are shared and copied on write. */
    private Object owner = new Object();
    private int root;
    /** Slots 1..used-1 have been handed out; freed ones are chained through {@code parent}. */
    private int used = 1;
    private int freeSlots = NIL;
    private int count;

    private FreeTree() {
        slots = newArray();
        slots[NIL] = new Node(owner); // NULL's slot, so that every slot reads as the arrays did
    }

    /** vmap_init_free_space() with an empty vmlist: one free range [1, ULONG_MAX). */
    public static FreeTree boot(long ulongMax) {
        FreeTree t = new FreeTree();
        int n = t.newNode(1, ulongMax);
        t.insertVmapAreaAugment(n, NIL);
        return t;
    }

    /**
     * A copy that no later change to either tree affects. O(1): both trees share every node and
     * copy one only on their first change to it, with the trie path above it (O(log n)).
     */
    public FreeTree copy() {
        FreeTree t = new FreeTree(slots, shift, root, used, freeSlots, count);
        owner = new Object(); // this tree's later changes copy too
        return t;
    }

    private FreeTree(Object[] slots, int shift, int root, int used, int freeSlots, int count) {
        this.slots = slots;
        this.shift = shift;
        this.root = root;
        this.used = used;
        this.freeSlots = freeSlots;
        this.count = count;
    }

    /** Number of free vmap_areas. */
    public int size() {
        return count;
    }

    // ------------------------------------------------------------------ the model's operations

    /**
     * __alloc_vmap_area(root, head, size, align, vstart, vend): returns the start, or {@code vend}
     * when find_vmap_lowest_match() finds nothing or va_alloc() fails the "vend" check.
     *
     * @param alwaysAdjust the pre-2021 search length size + align - 1 for every alignment (the
     *                     align-search-not-lowest mutant)
     */
    public long alloc(long size, long align, long vstart, long vend, long pageSize, boolean alwaysAdjust) {
        boolean adjust = true;
        if (Long.compareUnsigned(align, pageSize) <= 0 || vend - vstart == size) {
            adjust = false;
        }
        if (alwaysAdjust) {
            adjust = true;
        }
        int va = findVmapLowestMatch(size, align, vstart, adjust);
        if (va == NIL) {
            return vend;
        }
        return vaAlloc(va, size, align, vstart, vend);
    }

    /** merge_or_add_vmap_area_augment() of [start, end): a freed range goes back to the tree. */
    public void free(long start, long end) {
        int n = newNode(start, end);
        int va = mergeOrAddVmapArea(n);
        if (va == NIL) {
            throw new IllegalStateException("vmalloc bug: 0x" + Long.toHexString(start) + "-0x"
                    + Long.toHexString(end) + " overlaps a free range");
        }
        augmentTreePropagateFrom(va);
    }

    /**
     * va_clip() of [start, end) out of the free range holding it (a busy range someone else took).
     * Returns false when no single free range holds it.
     */
    public boolean clip(long start, long end) {
        int n = root;
        while (n != NIL) {
            if (Long.compareUnsigned(start, vaStart(n)) < 0) {
                n = left(n);
            } else if (Long.compareUnsigned(start, vaEnd(n)) >= 0) {
                n = right(n);
            } else {
                break;
            }
        }
        if (n == NIL || Long.compareUnsigned(end, vaEnd(n)) > 0) {
            return false;
        }
        vaClip(n, start, end - start);
        return true;
    }

    /** The free ranges in address order, as {start, end} pairs. */
    public List<long[]> ranges() {
        List<long[]> out = new ArrayList<>();
        for (int n = first(); n != NIL; n = rbNext(n)) {
            out.add(new long[] {vaStart(n), vaEnd(n)});
        }
        return out;
    }

    /** The harness's dump: preorder "(start-end:colour:subtree_max_size left right)", "." for NULL. */
    public String dump() {
        StringBuilder sb = new StringBuilder();
        dump(root, sb);
        return sb.toString();
    }

    private void dump(int n, StringBuilder sb) {
        if (n == NIL) {
            sb.append('.');
            return;
        }
        sb.append('(').append(Long.toHexString(vaStart(n))).append('-').append(Long.toHexString(vaEnd(n)))
                .append(':').append(red(n) ? 'r' : 'b').append(':').append(Long.toHexString(subtreeMax(n))).append(' ');
        dump(left(n), sb);
        sb.append(' ');
        dump(right(n), sb);
        sb.append(')');
    }

    /**
     * Checks the red-black and augmentation invariants and the order; returns null when they hold,
     * else what is wrong.
     */
    public String check() {
        if (root != NIL && (red(root) || parent(root) != NIL)) {
            return "bad root";
        }
        String[] err = {null};
        int[] nodes = {0};
        check(root, err, nodes);
        if (err[0] == null && nodes[0] != count) {
            err[0] = "count " + count + " but " + nodes[0] + " nodes";
        }
        int freed = 0;
        for (int n = freeSlots; n != NIL && freed < used; n = parent(n)) {
            freed++;
        }
        if (err[0] == null && count + freed != used - 1) { // every va is in the tree or kmem_cache_free()d
            err[0] = (used - 1) + " vmap_areas allocated, " + count + " in the tree, " + freed + " freed";
        }
        long prevEnd = 0;
        for (int n = first(); n != NIL && err[0] == null; n = rbNext(n)) {
            if (Long.compareUnsigned(vaStart(n), vaEnd(n)) >= 0 || Long.compareUnsigned(vaStart(n), prevEnd) <= 0 && prevEnd != 0) {
                err[0] = "ranges out of order or adjacent at 0x" + Long.toHexString(vaStart(n));
            }
            prevEnd = vaEnd(n);
        }
        return err[0];
    }

    /**
     * For the tests of {@link #check()} only: breaks one field of the node whose range starts at
     * {@code vaStart} ("start", "end", "max" for subtree_max_size, "red" 0 or 1, "parent" the node
     * whose range starts at {@code value} or 0 for NULL), or with "count" the number of nodes, or with
     * "leak" a vmap_area allocated at {@code value} that is neither linked nor freed.
     */
    void breakForTest(long vaStart, String field, long value) {
        Node n = wr(slotAt(vaStart));
        switch (field) {
            case "start" -> n.vaStart = value;
            case "end" -> n.vaEnd = value;
            case "max" -> n.subtreeMax = value;
            case "red" -> n.red = value != 0;
            case "parent" -> n.parent = value == 0 ? NIL : slotAt(value);
            case "count" -> count = (int) value;
            case "leak" -> newNode(value, value + 1); // allocated, never linked nor freed
            default -> throw new IllegalArgumentException(field);
        }
    }

    private int slotAt(long vaStart) {
        int n = first();
        while (vaStart(n) != vaStart) {
            n = rbNext(n);
        }
        return n;
    }

    private int check(int n, String[] err, int[] nodes) {
        if (n == NIL) {
            return 1;
        }
        nodes[0]++;
        for (int c : new int[] {left(n), right(n)}) {
            if (c != NIL && parent(c) != n) {
                err[0] = "bad parent pointer";
            }
            if (c != NIL && red(n) && red(c)) {
                err[0] = "red node with a red child";
            }
        }
        long max = vaSize(n);
        if (left(n) != NIL && Long.compareUnsigned(subtreeMax(left(n)), max) > 0) {
            max = subtreeMax(left(n));
        }
        if (right(n) != NIL && Long.compareUnsigned(subtreeMax(right(n)), max) > 0) {
            max = subtreeMax(right(n));
        }
        if (max != subtreeMax(n)) {
            err[0] = "subtree_max_size of 0x" + Long.toHexString(vaStart(n)) + " is 0x"
                    + Long.toHexString(subtreeMax(n)) + ", not 0x" + Long.toHexString(max);
        }
        int lh = check(left(n), err, nodes);
        int rh = check(right(n), err, nodes);
        if (lh != rh) {
            err[0] = "black heights differ";
        }
        return lh + (red(n) ? 0 : 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FreeTree t && count == t.count && same(root, t, t.root);
    }

    private boolean same(int n, FreeTree t, int m) {
        if (n == NIL || m == NIL) {
            return n == m;
        }
        return vaStart(n) == t.vaStart(m) && vaEnd(n) == t.vaEnd(m) && subtreeMax(n) == t.subtreeMax(m)
                && red(n) == t.red(m) && same(left(n), t, t.left(m)) && same(right(n), t, t.right(m));
    }

    @Override
    public int hashCode() {
        int h = count;
        for (int n = first(); n != NIL; n = rbNext(n)) {
            h = h * 31 + Long.hashCode(vaStart(n));
            h = h * 31 + Long.hashCode(vaEnd(n));
        }
        return h;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("FreeTree[");
        for (long[] r : ranges()) {
            sb.append(' ').append(Long.toHexString(r[0])).append('-').append(Long.toHexString(r[1]));
        }
        return sb.append(" ]").toString();
    }

    // ------------------------------------------------------------------ node slots

    private Object[] newArray() {
        Object[] a = new Object[WIDTH + 1];
        a[WIDTH] = owner;
        return a;
    }

    /** The node in slot {@code i}, for reading. */
    private Node rd(int i) {
        Object[] a = slots;
        for (int s = shift; s > 0; s -= BITS) {
            a = (Object[]) a[(i >>> s) & MASK];
        }
        return (Node) a[i & MASK];
    }

    /** The node in slot {@code i}, this tree's own: shared nodes and trie arrays on its path are copied. */
    private Node wr(int i) {
        Object[] a = own(slots);
        slots = a;
        for (int s = shift; s > 0; s -= BITS) {
            int k = (i >>> s) & MASK;
            Object[] c = (Object[]) a[k];
            Object[] oc = c == null ? newArray() : own(c);
            if (oc != c) {
                a[k] = oc;
            }
            a = oc;
        }
        int k = i & MASK;
        Node n = (Node) a[k];
        if (n == null) {
            n = new Node(owner);
            a[k] = n;
        } else if (n.owner != owner) {
            n = n.copy(owner);
            a[k] = n;
        }
        return n;
    }

    private Object[] own(Object[] a) {
        if (a[WIDTH] == owner) {
            return a;
        }
        Object[] c = a.clone();
        c[WIDTH] = owner;
        return c;
    }

    private long vaStart(int i) {
        return rd(i).vaStart;
    }

    private long vaEnd(int i) {
        return rd(i).vaEnd;
    }

    private long subtreeMax(int i) {
        return rd(i).subtreeMax;
    }

    private int left(int i) {
        return rd(i).left;
    }

    private int right(int i) {
        return rd(i).right;
    }

    private int parent(int i) {
        return rd(i).parent;
    }

    private boolean red(int i) {
        return rd(i).red;
    }

    private void setVaStart(int i, long v) {
        if (rd(i).vaStart != v) {
            wr(i).vaStart = v;
        }
    }

    private void setVaEnd(int i, long v) {
        if (rd(i).vaEnd != v) {
            wr(i).vaEnd = v;
        }
    }

    private void setSubtreeMax(int i, long v) {
        if (rd(i).subtreeMax != v) {
            wr(i).subtreeMax = v;
        }
    }

    private void setLeft(int i, int v) {
        if (rd(i).left != v) {
            wr(i).left = v;
        }
    }

    private void setRight(int i, int v) {
        if (rd(i).right != v) {
            wr(i).right = v;
        }
    }

    private void setParent(int i, int v) {
        if (rd(i).parent != v) {
            wr(i).parent = v;
        }
    }

    private void setRed(int i, boolean v) {
        if (rd(i).red != v) {
            wr(i).red = v;
        }
    }

    private int newNode(long start, long end) {
        int n;
        if (freeSlots != NIL) {
            n = freeSlots;
            freeSlots = parent(n);
        } else {
            if (used == 1 << (shift + BITS)) { // the trie is full: one level more
                Object[] top = newArray();
                top[0] = slots;
                slots = top;
                shift += BITS;
            }
            n = used++;
            wr(n); // the slot's node
        }
        setVaStart(n, start);
        setVaEnd(n, end);
        // kmem_cache_alloc(): a reused slot keeps its old links, colour and subtree_max_size, as the
        // kernel's object does; __link_va() (rb_link_node(), then subtree_max_size = 0) sets them all
        return n;
    }

    /** kmem_cache_free(): the slot goes on the free chain (through {@code parent}), its other fields stale. */
    private void freeNode(int n) {
        setParent(n, freeSlots);
        freeSlots = n;
    }

    // ------------------------------------------------------------------ mm/vmalloc.c

    private long vaSize(int va) {
        return vaEnd(va) - vaStart(va);
    }

    private long getSubtreeMaxSize(int node) {
        return node == NIL ? 0 : subtreeMax(node);
    }

    /** free_vmap_area_rb_augment_cb_compute_max(node, exit). */
    private boolean computeMax(int node, boolean exit) {
        long max = vaSize(node);
        if (left(node) != NIL && Long.compareUnsigned(subtreeMax(left(node)), max) > 0) {
            max = subtreeMax(left(node));
        }
        if (right(node) != NIL && Long.compareUnsigned(subtreeMax(right(node)), max) > 0) {
            max = subtreeMax(right(node));
        }
        if (exit && subtreeMax(node) == max) {
            return true;
        }
        setSubtreeMax(node, max);
        return false;
    }

    /** free_vmap_area_rb_augment_cb_propagate(rb, stop). */
    private void augmentPropagate(int rb, int stop) {
        while (rb != stop) {
            if (computeMax(rb, true)) {
                break;
            }
            rb = parent(rb);
        }
    }

    /** free_vmap_area_rb_augment_cb_copy(old, new). */
    private void augmentCopy(int oldN, int newN) {
        setSubtreeMax(newN, subtreeMax(oldN));
    }

    /** free_vmap_area_rb_augment_cb_rotate(old, new). */
    private void augmentRotate(int oldN, int newN) {
        setSubtreeMax(newN, subtreeMax(oldN));
        computeMax(oldN, false);
    }

    /** augment_tree_propagate_from(va). */
    private void augmentTreePropagateFrom(int va) {
        augmentPropagate(va, NIL);
    }

    /** Result of find_va_links(): the parent and which of its links (or the root when parent is NULL). */
    private int linksParent;
    private boolean linksRight;

    /**
     * find_va_links(va, root or NULL, from, &parent): returns false on an overlap (the kernel's
     * WARN and NULL); else sets {@link #linksParent} and {@link #linksRight}.
     */
    private boolean findVaLinks(int va, int from) {
        int link;
        if (from == NIL) {
            link = root;
            if (link == NIL) {
                linksParent = NIL;
                linksRight = false;
                return true;
            }
        } else {
            link = from;
        }
        int tmp;
        boolean goRight;
        do {
            tmp = link;
            if (Long.compareUnsigned(vaEnd(va), vaStart(tmp)) <= 0) {
                goRight = false;
                link = left(tmp);
            } else if (Long.compareUnsigned(vaStart(va), vaEnd(tmp)) >= 0) {
                goRight = true;
                link = right(tmp);
            } else {
                return false;
            }
        } while (link != NIL);
        linksParent = tmp;
        linksRight = goRight;
        return true;
    }

    /** __link_va(va, root, parent, link, head, augment = true): rb_link_node + rb_insert_augmented. */
    private void linkVaAugment(int va, int par, boolean isRight) {
        setParent(va, par);
        setRed(va, true);
        setLeft(va, NIL);
        setRight(va, NIL);
        if (par == NIL) {
            root = va;
        } else if (isRight) {
            setRight(par, va);
        } else {
            setLeft(par, va);
        }
        count++;
        rbInsert(va);
        setSubtreeMax(va, 0);
    }

    /** __unlink_va(va, root, augment = true): rb_erase_augmented, then the object is freed by the caller. */
    private void unlinkVaAugment(int va) {
        int rebalance = rbEraseAugmented(va);
        if (rebalance != NIL) {
            rbEraseColor(rebalance);
        }
        count--;
    }

    /** insert_vmap_area_augment(va, from, root, head). */
    private void insertVmapAreaAugment(int va, int from) {
        if (findVaLinks(va, from)) {
            linkVaAugment(va, linksParent, linksRight);
            augmentTreePropagateFrom(va);
        } else {
            throw new IllegalStateException("vmalloc bug: 0x" + Long.toHexString(vaStart(va)) + " overlaps");
        }
    }

    /** __merge_or_add_vmap_area(va, root, head, augment = true): returns the resulting node, or NIL on an overlap. */
    private int mergeOrAddVmapArea(int va) {
        if (!findVaLinks(va, NIL)) {
            freeNode(va);
            return NIL;
        }
        int par = linksParent;
        boolean isRight = linksRight;
        boolean merged = false;
        if (par != NIL) { // get_va_next_sibling(): NULL when the tree is empty
            // next: the list entry after the link position (NIL stands for the list head)
            int next = isRight ? rbNext(par) : par;
            int prev = isRight ? par : rbPrevOfLeaf(par);
            if (next != NIL) {
                int sibling = next;
                if (vaStart(sibling) == vaEnd(va)) {
                    setVaStart(sibling, vaStart(va));
                    freeNode(va);
                    va = sibling;
                    merged = true;
                }
            }
            if (prev != NIL) {
                int sibling = prev;
                if (vaEnd(sibling) == vaStart(va)) {
                    if (merged) {
                        unlinkVaAugment(va);
                    }
                    setVaEnd(sibling, vaEnd(va));
                    freeNode(va);
                    va = sibling;
                    merged = true;
                }
            }
        }
        if (!merged) {
            linkVaAugment(va, par, isRight);
        }
        return va;
    }

    /** is_within_this_va(va, size, align, vstart). */
    private boolean isWithinThisVa(int va, long size, long align, long vstart) {
        long nva = Long.compareUnsigned(vaStart(va), vstart) > 0 ? alignUp(vaStart(va), align) : alignUp(vstart, align);
        if (Long.compareUnsigned(nva + size, nva) < 0 || Long.compareUnsigned(nva, vstart) < 0) {
            return false;
        }
        return Long.compareUnsigned(nva + size, vaEnd(va)) <= 0;
    }

    private static long alignUp(long x, long a) {
        return (x + a - 1) & ~(a - 1);
    }

    /** find_vmap_lowest_match(root, size, align, vstart, adjust_search_size). */
    private int findVmapLowestMatch(long size, long align, long vstart, boolean adjustSearchSize) {
        int node = root;
        long length = adjustSearchSize ? size + align - 1 : size;
        while (node != NIL) {
            int va = node;
            if (Long.compareUnsigned(getSubtreeMaxSize(left(node)), length) >= 0
                    && Long.compareUnsigned(vstart, vaStart(va)) < 0) {
                node = left(node);
            } else {
                if (isWithinThisVa(va, size, align, vstart)) {
                    return va;
                }
                if (Long.compareUnsigned(getSubtreeMaxSize(right(node)), length) >= 0) {
                    node = right(node);
                    continue;
                }
                while ((node = parent(node)) != NIL) {
                    va = node;
                    if (isWithinThisVa(va, size, align, vstart)) {
                        return va;
                    }
                    if (Long.compareUnsigned(getSubtreeMaxSize(right(node)), length) >= 0
                            && Long.compareUnsigned(vstart, vaStart(va)) <= 0) {
                        vstart = vaStart(va) + 1;
                        node = right(node);
                        break;
                    }
                }
            }
        }
        return NIL;
    }

    private static final int FL_FIT_TYPE = 1;
    private static final int LE_FIT_TYPE = 2;
    private static final int RE_FIT_TYPE = 3;
    private static final int NE_FIT_TYPE = 4;

    /**
     * classify_va_fit_type(va, nva_start_addr, size). Its NOTHING_FIT (the range not inside the va) is
     * left out: both callers pass a range inside the va (va_alloc() one that is_within_this_va()
     * accepted, {@link #clip} one it looked up), so va_clip() never returns -1 here.
     */
    private int classifyVaFitType(int va, long nva, long size) {
        if (vaStart(va) == nva) {
            return vaEnd(va) == nva + size ? FL_FIT_TYPE : LE_FIT_TYPE;
        }
        return vaEnd(va) == nva + size ? RE_FIT_TYPE : NE_FIT_TYPE;
    }

    /** va_clip(root, head, va, nva_start_addr, size), which cannot fail here (see classifyVaFitType()). */
    private void vaClip(int va, long nva, long size) {
        int lva = NIL;
        int type = classifyVaFitType(va, nva, size);
        if (type == FL_FIT_TYPE) {
            unlinkVaAugment(va);
            freeNode(va);
        } else if (type == LE_FIT_TYPE) {
            setVaStart(va, vaStart(va) + size);
        } else if (type == RE_FIT_TYPE) {
            setVaEnd(va, nva);
        } else { // NE_FIT_TYPE
            lva = newNode(vaStart(va), nva); // the preloaded ne_fit_preload_node
            setVaStart(va, nva + size);
        }
        if (type != FL_FIT_TYPE) {
            augmentTreePropagateFrom(va);
            if (lva != NIL) {
                insertVmapAreaAugment(lva, va);
            }
        }
    }

    /** va_alloc(va, root, head, size, align, vstart, vend). */
    private long vaAlloc(int va, long size, long align, long vstart, long vend) {
        long nva = Long.compareUnsigned(vaStart(va), vstart) > 0 ? alignUp(vaStart(va), align) : alignUp(vstart, align);
        if (Long.compareUnsigned(nva + size, vend) > 0) {
            return vend;
        }
        vaClip(va, nva, size); // its -1 (NOTHING_FIT) cannot happen: is_within_this_va() accepted the va
        return nva;
    }

    // ------------------------------------------------------------------ lib/rbtree.c

    private int first() {
        int n = root;
        if (n == NIL) {
            return NIL;
        }
        while (left(n) != NIL) {
            n = left(n);
        }
        return n;
    }

    /** rb_next(). */
    private int rbNext(int node) {
        if (right(node) != NIL) {
            node = right(node);
            while (left(node) != NIL) {
                node = left(node);
            }
            return node;
        }
        int p;
        while ((p = parent(node)) != NIL && node == right(p)) {
            node = p;
        }
        return p;
    }

    /**
     * rb_prev() of a node whose left link is free (get_va_next_sibling()'s link): rb_prev()'s
     * descent into the left subtree is left out, as there is none.
     */
    private int rbPrevOfLeaf(int node) {
        int p;
        while ((p = parent(node)) != NIL && node == left(p)) {
            node = p;
        }
        return p;
    }

    private void setParentColor(int node, int p, boolean isRed) {
        setParent(node, p);
        setRed(node, isRed);
    }

    /** __rb_change_child(old, new, parent, root). */
    private void changeChild(int oldN, int newN, int p) {
        if (p != NIL) {
            if (left(p) == oldN) {
                setLeft(p, newN);
            } else {
                setRight(p, newN);
            }
        } else {
            root = newN;
        }
    }

    /** __rb_rotate_set_parents(old, new, root, color). */
    private void rotateSetParents(int oldN, int newN, boolean isRed) {
        int p = parent(oldN);
        setParent(newN, parent(oldN));
        setRed(newN, red(oldN));
        setParentColor(oldN, newN, isRed);
        changeChild(oldN, newN, p);
    }

    /** __rb_insert(node, root, augment_rotate). */
    private void rbInsert(int node) {
        int par = parent(node); // rb_red_parent()
        int gparent;
        int tmp;
        while (true) {
            if (par == NIL) {
                setParentColor(node, NIL, false);
                break;
            }
            if (!red(par)) {
                break;
            }
            gparent = parent(par);
            tmp = right(gparent);
            if (par != tmp) { // parent == gparent->rb_left
                if (tmp != NIL && red(tmp)) {
                    setParentColor(tmp, gparent, false);
                    setParentColor(par, gparent, false);
                    node = gparent;
                    par = parent(node);
                    setParentColor(node, par, true);
                    continue;
                }
                tmp = right(par);
                if (node == tmp) {
                    tmp = left(node);
                    setRight(par, tmp);
                    setLeft(node, par);
                    if (tmp != NIL) {
                        setParentColor(tmp, par, false);
                    }
                    setParentColor(par, node, true);
                    augmentRotate(par, node);
                    par = node;
                    tmp = right(node);
                }
                setLeft(gparent, tmp);
                setRight(par, gparent);
                if (tmp != NIL) {
                    setParentColor(tmp, gparent, false);
                }
                rotateSetParents(gparent, par, true);
                augmentRotate(gparent, par);
                break;
            } else {
                tmp = left(gparent);
                if (tmp != NIL && red(tmp)) {
                    setParentColor(tmp, gparent, false);
                    setParentColor(par, gparent, false);
                    node = gparent;
                    par = parent(node);
                    setParentColor(node, par, true);
                    continue;
                }
                tmp = left(par);
                if (node == tmp) {
                    tmp = right(node);
                    setLeft(par, tmp);
                    setRight(node, par);
                    if (tmp != NIL) {
                        setParentColor(tmp, par, false);
                    }
                    setParentColor(par, node, true);
                    augmentRotate(par, node);
                    par = node;
                    tmp = left(node);
                }
                setRight(gparent, tmp);
                setLeft(par, gparent);
                if (tmp != NIL) {
                    setParentColor(tmp, gparent, false);
                }
                rotateSetParents(gparent, par, true);
                augmentRotate(gparent, par);
                break;
            }
        }
    }

    /** __rb_erase_augmented(node, root, augment): returns the node to rebalance from, or NIL. */
    private int rbEraseAugmented(int node) {
        int child = right(node);
        int tmp = left(node);
        int par;
        int rebalance;
        if (tmp == NIL) {
            // Case 1: no more than one child
            int pcParent = parent(node);
            boolean pcRed = red(node);
            par = pcParent;
            changeChild(node, child, par);
            if (child != NIL) {
                setParent(child, pcParent);
                setRed(child, pcRed);
                rebalance = NIL;
            } else {
                rebalance = !pcRed ? par : NIL;
            }
            tmp = par;
        } else if (child == NIL) {
            // Still case 1, but the child is node->rb_left
            int pcParent = parent(node);
            boolean pcRed = red(node);
            setParent(tmp, pcParent);
            setRed(tmp, pcRed);
            par = pcParent;
            changeChild(node, tmp, par);
            rebalance = NIL;
            tmp = par;
        } else {
            int successor = child;
            int child2;
            tmp = left(child);
            if (tmp == NIL) {
                // Case 2: node's successor is its right child
                par = successor;
                child2 = right(successor);
                augmentCopy(node, successor);
            } else {
                // Case 3: node's successor is leftmost under node's right child subtree
                do {
                    par = successor;
                    successor = tmp;
                    tmp = left(tmp);
                } while (tmp != NIL);
                child2 = right(successor);
                setLeft(par, child2);
                setRight(successor, child);
                setParent(child, successor); // rb_set_parent keeps the colour
                augmentCopy(node, successor);
                augmentPropagate(par, successor);
            }
            tmp = left(node);
            setLeft(successor, tmp);
            setParent(tmp, successor);

            int pcParent = parent(node);
            boolean pcRed = red(node);
            tmp = pcParent;
            changeChild(node, successor, tmp);

            if (child2 != NIL) {
                setParent(successor, pcParent);
                setRed(successor, pcRed);
                setParentColor(child2, par, false);
                rebalance = NIL;
            } else {
                boolean pc2Red = red(successor);
                setParent(successor, pcParent);
                setRed(successor, pcRed);
                rebalance = !pc2Red ? par : NIL;
            }
            tmp = successor;
        }
        augmentPropagate(tmp, NIL);
        return rebalance;
    }

    /** ____rb_erase_color(parent, root, augment_rotate). */
    private void rbEraseColor(int par) {
        int node = NIL;
        int sibling;
        int tmp1;
        int tmp2;
        while (true) {
            sibling = right(par);
            if (node != sibling) { // node == parent->rb_left
                if (red(sibling)) {
                    tmp1 = left(sibling);
                    setRight(par, tmp1);
                    setLeft(sibling, par);
                    // rb_set_parent_color(tmp1, parent, RB_BLACK) left out: tmp1 is black and becomes the
                    // sibling, whose parent the cases below always set again
                    rotateSetParents(par, sibling, true);
                    augmentRotate(par, sibling);
                    sibling = tmp1;
                }
                tmp1 = right(sibling);
                if (tmp1 == NIL || !red(tmp1)) {
                    tmp2 = left(sibling);
                    if (tmp2 == NIL || !red(tmp2)) {
                        setParentColor(sibling, par, true);
                        if (red(par)) {
                            setRed(par, false); // rb_set_black()
                        } else {
                            node = par;
                            par = parent(node);
                            if (par != NIL) {
                                continue;
                            }
                        }
                        break;
                    }
                    tmp1 = right(tmp2);
                    setLeft(sibling, tmp1);
                    setRight(tmp2, sibling);
                    // WRITE_ONCE(parent->rb_right, tmp2) left out: case 4 sets parent->rb_right next (for
                    // lockless lookups in the kernel; no reader here)
                    if (tmp1 != NIL) {
                        setParentColor(tmp1, sibling, false);
                    }
                    augmentRotate(sibling, tmp2);
                    tmp1 = sibling;
                    sibling = tmp2;
                }
                tmp2 = left(sibling);
                setRight(par, tmp2);
                setLeft(sibling, par);
                setParentColor(tmp1, sibling, false);
                if (tmp2 != NIL) {
                    setParent(tmp2, par); // rb_set_parent keeps the colour
                }
                rotateSetParents(par, sibling, false);
                augmentRotate(par, sibling);
                break;
            } else {
                sibling = left(par);
                if (red(sibling)) {
                    tmp1 = right(sibling);
                    setLeft(par, tmp1);
                    setRight(sibling, par);
                    // rb_set_parent_color(tmp1, parent, RB_BLACK): as in the mirror case
                    rotateSetParents(par, sibling, true);
                    augmentRotate(par, sibling);
                    sibling = tmp1;
                }
                tmp1 = left(sibling);
                if (tmp1 == NIL || !red(tmp1)) {
                    tmp2 = right(sibling);
                    if (tmp2 == NIL || !red(tmp2)) {
                        setParentColor(sibling, par, true);
                        if (red(par)) {
                            setRed(par, false);
                        } else {
                            node = par;
                            par = parent(node);
                            if (par != NIL) {
                                continue;
                            }
                        }
                        break;
                    }
                    tmp1 = left(tmp2);
                    setRight(sibling, tmp1);
                    setLeft(tmp2, sibling);
                    // WRITE_ONCE(parent->rb_left, tmp2): as in the mirror case
                    if (tmp1 != NIL) {
                        setParentColor(tmp1, sibling, false);
                    }
                    augmentRotate(sibling, tmp2);
                    tmp1 = sibling;
                    sibling = tmp2;
                }
                tmp2 = right(sibling);
                setLeft(par, tmp2);
                setRight(sibling, par);
                setParentColor(tmp1, sibling, false);
                if (tmp2 != NIL) {
                    setParent(tmp2, par);
                }
                rotateSetParents(par, sibling, false);
                augmentRotate(par, sibling);
                break;
            }
        }
    }
}
