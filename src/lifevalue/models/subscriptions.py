"""Subscriber cohorts: read active counts, fit sBG, project retention and lifetimes per cohort.

Input (``lifevalue subscriptions COHORTS.csv``): the number of subscribers of each cohort still
active after 0, 1, 2, ... periods (period 0 = the cohort's size), as

* a *long* CSV with columns ``cohort``, ``period``, ``active`` (one row per cohort and period), or
* a *wide* CSV: first column the cohort, then one column per period (headers 0, 1, 2, ...), empty
  cells after a cohort's last observed period.

One shifted-beta-geometric model (:class:`~lifevalue.models.ShiftedBetaGeoModel`) is fitted on all
cohorts together. A cohort observed up to period L with n_L subscribers left is projected as
``n_L · S(t) / S(L)`` for t > L (S the fitted survival curve), and its *expected lifetime* is the
mean number of periods its subscribers stay (counting the first):
``(n_0 + ... + n_(L-1) + n_L · Σ_(t>=L) S(t)/S(L)) / n_0``, where the sum is
``(alpha + beta + L - 1) / (alpha - 1)`` for alpha > 1 and infinite otherwise (then only the
lifetime within the projection window is finite).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifevalue.errors import InputError
from lifevalue.models.base import FloatArray
from lifevalue.models.shifted_beta_geo import ShiftedBetaGeoModel


def read_cohorts(path: Path) -> tuple[list[str], FloatArray]:
    """Cohort labels and the cohorts x periods matrix of active counts (NaN = not observed)."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"not a readable CSV ({exc})", file=str(path)) from None
    cols = {c.strip().lower(): c for c in frame.columns}
    if {"cohort", "period", "active"} <= set(cols):
        return _long(frame, cols, path)
    if frame.shape[1] < 3:
        raise InputError(
            "expected columns cohort, period, active (long) or a cohort column followed by one "
            "column per period 0, 1, 2, ... (wide)",
            file=str(path),
            hint="e.g. 'cohort,0,1,2' then '2024-01,1000,631,468'",
        )
    return _wide(frame, path)


def _number(value: str, path: Path, line: int, column: str) -> float:
    text = value.strip()
    if text == "":
        return math.nan
    try:
        v = float(text)
    except ValueError:
        raise InputError(
            f"'{value}' is not a number of subscribers", file=str(path), line=line, column=column
        ) from None
    if v < 0 or not math.isfinite(v):
        raise InputError(
            f"{value} is not a count of subscribers (must be >= 0)",
            file=str(path),
            line=line,
            column=column,
        )
    return v


def _long(frame: pd.DataFrame, cols: dict[str, str], path: Path) -> tuple[list[str], FloatArray]:
    labels: list[str] = []
    cells: dict[tuple[str, int], float] = {}
    for i, row in enumerate(frame.itertuples(index=False), start=2):
        rec = dict(zip(frame.columns, row, strict=True))
        cohort = str(rec[cols["cohort"]]).strip()
        try:
            period = int(str(rec[cols["period"]]).strip())
        except ValueError:
            raise InputError(
                f"period '{rec[cols['period']]}' is not a whole number",
                file=str(path),
                line=i,
                column=cols["period"],
            ) from None
        if period < 0:
            raise InputError("period must be >= 0", file=str(path), line=i, column=cols["period"])
        value = _number(str(rec[cols["active"]]), path, i, cols["active"])
        if cohort not in labels:
            labels.append(cohort)
        cells[(cohort, period)] = cells.get((cohort, period), 0.0) + value
    n_per = max(p for _, p in cells) + 1 if cells else 0
    mat = np.full((len(labels), n_per), np.nan)
    index = {c: k for k, c in enumerate(labels)}
    for (cohort, period), value in cells.items():
        mat[index[cohort], period] = value
    return labels, mat


def _wide(frame: pd.DataFrame, path: Path) -> tuple[list[str], FloatArray]:
    periods: list[int] = []
    for col in frame.columns[1:]:
        try:
            periods.append(int(str(col).strip()))
        except ValueError:
            raise InputError(
                f"column '{col}' should be a period number (0, 1, 2, ...)",
                file=str(path),
                line=1,
                column=str(col),
            ) from None
    if periods != list(range(len(periods))):
        raise InputError("period columns must be 0, 1, 2, ... in order", file=str(path), line=1)
    labels = [str(v).strip() for v in frame.iloc[:, 0]]
    mat = np.full((len(labels), len(periods)), np.nan)
    for i in range(len(labels)):
        for j, col in enumerate(frame.columns[1:]):
            mat[i, j] = _number(str(frame.iat[i, j + 1]), path, i + 2, str(col))
    return labels, mat


def project_cohorts(
    model: ShiftedBetaGeoModel, labels: list[str], mat: FloatArray, periods: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cohort summary and the observed + projected active counts by period.

    Parameters
    ----------
    model
        A fitted sBG model.
    labels, mat
        Cohorts and their active counts (from :func:`read_cohorts`).
    periods
        How many periods past each cohort's last observed period to project.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        ``summary``: cohort, size, last_period, active (at the last observed period),
        retention_now, projected_active_end, projected_retention_end (at last_period + periods),
        expected_lifetime (periods; inf when the fitted alpha <= 1) and expected_lifetime_within
        (periods within the projection window). ``curve``: cohort, period, observed_active,
        projected_active, projected_retention (share of the cohort's size).
    """
    a, b = model.params_["alpha"], model.params_["beta"]
    rows: list[dict[str, Any]] = []
    curve: list[dict[str, Any]] = []
    for label, row in zip(labels, mat, strict=True):
        obs = row[~np.isnan(row)]
        if obs.shape[0] == 0:
            continue
        size, last = float(obs[0]), obs.shape[0] - 1
        n_last = float(obs[-1])
        t = np.arange(0, last + periods + 1, dtype=np.float64)
        surv = model.projected_retention(t)
        cond = surv / surv[last]
        projected = np.where(t <= last, np.nan, n_last * cond)
        within = (float(np.sum(obs[:last])) + n_last * float(np.sum(cond[last:]))) / size
        if a > 1:
            tail = (a + b + last - 1) / (a - 1)
            lifetime = (float(np.sum(obs[:last])) + n_last * tail) / size
        else:
            lifetime = math.inf
        rows.append(
            {
                "cohort": label,
                "size": size,
                "last_period": last,
                "active": n_last,
                "retention_now": n_last / size if size else math.nan,
                "projected_active_end": float(projected[-1]),
                "projected_retention_end": float(projected[-1]) / size if size else math.nan,
                "expected_lifetime": lifetime,
                "expected_lifetime_within": within,
            }
        )
        for k in range(t.shape[0]):
            curve.append(
                {
                    "cohort": label,
                    "period": k,
                    "observed_active": float(obs[k]) if k <= last else math.nan,
                    "projected_active": float(projected[k]),
                    "projected_retention": float(projected[k]) / size
                    if k > last and size
                    else math.nan,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(curve)
