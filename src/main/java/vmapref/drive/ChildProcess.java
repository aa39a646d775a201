// SPDX-License-Identifier: GPL-2.0-only
package vmapref.drive;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An untrusted child process spoken to one line at a time (docs/driver-protocol.md). Whatever the
 * child does it is contained: each answer has a time-out, a line has a length bound, what it writes
 * beyond the one answer expected is an error, its standard error is drained and counted but never
 * kept beyond a bound, and {@link #close} ends the child's whole process tree.
 */
final class ChildProcess implements AutoCloseable {
    /** The longest line a child may write. */
    static final int MAX_LINE = 64 * 1024;
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
    private final BlockingQueue<Object> lines = new ArrayBlockingQueue<>(4);
    /** The child's standard error, read (never blocking) after each answer: a child that fills it stalls, and times out. */
    private final InputStream err;
    private final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
    private long stderrBytes;
    private final long timeoutMs;

    private ChildProcess(Process process, long timeoutMs) {
        this.process = process;
        this.in = process.getOutputStream();
        this.timeoutMs = timeoutMs;
        Thread out = new Thread(() -> readLines(process.getInputStream()), "vmapref-child-stdout");
        out.setDaemon(true);
        out.start();
        this.err = process.getErrorStream();
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
        return answer(waitMs);
    }

    /** Sends one line, expecting no answer. */
    void send(String line) {
        Object early = lines.peek();
        if (early instanceof ChildFailure f) {
            throw f;
        }
        if (early != null) {
            throw new ChildFailure("protocol: the child wrote a line nobody asked for: " + early);
        }
        try {
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        } catch (IOException e) {
            throw new ChildFailure("child-exited: the child closed its input (" + exitStatus() + ")");
        }
    }

    private String answer(long waitMs) {
        Object got;
        try {
            got = lines.poll(waitMs, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ChildFailure("interrupted while waiting for the child");
        }
        if (got == null) {
            throw new ChildFailure("child-timeout: no answer within " + waitMs + " ms");
        }
        if (got instanceof ChildFailure f) {
            throw f;
        }
        if (!lines.isEmpty() && lines.peek() instanceof String) {
            throw new ChildFailure("protocol: the child wrote more than one line for one request");
        }
        return (String) got;
    }

    /** Reads the child's lines; a line over the bound or the end of the stream ends reading. */
    private void readLines(InputStream s) {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try {
            int b;
            while ((b = s.read()) >= 0) {
                if (b == '\n') {
                    if (!lines.offer(line.toString(StandardCharsets.UTF_8), timeoutMs, TimeUnit.MILLISECONDS)) {
                        lines.clear();
                        lines.offer(new ChildFailure("protocol: the child writes lines nobody asked for"));
                        return;
                    }
                    line.reset();
                } else if (line.size() >= MAX_LINE) {
                    lines.clear();
                    lines.offer(new ChildFailure("protocol: a line longer than " + MAX_LINE + " bytes"));
                    return;
                } else {
                    line.write(b);
                }
            }
            lines.offer(new ChildFailure("child-exited: the child ended (" + exitStatus() + ")"));
        } catch (IOException | InterruptedException e) {
            lines.offer(new ChildFailure("child-exited: its output broke off"));
        }
    }

    /** Takes what the child has written to stderr so far (a child writes it before the answer that follows). */
    private void readStderr() {
        byte[] buf = new byte[8192];
        try {
            int n;
            while (err.available() > 0 && (n = err.read(buf, 0, Math.min(buf.length, err.available()))) > 0) {
                synchronized (stderr) {
                    stderrBytes += n;
                    int keep = Math.min(n, KEEP_STDERR - stderr.size());
                    if (keep > 0) {
                        stderr.write(buf, 0, keep);
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

    /** Ends the child and everything it started. */
    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException e) {
            // already gone
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        try {
            process.waitFor(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
