// SPDX-License-Identifier: GPL-2.0-only
package vmapref.study;

import java.io.IOException;
import java.util.List;
import vmapref.kernel.KernelConfig;
import vmapref.render.TimelineView;
import vmapref.render.Units;
import vmapref.trace.TraceFormatException;

/** The text of docs/fragmentation.md, from the runs of a {@link Fragmentation} study. */
final class FragmentationDoc {
    private final Fragmentation f;
    private final StringBuilder out = new StringBuilder();

    private FragmentationDoc(Fragmentation f) {
        this.f = f;
    }

    static String write(Fragmentation f) throws IOException, TraceFormatException {
        FragmentationDoc d = new FragmentationDoc(f);
        d.body();
        return d.out.toString();
    }

    private void p(String s) {
        out.append(s).append('\n');
    }

    private Fragmentation.Measured run(String id) {
        return f.runs().get(id);
    }

    private String traceOf(Fragmentation.Measured m) {
        return f.traces().resolve(m.c().id() + ".jsonl").toString();
    }

    /** A picture as the page links it (beside the page). */
    private String img(String name) {
        return f.imagesRel() + "/" + name;
    }

    /** A picture as a command run where the study was run names it. */
    private String out(String name) {
        return f.images().resolve(name).toString();
    }

    /** The render command behind the timeline of {@code m}. */
    private String timelineCommand(Fragmentation.Measured m) {
        return "java -jar target/vmapref.jar render " + traceOf(m) + " --level exact" + m.c().mutantOption() + " --out "
                + out(m.c().id() + "-timeline.png");
    }

    private String rangeCommand(Fragmentation.Measured m) {
        TimelineView.NullCall n = m.firstNull();
        return "java -jar target/vmapref.jar render " + traceOf(m) + " --level exact" + m.c().mutantOption()
                + (n == null ? " --picture range" : " --line " + n.line()) + " --out " + out(m.c().id() + "-range.png");
    }

    private void timeline(Fragmentation.Measured m, String caption) throws IOException {
        p("![" + caption + "](" + img(f.timelinePicture(m)) + ")");
        p("");
        p("`" + timelineCommand(m) + "`");
        p("");
    }

    private void range(Fragmentation.Measured m, String caption) throws IOException, TraceFormatException {
        String name = f.rangePicture(m);
        p("![" + caption + "](" + img(name) + ")");
        p("");
        p("`" + rangeCommand(m) + "`");
        p("");
    }

    static String size(long pages, KernelConfig cfg) {
        return Units.size(pages, cfg);
    }

    private void table(List<String> ids) {
        p("| run | calls | first NULL: call (line) | held then | live then (of the window) | NULLs | mean held | mean live "
                + "| blocks created | retired by vb_free | retired by a purge | vm_unmap_aliases() flushes (pages) |");
        p("|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (String id : ids) {
            Fragmentation.Measured m = run(id);
            KernelConfig cfg = m.c().cfg();
            TimelineView t = m.timeline();
            TimelineView.NullCall n = m.firstNull();
            String at = n == null ? "none" : n.call() + " (" + n.line() + ")";
            String held = n == null ? "-" : size(n.held(), cfg);
            String live = n == null ? "-" : size(n.live(), cfg) + " (" + Fragmentation.pct(n.live(), t.windowPages()) + ")";
            p("| `" + id + "`: " + m.c().describe() + " | " + t.calls() + " | " + at + " | " + held + " | " + live + " | "
                    + t.nulls().size() + " | " + size(Math.round(t.meanHeld()), cfg) + " | " + size(Math.round(t.meanLive()), cfg)
                    + " | " + m.blocksCreated() + " | " + m.retiredByFree() + " | " + m.retiredByPurge() + " | "
                    + m.aliasesFlushes() + " (" + m.aliasesFlushedPages() + ") |");
        }
        p("");
    }

    private String firstNull(String id) {
        Fragmentation.Measured m = run(id);
        TimelineView.NullCall n = m.firstNull();
        KernelConfig cfg = m.c().cfg();
        if (n == null) {
            return "no NULL in " + m.timeline().calls() + " calls";
        }
        return "the first NULL at call " + n.call() + " (trace line " + n.line() + "), with " + size(n.held(), cfg)
                + " held and " + size(n.live(), cfg) + " live, " + Fragmentation.pct(n.live(), m.timeline().windowPages())
                + " of the window";
    }

    private long nullCall(String id) {
        TimelineView.NullCall n = run(id).firstNull();
        return n == null ? -1 : n.call();
    }

    private String atEnd(String id) {
        Fragmentation.Measured m = run(id);
        TimelineView t = m.timeline();
        KernelConfig cfg = m.c().cfg();
        long h = t.held(t.calls() - 1);
        long l = t.live(t.calls() - 1);
        return size(h, cfg) + " held for " + size(l, cfg) + " live after " + t.calls() + " calls ("
                + String.format(java.util.Locale.ROOT, "%.1f", l == 0 ? 0.0 : (double) h / l) + " times as much)";
    }

    private void body() throws IOException, TraceFormatException {
        Fragmentation.Options o = f.options();
        String cmd = "java -jar target/vmapref.jar study fragmentation --out " + f.doc()
                + (o.seed() == 1 ? "" : " --seed " + o.seed())
                + (o.calls32() == Fragmentation.Options.defaults().calls32() ? "" : " --calls-32 " + o.calls32())
                + (o.calls64() == Fragmentation.Options.defaults().calls64() ? "" : " --calls-64 " + o.calls64());
        KernelConfig c32 = run("mixed-32-6.12").c().cfg();
        KernelConfig c64 = run("mixed-64-6.12").c().cfg();
        p("# Fragmentation of the vmalloc range by vm_map_ram()");
        p("");
        p("The vm_map_ram() man page warns: \"if you mix long-life and short-life objects with vm_map_ram(), it could "
                + "consume lots of address space through fragmentation (especially on a 32-bit machine). You could see "
                + "failures in the end.\" This study runs that case through the model and measures it.");
        p("");
        p("Everything here, numbers and pictures, is written by one command (seeded, so the same every time; "
                + "under 15 s on this project's 2-core machine):");
        p("");
        p("```");
        p(cmd);
        p("```");
        p("");
        p("It writes this page, the pictures in `" + f.imagesRel() + "/` beside it, and the trace of every run in `"
                + f.traces() + "/` (not kept in the repository: the command writes them again). Each number comes from "
                + "the model's run of that trace; under each picture is the `render` command that draws it again from "
                + "the trace, and its caption repeats the numbers.");
        p("");
        p("## The workload");
        p("");
        p("`vmapref.study.LifetimeWorkload`, seed " + o.seed() + ". Each round maps once: one mapping in "
                + Fragmentation.LONG_EVERY + " is long-lived (never unmapped), the others short-lived (unmapped 1 to "
                + Fragmentation.SHORT_MAX + " rounds later, on a random CPU). Counts: 1 to 8 pages (60%) or a power of "
                + "two up to 16. Every " + Fragmentation.ALIASES_EVERY + " rounds one vm_unmap_aliases(). Two CPUs.");
        p("");
        p("- **mixed**: every mapping is made on a random CPU, so long- and short-lived mappings share vmap blocks.");
        p("- **separated**: long-lived mappings are made on CPU 1 and short-lived ones on CPU 0. A CPU allocates "
                + "from its own blocks (vb_alloc() walks only its vmap_block_queue), so the two never share a block.");
        p("- **large**: the mixed workload with VMAP_MAX_ALLOC pages added to every count, so that every mapping "
                + "skips the block cache and gets its own vmap area (alloc_vmap_area()).");
        p("");
        p("The random draws do not depend on the variant: the runs differ only in where the mappings go. A run "
                + "stops " + Fragmentation.AFTER_NULL + " calls after the first NULL, or after " + o.calls32()
                + " calls on 32-bit and " + o.calls64() + " on 64-bit.");
        p("");
        p("Configurations:");
        p("");
        p("- 32-bit: " + configText(c32) + ". Modelled on i386 with highmem: VMALLOC_START 0xf8000000, "
                + "VMALLOC_END = PKMAP_BASE - 2 pages = 0xff7fe000 (the shape of i386's window, 120 MiB less 8 KiB).");
        p("- 64-bit: " + configText(c64) + " (Debian's x86_64 kernel, as everywhere else in vmapref).");
        p("");
        p("\"Held\" is the address space the calls hold: every vmap block, whole, and every large area, live or "
                + "lazily freed and not yet purged (6.12's node pools count too). \"Live\" is the pages mapped by live "
                + "mappings.");
        p("");
        p("## 32-bit: mixed against separated lifetimes");
        p("");
        table(List.of("mixed-32-6.12", "separated-32-6.12"));
        Fragmentation.Measured mx = run("mixed-32-6.12");
        TimelineView.NullCall mn = mx.firstNull();
        p("Mixed: " + firstNull("mixed-32-6.12") + (mn == null ? "." : ". " + Fragmentation.pct(mn.held(), mx.timeline().windowPages())
                + " of the window is held, and " + Fragmentation.pct(mx.timeline().windowPages() - mn.live(), mx.timeline().windowPages())
                + " of it holds no live data.") + " Separated: " + firstNull("separated-32-6.12")
                + ": the window runs out only once it is nearly full of live data, "
                + (nullCall("separated-32-6.12") / Math.max(1, nullCall("mixed-32-6.12"))) + " times later.");
        p("");
        p("Why. vb_alloc() hands out a block's pages by bump allocation from its never-used tail (`vb->free`). "
                + "vb_free() only marks pages dirty; they are not handed out again while the block lives. The block "
                + "is freed when every page is dirty (vb_free(): `vb->dirty == VMAP_BBMAP_BITS`), or purged when it "
                + "has no live page left (purge_fragmented_block(): `free + dirty == VMAP_BBMAP_BITS`). One long-lived "
                + "mapping of one page therefore keeps its whole " + size(c32.blockPages(), c32) + " block held for as "
                + "long as it lives. In the mixed run nearly every block gets a long-lived mapping (of "
                + run("mixed-32-6.12").blocksCreated() + " blocks created, " + run("mixed-32-6.12").retiredByFree()
                + " was ever freed); in the separated run the short-lived blocks of CPU 0 go wholly dirty and are "
                + "freed (" + run("separated-32-6.12").retiredByFree() + " blocks by vb_free()), and the long-lived "
                + "blocks of CPU 1 are packed full.");
        p("");
        range(run("mixed-32-6.12"), "the 32-bit window at the first NULL of the mixed run");
        timeline(run("mixed-32-6.12"), "held against live space, mixed lifetimes, 32-bit");
        timeline(run("separated-32-6.12"), "held against live space, separated lifetimes, 32-bit");
        p("## The same workload served by large areas");
        p("");
        table(List.of("large-32-6.12"));
        p("With every mapping VMAP_MAX_ALLOC pages larger, each gets its own vmap area: " + firstNull("large-32-6.12")
                + ". An unmapped large area is only lazily freed (free_vmap_area_noflush()), but it goes back to the "
                + "free tree, merged with its neighbours, at the next purge; when alloc_vmap_area() finds no room it "
                + "purges first (reclaim_and_purge_vmap_areas()) and retries. So the space of short-lived mappings is "
                + "reused and NULL comes only when live data fills the window, as in the separated run. (The mappings "
                + "are bigger, so that happens after fewer calls: compare the share of the window, not the call.)");
        p("");
        timeline(run("large-32-6.12"), "held against live space, large mappings, 32-bit");
        p("## 64-bit");
        p("");
        table(List.of("mixed-64-6.12", "separated-64-6.12", "large-64-6.12"));
        p("The same mechanism holds on 64-bit: mixed, " + atEnd("mixed-64-6.12") + "; separated, "
                + atEnd("separated-64-6.12") + ". But the window is " + size(c64.windowEndPage() - c64.windowStartPage(), c64)
                + ", so the waste never turns into a failure here; it is address space, not memory (page tables aside).");
        p("");
        timeline(run("mixed-64-6.12"), "held against live space, mixed lifetimes, 64-bit");
        p("## linux-4.8, linux-6.1, linux-6.12 and the new-block-at-list-head mutant");
        p("");
        table(List.of("mixed-32-4.8", "mixed-32-6.1", "mixed-32-6.12", "mixed-32-6.12-head", "separated-32-6.12",
                "separated-32-6.12-head", "mixed-64-4.8", "mixed-64-6.1", "mixed-64-6.12", "mixed-64-6.12-head"));
        boolean same = nullCall("mixed-32-4.8") == nullCall("mixed-32-6.12") && nullCall("mixed-32-6.1") == nullCall("mixed-32-6.12");
        p("The three kernels run out " + (same ? "at the same call (" : "at calls ") + nullCall("mixed-32-4.8") + ", "
                + nullCall("mixed-32-6.1") + " and " + nullCall("mixed-32-6.12") + (same ? ")" : "") + ": what pins the space, bump allocation in a block and no reuse "
                + "of dirty pages until the block is freed, is the same in all three. Where they differ is in "
                + "vm_unmap_aliases():");
        p("");
        p("- **The purge threshold.** 6.12's `_vm_unmap_aliases()` calls `purge_fragmented_block()` without force, "
                + "which retires a block with no live page only if fewer than `VMAP_PURGE_THRESHOLD` = VMAP_BBMAP_BITS / 4 = "
                + c32.purgeThreshold() + " pages are still free (77e50af07f14, v6.5); 4.8 and 6.1 retire every such "
                + "block, even one that could still serve many mappings. "
                + (purges() == 0 ? "Here no block was retired by a purge on any plain kernel (the \"retired by a purge\" "
                + "column): with one mapping in " + Fragmentation.LONG_EVERY + " long-lived, a block with no live page is "
                + "rare, so the threshold does not change when the window runs out."
                : "Blocks retired by a purge, plain kernels: " + purges() + " in all (the \"retired by a purge\" column).")
                + " A purge on allocation failure (`reclaim_and_purge_vmap_areas()`) is forced on every "
                + "kernel, so it cannot save a block that holds a live page either.");
        p("- **The dirty-range reset.** 6.12 walks every block (fc1e0d980037, v6.5) and resets a block's "
                + "`dirty_min`/`dirty_max` once flushed (a09fad96ffb1), so a range is flushed once; 4.8 and 6.1 walk only "
                + "the blocks on the free lists and never reset the range. Pages flushed by vm_unmap_aliases(), mixed "
                + "32-bit: " + run("mixed-32-4.8").aliasesFlushedPages() + " on 4.8, " + run("mixed-32-6.1").aliasesFlushedPages()
                + " on 6.1, " + run("mixed-32-6.12").aliasesFlushedPages() + " on 6.12. "
                + (run("mixed-32-6.12").aliasesFlushedPages() > run("mixed-32-6.1").aliasesFlushedPages() ? "6.12 flushes more"
                : "Where 6.12 flushes more, it is") + " because it also reaches the full blocks the older walks skip (their dirty pages stay stale there: the "
                + "`aliases-no-stale` finding on the real 6.1 traces, docs/results.md); the reset does not give any space back. It changes TLB "
                + "work, not fragmentation.");
        p("- **The 2015 bug, `new-block-at-list-head`** (fixed by \"mm/vmalloc: fix possible exhaustion of vmalloc "
                + "space caused by vm_map_ram allocator\", v4.1): new_vmap_block() put the new block at the head of "
                + "the free list, so a request that did not fit the newest block started yet another one while older "
                + "blocks kept free pages behind it. A block with free pages never becomes wholly dirty, so vb_free() "
                + "can never free it; only a purge can. It is the worst case: mixed, " + firstNull("mixed-32-6.12-head")
                + " (" + (nullCall("mixed-32-6.12") - nullCall("mixed-32-6.12-head")) + " calls earlier than the fixed "
                + "kernel); separated, " + firstNull("separated-32-6.12-head") + ", with "
                + run("separated-32-6.12-head").retiredByPurge() + " blocks that only a purge could retire ("
                + run("separated-32-6.12").retiredByPurge() + " on the fixed kernel). In its timeline the space held "
                + "climbs between purges and drops at each vm_unmap_aliases() (every " + Fragmentation.ALIASES_EVERY
                + " rounds), which retires the blocks left behind.");
        p("");
        timeline(run("separated-32-6.12-head"), "held against live space, separated lifetimes, 32-bit, new-block-at-list-head");
        p("## What to take away");
        p("");
        p("- A long-lived small mapping holds its whole vmap block. Mixing lifetimes in the same blocks turns a few MiB of live "
                + "data into a full 32-bit window: " + firstNull("mixed-32-6.12") + ".");
        p("- Keeping lifetimes apart (long-lived mappings from their own CPU, or as large mappings) lets the window "
                + "fill with live data before vm_map_ram() fails.");
        p("- No kernel version fixes this: the purge threshold and the dirty-range reset change vm_unmap_aliases(), "
                + "not the rule that freed pages of a block come back only with the whole block. The 2015 "
                + "list-head bug made it worse.");
    }

    /** Blocks retired by a purge in the plain (no mutant) runs. */
    private long purges() {
        long n = 0;
        for (Fragmentation.Measured m : f.runs().values()) {
            if (m.c().mutants().isEmpty()) {
                n += m.retiredByPurge();
            }
        }
        return n;
    }

    private static String configText(KernelConfig cfg) {
        return "`BITS_PER_LONG` " + cfg.bitsPerLong() + ", a window of " + size(cfg.windowEndPage() - cfg.windowStartPage(), cfg)
                + " (" + (cfg.windowEndPage() - cfg.windowStartPage()) + " pages) from " + vmapref.trace.Hex.format(cfg.vmallocStart())
                + ", NR_CPUS " + cfg.nrCpus() + " so vmap blocks of " + cfg.blockPages() + " pages ("
                + size(cfg.blockPages(), cfg) + "), VMAP_MAX_ALLOC " + cfg.vmapMaxAlloc() + " pages, lazy_max_pages "
                + cfg.lazyMaxPages();
    }
}
