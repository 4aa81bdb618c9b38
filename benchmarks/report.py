"""Benchmark: the HTML report of a one-million-customer store builds in < 30 s and is < 15 MB.

    .venv/bin/python benchmarks/report.py                 # 1,000,000 customers, 3 runs
    .venv/bin/python benchmarks/report.py -n 100000 --runs 5

Steps (only the last is timed):

1. the order log of ``lifevalue sample -n N --seed S`` (cached in ``benchmarks/.work/``);
2. what ``lifevalue report`` computes before building: the analysis of ``lifevalue analyze``
   (:func:`lifevalue.pipeline.run_analysis`, weeks, ``--model bgnbd`` by default; with
   ``--calibration-end`` a calibration split, which leaves out the customers who arrive after
   it), segments and "bought together" pairs (:mod:`lifevalue.report.from_analysis`);
3. :func:`lifevalue.report.build_report` with every input, the purchases for the cumulative
   repeat-transactions chart read in place from DuckDB: median and best of ``--runs`` runs,
   peak Python memory of one more run (tracemalloc), file size.

Prints a table and exits with 1 if a target is missed. There is no peer to compare with.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

from lifevalue.io.reader import ReadOptions
from lifevalue.pipeline import AnalysisOptions, run_analysis
from lifevalue.report import build_report

WORK = Path(__file__).resolve().parent / ".work"
TARGET_SECONDS = 30.0
TARGET_MB = 15.0


def sample_file(n: int, seed: int) -> Path:
    """The sample order log, generated once with ``lifevalue sample``."""
    path = WORK / f"orders-{n}-{seed}.parquet"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("lifevalue", path=str(Path(sys.executable).parent))
    if exe:
        cmd = [exe, "sample", "--customers", str(n), "--seed", str(seed), "--out", str(path)]
        subprocess.run(cmd, check=True)
    else:  # running without the console script installed: the same library calls
        from lifevalue.datasets.sample import generate_sample, write_sample

        write_sample(generate_sample(n, seed), path)
    return path


def prepare(
    path: Path, calibration_end: dt.date | None, model: str
) -> tuple[dict[str, Any], dict[str, float]]:
    """Everything the report takes, as ``lifevalue report`` computes it before building."""
    from lifevalue.models.pipeline_step import ModelOptions
    from lifevalue.report.from_analysis import add_segments, product_pairs

    times: dict[str, float] = {}
    t0 = time.perf_counter()
    options = AnalysisOptions(
        calibration_end=calibration_end, time_unit="weeks", model=ModelOptions(model=model)
    )
    result = run_analysis([path], ReadOptions(), options)
    con = result.con
    customers = con.execute("SELECT * FROM customers").df()
    retention = con.execute("SELECT * FROM retention").df()
    cohorts = con.execute("SELECT * FROM cohorts").df()
    times[f"analysis + model ({model})"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    customers = add_segments(customers)
    times["segments"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    pairs = product_pairs(con)
    times["pairs"] = time.perf_counter() - t0
    kwargs = {
        "customers": customers,
        "retention": retention,
        "cohorts": cohorts,
        "model": result.extra.get("model"),
        "pairs": pairs,
        "orders": con.table("purchases"),
        "purchase_model": result.extra.get("purchase_model"),
        "calibration_end": calibration_end,
        "observation_end": result.summary.end,
        "currency": result.ingested.currency,
        "title": f"Sample store, {len(customers):,} customers",
        "_result": result,  # keeps the DuckDB connection (and the purchases relation) alive
    }
    return kwargs, times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--model", default="bgnbd", help="purchase model of the analysis (auto, bgnbd, ...)"
    )
    parser.add_argument("--out", type=Path, default=WORK / "report.html")
    parser.add_argument(
        "--calibration-end",
        type=dt.date.fromisoformat,
        default=None,
        help="split the data at this day (e.g. 2025-06-30) to draw the holdout figures",
    )
    args = parser.parse_args()

    path = sample_file(args.customers, args.seed)
    kwargs, prep = prepare(path, args.calibration_end, args.model)
    _alive = kwargs.pop("_result")  # the DuckDB connection must outlive the builds
    seconds: list[float] = []
    timings: dict[str, float] = {}
    for _ in range(args.runs):
        timings = {}
        t0 = time.perf_counter()
        out = build_report(**kwargs, out=args.out, timings=timings)
        seconds.append(time.perf_counter() - t0)
    tracemalloc.start()
    build_report(**kwargs, out=args.out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size_mb = out.stat().st_size / 1e6
    median = statistics.median(seconds)

    rows = [
        ("customers", f"{len(kwargs['customers']):,}"),
        ("sample file", str(path)),
        ("calibration end", str(args.calibration_end or "none (no split)")),
        *((f"prepare: {k}", f"{v:.1f} s") for k, v in prep.items()),
        (f"build, median of {args.runs}", f"{median:.2f} s"),
        ("build, best", f"{min(seconds):.2f} s"),
        *((f"  {k}", f"{v:.2f} s") for k, v in timings.items() if k != "total"),
        ("peak Python memory (build)", f"{peak / 1e6:,.0f} MB"),
        ("report size", f"{size_mb:.2f} MB"),
        ("report", str(out)),
        ("peer", "none (no other tool writes this report)"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    ok_time = median < TARGET_SECONDS
    ok_size = size_mb < TARGET_MB
    print(f"{'target < 30 s':<{width}}  {'ok' if ok_time else 'MISSED'}")
    print(f"{'target < 15 MB':<{width}}  {'ok' if ok_size else 'MISSED'}")
    return 0 if ok_time and ok_size else 1


if __name__ == "__main__":
    sys.exit(main())
