"""Benchmark: ``lifevalue report`` on a one-million-customer store runs in < 30 s, file < 15 MB.

    .venv/bin/python benchmarks/report.py                       # 1,000,000 customers, 3 runs
    .venv/bin/python benchmarks/report.py -n 100000 --runs 5
    .venv/bin/python benchmarks/report.py --no-end-to-end       # only the breakdown

1. The order log of ``lifevalue sample -n N --seed S`` (made once, in ``benchmarks/.work/``).
2. End to end, as a user runs it: ``lifevalue report ORDERS --out X.html`` (the CLI's default
   options, ``--model auto`` unless ``--model`` is given) in its own process; wall time and
   peak RSS of each of ``--runs`` runs (median and best), size of the file. These are the
   figures the targets apply to.
3. The breakdown, in this process with the same options (taken from the CLI command's
   defaults): the analysis steps of :func:`lifevalue.pipeline.run_analysis` (reading,
   summary, retention, model, segments; timed by its progress messages) once, then
   :func:`lifevalue.report.from_analysis.report_from_analysis` ``--runs`` times: reading the
   tables, the "bought together" pairs, each section of the build.

Prints a table and exits with 1 if a target is missed. There is no peer to compare with.
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

WORK = Path(__file__).resolve().parent / ".work"
BIN = Path(sys.executable).parent
TARGET_SECONDS = 30.0
TARGET_MB = 15.0


def sample_file(n: int, seed: int) -> Path:
    """The sample order log, generated once with ``lifevalue sample``."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / (f"sample_{n}.parquet" if seed == 1 else f"sample_{n}_seed{seed}.parquet")
    if not path.exists():
        print(f"generating {path.name} ...", flush=True)
        cmd = [lifevalue(), "sample", "-n", str(n), "--seed", str(seed), "--out", str(path)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return path


def lifevalue() -> str:
    """The console script next to this Python (the one a user of this venv runs)."""
    exe = shutil.which("lifevalue", path=str(BIN))
    if exe is None:
        raise SystemExit(f"no lifevalue console script in {BIN} (pip install -e .)")
    return exe


def timed_process(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of a command run in its own process."""
    wrapper = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,"
        " text=True);"
        "w = time.perf_counter() - t;"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "sys.stderr.write(r.stderr if r.returncode else '');"
        "sys.stderr.write(f'\\n{w} {m} {r.returncode}\\n')"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True
    )
    wall, rss_kib, rc = out.stderr.strip().splitlines()[-1].split()
    if int(rc) != 0:
        raise SystemExit(f"command failed ({rc}): {' '.join(cmd)}\n{out.stderr}")
    return float(wall), int(rss_kib) / 1024


def cli_defaults(**overrides: Any) -> dict[str, Any]:
    """The parameters of ``lifevalue report`` left at their defaults, with ``overrides``."""
    from lifevalue import cli

    params = {
        name: p.default
        for name, p in inspect.signature(cli.report).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    params.update(overrides)
    return params


def breakdown(path: Path, params: dict[str, Any], out: Path, runs: int) -> list[tuple[str, str]]:
    """Rows of the in-process breakdown (seconds per step)."""
    from lifevalue.cli_options import analysis_options_from, read_options_from
    from lifevalue.pipeline import run_analysis
    from lifevalue.report.from_analysis import report_from_analysis

    read = read_options_from(params)
    options = analysis_options_from(params, segments=params["segments"])
    marks: list[tuple[float, str]] = []
    start = time.perf_counter()
    result = run_analysis(
        [path], read, options, progress=lambda m: marks.append((time.perf_counter(), m))
    )
    analysis_end = time.perf_counter()
    steps: dict[str, float] = {}
    ends = [t for t, _ in marks[1:]] + [analysis_end]
    for (t, message), end in zip(marks, ends, strict=True):
        step = message.split(" ")[0] if message.startswith("reading ") else message
        steps[step] = steps.get(step, 0.0) + end - t
    rows = [(f"analysis: {k}", f"{v:6.2f} s") for k, v in steps.items()]
    if marks and marks[0][0] - start > 0.05:
        rows.insert(0, ("analysis: before the first step", f"{marks[0][0] - start:6.2f} s"))
    rows.append(("analysis + model (run_analysis)", f"{analysis_end - start:6.2f} s"))

    totals: list[float] = []
    per_step: dict[str, list[float]] = {}
    for _ in range(runs):
        stamps: dict[str, float] = {}
        t0 = time.perf_counter()
        report_from_analysis(
            result, out, segments=params["segments"], pairs=params["pairs"], timings=stamps
        )
        totals.append(time.perf_counter() - t0)
        for key, value in stamps.items():
            per_step.setdefault(key, []).append(value)
    build = per_step.pop("total", [])
    rows.append((f"report part (report_from_analysis), median of {runs}", ""))
    for key in ("read tables", "segments (compute)", "pairs (compute)"):
        if key in per_step:
            rows.append((f"  {key}", f"{statistics.median(per_step.pop(key)):6.2f} s"))
    if build:
        rows.append(("  build (build_report)", f"{statistics.median(build):6.2f} s"))
    rows += [(f"    {k}", f"{statistics.median(v):6.2f} s") for k, v in per_step.items()]
    rows.append(("  report part, total", f"{statistics.median(totals):6.2f} s"))
    rows.append(
        (
            "analysis + report, in process",
            f"{analysis_end - start + statistics.median(totals):6.2f} s",
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--model", default=None, help="--model of lifevalue report (default: its own, auto)"
    )
    parser.add_argument(
        "--calibration-end",
        type=dt.date.fromisoformat,
        default=None,
        help="split the data at this day (e.g. 2025-06-30), as lifevalue report --calibration-end",
    )
    parser.add_argument("--no-end-to-end", action="store_true", help="skip the CLI runs")
    parser.add_argument("--no-breakdown", action="store_true", help="skip the in-process steps")
    args = parser.parse_args()

    path = sample_file(args.customers, args.seed)
    options: list[str] = []
    overrides: dict[str, Any] = {}
    if args.model is not None:
        options += ["--model", args.model]
        overrides["model"] = args.model
    if args.calibration_end is not None:
        options += ["--calibration-end", args.calibration_end.isoformat()]
        overrides["calibration_end"] = args.calibration_end.isoformat()
    params = cli_defaults(**overrides)
    rows: list[tuple[str, str]] = [
        ("sample", f"{path} ({args.customers:,} customers, seed {args.seed})"),
        (
            "options",
            f"--model {params['model']}, --time-unit {params['time_unit']}, "
            f"--calibration-end {params['calibration_end'] or 'none'}",
        ),
    ]
    ok = True
    if not args.no_end_to_end:
        out = WORK / "report-cli.html"
        cmd = [lifevalue(), "report", str(path), "--out", str(out), *options]
        seconds, peaks = [], []
        for _ in range(args.runs):
            wall, peak = timed_process(cmd)
            seconds.append(wall)
            peaks.append(peak)
        size_mb = out.stat().st_size / 1e6
        median = statistics.median(seconds)
        ok_time, ok_size = median < TARGET_SECONDS, size_mb < TARGET_MB
        ok = ok_time and ok_size
        rows += [
            (
                "end to end",
                "lifevalue report " + " ".join([path.name, "--out", out.name, *options]),
            ),
            (
                f"  wall, median of {args.runs}",
                f"{median:6.2f} s   (runs: {', '.join(f'{s:.2f}' for s in seconds)})",
            ),
            ("  peak RSS, max of runs", f"{max(peaks):6.0f} MB"),
            ("  report size", f"{size_mb:6.2f} MB"),
            (f"  target < {TARGET_SECONDS:g} s", "ok" if ok_time else "MISSED"),
            (f"  target < {TARGET_MB:g} MB", "ok" if ok_size else "MISSED"),
        ]
    if not args.no_breakdown:
        rows.append(("breakdown, in process", ""))
        rows += breakdown(path, params, WORK / "report-inprocess.html", args.runs)
    rows.append(("peer", "none (no other tool writes this report)"))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}".rstrip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
