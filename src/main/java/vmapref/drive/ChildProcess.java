// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An untrusted child process spoken to one line at a time (docs/driver-protocol.md). Whatever the
 * child does it is contained: each answer has a time-out (a watchdog ends a child that stalls while an
 * answer is awaited), a line has a length bound, what it writes beyond the answers expected is an
 * error, its standard error is counted but never kept beyond a bound, and {@link #close} ends the
 * child's whole process tree. Answers are read by the calling thread itself: no hand-over between
 * threads on the way, which is most of the cost of a call to a fast child.
 */
final class ChildProcess implements AutoCloseable {
    /** The longest line a child may write. */
    static final int MAX_LINE = 64 * 1024;
    /** The most requests sent ahead of their answers (a pipelined program). */
    static final int WINDOW = 32;
    /** Standard error kept for messages (the rest is counted and dropped). */
    static final int KEEP_STDERR = 4 * 1024;

    /** The child broke the protocol, died or stalled: the message says how. */
    static final class ChildFailure extends RuntimeException {
        ChildFailure(String message) {
            super(message, null, false, false);
        }
    }

    private final Process process;
    private final OutputStream in;
    private final InputStream out;
    private final byte[] buf = new byte[8192];
    private int pos;
    private int lim;
    /** The child's standard error, read (never blocking) after each answer: a child that fills it stalls, and times out. */
    private final InputStream err;
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private long stderrBytes;
    private final long timeoutMs;
    /** System.nanoTime() by which the answer being read must be complete; 0 while none is awaited. */
    private volatile long deadline;
    private volatile boolean timedOut;
    private volatile boolean closed;
    /** Set once the child failed: every later request fails the same way. */
    private ChildFailure failed;

    private ChildProcess(Process process, long timeoutMs) {
        this.process = process;
        this.in = process.getOutputStream();
        this.out = process.getInputStream();
        this.err = process.getErrorStream();
        this.timeoutMs = timeoutMs;
        Thread watchdog = new Thread(this::watch, "vmapref-child-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    /** Starts {@code command}; an IOException if it cannot be started at all. */
    static ChildProcess start(List<String> command, long timeoutMs) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectInput(ProcessBuilder.Redirect.PIPE);
        return new ChildProcess(pb.start(), timeoutMs);
    }

    /** Sends one line and waits for the one line that answers it. */
    String ask(String line) {
        return ask(line, timeoutMs);
    }

    /** As {@link #ask(String)}, with its own time-out (the handshake waits for the child to start). */
    String ask(String line, long waitMs) {
        send(line);
        return answer(waitMs, 0);
    }

    /** Sends one line when no answer is due: anything the child wrote meanwhile breaks the protocol. */
    void send(String line) {
        if (failed != null) {
            throw failed;
        }
        if (unasked()) {
            throw failure("protocol: the child wrote a line nobody asked for");
        }
        write(line);
        flush();
    }

    /** Queues one request behind others whose answers are still to come; {@link #flush} sends them. */
    void write(String line) {
        try {
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw failure("child-exited: the child closed its input (" + exitStatus() + ")");
        }
    }

    void flush() {
        try {
            in.flush();
        } catch (IOException e) {
            throw failure("child-exited: the child closed its input (" + exitStatus() + ")");
        }
    }

    /** The answer to the oldest request sent, when {@code pending} more requests wait for theirs. */
    String answer(int pending) {
        return answer(timeoutMs, pending);
    }

    private String answer(long waitMs, int pending) {
        if (failed != null) {
            throw failed;
        }
        String line = readLine(waitMs);
        if (pending == 0 && unasked()) {
            throw failure("protocol: the child wrote more than one line for one request");
        }
        return line;
    }

    /** Whether the child has written something no request is waiting for (when none is). */
    private boolean unasked() {
        try {
            return pos < lim || out.available() > 0;
        } catch (IOException e) {
            return false; // the child is gone: the next read says so
        }
    }

    /** One line of the child's output, within {@code waitMs}. */
    private String readLine(long waitMs) {
        ByteArrayOutputStream line = null;
        deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMs);
        try {
            while (true) {
                if (pos == lim) {
                    int n = out.read(buf, 0, buf.length);
                    if (n < 0) {
                        throw failure(timedOut ? "child-timeout: no answer within " + waitMs + " ms"
                                : "child-exited: the child ended (" + exitStatus() + ")");
                    }
                    pos = 0;
                    lim = n;
                }
                int nl = pos;
                while (nl < lim && buf[nl] != '\n') {
                    nl++;
                }
                int have = line == null ? 0 : line.size();
                if (have + (nl - pos) > MAX_LINE) {
                    throw failure("protocol: a line longer than " + MAX_LINE + " bytes");
                }
                if (nl < lim) {
                    String s;
                    if (line == null) {
                        s = new String(buf, pos, nl - pos, StandardCharsets.UTF_8);
                    } else {
                        line.write(buf, pos, nl - pos);
                        s = line.toString(StandardCharsets.UTF_8);
                    }
                    pos = nl + 1;
                    return s;
                }
                if (line == null) {
                    line = new ByteArrayOutputStream();
                }
                line.write(buf, pos, lim - pos);
                pos = lim;
            }
        } catch (IOException e) {
            throw failure(timedOut ? "child-timeout: no answer within " + waitMs + " ms" : "child-exited: its output broke off");
        } finally {
            deadline = 0;
        }
    }

    /** The watchdog: ends a child that has not answered by the deadline (the blocked read then sees the end). */
    private void watch() {
        long tick = Math.max(1, Math.min(50, timeoutMs / 10));
        while (!closed) {
            long d = deadline;
            if (d != 0 && System.nanoTime() - d > 0) {
                timedOut = true;
                end();
                return;
            }
            try {
                Thread.sleep(tick);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private ChildFailure failure(String message) {
        if (failed == null) {
            failed = new ChildFailure(message);
        }
        return failed;
    }

    /** Takes what the child has written to stderr so far (a child writes it before the answer that follows). */
    private void readStderr() {
        byte[] b = new byte[8192];
        try {
            int n;
            while (err.available() > 0 && (n = err.read(b, 0, Math.min(b.length, err.available()))) > 0) {
                synchronized (stderr) {
                    stderrBytes += n;
                    int keep = Math.min(n, KEEP_STDERR - stderr.size());
                    if (keep > 0) {
                        stderr.write(b, 0, keep);
                    }
                }
            }
        } catch (IOException e) {
            // the child is gone
        }
    }

    /** How many bytes the child wrote to standard error, and the first of them. */
    String stderrSummary() {
        readStderr();
        synchronized (stderr) {
            return stderrBytes == 0 ? "" : stderrBytes + " bytes on stderr, starting: "
                    + stderr.toString(StandardCharsets.UTF_8).strip().replaceAll("\\s+", " ");
        }
    }

    long stderrBytes() {
        readStderr();
        synchronized (stderr) {
            return stderrBytes;
        }
    }

    private String exitStatus() {
        try {
            if (process.waitFor(200, TimeUnit.MILLISECONDS)) {
                return "exit code " + process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return "still running";
    }

    private void end() {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** Ends the child and everything it started. */
    @Override
    public void close() {
        closed = true;
        try {
            in.close();
        } catch (IOException e) {
            // already gone
        }
        end();
        try {
            process.waitFor(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
