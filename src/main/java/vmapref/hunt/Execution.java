// SPDX-License-Identifier: GPL-2.0-only
package vmapref.hunt;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import vmapref.check.Refinement;
import vmapref.check.StepEvents;
import vmapref.kernel.Call;
import vmapref.kernel.Effect;
import vmapref.kernel.KernelConfig;
import vmapref.kernel.KernelState;
import vmapref.kernel.Mutant;
import vmapref.kernel.Outcome;
import vmapref.kernel.Profile;
import vmapref.kernel.VmapBlock;
import vmapref.kernel.Vmalloc;
import vmapref.spec.Rule;
import vmapref.spec.Violation;
import vmapref.trace.Hex;
import vmapref.trace.TraceEvent;

/**
 * One run of a program through the model, checking every property after every call.
 *
 * <p>The system under test is the profile, or the profile with one {@link Mutant} switched on. Its
 * steps go through a {@link Refinement} (every specification rule, full abstraction check each
 * step) and {@link Invariants}. With a mutant, the unmutated profile runs the same calls beside it:
 * the first call where their outcomes or flushes differ is a divergence, and a rule the profile
 * itself breaks at the same call is not held against the mutant. Without a mutant and with one
 * possible CPU, the other of linux-6.1 / linux-6.12 runs beside it for {@link Property#PROFILES_AGREE}.
 *
 * <p>Calls are added one by one ({@link #apply}), so the generator can look at the state before it
 * picks the next call; {@link #run} runs a whole program.
 */
public final class Execution implements Generator.View {

    /** What happened to one call of the program; {@code call == null} when it was skipped. */
    public record Step(int index, Op op, Call call, Vmalloc.Step result, List<TraceEvent> events, String skipped) {
        public boolean ran() {
            return call != null;
        }
    }

    /** A mapping made by the program and not unmapped yet. */
    public record LiveMap(int ref, int cpu, long count, long addr) {
    }

    private final KernelConfig cfg;
    private final Mutant mutant;
    private final Set<String> ignored;
    private final Refinement sut;
    private final Refinement plain;
    private KernelState shadow;
    private final Invariants.BlockLifecycle life;
    private final List<Op> ops = new ArrayList<>();
    private final List<Step> steps = new ArrayList<>();
    private final Map<Integer, LiveMap> live = new LinkedHashMap<>();
    private final List<Long> mapCounts = new ArrayList<>();
    private Failure failure;
    private Failure symptom;
    private boolean dead;
    private boolean modelChecks = true;
    private long calls;
    private long compared;

    /**
     * @param mutant  null for the plain profile
     * @param ignored failure kinds not to report (for example a profile's known-broken rules)
     */
    public Execution(KernelConfig cfg, Mutant mutant, Set<String> ignored) {
        this(cfg, mutant, ignored, null);
    }

    /** As above; a non-null {@code shadowBoot} replaces the other profile of {@link Property#PROFILES_AGREE} (tests). */
    Execution(KernelConfig cfg, Mutant mutant, Set<String> ignored, KernelState shadowBoot) {
        this.cfg = cfg;
        this.mutant = mutant;
        this.ignored = Set.copyOf(ignored);
        KernelState boot = KernelState.boot(cfg, mutant == null ? Set.of() : Set.of(mutant), KernelState.Mode.EXACT);
        this.sut = new Refinement(boot, true, 1);
        this.plain = mutant == null ? null : new Refinement(KernelState.boot(cfg, Set.of(), KernelState.Mode.EXACT), true, 1);
        this.life = new Invariants.BlockLifecycle(boot);
        if (mutant == null && cfg.possibleCpus().size() == 1 && !ignored.contains(Property.PROFILES_AGREE.id())
                && cfg.profile() != Profile.LINUX_4_8) {
            // 6.1 beside 6.12, 6.12 beside 6.1, 7.2 beside 6.12 (one CPU is one vmap node: no pools, no decay)
            Profile other = cfg.profile() == Profile.LINUX_6_1 ? Profile.LINUX_6_12
                    : cfg.profile() == Profile.LINUX_6_12 ? Profile.LINUX_6_1 : Profile.LINUX_6_12;
            this.shadow = KernelState.boot(cfg.withProfile(other), Set.of(), KernelState.Mode.EXACT);
        }
        if (shadowBoot != null) {
            this.shadow = shadowBoot;
        }
    }

    /**
     * Checks the specification only from now on: no invariants of the model, no differential run (the
     * conformance kit, which wants the program and the reference's spec verdict, not a model check).
     */
    public Execution withoutModelChecks() {
        modelChecks = false;
        return this;
    }

    /** Runs {@code p} until its end or its first failure. */
    public static Execution run(Program p, Mutant mutant, Set<String> ignored) {
        Execution e = new Execution(p.config(), mutant, ignored);
        for (Op op : p.ops()) {
            if (e.stopped()) {
                break;
            }
            e.apply(op);
        }
        return e;
    }

    // ------------------------------------------------------------ results

    /** True once a failure was found or the kernel crashed: no call can follow. */
    public boolean stopped() {
        return failure != null || dead;
    }

    /**
     * The counterexample this run is: its first failure that the written trace shows (a
     * specification rule, a divergence, or, without a mutant, any property), else the first
     * violation of a state invariant the mutant caused; null if none.
     */
    public Failure verdict() {
        return failure != null ? failure : symptom;
    }

    /** With a mutant: the first property of the model's state it broke, which may precede the verdict. */
    public Failure symptom() {
        return symptom;
    }

    public Mutant mutant() {
        return mutant;
    }

    /** The calls applied so far, as a program. */
    public Program program() {
        return new Program(cfg, ops);
    }

    public List<Step> steps() {
        return Collections.unmodifiableList(steps);
    }

    /** How many calls {@link Property#PROFILES_AGREE} compared with the other profile. */
    public long profilesCompared() {
        return compared;
    }

    /** The calls actually made (skipped ones not counted). */
    public long calls() {
        return calls;
    }

    /** The trace events of the system under test, in order (the mutant's behaviour, if there is one). */
    public List<TraceEvent> events() {
        List<TraceEvent> out = new ArrayList<>();
        for (Step s : steps) {
            out.addAll(s.events());
        }
        return out;
    }

    // ------------------------------------------------------------ Generator.View

    @Override
    public KernelConfig config() {
        return cfg;
    }

    @Override
    public KernelState state() {
        return plain != null ? plain.state() : sut.state();
    }

    @Override
    public List<LiveMap> live() {
        return List.copyOf(live.values());
    }

    @Override
    public int size() {
        return ops.size();
    }

    @Override
    public List<Long> mapCounts() {
        return Collections.unmodifiableList(mapCounts);
    }

    // ------------------------------------------------------------ running

    /** Runs one more call and checks it. */
    public void apply(Op op) {
        int index = ops.size();
        ops.add(op);
        if (op instanceof Op.Unmap u && (u.ref() >= index || !(ops.get(u.ref()) instanceof Op.Map))) {
            throw new IllegalArgumentException("call #" + (index + 1) + " unmaps #" + (u.ref() + 1) + ", not an earlier map");
        }
        if (op instanceof Op.Map m) {
            mapCounts.add(m.count());
        }
        if (stopped()) {
            steps.add(new Step(index, op, null, null, List.of(), dead ? "the kernel crashed earlier" : "after the failure"));
            return;
        }
        Call call;
        if (op instanceof Op.Map m) {
            call = new Call.Map(m.cpu(), m.count());
        } else if (op instanceof Op.Unmap u) {
            LiveMap lm = live.get(u.ref());
            if (lm == null) {
                steps.add(new Step(index, op, null, null, List.of(), "#" + (u.ref() + 1) + " is not mapped"));
                return;
            }
            call = new Call.Unmap(u.cpu(), lm.addr(), lm.count());
        } else {
            call = new Call.Aliases(op.cpu());
        }
        KernelState before = sut.state();
        KernelState plainBefore = plain == null ? null : plain.state();
        Refinement.StepReport rep = sut.step(call);
        Vmalloc.Step result = rep.result();
        if (result.outcome() instanceof Outcome.Rejected r) {
            steps.add(new Step(index, op, null, result, List.of(), "rejected: " + r.rule() + ": " + r.message()));
            return;
        }
        calls++;
        steps.add(new Step(index, op, call, result, rep.events(), null));
        if (result.outcome() instanceof Outcome.Mapped mapped) {
            live.put(index, new LiveMap(index, op.cpu(), ((Op.Map) op).count(), mapped.addr()));
        } else if (op instanceof Op.Unmap u && result.outcome() instanceof Outcome.Done) {
            live.remove(u.ref());
        }
        if (result.outcome() instanceof Outcome.Bug) {
            dead = true;
        }
        Refinement.StepReport prep = plain == null ? null : plain.step(call);
        check(index + 1, call, before, plainBefore, rep, prep);
    }

    private void check(int stepNo, Call call, KernelState before, KernelState plainBefore,
                       Refinement.StepReport rep, Refinement.StepReport prep) {
        Failure specLevel = null;
        Failure modelLevel = null;
        Violation v = rep.violation();
        if (v != null && !ignored.contains(v.rule().id())
                && !(prep != null && prep.violation() != null && prep.violation().rule() == v.rule())) {
            boolean refine = v.rule() == Rule.REFINE_LIVE_AGREES || v.rule() == Rule.REFINE_STALE_HELD;
            Failure f = new Failure(v.rule().id(), refine ? Failure.Level.MODEL : Failure.Level.SPEC, stepNo, v.message());
            if (refine) {
                modelLevel = f;
            } else {
                specLevel = f;
            }
        }
        if (!modelChecks) {
            failure = specLevel;
            return;
        }
        Invariants.Breach lifeBreach = life.observe(rep.result()); // always: it follows the whole run
        if (modelLevel == null) {
            Invariants.Breach b = lifeBreach != null ? lifeBreach : invariants(before, call, rep.result());
            if (b != null && prep != null && b.property() != Property.BLOCK_RETIRED_ONCE) {
                Invariants.Breach pb = invariants(plainBefore, call, prep.result());
                if (pb != null && pb.property() == b.property()) {
                    b = null; // the profile itself does it: not the mutant's doing
                }
            }
            if (b != null && !ignored.contains(b.property().id())) {
                modelLevel = new Failure(b.property().id(), Failure.Level.MODEL, stepNo, b.message());
            }
        }
        Failure exactLevel = prep != null ? divergence(stepNo, call, prep.result(), rep.result()) : differential(stepNo, call, rep.result());
        if (mutant == null) {
            failure = first(specLevel, modelLevel, exactLevel);
        } else {
            failure = first(specLevel, exactLevel);
            if (symptom == null) {
                symptom = modelLevel;
            }
        }
    }

    private static Failure first(Failure... fs) {
        for (Failure f : fs) {
            if (f != null) {
                return f;
            }
        }
        return null;
    }

    /** The invariants of one step but the cross-step {@link Invariants.BlockLifecycle}. */
    static Invariants.Breach invariants(KernelState before, Call call, Vmalloc.Step step) {
        if (step.state().crash() != null) {
            return null;
        }
        Invariants.Breach b = Invariants.state(step.state());
        if (b == null) {
            b = Invariants.bumpAllocated(before, call, step);
        }
        if (b == null) {
            b = Invariants.nullOnlyWhenFull(before, call, step);
        }
        return b;
    }

    // ------------------------------------------------------------ comparisons

    /** The first call where the mutant's outcome or flushes differ from the unmutated profile's. */
    private Failure divergence(int stepNo, Call call, Vmalloc.Step expected, Vmalloc.Step actual) {
        String d = compare(expected, actual);
        if (d == null) {
            return null;
        }
        return new Failure(Failure.DIVERGENCE, Failure.Level.EXACT, stepNo, describeCall(call) + ": " + cfg.profile()
                + " " + d + " with mutant " + mutant);
    }

    /**
     * Property.PROFILES_AGREE: linux-6.1 and linux-6.12 on one possible CPU, until aliases, running out
     * or the first lazy purge; linux-7.2 and linux-6.12 on one possible CPU, always.
     */
    /** This profile and its shadow differ only in the node pools' decay, which one CPU never reaches. */
    private boolean sameBlockCache() {
        Profile other = shadow.cfg().profile();
        return cfg.profile() == Profile.LINUX_7_2 || other == Profile.LINUX_7_2;
    }

    private Failure differential(int stepNo, Call call, Vmalloc.Step actual) {
        if (shadow == null) {
            return null;
        }
        if (sameBlockCache()) {
            Vmalloc.Step other = Vmalloc.step(shadow, call);
            shadow = other.state();
            compared++;
            String d = compare(other, actual);
            return d == null ? null : new Failure(Property.PROFILES_AGREE.id(), Failure.Level.EXACT, stepNo,
                    describeCall(call) + ": " + other.state().cfg().profile() + " " + d + " on " + cfg.profile());
        }
        if (call instanceof Call.Aliases || (call instanceof Call.Map m && m.count() == 0) || runsOut(actual)) {
            shadow = null;
            return null;
        }
        Vmalloc.Step other = Vmalloc.step(shadow, call);
        if (runsOut(other) || other.outcome() instanceof Outcome.Bug || other.outcome() instanceof Outcome.Rejected) {
            shadow = null;
            return null;
        }
        shadow = other.state();
        compared++;
        String d = compare(other, actual);
        if (d == null) {
            if (purgesLazy(actual) || purgesLazy(other)) {
                // __purge_vmap_area_lazy() gives the areas back to the free tree in another order: 6.1 merges
                // its coalesced purge list in address order, 6.12's purge_vmap_node() reverses it (list_add),
                // so the trees' shapes and with them later block placements may differ (find_vmap_lowest_match())
                shadow = null;
            }
            return null;
        }
        return new Failure(Property.PROFILES_AGREE.id(), Failure.Level.EXACT, stepNo, describeCall(call) + ": "
                + other.state().cfg().profile() + " " + d + " on " + cfg.profile());
    }

    /** A lazy purge ran in this call (any flush): areas went back to the free tree. */
    private static boolean purgesLazy(Vmalloc.Step s) {
        return s.effects().stream().anyMatch(e -> e instanceof Effect.Flush);
    }

    /** The call ran out of room: NULL, or a purge on the allocation failure path. */
    private static boolean runsOut(Vmalloc.Step s) {
        if (s.outcome() instanceof Outcome.Null) {
            return true;
        }
        for (Effect e : s.effects()) {
            if (e instanceof Effect.Warn
                    || (e instanceof Effect.Flush f && !f.by().equals("drain_vmap_area_work"))
                    || (e instanceof Effect.BlockRetired r && !r.by().equals("vb_free"))) {
                return true;
            }
        }
        return false;
    }

    /** Null when both steps look the same in a trace, else "does X, but Y". */
    static String compare(Vmalloc.Step expected, Vmalloc.Step actual) {
        String eo = outcome(expected);
        String ao = outcome(actual);
        if (!eo.equals(ao)) {
            return "returns " + eo + (expected.outcome() instanceof Outcome.Mapped ? where(expected) : "")
                    + ", but " + ao + (actual.outcome() instanceof Outcome.Mapped ? where(actual) : "");
        }
        String ef = flushes(expected);
        String af = flushes(actual);
        if (!ef.equals(af)) {
            return "does " + ef + ", but " + af;
        }
        return null;
    }

    static String outcome(Vmalloc.Step s) {
        Outcome o = s.outcome();
        if (o instanceof Outcome.Mapped m) {
            return Hex.format(m.addr());
        }
        if (o instanceof Outcome.Null) {
            return "NULL";
        }
        if (o instanceof Outcome.Bug b) {
            return "a crash (" + b.text() + ")";
        }
        if (o instanceof Outcome.Rejected r) {
            return "a rejection (" + r.rule() + ")";
        }
        return "normally";
    }

    /** " (page k of block B)" for a small mapping, from the state after the call. */
    static String where(Vmalloc.Step s) {
        long addr = ((Outcome.Mapped) s.outcome()).addr();
        KernelState st = s.state();
        long page = addr >>> st.cfg().pageShift();
        long base = page - Math.floorMod(page, (long) st.cfg().blockPages());
        VmapBlock vb = st.blocks().get(base);
        if (vb == null || !vb.live().containsKey((int) (page - base))) {
            return "";
        }
        return " (page " + (page - base) + " of block " + Hex.format(st.addr(base)) + ", free " + vb.free() + " after)";
    }

    /** The flushes of a step before and after it returned: "no flush" or "flushes [a, b) ...". */
    static String flushes(Vmalloc.Step s) {
        List<String> before = new ArrayList<>();
        List<String> after = new ArrayList<>();
        for (int i = 0; i < s.effects().size(); i++) {
            if (s.effects().get(i) instanceof Effect.Flush f) {
                (i < s.resultAt() ? before : after).add("[" + Hex.format(f.start()) + ", " + Hex.format(f.end()) + ")");
            }
        }
        if (before.isEmpty() && after.isEmpty()) {
            return "no flush";
        }
        return "flush " + String.join(" ", before) + (after.isEmpty() ? "" : (before.isEmpty() ? "" : " ")
                + "then after returning " + String.join(" ", after));
    }

    static String describeCall(Call c) {
        if (c instanceof Call.Map m) {
            return "vm_map_ram(" + m.count() + ") on CPU " + m.cpu();
        }
        if (c instanceof Call.Unmap u) {
            return "vm_unmap_ram(" + Hex.format(u.addr()) + ", " + u.count() + ") on CPU " + u.cpu();
        }
        return "vm_unmap_aliases() on CPU " + c.cpu();
    }
}
