// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck.jpf;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import vmapref.modelcheck.jpf.JpfResult.Statistics;
import vmapref.modelcheck.jpf.JpfResult.Verdict;

/**
 * Runs one {@code .jpf} configuration in a child JVM ({@code java -jar $JPF_HOME/build/RunJPF.jar
 * [+key=value ...] file.jpf}) and reads the verdict from its console output.
 *
 * <p>The child runs in the project root, so a configuration can name its classes relative to itself
 * ({@code classpath=${config_path}/../target/classes}). RunJPF.jar exits 0 whatever happens, so the
 * verdict comes from the output: {@link Verdict#PASSED} needs {@code no errors detected}, at least
 * one end state and no search constraint (depth limit, memory, budget) hit; an {@code error #N}
 * is a {@link Verdict#VIOLATION}; anything else, including a time-out, is {@link Verdict#FAILED}.
 *
 * <p>Unless the {@code .jpf} file sets them itself, the runner adds {@link #DEFAULTS}: program
 * output only for the violating path (so the interleaving block printed between
 * {@link #INTERLEAVING_START} and {@link #INTERLEAVING_END} is the violating path's), the error
 * trace, and one line per search-constraint hit instead of a thread dump. Extra {@code +key=value}
 * arguments given to {@link #run(Path, List)} come last and win over both.
 *
 * <p>Instances are immutable; {@code with*} methods return changed copies.
 */
public final class JpfRunner {
    /** A harness prints this line, then the interleaving that broke it, then {@link #INTERLEAVING_END}. */
    public static final String INTERLEAVING_START = "=== vmapref interleaving ===";
    /** Closes an interleaving block. */
    public static final String INTERLEAVING_END = "=== end interleaving ===";

    /** How much of a long output is kept: its first and last this many bytes. */
    static final int KEEP_HEAD = 8 << 20;
    static final int KEEP_TAIL = 8 << 20;

    /** Ten minutes. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);

    /**
     * Added as {@code +key=value} unless the {@code .jpf} file sets the key: only the error path's
     * output is printed (in an {@code output #1} section; all paths' output would otherwise be
     * printed as the search goes), the error report has the error, that output, the trace and a
     * thread snapshot, and a search-constraint hit prints one line rather than a snapshot.
     */
    public static final Map<String, String> DEFAULTS = defaults();

    private static Map<String, String> defaults() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("vm.tree_output", "false");
        m.put("report.console.property_violation", "error,output,trace,snapshot");
        m.put("report.console.constraint", "constraint");
        return Collections.unmodifiableMap(m);
    }

    private static final Pattern TOPIC = Pattern.compile("^={20,} (.*)$");
    private static final Pattern ELAPSED = Pattern.compile("^elapsed time:\\s+(\\d+):(\\d\\d):(\\d\\d)");
    private static final Pattern STATES = Pattern.compile(
            "^states:\\s+new=(\\d+),visited=(\\d+),backtracked=(\\d+),end=(\\d+)");
    private static final Pattern SEARCH = Pattern.compile("^search:\\s+maxDepth=(\\d+),constraints=(\\d+)");
    private static final Pattern MEMORY = Pattern.compile("^max memory:\\s+(\\d+)MB");
    /** A Java exception line as printed by printStackTrace, e.g. {@code java.lang.NullPointerException: ...}. */
    private static final Pattern EXCEPTION = Pattern.compile(
            "^(?:Exception in thread \"[^\"]*\" )?[\\w$]+(?:\\.[\\w$]+)+(?:Exception|Error)\\b.*");

    private final Path jpfHome;
    private final Path projectRoot;
    private final Duration timeout;
    private final List<String> jvmArgs;
    private final Map<String, String> defaults;

    /**
     * @param jpfHome a jpf-core build (see {@link JpfHome})
     * @param projectRoot the child's working directory; relative {@code .jpf} paths are resolved here
     */
    public JpfRunner(Path jpfHome, Path projectRoot) {
        this(jpfHome, projectRoot, DEFAULT_TIMEOUT, List.of(), DEFAULTS);
    }

    private JpfRunner(Path jpfHome, Path projectRoot, Duration timeout, List<String> jvmArgs,
            Map<String, String> defaults) {
        this.jpfHome = jpfHome.toAbsolutePath().normalize();
        this.projectRoot = projectRoot.toAbsolutePath().normalize();
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("time-out must be positive: " + timeout);
        }
        this.timeout = timeout;
        this.jvmArgs = List.copyOf(jvmArgs);
        this.defaults = Collections.unmodifiableMap(new LinkedHashMap<>(defaults));
    }

    /**
     * A runner on the jpf-core that {@link JpfHome#locate()} finds.
     *
     * @throws IllegalStateException with {@link JpfHome}'s message when there is none
     */
    public static JpfRunner locate(Path projectRoot) {
        return new JpfRunner(JpfHome.locate().require(), projectRoot);
    }

    /** The same runner with another time-out (the child is killed, with its children, when it runs out). */
    public JpfRunner withTimeout(Duration newTimeout) {
        return new JpfRunner(jpfHome, projectRoot, newTimeout, jvmArgs, defaults);
    }

    /** The same runner passing these options to the child JVM (e.g. {@code -Xmx2g}). */
    public JpfRunner withJvmArgs(List<String> newJvmArgs) {
        return new JpfRunner(jpfHome, projectRoot, timeout, newJvmArgs, defaults);
    }

    /** The same runner with other default {@code +key=value} settings (see {@link #DEFAULTS}). */
    public JpfRunner withDefaults(Map<String, String> newDefaults) {
        return new JpfRunner(jpfHome, projectRoot, timeout, jvmArgs, newDefaults);
    }

    public Path jpfHome() {
        return jpfHome;
    }

    public Path projectRoot() {
        return projectRoot;
    }

    public Duration timeout() {
        return timeout;
    }

    /** Runs {@code jpfFile} (relative to the project root unless absolute) with extra {@code +key=value} args. */
    public JpfResult run(Path jpfFile, String... extraArgs) {
        return run(jpfFile, List.of(extraArgs));
    }

    /** Runs {@code jpfFile} (relative to the project root unless absolute) with extra {@code +key=value} args. */
    public JpfResult run(Path jpfFile, List<String> extraArgs) {
        Path file = projectRoot.resolve(jpfFile).normalize();
        if (!Files.isRegularFile(file)) {
            return failed("no such .jpf file: " + file, -1, Duration.ZERO, "");
        }
        List<String> command = command(file, extraArgs);
        long start = System.nanoTime();
        Process process;
        try {
            process = new ProcessBuilder(command)
                    .directory(projectRoot.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            return failed("could not start " + String.join(" ", command) + ": " + e.getMessage(), -1,
                    Duration.ZERO, "");
        }
        try {
            process.getOutputStream().close();
        } catch (IOException e) {
            // nothing to close; the child reads no input
        }
        HeadTail sink = new HeadTail(KEEP_HEAD, KEEP_TAIL);
        Thread pump = new Thread(() -> copy(process.getInputStream(), sink), "jpf-output-" + file.getFileName());
        pump.setDaemon(true);
        pump.start();
        boolean finished;
        try {
            finished = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                kill(process);
            }
            pump.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            kill(process);
            Thread.currentThread().interrupt();
            return failed("interrupted while JPF ran", -1, Duration.ofNanos(System.nanoTime() - start), text(sink));
        }
        Duration wall = Duration.ofNanos(System.nanoTime() - start);
        String output = text(sink);
        if (!finished) {
            return failed("timed out after " + timeout.toSeconds() + " s (JPF was killed; the search was not finished)",
                    -1, wall, output);
        }
        return parse(output, process.exitValue(), wall);
    }

    /**
     * The child's command line: {@code java [jvm args] -jar RunJPF.jar [defaults not set in the file]
     * [extra args] file}.
     */
    public List<String> command(Path jpfFile, List<String> extraArgs) {
        Path file = projectRoot.resolve(jpfFile).normalize();
        for (String arg : extraArgs) {
            if (!arg.startsWith("+") || arg.indexOf('=') < 2) {
                throw new IllegalArgumentException("JPF arguments look like +key=value, not: " + arg);
            }
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-jar");
        cmd.add(jpfHome.resolve("build").resolve("RunJPF.jar").toString());
        Set<String> setInFile = keysSetIn(file);
        for (Map.Entry<String, String> e : defaults.entrySet()) {
            if (!setInFile.contains(e.getKey())) {
                cmd.add("+" + e.getKey() + "=" + e.getValue());
            }
        }
        cmd.addAll(extraArgs);
        cmd.add(file.toString());
        return cmd;
    }

    /** The keys a {@code .jpf} file sets ({@code key=...} or {@code key+=...}); empty if unreadable. */
    static Set<String> keysSetIn(Path jpfFile) {
        Set<String> keys = new HashSet<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(jpfFile);
        } catch (IOException | UncheckedIOException e) {
            return keys;
        }
        boolean continued = false;
        for (String raw : lines) {
            String line = raw.strip();
            boolean wasContinued = continued;
            continued = line.endsWith("\\");
            if (wasContinued || line.isEmpty() || line.startsWith("#") || line.startsWith("!")) {
                continue;
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                continue;
            }
            String key = line.substring(0, eq).strip();
            if (key.endsWith("+")) {
                key = key.substring(0, key.length() - 1).strip();
            }
            if (key.startsWith("+")) {
                key = key.substring(1).strip();
            }
            keys.add(key);
        }
        return keys;
    }

    // ------------------------------------------------------------------------------------------
    // parsing

    /** One {@code ====== topic} section of JPF's console output. */
    record Section(String topic, String body) {}

    /** Reads a verdict from JPF's console output (pure; public so it can be used on saved logs). */
    public static JpfResult parse(String output, int exitCode, Duration wallTime) {
        List<Section> sections = sections(output);
        Optional<Section> results = last(sections, "results");
        Optional<Statistics> stats = last(sections, "statistics").flatMap(s -> statistics(s.body()));
        List<String> constraints = constraints(sections);
        Optional<Section> error = first(sections, "error ");
        String errorText = error.map(s -> s.body().strip()).orElse("");
        String property = errorText.isEmpty() ? "" : errorText.lines().findFirst().orElse("").strip();
        String trace = first(sections, "trace ").map(s -> s.body().strip()).orElse("");
        String interleaving = interleaving(output, sections);
        List<String> errors = new ArrayList<>();
        if (results.isPresent()) {
            for (String line : results.get().body().split("\\R")) {
                if (line.startsWith("error #")) {
                    errors.add(line.strip());
                }
            }
        }

        Verdict verdict;
        String reason;
        if (exitCode != 0) {
            verdict = Verdict.FAILED;
            reason = "RunJPF exited with code " + exitCode + crashHint(output, " ");
        } else if (results.isEmpty()) {
            verdict = Verdict.FAILED;
            reason = "JPF printed no results section (it crashed or stopped)" + crashHint(output, ": ");
        } else if (!errors.isEmpty()) {
            verdict = Verdict.VIOLATION;
            reason = errors.get(0);
        } else if (!results.get().body().strip().equals("no errors detected")) {
            verdict = Verdict.FAILED;
            reason = "unrecognised results section: " + firstLine(results.get().body());
        } else if (stats.isEmpty()) {
            verdict = Verdict.FAILED;
            reason = "no errors detected, but JPF printed no statistics (cannot tell whether any path finished)";
        } else if (stats.get().constraintsHit() > 0 || !constraints.isEmpty()) {
            verdict = Verdict.FAILED;
            reason = "search incomplete: a search limit was hit (" + constraintSummary(constraints, stats.get())
                    + "); no errors detected on the explored part only";
        } else if (stats.get().endStates() == 0) {
            verdict = Verdict.FAILED;
            reason = "no errors detected but end=0: no path reached an end state (JPF ended every path early, "
                    + "e.g. at a construct it does not model such as a record's equals/hashCode)";
        } else {
            verdict = Verdict.PASSED;
            Statistics s = stats.get();
            reason = "no errors detected; " + s.newStates() + " new + " + s.visitedStates() + " visited states, "
                    + s.endStates() + " end states, max depth " + s.maxDepth();
        }
        return new JpfResult(verdict, reason, verdict == Verdict.VIOLATION ? property : "",
                verdict == Verdict.VIOLATION ? errorText : "", errors, interleaving, trace, constraints, stats,
                wallTime, exitCode, output);
    }

    static List<Section> sections(String output) {
        List<Section> sections = new ArrayList<>();
        String topic = "";
        StringBuilder body = new StringBuilder();
        for (String line : output.split("\\R", -1)) {
            Matcher m = TOPIC.matcher(line);
            if (m.matches()) {
                sections.add(new Section(topic, body.toString()));
                topic = m.group(1).strip();
                body.setLength(0);
            } else {
                body.append(line).append('\n');
            }
        }
        sections.add(new Section(topic, body.toString()));
        return sections;
    }

    private static Optional<Section> first(List<Section> sections, String topicPrefix) {
        for (Section s : sections) {
            if (s.topic().startsWith(topicPrefix)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    private static Optional<Section> last(List<Section> sections, String topic) {
        Optional<Section> found = Optional.empty();
        for (Section s : sections) {
            if (s.topic().equals(topic)) {
                found = Optional.of(s);
            }
        }
        return found;
    }

    static Optional<Statistics> statistics(String body) {
        Duration elapsed = null;
        long[] states = null;
        long[] search = null;
        long memory = -1;
        for (String line : body.split("\\R")) {
            Matcher m;
            if ((m = ELAPSED.matcher(line)).find()) {
                elapsed = Duration.ofHours(Long.parseLong(m.group(1)))
                        .plusMinutes(Long.parseLong(m.group(2)))
                        .plusSeconds(Long.parseLong(m.group(3)));
            } else if ((m = STATES.matcher(line)).find()) {
                states = new long[] {
                    Long.parseLong(m.group(1)), Long.parseLong(m.group(2)),
                    Long.parseLong(m.group(3)), Long.parseLong(m.group(4))
                };
            } else if ((m = SEARCH.matcher(line)).find()) {
                search = new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))};
            } else if ((m = MEMORY.matcher(line)).find()) {
                memory = Long.parseLong(m.group(1));
            }
        }
        if (states == null || search == null) {
            return Optional.empty();
        }
        return Optional.of(new Statistics(states[0], states[1], states[2], states[3], search[0], search[1],
                elapsed == null ? Duration.ZERO : elapsed, memory));
    }

    private static List<String> constraints(List<Section> sections) {
        Set<String> seen = new LinkedHashSet<>();
        for (Section s : sections) {
            if (s.topic().equals("search constraint")) {
                seen.add(firstLine(s.body()));
            }
        }
        return List.copyOf(seen);
    }

    private static String constraintSummary(List<String> constraints, Statistics stats) {
        String what = constraints.isEmpty() ? "see the output" : String.join("; ", constraints);
        return what + ", " + stats.constraintsHit() + " hit" + (stats.constraintsHit() == 1 ? "" : "s");
    }

    /**
     * The violating path's interleaving block: from the {@code output #N} section when JPF printed
     * one, else the last block printed before the first {@code error} section (program output
     * printed as the search goes), else the last block anywhere.
     */
    static String interleaving(String output, List<Section> sections) {
        Optional<Section> pathOutput = first(sections, "output ");
        if (pathOutput.isPresent()) {
            String block = lastBlock(pathOutput.get().body());
            if (!block.isEmpty()) {
                return block;
            }
        }
        StringBuilder beforeError = new StringBuilder();
        for (Section s : sections) {
            if (s.topic().startsWith("error ")) {
                break;
            }
            beforeError.append(s.body());
        }
        String block = lastBlock(beforeError.toString());
        return block.isEmpty() ? lastBlock(output) : block;
    }

    /** The lines between the last start marker and the end marker after it (to the end if unclosed). */
    static String lastBlock(String text) {
        List<String> lines = List.of(text.split("\\R", -1));
        int start = -1;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).strip().equals(INTERLEAVING_START)) {
                start = i;
            }
        }
        if (start < 0) {
            return "";
        }
        List<String> block = new ArrayList<>();
        for (int i = start + 1; i < lines.size() && !lines.get(i).strip().equals(INTERLEAVING_END); i++) {
            block.add(lines.get(i));
        }
        while (!block.isEmpty() && block.get(block.size() - 1).isBlank()) {
            block.remove(block.size() - 1);
        }
        return String.join("\n", block);
    }

    /** The first line that looks like a JPF error or an exception, prefixed, or "". */
    private static String crashHint(String output, String prefix) {
        String hint = null;
        for (String line : output.split("\\R")) {
            String s = line.strip();
            if (s.startsWith("[SEVERE]") || s.startsWith("[ERROR]") || s.startsWith("Error:")
                    || EXCEPTION.matcher(s).matches()) {
                hint = s;
                break;
            }
        }
        if (hint == null) {
            return "";
        }
        return prefix + (hint.length() > 300 ? hint.substring(0, 300) + "..." : hint);
    }

    private static String firstLine(String body) {
        for (String line : body.split("\\R")) {
            if (!line.isBlank()) {
                return line.strip();
            }
        }
        return "";
    }

    private static JpfResult failed(String reason, int exitCode, Duration wall, String output) {
        return new JpfResult(Verdict.FAILED, reason, "", "", List.of(), "", "", List.of(), Optional.empty(), wall,
                exitCode, output);
    }

    private static void copy(InputStream in, HeadTail sink) {
        byte[] buf = new byte[8192];
        try (in) {
            int n;
            while ((n = in.read(buf)) >= 0) {
                sink.write(buf, n);
            }
        } catch (IOException e) {
            // the child was killed or closed its output; keep what arrived
        }
    }

    private static String text(HeadTail sink) {
        return sink.text();
    }

    /**
     * Keeps the first {@code head} and the last {@code tail} bytes of the child's output, so that a
     * chatty run (say, millions of depth-limit lines) cannot exhaust the host heap; the verdict
     * sections come at the end and stay.
     */
    static final class HeadTail {
        private final ByteArrayOutputStream head = new ByteArrayOutputStream();
        private final int headMax;
        private final byte[] ring;
        private long ringWritten;

        HeadTail(int headMax, int tailMax) {
            this.headMax = headMax;
            this.ring = new byte[tailMax];
        }

        synchronized void write(byte[] buf, int len) {
            int off = 0;
            if (head.size() < headMax) {
                int n = Math.min(len, headMax - head.size());
                head.write(buf, 0, n);
                off = n;
            }
            for (int i = off; i < len; i++) {
                ring[(int) (ringWritten++ % ring.length)] = buf[i];
            }
        }

        synchronized String text() {
            Charset cs = Charset.defaultCharset();
            String start = head.toString(cs);
            if (ringWritten == 0) {
                return start;
            }
            int kept = (int) Math.min(ringWritten, ring.length);
            byte[] tail = new byte[kept];
            int from = (int) ((ringWritten - kept) % ring.length);
            for (int i = 0; i < kept; i++) {
                tail[i] = ring[(from + i) % ring.length];
            }
            long dropped = ringWritten - kept;
            String gap = dropped == 0 ? "" : "\n[... " + dropped + " bytes of JPF output dropped ...]\n";
            return start + gap + new String(tail, cs);
        }
    }

    private static void kill(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "JpfRunner[home=" + jpfHome + ", root=" + projectRoot + ", timeout=" + timeout + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof JpfRunner r && jpfHome.equals(r.jpfHome) && projectRoot.equals(r.projectRoot)
                && timeout.equals(r.timeout) && jvmArgs.equals(r.jvmArgs) && defaults.equals(r.defaults);
    }

    @Override
    public int hashCode() {
        return Objects.hash(jpfHome, projectRoot, timeout, jvmArgs, defaults);
    }
}
