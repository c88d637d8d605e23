"""Check-ins judged per second on one core, validation included (issue: foundation).

Feeds the morning's sample check-ins (loads and refusals of every kind) as raw bytes
through the same path ``hazmat check`` and the stream processors use: JSON decode,
strict pydantic validation, all rules, verdict model. The baseline in the same run is
validation alone, so the figure shows what the rules themselves cost. Target: ≥ 20,000/s.

    python benchmarks/bench_checks.py [--n 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from hazmat.checking import judge
from hazmat.cityconfig import load_city
from hazmat.events import CheckIn, decode

TARGET_PER_S = 20_000
SAMPLES = Path(__file__).resolve().parent.parent / "config" / "cities" / "datong" / "samples" / "morning-checkins.jsonl"


def rate(fn: Callable[[str], object], inputs: list[str], n: int, repeat: int) -> tuple[float, float]:
    """Median and best throughput (items/s) of ``fn`` over ``n`` inputs, ``repeat`` runs."""
    rates = []
    for _ in range(repeat):
        start = time.perf_counter()
        for i in range(n):
            fn(inputs[i % len(inputs)])
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates), max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, as the issue asks
    settings = load_city("datong").rule_settings()
    inputs = [line for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    verdicts = {judge(1, raw, settings).verdict.verdict for raw in inputs}  # type: ignore[union-attr]
    assert verdicts == {"load", "refuse"}, verdicts

    clean = [raw for raw in inputs if not judge(1, raw, settings).verdict.findings]  # type: ignore[union-attr]
    refused = sum(judge(1, raw, settings).verdict.verdict == "refuse" for raw in inputs)  # type: ignore[union-attr]

    def judged(raw: str) -> object:
        return judge(1, raw, settings)

    rows = [
        ("baseline: validation only (mix)", *rate(lambda raw: decode(CheckIn, raw), inputs, args.n, args.repeat)),
        ("full check: morning mix", *rate(judged, inputs, args.n, args.repeat)),
        ("full check: clean check-ins only", *rate(judged, clean, args.n, args.repeat)),
    ]
    print(
        f"check-ins: {len(inputs)} distinct samples ({refused} refused, {len(clean)} clean), "
        f"{args.n} per run, {args.repeat} runs, 1 core"
    )
    print(f"{'':36}{'median/s':>12}{'best/s':>12}{'µs each':>10}")
    for name, median, best in rows:
        print(f"{name:36}{median:>12,.0f}{best:>12,.0f}{1e6 / median:>10.1f}")
    base, mix, ok = rows[0][1], rows[1][1], rows[2][1]
    print(f"rules + verdict cost {1e6 / mix - 1e6 / base:.1f} µs per check-in on the mix")
    for name, value in (("morning mix", mix), ("clean only", ok)):
        verdict = "meets" if value >= TARGET_PER_S else "misses"
        print(f"target ≥ {TARGET_PER_S:,}/s on the {name}: {verdict} ({value / TARGET_PER_S:.2f}× target)")


if __name__ == "__main__":
    main()
