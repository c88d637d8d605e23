"""``hazmat check`` on a big JSON Lines file, archive on (issue #14, part 4).

Generates a refusal-heavy JSON Lines file from the Datong morning samples (each line a
sample with a unique event id; 9 in 10 refused), then, in the same run and in turns:

* baseline: in-process judging, a ``judge()`` loop over the file's lines already in memory
  (no reading, no output, no archive): what the command could at best approach;
* the command: ``python -m hazmat check FILE --json`` as a subprocess, archive on (a fresh
  SQLite file each run), stdout to /dev/null; wall time from start to exit, start-up
  included (reported apart too).

Then its peak resident memory (``ru_maxrss`` of that one child, from ``os.wait4``) on the
small file and on a larger one (``--big-mb``, 200 MB by default): flat memory is the proof of
streaming, and what lets a 1 GB figure be extrapolated; ``--big`` runs the 1 GB case itself.
Target: ≥ 10,000 check-ins/s through the command; resident memory under 300 MB on 1 GB.

    python benchmarks/bench_check_cli.py [--n 100000] [--repeat 3] [--big-mb 200] [--big]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hazmat.checking import judge  # noqa: E402
from hazmat.cityconfig import load_city  # noqa: E402

TARGET_PER_S = 10_000
TARGET_RSS_MB = 300
REFUSED_SHARE = 0.9
SAMPLES = REPO / "config" / "cities" / "datong" / "samples" / "morning-checkins.jsonl"


def templates() -> tuple[list[str], list[str]]:
    """The samples as one-line templates with ``{id}`` for the event id: (refused, loaded)."""
    settings = load_city("datong").rule_settings()
    refused, loaded = [], []
    for raw in SAMPLES.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        data = json.loads(raw)
        verdict = judge(1, raw, settings).verdict
        assert verdict is not None, data["event_id"]
        data["event_id"] = "EVENT_ID"
        line = json.dumps(data, ensure_ascii=False).replace('"EVENT_ID"', '"{id}"')
        (refused if verdict.verdict == "refuse" else loaded).append(line)
    if not (refused and loaded):
        raise SystemExit(f"{SAMPLES} no longer has both refused and loaded samples")
    return refused, loaded


def generate(path: Path, *, lines: int = 0, megabytes: int = 0, tag: str = "b") -> int:
    """Write a refusal-heavy JSON Lines file of ``lines`` lines (or about ``megabytes``); return its lines."""
    refused, loaded = templates()
    every = round(1 / (1 - REFUSED_SHARE))  # one load in ``every`` lines
    limit = megabytes * 1_000_000
    written = size = 0
    with path.open("w", encoding="utf-8") as out:
        while (lines and written < lines) or (limit and size < limit):
            chunk = []
            for i in range(written, written + 1000):
                pool = loaded if i % every == every - 1 else refused
                chunk.append(pool[i % len(pool)].replace("{id}", f"{tag}-{i:09d}") + "\n")
            if lines:
                chunk = chunk[: lines - written]
            text = "".join(chunk)
            out.write(text)
            written += len(chunk)
            size += len(text.encode("utf-8"))
    return written


def in_process(raws: list[str]) -> float:
    """Check-ins per second of the ``judge()`` loop alone."""
    settings = load_city("datong").rule_settings()
    start = time.perf_counter()
    for n, raw in enumerate(raws, start=1):
        judge(n, raw, settings)
    return len(raws) / (time.perf_counter() - start)


#: runs the command and reports its wall time and memory, from a small process of its own
#: (a child's ``ru_maxrss`` counts the memory of the process that forked it): the largest
#: single process (``ru_maxrss``), and the command and its archive writer together, sampled
_LAUNCH = """
import resource, subprocess, sys, time

def rss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            children = f.read().split()
    except (OSError, StopIteration):
        return 0
    return kib + sum(rss(int(child)) for child in children)

start = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
together = 0
while True:
    together = max(together, rss(proc.pid))
    try:
        code = proc.wait(timeout=0.05)
        break
    except subprocess.TimeoutExpired:
        pass
print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, together, code)
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    largest_mb: float  # the largest single process
    together_mb: float  # the command and its writer process, sampled every 50 ms
    rows: int  # check-ins in the archive afterwards
    code: int


def command(path: Path, archive: Path, *extra: str) -> Run:
    """Run ``hazmat check FILE --json`` with a fresh SQLite archive at ``archive``, stdout to /dev/null."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{archive}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "HAZMAT_ARCHIVE": str(archive)}
    argv = [sys.executable, "-m", "hazmat", "check", str(path), "--json", *extra]
    report = subprocess.run([sys.executable, "-c", _LAUNCH, *argv], env=env, capture_output=True, text=True, check=True)
    seconds, largest_kib, together_kib, code = report.stdout.split()
    rows = 0
    if archive.exists():
        with sqlite3.connect(archive) as db:
            rows = db.execute("SELECT count(*) FROM checkins").fetchone()[0]
    return Run(float(seconds), int(largest_kib) / 1024, int(together_kib) / 1024, rows, int(code))


def expect(run: Run, lines: int) -> None:
    """A run counts only if every check-in was judged (exit 0) and archived once."""
    if run.code != 0 or run.rows != lines:
        raise SystemExit(f"hazmat check: exit {run.code}, {run.rows:,} archived of {lines:,} lines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="check-ins in the file for the rates")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--big-mb", type=int, default=200, help="size of the file for peak memory")
    parser.add_argument("--big", action="store_true", help="measure peak memory on 1 GB instead (slow)")
    args = parser.parse_args()
    big_mb = 1000 if args.big else args.big_mb

    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        folder = Path(tmp)
        small_file, archive, empty = folder / "checkins.jsonl", folder / "archive.sqlite", folder / "empty.jsonl"
        generate(small_file, lines=args.n)
        empty.write_text("", encoding="utf-8")
        raws = small_file.read_text(encoding="utf-8").splitlines()
        mb = small_file.stat().st_size / 1e6
        print(
            f"input: {args.n:,} check-ins, {mb:,.0f} MB, {REFUSED_SHARE:.0%} refused, unique event ids; "
            f"{args.repeat} runs each, in turns; {os.cpu_count()} cores"
        )

        baseline, through, small = [], [], []
        startup = min(command(empty, archive).seconds for _ in range(3))
        for _ in range(args.repeat):
            baseline.append(in_process(raws))
            run = command(small_file, archive)
            expect(run, args.n)
            through.append(args.n / run.seconds)
            small.append(run)
        del raws

        print(f"{'':46}{'median/s':>10}{'best/s':>10}")
        for name, rates in (
            ("baseline: judge() in process, no I/O", baseline),
            ("hazmat check FILE --json, archive on", through),
        ):
            print(f"{name:46}{statistics.median(rates):>10,.0f}{max(rates):>10,.0f}")
        ratio = statistics.median(through) / statistics.median(baseline)
        print(f"command / in-process: {ratio:.2f} (median); start-up of the command {startup:.2f} s")
        value = statistics.median(through)
        verdict = "meets" if value >= TARGET_PER_S else "misses"
        print(f"target ≥ {TARGET_PER_S:,}/s through the command: {verdict} ({value / TARGET_PER_S:.2f}× target)")

        big_file = folder / "big.jsonl"
        lines = generate(big_file, megabytes=big_mb)
        big_mb_real = big_file.stat().st_size / 1e6
        big = command(big_file, archive)
        expect(big, lines)
        small_together = max(r.together_mb for r in small)
        print("resident memory, the command and its archive writer together (largest single process):")
        print(
            f"  {mb:>7,.0f} MB input, {args.n:>9,} lines: {small_together:5,.0f} MB ({max(r.largest_mb for r in small):,.0f} MB)"
        )
        print(
            f"  {big_mb_real:>7,.0f} MB input, {lines:>9,} lines: {big.together_mb:5,.0f} MB ({big.largest_mb:,.0f} MB)"
            f", at {lines / big.seconds:,.0f}/s"
        )
        if not args.big:
            growth = max(0.0, big.together_mb - small_together)  # a linear trend, upwards only
            at_1gb = big.together_mb + growth * (1000 - big_mb_real) / max(1.0, big_mb_real - mb)
            print(
                f"  1 GB, extrapolated: {growth:,.1f} MB more for {big_mb_real / mb:.1f}× the input, "
                f"so about {at_1gb:,.0f} MB (--big measures it)"
            )
        worst = max(small_together, big.together_mb)
        verdict = "meets" if worst < TARGET_RSS_MB else "misses"
        print(f"target < {TARGET_RSS_MB} MB resident: {verdict} ({worst:,.0f} MB)")


if __name__ == "__main__":
    main()
