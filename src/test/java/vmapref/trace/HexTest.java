// SPDX-License-Identifier: GPL-2.0-only
package vmapref.trace;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HexTest {
    @Test
    void formatsUnsignedLowercaseUnpadded() {
        assertThat(Hex.format(0)).isEqualTo("0x0");
        assertThat(Hex.format(0x1000)).isEqualTo("0x1000");
        assertThat(Hex.format(0xffffc90000000000L)).isEqualTo("0xffffc90000000000");
        assertThat(Hex.format(-1)).isEqualTo("0xffffffffffffffff");
    }

    @Test
    void parsesUnsigned64Bit() {
        assertThat(Hex.parse("0xffffc90000000000")).isEqualTo(0xffffc90000000000L).isNegative();
        assertThat(Hex.parse("0xFFFFE8FFFFFFFFFF")).isEqualTo(0xffffe8ffffffffffL);
        assertThat(Hex.parse("0x0")).isZero();
        assertThat(Hex.parse("0xffffffffffffffff")).isEqualTo(-1L);
        assertThat(Hex.parse("0x0000000000001000")).isEqualTo(0x1000);
    }

    @Test
    void roundTrips() {
        for (long v : new long[] {0, 1, 0xfff, 0x7fffffffffffffffL, Long.MIN_VALUE, 0xffffc90000703000L, -1}) {
            assertThat(Hex.parse(Hex.format(v))).isEqualTo(v);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0x", "12ab", "0X12ab", "x12", "0x12g", "0x-1", "0x+1", " 0x1", "0x1 ",
            "0x10000000000000000", "0xffffffffffffffff0", "0x１"})
    void rejectsEverythingElse(String s) {
        assertThatThrownBy(() -> Hex.parse(s)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"" + s + "\"").hasMessageContaining("0x followed by 1 to 16 hex digits");
    }

    @Test
    void rejectsNull() {
        assertThatThrownBy(() -> Hex.parse(null)).isInstanceOf(IllegalArgumentException.class);
    }
}
