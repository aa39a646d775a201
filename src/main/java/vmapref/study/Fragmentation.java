// SPDX-License-Identifier: GPL-2.0-only
package vmapref.study;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import vmapref.check.Configs;
import vmapref.check.StepEvents;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Mutant;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.Vmalloc;
import vmapref.render.Render;
import vmapref.render.TimelineView;
import vmapref.render.Units;
import vmapref.replay.Replayer;
import vmapref.trace.TraceEvent;
import vmapref.trace.TraceFormatException;
import vmapref.trace.TraceWriter;

/**
 * {@code vmapref study fragmentation}: runs {@link LifetimeWorkload}s through the model on a 32-bit and a 64-bit
 * configuration, writes each run as a trace, draws it with {@link Render} and writes docs/fragmentation.md.
 */
public final class Fragmentation {

    /** A 120 MiB window shaped like i386's: VMALLOC_END = PKMAP_BASE - 2 * PAGE_SIZE (pgtable_32_areas.h). */
    static final long START_32 = 0xf8000000L;
    static final long END_32 = 0xff7fe000L;
    /** Every this many rounds a mapping is long-lived. */
    static final int LONG_EVERY = 8;
    /** Short-lived mappings live 1..SHORT_MAX rounds. */
    static final int SHORT_MAX = 32;
    /** One vm_unmap_aliases() every this many rounds. */
    static final int ALIASES_EVERY = 500;
    /** Calls run after the first NULL. */
    static final int AFTER_NULL = 500;

    /** The budget: calls at most per 32-bit run and per 64-bit run, and the seed. */
    public record Options(int calls32, int calls64, long seed) {
        public static Options defaults() {
            return new Options(200_000, 30_000, 1);
        }
    }

    /** One run: a configuration, a workload, a budget. */
    record Case(String id, KernelConfig cfg, Set<Mutant> mutants, LifetimeWorkload.Mix mix, LifetimeWorkload.Sizes sizes,
                int maxCalls) {
        String describe() {
            return cfg.profile() + (mutants.isEmpty() ? "" : " + " + mutants.iterator().next()) + ", " + cfg.bitsPerLong()
                    + "-bit, " + mix.name().toLowerCase() + " lifetimes, " + (sizes == LifetimeWorkload.Sizes.SMALL
                    ? "small mappings" : "large mappings");
        }

        String mutantOption() {
            return mutants.isEmpty() ? "" : " --mutant " + mutants.iterator().next();
        }
    }

    /** What one run measured. */
    record Measured(Case c, Path trace, TimelineView timeline, long blocksCreated, long retiredByFree,
                    long retiredByPurge, long aliasesFlushes, long aliasesFlushedPages) {
        TimelineView.NullCall firstNull() {
            return timeline.nulls().isEmpty() ? null : timeline.nulls().get(0);
        }
    }

    private final Options o;
    private final Path doc;
    private final Path images;
    private final Path traces;
    private final String imagesRel;
    private final Map<String, Measured> runs = new LinkedHashMap<>();

    private Fragmentation(Options o, Path doc, Path traces) {
        this.o = o;
        this.doc = doc;
        String name = doc.getFileName().toString().replaceFirst("\\.md$", "");
        this.images = doc.resolveSibling(name);
        this.imagesRel = name;
        this.traces = traces;
    }

    /** Runs the study and writes {@code doc} (with its pictures in a folder of the same name beside it). */
    public static String run(Options o, Path doc, Path traces) throws IOException, TraceFormatException {
        Fragmentation f = new Fragmentation(o, doc, traces);
        return f.go();
    }

    static KernelConfig x86_32(Profile p) {
        List<Integer> cpus = List.of(0, 1);
        return new KernelConfig(p, 12, START_32, END_32, 8, 2, cpus, cpus, 32);
    }

    static KernelConfig x86_64(Profile p) {
        return KernelConfig.x86_64(p, 2);
    }

    private String go() throws IOException, TraceFormatException {
        Files.createDirectories(images);
        Files.createDirectories(traces);
        try (var old = Files.newDirectoryStream(images, "*-{timeline,range}.png")) {
            for (Path p : old) { // pictures of an earlier run
                Files.delete(p);
            }
        }
        var mixed = LifetimeWorkload.Mix.MIXED;
        var separated = LifetimeWorkload.Mix.SEPARATED;
        var small = LifetimeWorkload.Sizes.SMALL;
        var large = LifetimeWorkload.Sizes.LARGE;
        Set<Mutant> head = Set.of(Mutant.NEW_BLOCK_AT_LIST_HEAD);
        for (Profile p : Profile.values()) {
            String v = p.id().replace("linux-", "");
            measure(new Case("mixed-32-" + v, x86_32(p), Set.of(), mixed, small, o.calls32()));
        }
        measure(new Case("separated-32-6.12", x86_32(Profile.LINUX_6_12), Set.of(), separated, small, o.calls32()));
        measure(new Case("mixed-32-6.12-head", x86_32(Profile.LINUX_6_12), head, mixed, small, o.calls32()));
        measure(new Case("separated-32-6.12-head", x86_32(Profile.LINUX_6_12), head, separated, small, o.calls32()));
        measure(new Case("large-32-6.12", x86_32(Profile.LINUX_6_12), Set.of(), mixed, large, o.calls32()));
        for (Profile p : Profile.values()) {
            String v = p.id().replace("linux-", "");
            measure(new Case("mixed-64-" + v, x86_64(p), Set.of(), mixed, small, o.calls64()));
        }
        measure(new Case("separated-64-6.12", x86_64(Profile.LINUX_6_12), Set.of(), separated, small, o.calls64()));
        measure(new Case("mixed-64-6.12-head", x86_64(Profile.LINUX_6_12), head, mixed, small, o.calls64()));
        measure(new Case("large-64-6.12", x86_64(Profile.LINUX_6_12), Set.of(), mixed, large, o.calls64()));
        String text = FragmentationDoc.write(this);
        Files.writeString(doc, text, StandardCharsets.UTF_8);
        return "wrote " + doc + " (" + runs.size() + " runs, pictures in " + images + ", traces in " + traces + ")";
    }

    /** Runs one case through the model, writing its trace; then draws its timeline from that trace. */
    private void measure(Case c) throws IOException, TraceFormatException {
        Path trace = traces.resolve(c.id() + ".jsonl");
        KernelState k = KernelState.boot(c.cfg(), c.mutants(), KernelState.Mode.EXACT);
        LifetimeWorkload w = new LifetimeWorkload(c.cfg(), c.mix(), c.sizes(), o.seed(), LONG_EVERY, SHORT_MAX, ALIASES_EVERY);
        long created = 0;
        long byFree = 0;
        long byPurge = 0;
        long aliasFlushes = 0;
        long aliasPages = 0;
        TimelineView tl = new TimelineView(c.cfg());
        int line = 1;
        try (TraceWriter out = TraceWriter.create(trace)) {
            out.header(Configs.header(c.cfg()).withSource("vmapref study fragmentation --seed " + o.seed() + ": " + c.id()
                    + " (" + c.describe() + ")"));
            int stopAt = c.maxCalls();
            for (int i = 1; i <= stopAt; i++) {
                Call call = w.next();
                Vmalloc.Step st = Vmalloc.step(k, call);
                if (st.outcome() instanceof Outcome.Rejected r) {
                    throw new IllegalStateException(c.id() + ", call " + i + ": the workload broke the contract ("
                            + r.rule() + ": " + r.message() + ")");
                }
                if (st.outcome() instanceof Outcome.Bug b) {
                    throw new IllegalStateException(c.id() + ", call " + i + ": the model crashed: " + b.text());
                }
                for (TraceEvent e : StepEvents.of(call, st)) {
                    out.event(e);
                    tl.after(e, ++line, st.state());
                }
                for (Effect e : st.effects()) {
                    if (e instanceof Effect.BlockCreated) {
                        created++;
                    } else if (e instanceof Effect.BlockRetired r) {
                        if ("vb_free".equals(r.by())) {
                            byFree++;
                        } else {
                            byPurge++;
                        }
                    } else if (e instanceof Effect.Flush f && call instanceof Call.Aliases) {
                        aliasFlushes++;
                        aliasPages += (f.end() - f.start()) >>> c.cfg().pageShift();
                    }
                }
                if (call instanceof Call.Map m) {
                    w.mapped(m, st.outcome());
                    if (st.outcome() instanceof Outcome.Null && stopAt == c.maxCalls()) {
                        stopAt = Math.min(c.maxCalls(), i + AFTER_NULL);
                    }
                }
                k = st.state();
            }
        }
        runs.put(c.id(), new Measured(c, trace, tl, created, byFree, byPurge, aliasFlushes, aliasPages));
    }

    /** Draws the timeline of a run; returns the picture's file name. */
    String timelinePicture(Measured m) throws IOException {
        String name = m.c().id() + "-timeline.png";
        Render.timeline(m.timeline(), m.trace().toString(), m.c().mutants(), images.resolve(name));
        return name;
    }

    /** Draws the range at the first NULL of a run (or at its end); returns the picture's file name. */
    String rangePicture(Measured m) throws IOException, TraceFormatException {
        TimelineView.NullCall f = m.firstNull();
        String name = m.c().id() + "-range.png";
        Render.range(m.trace(), Replayer.Level.EXACT, f == null ? 0 : f.line(), m.c().mutants(), images.resolve(name));
        return name;
    }

    Map<String, Measured> runs() {
        return runs;
    }

    Options options() {
        return o;
    }

    String imagesRel() {
        return imagesRel;
    }

    Path images() {
        return images;
    }

    Path doc() {
        return doc;
    }

    Path traces() {
        return traces;
    }

    static String pct(long part, long whole) {
        return Units.percent(part, whole);
    }

    static List<String> list(String... s) {
        return new ArrayList<>(List.of(s));
    }
}
