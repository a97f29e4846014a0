#!/usr/bin/env python3
"""tests/fixtures/alibi_slopes.txt: ALiBi's head slopes for 1 to 16 heads.

get_slopes below is Press et al.'s reference function (the ALiBi repository's
models/transformer.py, 2022), transcribed as published: the slopes of the
largest power of two below H, then every other slope of twice that many.
Each line: H, then its H slopes (repr, exact).
"""
import math
import pathlib


def get_slopes(n):
    def get_slopes_power_of_2(n):
        start = 2 ** (-2 ** -(math.log2(n) - 3))
        ratio = start
        return [start * ratio ** i for i in range(n)]

    if math.log2(n).is_integer():
        return get_slopes_power_of_2(n)
    closest_power_of_2 = 2 ** math.floor(math.log2(n))
    return (get_slopes_power_of_2(closest_power_of_2)
            + get_slopes(2 * closest_power_of_2)[0::2][:n - closest_power_of_2])


out = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "alibi_slopes.txt"
out.write_text("".join(f"{h} " + " ".join(repr(s) for s in get_slopes(h)) + "\n" for h in range(1, 17)))
