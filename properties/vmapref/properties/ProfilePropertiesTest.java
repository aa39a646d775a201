// SPDX-License-Identifier: GPL-2.0-only
package vmapref.properties;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import vmapref.hunt.Execution;
import vmapref.hunt.Hunter;
import vmapref.hunt.Property;
import vmapref.hunt.Report;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;

/**
 * Every property on the real profiles: 400 generated programs per profile (seed 11; x86_64,
 * big blocks, small ranges, the 32-bit window, 1..4 CPUs, possible masks with holes) run with every
 * specification rule and every {@link Property} checked after every call, and nothing breaks
 * except what {@link Property#knownBroken} lists for the profile (not reported here; {@link
 * KnownBrokenTest} shows those are found).
 *
 * <p>A suite that passes because it never reaches the hard states proves nothing, so it also
 * asserts coverage: NULL returns, blocks retired by vb_free() and by a purge, lazy drains, purges
 * on allocation failure, cross-CPU unmaps, full blocks holding dirty pages, node pools (6.12),
 * each kind of configuration, and (6.1, 6.12) calls compared between the two profiles.
 */
class ProfilePropertiesTest {

    static final int PROGRAMS = 400;

    @ParameterizedTest(name = "{0}")
    @EnumSource(Profile.class)
    void everyPropertyHolds(Profile p) {
        Hunter.Settings s = Hunter.Settings.programs(p, null, 11, 200, PROGRAMS).ignoring(Property.knownBroken(p));
        Map<String, Long> seen = new TreeMap<>();
        for (long i = 0; i < PROGRAMS; i++) {
            Execution e = Hunter.generate(s, i);
            assertThat(e.verdict()).as("program %d of seed 11:%n%s%s", i, Report.config(e.config()), Report.listing(e))
                    .isNull();
            count(e, seen);
        }
        // the lazy drain: 4.8 purges synchronously (try_purge_vmap_area_lazy), later kernels in drain work
        String drain = p == Profile.LINUX_4_8 ? "flush by try_purge_vmap_area_lazy" : "flush by drain_vmap_area_work";
        for (String k : new String[] {"calls", "NULL", "retired by vb_free", "retired by purge_fragmented_block",
                drain, "cross-CPU unmaps", "aliases", "full block with dirty pages",
                "config 32-bit", "config holes", "config small range", "config big blocks", "config 2+ CPUs"}) {
            assertThat(seen.getOrDefault(k, 0L)).as("%s on %s: %s", k, p, seen).isPositive();
        }
        assertThat(seen.getOrDefault(p.hasVmapNodes() ? "flush by reclaim_and_purge_vmap_areas"
                : "flush by purge_vmap_area_lazy", 0L))
                .as("purges on allocation failure: %s", seen).isPositive();
        if (p.hasVmapNodes()) {
            assertThat(seen.getOrDefault("pooled", 0L)).as("node pools: %s", seen).isPositive();
        }
        if (p != Profile.LINUX_4_8) {
            assertThat(seen.getOrDefault("compared with the other profile", 0L)).as("%s", seen).isGreaterThan(1000);
        }
    }

    static void count(Execution e, Map<String, Long> seen) {
        KernelConfig c = e.config();
        if (c.bitsPerLong() == 32) {
            add(seen, "config 32-bit", 1);
        } else if (c.vmallocEnd() != KernelConfig.X86_64_VMALLOC_END) {
            add(seen, "config small range", 1);
        }
        if (c.possibleCpus().size() < c.nrCpuIds()) {
            add(seen, "config holes", 1);
        }
        if (c.blockPages() > 256) {
            add(seen, "config big blocks", 1);
        }
        if (c.onlineCpus().size() > 1) {
            add(seen, "config 2+ CPUs", 1);
        }
        add(seen, "compared with the other profile", e.profilesCompared());
        for (Execution.Step st : e.steps()) {
            if (!st.ran()) {
                continue;
            }
            add(seen, "calls", 1);
            if (st.result().outcome() instanceof Outcome.Null) {
                add(seen, "NULL", 1);
            }
            if (st.call() instanceof Call.Aliases) {
                add(seen, "aliases", 1);
            }
            if (st.call() instanceof Call.Unmap && st.op().cpu() != e.program().op(((vmapref.hunt.Op.Unmap) st.op()).ref()).cpu()) {
                add(seen, "cross-CPU unmaps", 1);
            }
            for (Effect ef : st.result().effects()) {
                if (ef instanceof Effect.BlockRetired r) {
                    add(seen, "retired by " + r.by(), 1);
                } else if (ef instanceof Effect.Flush f) {
                    add(seen, "flush by " + f.by(), 1);
                }
            }
            if (!st.result().state().pools().isEmpty()) {
                add(seen, "pooled", 1);
            }
            if (st.result().state().blocks().values().stream().anyMatch(vb -> vb.free() == 0 && vb.dirty() > 0)) {
                add(seen, "full block with dirty pages", 1);
            }
        }
    }

    static void add(Map<String, Long> m, String k, long n) {
        if (n > 0) {
            m.merge(k, n, Long::sum);
        }
    }
}
