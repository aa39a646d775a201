// SPDX-License-Identifier: GPL-2.0-only
package vmapref.kernel;

import java.util.ArrayList;
import java.util.List;

/**
 * mm/vmalloc.c (6.9+): __purge_vmap_area_lazy(): the order in which the nodes holding lazy areas give
 * them back. {@code nr_purge_helpers = clamp(vmap_lazy_nr / lazy_max_pages(), 1, nodes) - 1}: the first
 * that many nodes of purge_nodes go to schedule_work_on(node), the rest are purged inline, in order,
 * then flush_work() waits for the helpers. On a voluntary-preemption kernel (Debian's) a helper queued
 * on the purging task's own CPU runs only at flush_work(), after the inline nodes; the model runs every
 * helper there (on another CPU it would run alongside, in no fixed order). Plain Java, shared by the
 * reference ({@link VmapAreas}) and the concurrent fast path.
 */
public final class PurgeHelpers {
    private PurgeHelpers() {
    }

    /** The nodes with lazy areas ({@code hasLazy[node]}), inline ones first, then the helpers'. */
    public static List<Integer> order(boolean[] hasLazy, long vmapLazyNr, long lazyMaxPages) {
        List<Integer> withLazy = new ArrayList<>();
        for (int node = 0; node < hasLazy.length; node++) {
            if (hasLazy[node]) {
                withLazy.add(node);
            }
        }
        int helpers = (int) Math.min(Math.max(vmapLazyNr / lazyMaxPages, 1), withLazy.size()) - 1;
        List<Integer> order = new ArrayList<>(withLazy.subList(helpers, withLazy.size())); // inline
        order.addAll(withLazy.subList(0, helpers)); // the helpers, at flush_work()
        return order;
    }
}
