// SPDX-License-Identifier: GPL-2.0-only
package vmapref.modelcheck;

import java.util.ArrayList;
import java.util.List;

/**
 * The interleaving of a violation as a table: one column per task (a thread playing a CPU), one
 * row per step, each step the kernel function and the lock or shared object it touched. Built
 * from the lines {@code vmapref.fastpath.Probe#STDOUT} prints ("@@|task|function|what"); the
 * setup's calls (task "main") are listed above the table.
 */
public final class Interleaving {
    private static final int WIDTH = 46;

    private final List<String[]> steps = new ArrayList<>();

    /** Adds the probe lines found in {@code text} (other lines are ignored). */
    public static Interleaving parse(String text) {
        Interleaving i = new Interleaving();
        for (String line : text.split("\\R")) {
            if (line.startsWith("@@|")) {
                String[] f = line.split("\\|", 4);
                if (f.length == 4) {
                    i.steps.add(new String[] {f[1], f[2], f[3]});
                }
            }
        }
        return i;
    }

    public boolean isEmpty() {
        return steps.isEmpty();
    }

    /** The table, or a line saying there is no step to show. */
    public String render() {
        if (steps.isEmpty()) {
            return "(no steps were recorded)\n";
        }
        List<String> tasks = new ArrayList<>();
        StringBuilder setup = new StringBuilder();
        for (String[] s : steps) {
            if (s[0].equals("main")) {
                if (s[1].startsWith("vm_")) {
                    setup.append("  ").append(s[1]).append(": ").append(s[2]).append('\n');
                }
            } else if (!tasks.contains(s[0])) {
                tasks.add(s[0]);
            }
        }
        StringBuilder out = new StringBuilder();
        if (setup.length() > 0) {
            out.append("setup, one call after another:\n").append(setup);
        }
        StringBuilder head = new StringBuilder(String.format("%4s", "#"));
        StringBuilder rule = new StringBuilder("----");
        for (String t : tasks) {
            head.append(" | ").append(pad(t));
            rule.append("-+-").append("-".repeat(WIDTH));
        }
        out.append(head).append('\n').append(rule).append('\n');
        int n = 0;
        for (String[] s : steps) {
            if (s[0].equals("main")) {
                continue;
            }
            ++n;
            List<String> lines = wrap(s[1] + ": " + s[2]);
            for (int l = 0; l < lines.size(); l++) { // long steps wrap onto more lines
                StringBuilder row = new StringBuilder(l == 0 ? String.format("%4d", n) : "    ");
                for (String t : tasks) {
                    row.append(" | ").append(pad(t.equals(s[0]) ? lines.get(l) : ""));
                }
                out.append(row.toString().stripTrailing()).append('\n');
            }
        }
        return out.toString();
    }

    /** {@code text} in lines of at most WIDTH characters, broken at spaces where it can be. */
    static List<String> wrap(String text) {
        List<String> lines = new ArrayList<>();
        String rest = text;
        while (rest.length() > WIDTH) {
            int cut = rest.lastIndexOf(' ', WIDTH);
            if (cut <= 0) {
                cut = WIDTH;
            }
            lines.add(rest.substring(0, cut));
            rest = rest.substring(cut).stripLeading();
        }
        lines.add(rest);
        return lines;
    }

    private static String pad(String s) {
        return s + " ".repeat(Math.max(0, WIDTH - s.length()));
    }
}
