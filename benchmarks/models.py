"""Benchmark: BG/NBD + Gamma-Gamma predictions for a 1,000,000-customer store (issue "Predict").

On the same generated data (``lifevalue sample --customers 1000000 --seed 1``, daily time):

* ``lifevalue analyze X.parquet --model bgnbd --horizon 365`` as a user runs it: the whole command
  (read, summary, retention, BG/NBD + Gamma-Gamma fits, expected purchases, P(alive), 90 %
  intervals and 12-month discounted CLV of every customer, files), wall time and peak RSS, each
  run in its own process;
* in-process: the model step alone (:func:`lifevalue.models.pipeline_step.run_models`);
* lifevalue doing just the peers' steps on the peers' input, in its own process: read the
  purchases file they read (one row per customer and day), summary, BG/NBD + Gamma-Gamma fits,
  predictions and CLV, ``customers.parquet`` (no retention, segments, CSV or model files);
* lifetimes 0.11.3 and PyMC-Marketing (MAP fit) doing the same from the same purchases, each in
  its own process and virtual environment under ``benchmarks/.work/``: summary
  (``summary_data_from_transaction_data`` / ``rfm_summary``, daily), BG/NBD fit, Gamma-Gamma
  fit, expected purchases in 365 days, P(alive) and CLV.

Both peers count one purchase per customer-day and leave the first day out of monetary_value,
as lifevalue does; their CLV sums 12 "months" of 30 days discounted at a *monthly* rate. For the
comparison lifevalue computes that same quantity (:func:`customer_lifetime_value` with 30-day
steps and the equivalent annual rate). Log-likelihoods of all parameter sets are evaluated with
lifevalue's likelihood on the same data (full likelihood; lifetimes drops no constant either).

Usage: ``OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/models.py [--runs 3] [--peer-runs 3]
[--skip-lifetimes] [--skip-pymc]``; ``--model-step`` times only the model step, with ``--model
auto`` and ``--model bgnbd``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from peers import WORK, lifetimes_python, pymc_python
from peers import versions as peer_versions

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MONTHLY_RATE = 0.01  # the peers' CLV: 12 months of 30 days at 1 % a month

LIFETIMES_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np, pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data
t_import = time.perf_counter() - t0
df = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
s = summary_data_from_transaction_data(df, "customer_id", "date", monetary_value_col="amount",
                                       observation_period_end=sys.argv[2], freq="D")
t_summary = time.perf_counter() - t
t = time.perf_counter()
bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
t_fit = time.perf_counter() - t
rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
t = time.perf_counter()
ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
t_gg = time.perf_counter() - t
t = time.perf_counter()
f, r, T = s["frequency"], s["recency"], s["T"]
exp = bgf.conditional_expected_number_of_purchases_up_to_time(365, f, r, T)
alive = bgf.conditional_probability_alive(s["frequency"], s["recency"], s["T"])
clv = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                  time=12, discount_rate=0.01, freq="D")
t_pred = time.perf_counter() - t
pd.DataFrame({"customer_id": s.index.astype(str), "expected": np.asarray(exp),
              "alive": np.asarray(alive), "clv": np.asarray(clv)}).to_parquet(sys.argv[3])
print(json.dumps({"import": t_import, "summary": t_summary, "fit_bgnbd": t_fit, "fit_gg": t_gg,
                  "predict": t_pred, "total": time.perf_counter() - t0,
                  "bgnbd": {k: float(v) for k, v in bgf.params_.items()},
                  "gamma_gamma": {k: float(v) for k, v in ggf.params_.items()}}))
"""

PYMC_SCRIPT = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import numpy as np, pandas as pd
from pymc_extras.prior import Prior
from pymc_marketing.clv import BetaGeoModel, GammaGammaModel
from pymc_marketing.clv.utils import rfm_summary
t_import = time.perf_counter() - t0
df = pd.read_parquet(sys.argv[1])
t = time.perf_counter()
s = rfm_summary(df, "customer_id", "date", monetary_value_col="amount",
                observation_period_end=sys.argv[2], time_unit="D")
t_summary = time.perf_counter() - t
flat = Prior("HalfFlat")  # flat priors: the MAP is the maximum-likelihood estimate
t = time.perf_counter()
bg = BetaGeoModel(model_config={"r": flat, "alpha": flat, "a": flat, "b": flat})
bg.fit(s[["customer_id", "frequency", "recency", "T"]], method="map", progressbar=False)
t_fit = time.perf_counter() - t
rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
t = time.perf_counter()
gg = GammaGammaModel(model_config={"p": flat, "q": flat, "v": flat})
gg.fit(rep[["customer_id", "frequency", "monetary_value"]], method="map", progressbar=False)
t_gg = time.perf_counter() - t
t = time.perf_counter()
exp = bg.expected_purchases(future_t=365).mean(("chain", "draw")).values
alive = bg.expected_probability_alive().mean(("chain", "draw")).values
clv_data = s[["customer_id", "frequency", "recency", "T", "monetary_value"]]
clv = gg.expected_customer_lifetime_value(transaction_model=bg, data=clv_data, future_t=12,
                                          discount_rate=0.01, time_unit="D")
clv = clv.mean(("chain", "draw")).values
t_pred = time.perf_counter() - t
pd.DataFrame({"customer_id": s["customer_id"].astype(str), "expected": exp, "alive": alive,
              "clv": clv}).to_parquet(sys.argv[3])
post = bg.fit_result
gpost = gg.fit_result
print(json.dumps({"import": t_import, "summary": t_summary, "fit_bgnbd": t_fit, "fit_gg": t_gg,
                  "predict": t_pred, "total": time.perf_counter() - t0,
                  "bgnbd": {k: float(post[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")},
                  "gamma_gamma": {"p": float(gpost["p"].values.ravel()[0]),
                                  "q": float(gpost["q"].values.ravel()[0]),
                                  "v": float(gpost["v"].values.ravel()[0])}}))
"""


#: lifevalue doing what the peer scripts do, from the same purchases file, through the public
#: API in a process of its own: read (with validation), summary, BG/NBD + Gamma-Gamma fits,
#: expected purchases, P(alive), intervals and discounted CLV, customers.parquet written.
LIFEVALUE_SCRIPT = r"""
import sys
from lifevalue.analytics.summary import compute_summary
from lifevalue.io import ReadOptions, read_orders
from lifevalue.models.pipeline_step import ModelOptions, run_models
ingested = read_orders([sys.argv[1]], ReadOptions(date_col="date"))
info = compute_summary(ingested, end=None)
run_models(ingested.con, end=info.end, calibration_end=None, time_unit="days",
           options=ModelOptions(model="bgnbd", horizon=365))
ingested.con.execute(f"COPY customers TO '{sys.argv[2]}' (FORMAT parquet)")
"""


def timed_process(cmd: list[str], capture: bool = False) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (GiB) and stdout of a command run in its own process."""
    wrapper = (
        "import resource, subprocess, sys, time;"
        "t = time.perf_counter();"
        "r = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE if sys.argv[1] == '1' "
        "else subprocess.DEVNULL, text=True);"
        "w = time.perf_counter() - t;"
        "m = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss;"
        "sys.stderr.write(f'{w} {m} {r.returncode}\\n');"
        "sys.stdout.write(r.stdout or '')"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, "1" if capture else "0", *cmd],
        capture_output=True,
        text=True,
        check=True,
    )
    wall, rss_kib, rc = out.stderr.strip().splitlines()[-1].split()
    if int(rc) != 0:
        raise RuntimeError(f"command failed ({rc}): {' '.join(cmd[:3])} ...")
    return float(wall), int(rss_kib) / 1024**2, out.stdout


def ensure_sample(n: int) -> Path:
    WORK.mkdir(parents=True, exist_ok=True)
    pq = WORK / f"sample_{n}.parquet"
    if not pq.exists():
        print(f"generating {pq.name} ...", flush=True)
        subprocess.run(
            [str(BIN / "lifevalue"), "sample", "-n", str(n), "--seed", "1", "--out", str(pq)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return pq


def rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b) if b else math.inf


SHARED = ROOT.parent / "shared" / "data"
ONLINE_RETAIL = SHARED / "online_retail" / "online_retail.csv.gz"
ONLINE_RETAIL_II = SHARED / "online_retail_ii" / "online_retail_II_2009_2010.csv.gz"


def online_retail_seasonality(calibration_end: str = "2011-08-31") -> None:
    """UCI Online Retail: holdout purchases after ``calibration_end`` (to 2011-12-09), plain vs
    seasonal variant of each purchase model, and what ``--model auto`` picks; on the 2010-11 file
    alone and with the 2009-10 file of Online Retail II before it (two autumns)."""
    from datetime import date

    from lifevalue.analytics.orders import ensure_order_tables
    from lifevalue.errors import ConvergenceError
    from lifevalue.io import read_orders
    from lifevalue.io.reader import ReadOptions
    from lifevalue.models.seasonal import daily_purchase_counts, estimate_profile
    from lifevalue.models.selection import (
        CANDIDATES,
        Histories,
        fit_plain,
        fit_seasonal,
        inner_histories,
        score,
        select_model,
    )

    cal, end = date.fromisoformat(calibration_end), date(2011, 12, 9)
    for label, files in (
        ("Online Retail (2010-12 to 2011-12)", [ONLINE_RETAIL]),
        ("Online Retail II 2009-10 + Online Retail (2009-12 to 2011-12)",
         [ONLINE_RETAIL_II, ONLINE_RETAIL]),
    ):  # fmt: skip
        if not all(f.exists() for f in files):
            print(f"{label}: data not found under {SHARED}; skipped")
            continue
        ingested = read_orders(files, ReadOptions(preset="online_retail"))
        ensure_order_tables(ingested)
        con = ingested.con
        hold = inner_histories(con, cal, end, 1.0)
        fit = Histories(hold.x, hold.tx, hold.T, hold.weight)
        counts = daily_purchase_counts(con, cal)
        length = float((end - cal).days)
        actual = float(np.sum(hold.weight * hold.holdout)) if hold.holdout is not None else 0.0
        print(f"\n{label}: calibration to {cal}, holdout {int(length)} days to {end}; "
              f"{hold.n_customers:,} customers, {actual:,.0f} holdout purchase days")  # fmt: skip
        print(f"  {'model':<12} {'plain: total error':>19} {'RMSE':>7}   "
              f"{'seasonal: total error':>22} {'RMSE':>7}")  # fmt: skip
        profile = None
        for name in CANDIDATES:
            notes: list[str] = []
            try:
                plain = fit_plain(name, fit, "days", notes)
            except ConvergenceError:
                print(f"  {name:<12} did not converge")
                continue
            profile = estimate_profile(counts, plain, 1.0, cal)
            a = score(plain, hold, length)
            try:
                b = score(fit_seasonal(plain, fit, profile, cal, "days", notes), hold, length)
                seasonal = f"{100 * b['total_error']:+21.1f}% {b['rmse']:7.3f}"
            except ConvergenceError:
                seasonal = f"{'did not converge':>30}"
            print(f"  {name:<12} {100 * a['total_error']:+18.1f}% {a['rmse']:7.3f}   {seasonal}")
        if profile is not None:
            print("  calendar profile (calibration period): " + ", ".join(
                f"{m} {f:.2f}" for m, f in profile.to_dict()["factors"].items()))  # fmt: skip
        sel = select_model(con, cal, "days")
        print(f"  --model auto (validation {sel.validation.get('inner_calibration_end')} to "
              f"{cal}) picks {sel.name}{'+seasonal' if sel.seasonal else ''}")  # fmt: skip


def model_step(n: int, runs: int) -> None:
    """Median wall and CPU time of the model step alone (:func:`run_models`: for ``auto`` the
    choice on the inner validation window, the final fit, Gamma-Gamma, predictions and the
    customers table) on the sample store, from the summary of one analysis run without models;
    each run starts from the same ``customers`` table."""
    from lifevalue.models.pipeline_step import ModelOptions, run_models
    from lifevalue.pipeline import AnalysisOptions, run_analysis

    pq = ensure_sample(n)
    result = run_analysis(
        [pq], None, AnalysisOptions(model=ModelOptions(model="none"), segments=False)
    )
    con, end = result.con, result.summary.end
    con.execute("CREATE TABLE lv_bench_customers AS SELECT * FROM customers")
    print(f"Model step alone, {n:,} customers, daily time (median of {runs} runs)")
    for model in ("auto", "bgnbd"):
        walls, cpus = [], []
        chosen = ""
        for _ in range(runs):
            con.execute("CREATE OR REPLACE TABLE customers AS SELECT * FROM lv_bench_customers")
            t, c = time.perf_counter(), time.process_time()
            run = run_models(
                con, end=end, calibration_end=None, time_unit="days", options=ModelOptions(model)
            )
            walls.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
            chosen = str(run.model["selection"].get("chosen"))
        print(
            f"  --model {model:<6} {statistics.median(walls):6.2f} s wall "
            f"({statistics.median(cpus):.2f} s CPU, all threads)  chosen: {chosen}  "
            f"runs: {', '.join(f'{w:.2f}' for w in walls)}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peer-runs", type=int, default=3)
    parser.add_argument("--skip-lifetimes", action="store_true")
    parser.add_argument("--skip-pymc", action="store_true")
    parser.add_argument(
        "--online-retail",
        action="store_true",
        help="only the seasonality check on UCI Online Retail (../shared/data)",
    )
    parser.add_argument(
        "--model-step",
        action="store_true",
        help="only the model step (run_models) with --model auto and --model bgnbd",
    )
    args = parser.parse_args()
    if args.online_retail:
        online_retail_seasonality()
        return
    if args.model_step:
        model_step(args.customers, args.runs)
        return

    import pandas as pd

    from lifevalue.models import BetaGeoModel, GammaGammaModel, customer_lifetime_value
    from lifevalue.models.pipeline_step import ModelOptions, run_models
    from lifevalue.pipeline import AnalysisOptions, run_analysis

    pq = ensure_sample(args.customers)
    tmp = Path(tempfile.mkdtemp(prefix="lv-bench-models-"))
    rows: list[tuple[str, float, float | None, str]] = []

    # -- lifevalue, whole command --------------------------------------------------------------
    walls, mems = [], []
    for i in range(args.runs):
        wall, mem, _ = timed_process(
            [
                str(BIN / "lifevalue"),
                "analyze",
                str(pq),
                "--model",
                "bgnbd",
                "--horizon",
                "365",
                "--out",
                str(tmp / f"an{i}"),
            ]
        )
        walls.append(wall)
        mems.append(mem)
        print(f"  lifevalue analyze run {i + 1}: {wall:.2f} s, {mem:.2f} GiB", flush=True)
    ours_wall, ours_mem = statistics.median(walls), statistics.median(mems)
    rows.append(("lifevalue analyze --model bgnbd (whole command)", ours_wall, ours_mem, ""))

    # -- lifevalue, model step in process ------------------------------------------------------
    result = run_analysis([pq], None, AnalysisOptions())
    con, end = result.con, result.summary.end
    step_times = []
    run = None
    for _ in range(args.runs):
        t = time.perf_counter()
        run = run_models(
            con,
            end=end,
            calibration_end=None,
            time_unit="days",
            options=ModelOptions(model="bgnbd", horizon=365),
        )
        step_times.append(time.perf_counter() - t)
    assert run is not None and run.spend_model is not None
    step = statistics.median(step_times)
    rows.append(("lifevalue model step alone (in process)", step, None, ""))
    bg_params = run.model["purchase_model"]["params"]
    gg_params = run.model["spend_model"]["params"]

    # the peers' input: one row per purchase (net amount) on its store day
    purchases = WORK / f"purchases_{args.customers}.parquet"
    if not purchases.exists():
        con.execute(
            # amounts as doubles, as the peers expect (the exact DECIMAL sum would reach pandas
            # as Python Decimal objects, and lifetimes' summary takes 15x as long on those)
            "COPY (SELECT customer_id, CAST(local_date AS TIMESTAMP) AS date, "
            "CAST(net AS DOUBLE) AS amount "
            f"FROM purchases) TO '{purchases}' (FORMAT parquet)"
        )
    summary = con.execute(
        'SELECT customer_id, frequency, recency, "T", monetary_value FROM customers '
        "ORDER BY customer_id"
    ).df()
    x, tx, tt, m = (
        summary[c].to_numpy(np.float64) for c in ("frequency", "recency", "T", "monetary_value")
    )
    bg = BetaGeoModel.from_params(time_unit="days", **bg_params)
    gg = GammaGammaModel.from_params(time_unit="days", **gg_params)
    rep = (x > 0) & (m > 0)

    def bg_ll(params: dict[str, float]) -> float:
        model = BetaGeoModel.from_params(time_unit="days", **params)
        return float(np.sum(model.individual_log_likelihood(x, tx, tt)))

    def gg_ll(params: dict[str, float]) -> float:
        model = GammaGammaModel.from_params(None, **params)
        return float(np.sum(model.individual_log_likelihood(x[rep], m[rep])))

    annual = (1 + MONTHLY_RATE) ** (365.25 / 30) - 1
    ours_clv = customer_lifetime_value(
        bg, gg, x, tx, tt, m, horizon=360, step=30, discount_rate=annual, time_unit="days"
    )
    ours_exp = bg.expected_purchases(365, x, tx, tt)
    ll_ours, gll_ours = bg_ll(bg_params), gg_ll(gg_params)

    # -- lifevalue, the peers' steps from their input -----------------------------------------
    walls, mems = [], []
    for i in range(args.runs):
        wall, mem, _ = timed_process(
            [str(BIN / "python"), "-c", LIFEVALUE_SCRIPT, str(purchases), str(tmp / f"lean{i}.pq")]
        )
        walls.append(wall)
        mems.append(mem)
    lean_wall = statistics.median(walls)
    rows.append(
        (
            "lifevalue, the peers' steps on their input (whole process)",
            lean_wall,
            statistics.median(mems),
            "read, summary, fits, predictions, customers.parquet",
        )
    )

    peers: dict[str, dict[str, Any]] = {}
    specs = []
    if not args.skip_lifetimes:
        specs.append(("lifetimes 0.11.3", "lifetimes", lifetimes_python, LIFETIMES_SCRIPT))
    if not args.skip_pymc:
        specs.append(("PyMC-Marketing (MAP)", "pymc-marketing", pymc_python, PYMC_SCRIPT))
    for label, peer, make_venv, script in specs:
        py = make_venv()
        if py is None:
            print(f"{label}: could not create its environment; left out", flush=True)
            continue
        # the peer's version and its pandas' and numpy's: the peers' speed depends on them
        # (lifetimes took 27 s with one pandas and 48 s with pandas 3.1.1 in earlier sessions;
        # benchmarks/peers.py pins them)
        version = peer_versions(py, (peer, "pandas", "numpy"))
        walls, mems, reports = [], [], []
        out_pred = tmp / f"{peer}.parquet"
        for i in range(args.peer_runs):
            try:
                wall, mem, stdout = timed_process(
                    [str(py), "-c", script, str(purchases), str(end), str(out_pred)], capture=True
                )
            except RuntimeError as exc:
                print(f"{label}: {exc}", flush=True)
                break
            walls.append(wall)
            mems.append(mem)
            reports.append(json.loads(stdout.strip().splitlines()[-1]))
            print(f"  {label} run {i + 1}: {wall:.2f} s, {mem:.2f} GiB", flush=True)
        if not walls:
            continue
        rep0 = reports[-1]
        peers[label] = {
            "wall": statistics.median(walls),
            "mem": statistics.median(mems),
            "report": rep0,
            "version": version,
            "pred": pd.read_parquet(out_pred),
        }
        inner = {
            k: statistics.median(r[k] for r in reports)
            for k in ("import", "summary", "fit_bgnbd", "fit_gg", "predict")
        }
        rows.append(
            (
                f"{label} [{version}] (whole process)",
                peers[label]["wall"],
                peers[label]["mem"],
                ", ".join(f"{k} {v:.1f}s" for k, v in inner.items()),
            )
        )

    # -- report ---------------------------------------------------------------------------------
    print()
    print(
        f"customers: {len(summary):,}; unique (frequency, recency, T): "
        f"{run.model['purchase_model']['extra'].get('n_unique_rows', '?'):,}; runs: {args.runs} "
        f"(peers {args.peer_runs}); cores: {os.cpu_count()}; medians"
    )
    print(f"{'what':<62} {'seconds':>8} {'peak GiB':>9}  note")
    for what, secs, peak, note in rows:
        print(f"{what:<62} {secs:8.2f} {'' if peak is None else f'{peak:9.2f}'}  {note}")
    print(
        f"targets: whole command < 3 s: {'yes' if ours_wall < 3 else 'NO'} ({ours_wall:.2f} s); "
        f"< 2 GiB: {'yes' if ours_mem < 2 else 'NO'} ({ours_mem:.2f} GiB)"
    )
    print()
    print(f"lifevalue BG/NBD: {bg_params}  LL {ll_ours:,.3f}")
    print(f"lifevalue Gamma-Gamma: {gg_params}  LL {gll_ours:,.3f}")
    for label, peer in peers.items():
        rep0 = peer["report"]
        print(
            f"\n{label}: {peer['wall'] / ours_wall:.1f}x the whole lifevalue command's time "
            f"(target >= 10x); {peer['wall'] / lean_wall:.1f}x lifevalue doing the peers' "
            f"steps on their input; {peer['wall'] / step:.1f}x the model step"
        )
        pb = rep0["bgnbd"]
        pg = dict(rep0["gamma_gamma"])
        if "v" in pg:
            pg["gamma"] = pg.pop("v")
        d_bg = max(rel(bg_params[k], pb[k]) for k in bg_params)
        d_gg = max(rel(gg_params[k], pg[k]) for k in gg_params)
        ll_p, gll_p = bg_ll(pb), gg_ll(pg)
        print(f"  BG/NBD params {pb}: largest relative difference of lifevalue's {d_bg:.2e}")
        print(f"  Gamma-Gamma params {pg}: largest relative difference {d_gg:.2e}")
        print(
            f"  BG/NBD LL at their params {ll_p:,.3f}; lifevalue - theirs = {ll_ours - ll_p:+.3f} "
            f"(relative {(ll_ours - ll_p) / abs(ll_p):+.2e}; >= -1e-6 wanted)"
        )
        print(
            f"  Gamma-Gamma LL at their params {gll_p:,.3f}; lifevalue - theirs = "
            f"{gll_ours - gll_p:+.3f} (relative {(gll_ours - gll_p) / abs(gll_p):+.2e})"
        )
        pred = peer["pred"].set_index("customer_id").reindex(summary["customer_id"].astype(str))
        for col, ours in (("expected", ours_exp), ("clv", ours_clv)):
            theirs = pred[col].to_numpy(np.float64)
            ok = np.isfinite(theirs) & (np.abs(theirs) > 1e-9)
            d = np.abs(ours[ok] - theirs[ok]) / np.abs(theirs[ok])
            print(
                f"  {col}: totals lifevalue {ours.sum():,.1f} vs {np.nansum(theirs):,.1f}; "
                f"per-customer relative difference median {np.median(d):.1e}, max {d.max():.1e}"
                f" ({(~ok).sum()} customers not comparable)"
            )
        if label.startswith("lifetimes") and max(d_bg, d_gg) > 1e-3:
            print("  NOTE: parameters differ from lifetimes' MLE by more than 1e-3 relative")
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
