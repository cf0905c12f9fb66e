"""Cost per value of normalising identifier and channel values (SPEC 5.3), in this process.

Every identifier of every request and import line is normalised, so the look-alike step
(`characters.canonical`: NFKC, invisible characters stripped) must cost next to nothing on the
plain ASCII values clients nearly always send. This times, per value:

- `canonical` alone on ASCII text (the fast path) and on text that needs the full path;
- `identifier_value` for an externalId, an email and a mobile, ASCII and not, each value distinct
  so the email and mobile caches never answer;
- the step it adds, beside what normalising cost before it (trimming, for an externalId).

    python -m bench.normalise            # 200,000 values per case, best of 5 rounds
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence

from patron.customers import normalise
from patron.customers.characters import canonical
from patron.customers.normalise import identifier_value

Case = tuple[str, Callable[[str], object], Callable[[int], str]]


def _same(text: str) -> str:
    return text


CASES: list[Case] = [
    ("a call that returns its argument (the floor)", _same, lambda i: f"EXT{i:010d}"),
    ("str.strip", str.strip, lambda i: f"EXT{i:010d}"),
    ("canonical, ASCII externalId", canonical, lambda i: f"EXT{i:010d}"),
    ("canonical, ASCII email", canonical, lambda i: f"customer{i}@example.com"),
    ("canonical, a zero-width space inside", canonical, lambda i: f"EXT\u200b{i:010d}"),
    ("canonical, NFD accent", canonical, lambda i: f"cafe\u0301{i:010d}"),
    (
        "canonical, fullwidth digits",
        canonical,
        lambda i: "".join(chr(0xFF10 + int(d)) for d in f"{i:010d}"),
    ),
    (
        "identifier_value, ASCII externalId",
        lambda v: identifier_value("externalId", v, "IN"),
        lambda i: f"EXT{i:010d}",
    ),
    (
        "identifier_value, externalId with a zero-width space",
        lambda v: identifier_value("externalId", v, "IN"),
        lambda i: f"EXT\u200b{i:010d}",
    ),
    (
        "identifier_value, ASCII email (uncached)",
        lambda v: identifier_value("email", v, "IN"),
        lambda i: f"customer{i}@example.com",
    ),
    (
        "identifier_value, Unicode-domain email (uncached)",
        lambda v: identifier_value("email", v, "IN"),
        lambda i: f"customer{i}@b\u00fccher.de",
    ),
    (
        "identifier_value, ASCII mobile (uncached)",
        lambda v: identifier_value("mobile", v, "IN"),
        lambda i: f"9{i % 1_000_000_000:09d}",
    ),
]


def time_case(fn: Callable[[str], object], values: Sequence[str]) -> float:
    """Nanoseconds per value of `fn` over `values` (one pass)."""
    start = time.perf_counter_ns()
    for value in values:
        fn(value)
    return (time.perf_counter_ns() - start) / len(values)


def _best(fn: Callable[[str], object], make: Callable[[int], str], rounds: int, n: int) -> float:
    best = float("inf")
    for r in range(rounds):
        # New values each round, so that no cache keyed by the value can answer.
        values = [make(r * n + i) for i in range(n)]
        best = min(best, time_case(fn, values))
    return best


def main() -> None:
    """Print the cost per value of each case: the best of several rounds over distinct values."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=200_000, help="distinct values per case")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per case (best is kept)")
    parser.add_argument("--only", default="", help="run the cases whose name holds this text")
    args = parser.parse_args()
    print(f"Best of {args.rounds} rounds of {args.values:,} distinct values per case.\n")
    print("| case | ns per value | without the canonical step |\n| --- | ---: | ---: |")
    for name, fn, make in (c for c in CASES if args.only in c[0]):
        with_step = _best(fn, make, args.rounds, args.values)
        without = ""
        if name.startswith("identifier_value"):
            # The same calls with the step taken out: what it adds, measured side by side.
            setattr(normalise, "canonical", _same)  # noqa: B010 (not an exported name)
            try:
                without = f"{_best(fn, make, args.rounds, args.values):,.0f}"
            finally:
                setattr(normalise, "canonical", canonical)  # noqa: B010
        print(f"| {name} | {with_step:,.0f} | {without} |")


if __name__ == "__main__":
    main()
