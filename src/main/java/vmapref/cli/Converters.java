// SPDX-License-Identifier: GPL-2.0-only
package vmapref.cli;

import java.util.function.Function;
import picocli.CommandLine;
import vmapref.kernel.Mutant;
import vmapref.kernel.Profile;
import vmapref.replay.Replayer;

/** The option converters: each parses with the model's own parse() and turns its message into picocli's. */
final class Converters {
    private Converters() {
    }

    static <T> T parse(Function<String, T> parser, String value) {
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }

    /** --profile: a known profile, or a message listing them. */
    static final class ProfileConverter implements CommandLine.ITypeConverter<Profile> {
        @Override
        public Profile convert(String value) {
            return parse(Profile::parse, value);
        }
    }

    /** --mutant: a known mutant, or a message listing them. */
    static final class MutantConverter implements CommandLine.ITypeConverter<Mutant> {
        @Override
        public Mutant convert(String value) {
            return parse(Mutant::parse, value);
        }
    }

    /** --level: spec, structure or exact. */
    static final class LevelConverter implements CommandLine.ITypeConverter<Replayer.Level> {
        @Override
        public Replayer.Level convert(String value) {
            return parse(Replayer.Level::parse, value);
        }
    }
}
