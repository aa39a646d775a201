// SPDX-License-Identifier: GPL-2.0-only
package vmapref.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import vmapref.replay.Replayer;

/**
 * {@code replay --level spec} of a trace beside a plain Jackson streaming parse of the same file
 * (every line's tokens, no objects), each run several times in turns after a warm-up; prints the
 * median of each and their ratio.
 *
 * <pre>{@code
 * mvn -B -Pbench -DskipTests package
 * java -jar target/vmapref.jar explore --steps 1000000 --trace big.jsonl
 * java -cp target/vmapref.jar vmapref.bench.ReplayVsJackson big.jsonl [rounds]
 * }</pre>
 */
public final class ReplayVsJackson {
    private ReplayVsJackson() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: ReplayVsJackson TRACE [rounds]");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        JsonFactory factory = new JsonFactory();
        long tokens = 0;
        String verdict = null;
        for (int i = 0; i < 2; i++) { // warm-up
            tokens = jackson(factory, file);
            verdict = Replayer.replay(file, Replayer.Level.SPEC).line();
        }
        jacksonWholeFile(factory, file);
        long[] parse = new long[rounds];
        long[] whole = new long[rounds];
        long[] replay = new long[rounds];
        for (int i = 0; i < rounds; i++) {
            long t0 = System.nanoTime();
            jackson(factory, file);
            long t1 = System.nanoTime();
            Replayer.replay(file, Replayer.Level.SPEC);
            long t2 = System.nanoTime();
            jacksonWholeFile(factory, file);
            long t3 = System.nanoTime();
            parse[i] = t1 - t0;
            replay[i] = t2 - t1;
            whole[i] = t3 - t2;
        }
        double p = median(parse) / 1e9;
        double r = median(replay) / 1e9;
        System.out.println(verdict);
        System.out.printf("jackson streaming parse, line by line: %.3f s (%d tokens)%n", p, tokens);
        System.out.printf("replay --level spec:                   %.3f s%n", r);
        System.out.printf("ratio replay/parse:                    %.2f (median of %d rounds)%n", r / p, rounds);
        System.out.printf("(one parser over the whole file, no lines: %.3f s)%n", median(whole) / 1e9);
    }

    /** Every line read and parsed on its own, as the replay does: its tokens, nothing built. */
    static long jackson(JsonFactory factory, Path file) throws IOException {
        long n = 0;
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String line; (line = in.readLine()) != null; ) {
                try (JsonParser p = factory.createParser(line)) {
                    while (p.nextToken() != null) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    /** The whole file through one parser (no lines): for comparison. */
    static long jacksonWholeFile(JsonFactory factory, Path file) throws IOException {
        long n = 0;
        try (InputStream in = Files.newInputStream(file); JsonParser p = factory.createParser(in)) {
            while (p.nextToken() != null) {
                n++;
            }
        }
        return n;
    }

    static double median(long[] xs) {
        long[] s = xs.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
    }
}
