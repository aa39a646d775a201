// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.Arrays;
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
 * <p>Representation: a mutable tree in parallel arrays (node 0 is NULL), with parent pointers as in
 * struct rb_node. {@link Vmalloc#step} stays pure because a call copies the tree once, on its first
 * change ({@link Transaction#freeTree()}); a tree held by a {@link KernelState} is never changed.
 * {@link #equals} compares shape, colours, ranges and subtree_max_size, not slot numbers.
 */
public final class FreeTree {
    private static final int NIL = 0;

    private long[] vaStart;
    private long[] vaEnd;
    private long[] subtreeMax;
    private int[] left;
    private int[] right;
    private int[] parent;
    private boolean[] red;
    private int root;
    /** Slots 1..used-1 have been handed out; freed ones are chained through {@code parent}. */
    private int used = 1;
    private int freeSlots = NIL;
    private int count;

    private FreeTree(int capacity) {
        vaStart = new long[capacity];
        vaEnd = new long[capacity];
        subtreeMax = new long[capacity];
        left = new int[capacity];
        right = new int[capacity];
        parent = new int[capacity];
        red = new boolean[capacity];
    }

    /** vmap_init_free_space() with an empty vmlist: one free range [1, ULONG_MAX). */
    public static FreeTree boot(long ulongMax) {
        FreeTree t = new FreeTree(16);
        int n = t.newNode(1, ulongMax);
        t.insertVmapAreaAugment(n, NIL);
        return t;
    }

    /** A copy that shares nothing with this tree. */
    public FreeTree copy() {
        FreeTree t = new FreeTree(0);
        int cap = Math.max(used + 8, 16);
        t.vaStart = Arrays.copyOf(vaStart, cap);
        t.vaEnd = Arrays.copyOf(vaEnd, cap);
        t.subtreeMax = Arrays.copyOf(subtreeMax, cap);
        t.left = Arrays.copyOf(left, cap);
        t.right = Arrays.copyOf(right, cap);
        t.parent = Arrays.copyOf(parent, cap);
        t.red = Arrays.copyOf(red, cap);
        t.root = root;
        t.used = used;
        t.freeSlots = freeSlots;
        t.count = count;
        return t;
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
            if (Long.compareUnsigned(start, vaStart[n]) < 0) {
                n = left[n];
            } else if (Long.compareUnsigned(start, vaEnd[n]) >= 0) {
                n = right[n];
            } else {
                break;
            }
        }
        if (n == NIL || Long.compareUnsigned(end, vaEnd[n]) > 0) {
            return false;
        }
        return vaClip(n, start, end - start) == 0;
    }

    /** The free ranges in address order, as {start, end} pairs. */
    public List<long[]> ranges() {
        List<long[]> out = new ArrayList<>();
        for (int n = first(); n != NIL; n = rbNext(n)) {
            out.add(new long[] {vaStart[n], vaEnd[n]});
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
        sb.append('(').append(Long.toHexString(vaStart[n])).append('-').append(Long.toHexString(vaEnd[n]))
                .append(':').append(red[n] ? 'r' : 'b').append(':').append(Long.toHexString(subtreeMax[n])).append(' ');
        dump(left[n], sb);
        sb.append(' ');
        dump(right[n], sb);
        sb.append(')');
    }

    /**
     * Checks the red-black and augmentation invariants and the order; returns null when they hold,
     * else what is wrong.
     */
    public String check() {
        if (root != NIL && (red[root] || parent[root] != NIL)) {
            return "bad root";
        }
        String[] err = {null};
        int[] nodes = {0};
        check(root, err, nodes);
        if (err[0] == null && nodes[0] != count) {
            err[0] = "count " + count + " but " + nodes[0] + " nodes";
        }
        long prevEnd = 0;
        for (int n = first(); n != NIL && err[0] == null; n = rbNext(n)) {
            if (Long.compareUnsigned(vaStart[n], vaEnd[n]) >= 0 || Long.compareUnsigned(vaStart[n], prevEnd) <= 0 && prevEnd != 0) {
                err[0] = "ranges out of order or adjacent at 0x" + Long.toHexString(vaStart[n]);
            }
            prevEnd = vaEnd[n];
        }
        return err[0];
    }

    private int check(int n, String[] err, int[] nodes) {
        if (n == NIL) {
            return 1;
        }
        nodes[0]++;
        for (int c : new int[] {left[n], right[n]}) {
            if (c != NIL && parent[c] != n) {
                err[0] = "bad parent pointer";
            }
            if (c != NIL && red[n] && red[c]) {
                err[0] = "red node with a red child";
            }
        }
        long max = vaSize(n);
        if (left[n] != NIL && Long.compareUnsigned(subtreeMax[left[n]], max) > 0) {
            max = subtreeMax[left[n]];
        }
        if (right[n] != NIL && Long.compareUnsigned(subtreeMax[right[n]], max) > 0) {
            max = subtreeMax[right[n]];
        }
        if (max != subtreeMax[n]) {
            err[0] = "subtree_max_size of 0x" + Long.toHexString(vaStart[n]) + " is 0x"
                    + Long.toHexString(subtreeMax[n]) + ", not 0x" + Long.toHexString(max);
        }
        int lh = check(left[n], err, nodes);
        int rh = check(right[n], err, nodes);
        if (lh != rh) {
            err[0] = "black heights differ";
        }
        return lh + (red[n] ? 0 : 1);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof FreeTree t && count == t.count && same(root, t, t.root);
    }

    private boolean same(int n, FreeTree t, int m) {
        if (n == NIL || m == NIL) {
            return n == m;
        }
        return vaStart[n] == t.vaStart[m] && vaEnd[n] == t.vaEnd[m] && subtreeMax[n] == t.subtreeMax[m]
                && red[n] == t.red[m] && same(left[n], t, t.left[m]) && same(right[n], t, t.right[m]);
    }

    @Override
    public int hashCode() {
        int h = count;
        for (int n = first(); n != NIL; n = rbNext(n)) {
            h = h * 31 + Long.hashCode(vaStart[n]);
            h = h * 31 + Long.hashCode(vaEnd[n]);
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

    private int newNode(long start, long end) {
        int n;
        if (freeSlots != NIL) {
            n = freeSlots;
            freeSlots = parent[n];
        } else {
            if (used == vaStart.length) {
                int cap = Math.max(16, used * 2);
                vaStart = Arrays.copyOf(vaStart, cap);
                vaEnd = Arrays.copyOf(vaEnd, cap);
                subtreeMax = Arrays.copyOf(subtreeMax, cap);
                left = Arrays.copyOf(left, cap);
                right = Arrays.copyOf(right, cap);
                parent = Arrays.copyOf(parent, cap);
                red = Arrays.copyOf(red, cap);
            }
            n = used++;
        }
        vaStart[n] = start;
        vaEnd[n] = end;
        subtreeMax[n] = 0; // kmem_cache_zalloc(); a kmem_cache_alloc()ed VA's stale value never matters (checked in the C harness)
        left[n] = NIL;
        right[n] = NIL;
        parent[n] = NIL;
        red[n] = false;
        return n;
    }

    /** kmem_cache_free(). */
    private void freeNode(int n) {
        left[n] = NIL;
        right[n] = NIL;
        parent[n] = freeSlots;
        freeSlots = n;
    }

    // ------------------------------------------------------------------ mm/vmalloc.c

    private long vaSize(int va) {
        return vaEnd[va] - vaStart[va];
    }

    private long getSubtreeMaxSize(int node) {
        return node == NIL ? 0 : subtreeMax[node];
    }

    /** free_vmap_area_rb_augment_cb_compute_max(node, exit). */
    private boolean computeMax(int node, boolean exit) {
        long max = vaSize(node);
        if (left[node] != NIL && Long.compareUnsigned(subtreeMax[left[node]], max) > 0) {
            max = subtreeMax[left[node]];
        }
        if (right[node] != NIL && Long.compareUnsigned(subtreeMax[right[node]], max) > 0) {
            max = subtreeMax[right[node]];
        }
        if (exit && subtreeMax[node] == max) {
            return true;
        }
        subtreeMax[node] = max;
        return false;
    }

    /** free_vmap_area_rb_augment_cb_propagate(rb, stop). */
    private void augmentPropagate(int rb, int stop) {
        while (rb != stop) {
            if (computeMax(rb, true)) {
                break;
            }
            rb = parent[rb];
        }
    }

    /** free_vmap_area_rb_augment_cb_copy(old, new). */
    private void augmentCopy(int oldN, int newN) {
        subtreeMax[newN] = subtreeMax[oldN];
    }

    /** free_vmap_area_rb_augment_cb_rotate(old, new). */
    private void augmentRotate(int oldN, int newN) {
        subtreeMax[newN] = subtreeMax[oldN];
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
            if (Long.compareUnsigned(vaEnd[va], vaStart[tmp]) <= 0) {
                goRight = false;
                link = left[tmp];
            } else if (Long.compareUnsigned(vaStart[va], vaEnd[tmp]) >= 0) {
                goRight = true;
                link = right[tmp];
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
        parent[va] = par;
        red[va] = true;
        left[va] = NIL;
        right[va] = NIL;
        if (par == NIL) {
            root = va;
        } else if (isRight) {
            right[par] = va;
        } else {
            left[par] = va;
        }
        count++;
        rbInsert(va);
        subtreeMax[va] = 0;
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
            throw new IllegalStateException("vmalloc bug: 0x" + Long.toHexString(vaStart[va]) + " overlaps");
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
            int prev = isRight ? par : rbPrev(par);
            if (next != NIL) {
                int sibling = next;
                if (vaStart[sibling] == vaEnd[va]) {
                    vaStart[sibling] = vaStart[va];
                    freeNode(va);
                    va = sibling;
                    merged = true;
                }
            }
            if (prev != NIL) {
                int sibling = prev;
                if (vaEnd[sibling] == vaStart[va]) {
                    if (merged) {
                        unlinkVaAugment(va);
                    }
                    vaEnd[sibling] = vaEnd[va];
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
        long nva = Long.compareUnsigned(vaStart[va], vstart) > 0 ? alignUp(vaStart[va], align) : alignUp(vstart, align);
        if (Long.compareUnsigned(nva + size, nva) < 0 || Long.compareUnsigned(nva, vstart) < 0) {
            return false;
        }
        return Long.compareUnsigned(nva + size, vaEnd[va]) <= 0;
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
            if (Long.compareUnsigned(getSubtreeMaxSize(left[node]), length) >= 0
                    && Long.compareUnsigned(vstart, vaStart[va]) < 0) {
                node = left[node];
            } else {
                if (isWithinThisVa(va, size, align, vstart)) {
                    return va;
                }
                if (Long.compareUnsigned(getSubtreeMaxSize(right[node]), length) >= 0) {
                    node = right[node];
                    continue;
                }
                while ((node = parent[node]) != NIL) {
                    va = node;
                    if (isWithinThisVa(va, size, align, vstart)) {
                        return va;
                    }
                    if (Long.compareUnsigned(getSubtreeMaxSize(right[node]), length) >= 0
                            && Long.compareUnsigned(vstart, vaStart[va]) <= 0) {
                        vstart = vaStart[va] + 1;
                        node = right[node];
                        break;
                    }
                }
            }
        }
        return NIL;
    }

    private static final int NOTHING_FIT = 0;
    private static final int FL_FIT_TYPE = 1;
    private static final int LE_FIT_TYPE = 2;
    private static final int RE_FIT_TYPE = 3;
    private static final int NE_FIT_TYPE = 4;

    /** classify_va_fit_type(va, nva_start_addr, size). */
    private int classifyVaFitType(int va, long nva, long size) {
        if (Long.compareUnsigned(nva, vaStart[va]) < 0 || Long.compareUnsigned(nva + size, vaEnd[va]) > 0) {
            return NOTHING_FIT;
        }
        if (vaStart[va] == nva) {
            return vaEnd[va] == nva + size ? FL_FIT_TYPE : LE_FIT_TYPE;
        }
        return vaEnd[va] == nva + size ? RE_FIT_TYPE : NE_FIT_TYPE;
    }

    /** va_clip(root, head, va, nva_start_addr, size): 0, or -1 when nothing fits. */
    private int vaClip(int va, long nva, long size) {
        int lva = NIL;
        int type = classifyVaFitType(va, nva, size);
        if (type == FL_FIT_TYPE) {
            unlinkVaAugment(va);
            freeNode(va);
        } else if (type == LE_FIT_TYPE) {
            vaStart[va] += size;
        } else if (type == RE_FIT_TYPE) {
            vaEnd[va] = nva;
        } else if (type == NE_FIT_TYPE) {
            lva = newNode(vaStart[va], nva); // the preloaded ne_fit_preload_node
            vaStart[va] = nva + size;
        } else {
            return -1;
        }
        if (type != FL_FIT_TYPE) {
            augmentTreePropagateFrom(va);
            if (lva != NIL) {
                insertVmapAreaAugment(lva, va);
            }
        }
        return 0;
    }

    /** va_alloc(va, root, head, size, align, vstart, vend). */
    private long vaAlloc(int va, long size, long align, long vstart, long vend) {
        long nva = Long.compareUnsigned(vaStart[va], vstart) > 0 ? alignUp(vaStart[va], align) : alignUp(vstart, align);
        if (Long.compareUnsigned(nva + size, vend) > 0) {
            return vend;
        }
        if (vaClip(va, nva, size) != 0) {
            return vend;
        }
        return nva;
    }

    // ------------------------------------------------------------------ lib/rbtree.c

    private int first() {
        int n = root;
        if (n == NIL) {
            return NIL;
        }
        while (left[n] != NIL) {
            n = left[n];
        }
        return n;
    }

    /** rb_next(). */
    private int rbNext(int node) {
        if (right[node] != NIL) {
            node = right[node];
            while (left[node] != NIL) {
                node = left[node];
            }
            return node;
        }
        int p;
        while ((p = parent[node]) != NIL && node == right[p]) {
            node = p;
        }
        return p;
    }

    /** rb_prev(). */
    private int rbPrev(int node) {
        if (left[node] != NIL) {
            node = left[node];
            while (right[node] != NIL) {
                node = right[node];
            }
            return node;
        }
        int p;
        while ((p = parent[node]) != NIL && node == left[p]) {
            node = p;
        }
        return p;
    }

    private void setParentColor(int node, int p, boolean isRed) {
        parent[node] = p;
        red[node] = isRed;
    }

    /** __rb_change_child(old, new, parent, root). */
    private void changeChild(int oldN, int newN, int p) {
        if (p != NIL) {
            if (left[p] == oldN) {
                left[p] = newN;
            } else {
                right[p] = newN;
            }
        } else {
            root = newN;
        }
    }

    /** __rb_rotate_set_parents(old, new, root, color). */
    private void rotateSetParents(int oldN, int newN, boolean isRed) {
        int p = parent[oldN];
        parent[newN] = parent[oldN];
        red[newN] = red[oldN];
        setParentColor(oldN, newN, isRed);
        changeChild(oldN, newN, p);
    }

    /** __rb_insert(node, root, augment_rotate). */
    private void rbInsert(int node) {
        int par = parent[node]; // rb_red_parent()
        int gparent;
        int tmp;
        while (true) {
            if (par == NIL) {
                setParentColor(node, NIL, false);
                break;
            }
            if (!red[par]) {
                break;
            }
            gparent = parent[par];
            tmp = right[gparent];
            if (par != tmp) { // parent == gparent->rb_left
                if (tmp != NIL && red[tmp]) {
                    setParentColor(tmp, gparent, false);
                    setParentColor(par, gparent, false);
                    node = gparent;
                    par = parent[node];
                    setParentColor(node, par, true);
                    continue;
                }
                tmp = right[par];
                if (node == tmp) {
                    tmp = left[node];
                    right[par] = tmp;
                    left[node] = par;
                    if (tmp != NIL) {
                        setParentColor(tmp, par, false);
                    }
                    setParentColor(par, node, true);
                    augmentRotate(par, node);
                    par = node;
                    tmp = right[node];
                }
                left[gparent] = tmp;
                right[par] = gparent;
                if (tmp != NIL) {
                    setParentColor(tmp, gparent, false);
                }
                rotateSetParents(gparent, par, true);
                augmentRotate(gparent, par);
                break;
            } else {
                tmp = left[gparent];
                if (tmp != NIL && red[tmp]) {
                    setParentColor(tmp, gparent, false);
                    setParentColor(par, gparent, false);
                    node = gparent;
                    par = parent[node];
                    setParentColor(node, par, true);
                    continue;
                }
                tmp = left[par];
                if (node == tmp) {
                    tmp = right[node];
                    left[par] = tmp;
                    right[node] = par;
                    if (tmp != NIL) {
                        setParentColor(tmp, par, false);
                    }
                    setParentColor(par, node, true);
                    augmentRotate(par, node);
                    par = node;
                    tmp = left[node];
                }
                right[gparent] = tmp;
                left[par] = gparent;
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
        int child = right[node];
        int tmp = left[node];
        int par;
        int rebalance;
        if (tmp == NIL) {
            // Case 1: no more than one child
            int pcParent = parent[node];
            boolean pcRed = red[node];
            par = pcParent;
            changeChild(node, child, par);
            if (child != NIL) {
                parent[child] = pcParent;
                red[child] = pcRed;
                rebalance = NIL;
            } else {
                rebalance = !pcRed ? par : NIL;
            }
            tmp = par;
        } else if (child == NIL) {
            // Still case 1, but the child is node->rb_left
            int pcParent = parent[node];
            boolean pcRed = red[node];
            parent[tmp] = pcParent;
            red[tmp] = pcRed;
            par = pcParent;
            changeChild(node, tmp, par);
            rebalance = NIL;
            tmp = par;
        } else {
            int successor = child;
            int child2;
            tmp = left[child];
            if (tmp == NIL) {
                // Case 2: node's successor is its right child
                par = successor;
                child2 = right[successor];
                augmentCopy(node, successor);
            } else {
                // Case 3: node's successor is leftmost under node's right child subtree
                do {
                    par = successor;
                    successor = tmp;
                    tmp = left[tmp];
                } while (tmp != NIL);
                child2 = right[successor];
                left[par] = child2;
                right[successor] = child;
                parent[child] = successor; // rb_set_parent keeps the colour
                augmentCopy(node, successor);
                augmentPropagate(par, successor);
            }
            tmp = left[node];
            left[successor] = tmp;
            parent[tmp] = successor;

            int pcParent = parent[node];
            boolean pcRed = red[node];
            tmp = pcParent;
            changeChild(node, successor, tmp);

            if (child2 != NIL) {
                parent[successor] = pcParent;
                red[successor] = pcRed;
                setParentColor(child2, par, false);
                rebalance = NIL;
            } else {
                boolean pc2Red = red[successor];
                parent[successor] = pcParent;
                red[successor] = pcRed;
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
            sibling = right[par];
            if (node != sibling) { // node == parent->rb_left
                if (red[sibling]) {
                    tmp1 = left[sibling];
                    right[par] = tmp1;
                    left[sibling] = par;
                    setParentColor(tmp1, par, false);
                    rotateSetParents(par, sibling, true);
                    augmentRotate(par, sibling);
                    sibling = tmp1;
                }
                tmp1 = right[sibling];
                if (tmp1 == NIL || !red[tmp1]) {
                    tmp2 = left[sibling];
                    if (tmp2 == NIL || !red[tmp2]) {
                        setParentColor(sibling, par, true);
                        if (red[par]) {
                            red[par] = false; // rb_set_black()
                        } else {
                            node = par;
                            par = parent[node];
                            if (par != NIL) {
                                continue;
                            }
                        }
                        break;
                    }
                    tmp1 = right[tmp2];
                    left[sibling] = tmp1;
                    right[tmp2] = sibling;
                    right[par] = tmp2;
                    if (tmp1 != NIL) {
                        setParentColor(tmp1, sibling, false);
                    }
                    augmentRotate(sibling, tmp2);
                    tmp1 = sibling;
                    sibling = tmp2;
                }
                tmp2 = left[sibling];
                right[par] = tmp2;
                left[sibling] = par;
                setParentColor(tmp1, sibling, false);
                if (tmp2 != NIL) {
                    parent[tmp2] = par; // rb_set_parent keeps the colour
                }
                rotateSetParents(par, sibling, false);
                augmentRotate(par, sibling);
                break;
            } else {
                sibling = left[par];
                if (red[sibling]) {
                    tmp1 = right[sibling];
                    left[par] = tmp1;
                    right[sibling] = par;
                    setParentColor(tmp1, par, false);
                    rotateSetParents(par, sibling, true);
                    augmentRotate(par, sibling);
                    sibling = tmp1;
                }
                tmp1 = left[sibling];
                if (tmp1 == NIL || !red[tmp1]) {
                    tmp2 = right[sibling];
                    if (tmp2 == NIL || !red[tmp2]) {
                        setParentColor(sibling, par, true);
                        if (red[par]) {
                            red[par] = false;
                        } else {
                            node = par;
                            par = parent[node];
                            if (par != NIL) {
                                continue;
                            }
                        }
                        break;
                    }
                    tmp1 = left[tmp2];
                    right[sibling] = tmp1;
                    left[tmp2] = sibling;
                    left[par] = tmp2;
                    if (tmp1 != NIL) {
                        setParentColor(tmp1, sibling, false);
                    }
                    augmentRotate(sibling, tmp2);
                    tmp1 = sibling;
                    sibling = tmp2;
                }
                tmp2 = right[sibling];
                left[par] = tmp2;
                right[sibling] = par;
                setParentColor(tmp1, sibling, false);
                if (tmp2 != NIL) {
                    parent[tmp2] = par;
                }
                rotateSetParents(par, sibling, false);
                augmentRotate(par, sibling);
                break;
            }
        }
    }
}
