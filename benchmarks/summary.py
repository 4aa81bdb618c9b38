"""Benchmark: the per-customer summary of a 1,000,000-customer store (issue "Foundation").

Runs, on the same generated data (about 3 M orders):

* ``lifevalue analyze ORDERS.parquet`` (and ``.csv``) as a user would, the whole command with
  start-up, in its own process: wall time and peak memory (max RSS), median of 3;
* in-process: the summary step (``compute_summary`` on the read log) against the floor, a bare
  DuckDB ``GROUP BY`` computing the same four columns (frequency, recency, T, monetary value)
  straight from the Parquet file;
* lifetimes 0.11.3 ``summary_data_from_transaction_data`` on the same orders (one row per order),
  in its own virtual environment under ``benchmarks/.work/`` (created on first run with pip,
  with the versions pinned in ``benchmarks/peers.py``).

Usage: ``.venv/bin/python benchmarks/summary.py [--customers 1000000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from peers import WORK, lifetimes_python
from peers import versions as peer_versions

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

FLOOR_SQL = """
WITH p AS (
    SELECT customer_id, CAST(ordered_at AS DATE) AS d, sum(amount) AS spend
    FROM read_parquet('{path}') WHERE amount > 0 AND coalesce(status, '') <> 'cancelled'
    GROUP BY ALL
), c AS (
    SELECT customer_id, min(d) AS first_day, max(d) AS last_day, count(*) AS n,
           sum(spend) AS total, arg_min(spend, d) AS first_spend
    FROM p GROUP BY customer_id
)
SELECT customer_id, n - 1 AS frequency, last_day - first_day AS recency,
       DATE '{end}' - first_day AS "T",
       CASE WHEN n > 1 THEN (total - first_spend) / (n - 1) ELSE 0 END AS monetary_value
FROM c
"""

LIFETIMES_SCRIPT = """
import sys, time, pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
df = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
s = summary_data_from_transaction_data(df, "customer_id", "ordered_at",
        monetary_value_col="amount", observation_period_end=sys.argv[2], freq="D")
print(time.perf_counter() - t)
"""


def timed_process(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (GiB) of a command run in its own process."""
    wrapper = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
        "w = time.perf_counter() - t;"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "print(w, m, r.returncode)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True
    )
    wall, rss_kib, rc = out.stdout.split()
    if int(rc) != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}")
    return float(wall), int(rss_kib) / 1024**2


def ensure_sample(n: int) -> tuple[Path, Path]:
    WORK.mkdir(parents=True, exist_ok=True)
    pq = WORK / f"sample_{n}.parquet"
    csv = WORK / f"sample_{n}.csv"
    for path in (pq, csv):
        if not path.exists():
            print(f"generating {path.name} ...", flush=True)
            subprocess.run(
                [
                    str(BIN / "lifevalue"),
                    "sample",
                    "--customers",
                    str(n),
                    "--seed",
                    "1",
                    "--out",
                    str(path),
                ],
                check=True,
                stdout=subprocess.DEVNULL,
            )
    return pq, csv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-lifetimes", action="store_true")
    args = parser.parse_args()

    import duckdb

    from lifevalue.analytics.summary import compute_summary
    from lifevalue.io import read_orders

    pq, csv = ensure_sample(args.customers)
    con = duckdb.connect()
    end = con.execute(f"SELECT max(CAST(ordered_at AS DATE)) FROM read_parquet('{pq}')").fetchall()
    end_day = end[0][0]
    n_orders = con.execute(f"SELECT count(DISTINCT order_id) FROM read_parquet('{pq}')").fetchall()
    rows: list[tuple[str, float, str]] = []

    out = Path(tempfile.mkdtemp(prefix="lv-bench-"))
    for label, path in (("parquet", pq), ("csv", csv)):
        walls, mems = [], []
        for _ in range(args.runs):
            wall, mem = timed_process(
                [
                    str(BIN / "lifevalue"),
                    "analyze",
                    str(path),
                    "--out",
                    str(out / label),
                    *(["--model", "none"] if _has_model_option() else []),
                ]
            )
            walls.append(wall)
            mems.append(mem)
        rows.append(
            (
                f"lifevalue analyze ({label}), whole command",
                statistics.median(walls),
                f"peak {statistics.median(mems):.2f} GiB",
            )
        )

    # in-process: summary step vs the floor
    summary_times, floor_times = [], []
    for _ in range(args.runs):
        ingested = read_orders([pq])
        t = time.perf_counter()
        compute_summary(ingested)
        summary_times.append(time.perf_counter() - t)
        ingested.con.close()
        t = time.perf_counter()
        duckdb.connect().execute(
            f"CREATE TABLE s AS {FLOOR_SQL.format(path=pq, end=end_day)}"
        ).fetchall()
        floor_times.append(time.perf_counter() - t)
    summary_med = statistics.median(summary_times)
    floor_med = statistics.median(floor_times)
    rows.append(("summary step (compute_summary, in process)", summary_med, ""))
    rows.append(("floor: bare DuckDB GROUP BY from Parquet", floor_med, ""))

    steps = step_times(pq)

    lifetimes_med = None
    if not args.skip_lifetimes:
        py = lifetimes_python()
        if py is not None:
            orders_pq = WORK / f"orders_{args.customers}.parquet"
            if not orders_pq.exists():
                duckdb.connect().execute(
                    "COPY (SELECT customer_id, min(ordered_at) AS ordered_at, "
                    f"sum(amount) AS amount FROM read_parquet('{pq}') "
                    "WHERE coalesce(status, '') <> 'cancelled' "
                    f"GROUP BY customer_id, order_id HAVING sum(amount) > 0) TO '{orders_pq}'"
                )
            times = []
            for _ in range(args.runs):
                res = subprocess.run(
                    [str(py), "-c", LIFETIMES_SCRIPT, str(orders_pq), str(end_day)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                times.append(float(res.stdout.strip().splitlines()[-1]))
            lifetimes_med = statistics.median(times)
            # its speed depends on the pandas its venv got: say which
            versions = peer_versions(py, ("pandas", "numpy"))
            rows.append(
                ("lifetimes 0.11.3 summary_data_from_transaction_data", lifetimes_med, versions)
            )

    print()
    print(
        f"customers: {args.customers:,}; orders: {n_orders[0][0]:,}; runs: {args.runs} "
        f"(medians); cores: {os.cpu_count()}"
    )
    print(f"{'what':<58} {'seconds':>8}  note")
    for what, secs, note in rows:
        print(f"{what:<58} {secs:8.2f}  {note}")
    print(f"summary step / floor: {summary_med / floor_med:.2f}x (target <= 1.5x)")
    print("where the time goes (one in-process run of analyze --model none, Parquet):")
    for what, secs in steps:
        print(f"  {what:<40} {secs:6.2f}")
    if lifetimes_med:
        print(
            f"lifetimes / lifevalue summary step: {lifetimes_med / summary_med:.1f}x (target >= 5x)"
        )
        print(f"lifetimes / lifevalue whole command (parquet): {lifetimes_med / rows[0][1]:.1f}x")
    print(json.dumps({"rows": rows}))


def step_times(path: Path) -> list[tuple[str, float]]:
    """Seconds per step of ``run_analysis`` + ``write_outputs`` (progress messages as labels)."""
    from lifevalue.pipeline import run_analysis, write_outputs

    marks: list[tuple[str, float]] = [("start", time.perf_counter())]
    result = run_analysis([path], progress=lambda msg: marks.append((msg, time.perf_counter())))
    marks.append(("writing files", time.perf_counter()))
    write_outputs(result, Path(tempfile.mkdtemp(prefix="lv-steps-")))
    marks.append(("end", time.perf_counter()))
    result.con.close()
    return [(marks[i][0], marks[i + 1][1] - marks[i][1]) for i in range(1, len(marks) - 1)]


def _has_model_option() -> bool:
    res = subprocess.run(
        [str(BIN / "lifevalue"), "analyze", "--help"], capture_output=True, text=True
    )
    return "--model" in res.stdout


if __name__ == "__main__":
    main()
