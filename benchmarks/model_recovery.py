"""Parameter recovery and fit timings of the lifevalue models.

Recovery: for each model, simulate data with known parameters (default 100k customers, 100
seeds), fit, and report how often the true value lies inside the 95% confidence interval (target
>= 90%), with a 95% (Wilson) interval for that coverage, the mean estimate, the mean standard error
next to the spread of the estimates over the seeds, the spread of the z-scores
(estimate - truth) / standard error (1 when the standard errors are right), and the mean fit time.

The coverage of a 95% interval is a binomial proportion: over 20 seeds it is estimated to within
about +-10 points, and a correct interval falls below 90% (17 of 20 or fewer) for a given
parameter with probability 0.075 -- for at least one of the 15 parameters checked here about
two times in three. With 100 seeds that probability is 0.016 per parameter.

Timing (``--timing``): fits on a large simulated data set with daily time (default 1M customers
acquired over two years, ~335k unique (frequency, recency, T) rows): the median of ``--repeats``
runs for the collapse to unique rows, each purchase model's fit on raw rows and on pre-collapsed
rows with weights, and the main predictions.

Run: ``.venv/bin/python benchmarks/model_recovery.py [--customers N] [--seeds K] [--timing]``.
Set ``OPENBLAS_NUM_THREADS=1`` on small shared machines for stable timings.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import numpy as np

from lifevalue.models import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
)
from lifevalue.models.base import BaseModel, PurchaseModel, RFTData

TRUE: dict[str, dict[str, float]] = {
    "bgnbd": {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5},
    "mbgnbd": {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6},
    "pnbd": {"r": 0.55, "alpha": 10.5, "s": 0.6, "beta": 11.7},
    "gamma_gamma": {"p": 6.0, "q": 3.7, "gamma": 15.0},
}
PURCHASE: dict[str, type[PurchaseModel]] = {
    "bgnbd": BetaGeoModel,
    "mbgnbd": ModifiedBetaGeoModel,
    "pnbd": ParetoNBDModel,
}


def _fit_once(name: str, n: int, seed: int) -> tuple[BaseModel, float]:
    rng = np.random.default_rng(seed)
    if name == "gamma_gamma":
        gen = GammaGammaModel.from_params(None, **TRUE[name])
        freq = rng.poisson(2.0, n) + 1.0
        spend = gen.simulate(freq, seed=seed + 10_000)
        start = time.perf_counter()
        model: BaseModel = GammaGammaModel().fit(freq, spend)
        return model, time.perf_counter() - start
    cls = PURCHASE[name]
    T = rng.integers(70, 561, n) / 7.0  # weeks, recorded in whole days, cohorts over 70 weeks
    sim = cls.from_params(None, **TRUE[name]).simulate(T, seed=seed + 10_000)
    recency = np.round(sim["recency"].to_numpy() * 7.0) / 7.0
    start = time.perf_counter()
    model = cls().fit(sim["frequency"], recency, sim["T"])
    return model, time.perf_counter() - start


def wilson(hits: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion ``hits / n``."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half, centre + half)


def recovery(models: list[str], n: int, seeds: int) -> None:
    print(f"Parameter recovery: {n:,} customers, {seeds} seeds, 95% intervals (target >= 90%)")
    print(
        f"{'model':<12}{'param':<8}{'true':>9}{'mean est':>11}{'mean se':>10}{'sd est':>10}"
        f"{'sd z':>7}{'coverage':>10}{'(95% interval)':>17}"
    )
    for name in models:
        hits: dict[str, int] = dict.fromkeys(TRUE[name], 0)
        est: dict[str, list[float]] = {k: [] for k in TRUE[name]}
        ses: dict[str, list[float]] = {k: [] for k in TRUE[name]}
        zs: dict[str, list[float]] = {k: [] for k in TRUE[name]}
        times = []
        failures = 0
        for seed in range(seeds):
            try:
                model, elapsed = _fit_once(name, n, seed)
            except Exception as exc:  # report, keep going
                failures += 1
                print(f"  {name} seed {seed}: {type(exc).__name__}: {exc}")
                continue
            times.append(elapsed)
            ci = model.confidence_intervals_
            for k, v in TRUE[name].items():
                hits[k] += ci[k][0] <= v <= ci[k][1]
                est[k].append(model.params_[k])
                ses[k].append(model.standard_errors_[k])
                zs[k].append((model.params_[k] - v) / model.standard_errors_[k])
        ok = seeds - failures
        for k, v in TRUE[name].items():
            cov = 100.0 * hits[k] / max(ok, 1)
            lo, hi = wilson(hits[k], ok)
            sd_est = float(np.std(est[k], ddof=1)) if ok > 1 else float("nan")
            sd_z = float(np.std(zs[k], ddof=1)) if ok > 1 else float("nan")
            print(
                f"{name:<12}{k:<8}{v:>9.4g}{np.mean(est[k]):>11.4g}{np.mean(ses[k]):>10.3g}"
                f"{sd_est:>10.3g}{sd_z:>7.2f}{cov:>9.0f}%{f'({100 * lo:.0f}-{100 * hi:.0f}%)':>17}"
            )
        print(f"{name:<12}fits: {ok}/{seeds} converged, mean fit time {np.mean(times):.2f} s")


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def timing(n: int, repeats: int) -> None:
    rng = np.random.default_rng(1)
    T = rng.integers(1, 731, n).astype(float)  # days since first purchase, two years of cohorts
    params = {
        "bgnbd": {"r": 0.25, "alpha": 30.0, "a": 0.8, "b": 2.5},
        "mbgnbd": {"r": 0.5, "alpha": 45.0, "a": 0.9, "b": 1.6},
        "pnbd": {"r": 0.55, "alpha": 75.0, "s": 0.6, "beta": 80.0},
    }
    print(f"\nFit timings, {n:,} customers, daily time (median of {repeats} runs)")
    for name, cls in PURCHASE.items():
        sim = cls.from_params(None, **params[name]).simulate(T, seed=3)
        x = sim["frequency"].to_numpy()
        tx = np.floor(sim["recency"].to_numpy())
        data = RFTData.build(x, tx, T)
        t_collapse = _median_time(lambda: RFTData.build(x, tx, T), repeats)  # noqa: B023
        t_raw = _median_time(lambda: cls().fit(x, tx, T), repeats)  # noqa: B023
        t_w = _median_time(
            lambda: cls().fit(data.x, data.tx, data.T, weights=data.w),  # noqa: B023
            repeats,
        )
        model = cls().fit(data.x, data.tx, data.T, weights=data.w)
        t_exp = _median_time(lambda: model.expected_purchases(30, x, tx, T), 1)  # noqa: B023
        t_pa = _median_time(lambda: model.probability_alive(x, tx, T), 1)  # noqa: B023
        t_int = _median_time(
            lambda: model.purchases_interval(30, x[:100_000], tx[:100_000], T[:100_000]),  # noqa: B023
            1,
        )
        print(
            f"{name:<8} unique rows {data.x.shape[0]:>8,}  collapse {t_collapse:6.2f} s  "
            f"fit {t_raw:6.2f} s  fit(weights) {t_w:6.2f} s  expected_purchases {t_exp:5.2f} s  "
            f"probability_alive {t_pa:5.2f} s  purchases_interval(100k) {t_int:5.2f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--models", default="bgnbd,mbgnbd,pnbd,gamma_gamma")
    parser.add_argument("--timing", action="store_true", help="also time fits on large data")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument("--timing-customers", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.timing_only:
        recovery(args.models.split(","), args.customers, args.seeds)
    if args.timing or args.timing_only:
        timing(args.timing_customers, args.repeats)


if __name__ == "__main__":
    main()
