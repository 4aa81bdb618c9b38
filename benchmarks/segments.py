"""Benchmark: `lifevalue segments` on a 1,000,000-customer sample store.

Makes (once, under ``benchmarks/.work/``) the sample with ``lifevalue sample --customers 1000000
--seed 1`` and its summary with ``lifevalue analyze``, then times:

* ``lifevalue segments customers.parquet --out DIR`` as a user runs it, in its own process
  (start-up, reading, RFM + behavioural segments, writing customers.parquet/.csv and
  segments.csv): wall time, median of 3;
* in-process on the loaded summary: RFM scores and groups alone, and all segments, median of 3.

Usage: ``.venv/bin/python benchmarks/segments.py [--customers 1000000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
BIN = Path(sys.executable).parent


def run(cmd: list[str]) -> float:
    """Wall time of a command; its output is discarded, a failure stops the benchmark."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    lifevalue = str(BIN / "lifevalue")
    orders = WORK / f"sample_{args.customers}.parquet"
    analysed = WORK / f"segments_{args.customers}"
    customers = analysed / "customers.parquet"
    WORK.mkdir(parents=True, exist_ok=True)
    if not orders.exists():
        print(f"lifevalue sample --customers {args.customers} --seed 1 ...", flush=True)
        seconds = run(
            [
                lifevalue,
                "sample",
                "--customers",
                str(args.customers),
                "--seed",
                "1",
                "--out",
                str(orders),
            ]
        )
        print(f"  {seconds:.1f} s")
    if not customers.exists():
        print("lifevalue analyze (the summary the segments are read from) ...", flush=True)
        seconds = run([lifevalue, "analyze", str(orders), "--out", str(analysed)])
        print(f"  {seconds:.1f} s")

    out = WORK / f"segments_{args.customers}_out"
    times = [
        run([lifevalue, "segments", str(customers), "--out", str(out)]) for _ in range(args.runs)
    ]
    cli = statistics.median(times)
    print(
        f"\nlifevalue segments customers.parquet ({args.customers:,} customers), whole command: "
        f"median of {args.runs} {cli:.2f} s (runs: {', '.join(f'{t:.2f}' for t in times)}); "
        f"under 10 s: {cli < 10}"
    )

    from lifevalue.segments import add_rfm, segment_customers
    from lifevalue.segments.assign import read_customers

    start = time.perf_counter()
    frame = read_customers(customers)
    print(f"in-process: reading the summary {time.perf_counter() - start:.2f} s")
    for name, step in (("RFM scores + groups", add_rfm), ("all segments", segment_customers)):
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            step(frame)
            times.append(time.perf_counter() - start)
        print(f"in-process: {name}: median of {args.runs} {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main()
