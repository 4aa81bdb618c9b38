"""RFM scores (1-5) and the 11 named RFM groups.

Scores
------
Each customer gets a recency score ``r_score``, a frequency score ``f_score`` and a monetary
score ``m_score`` from 1 (worst fifth) to 5 (best fifth), by quantiles of the customers' values:

    score = 1 + floor(5 × share of customers with a strictly worse value)

"Worse" means more days since the last order for recency (column ``days_since_last_order``),
fewer orders for frequency (``orders``) and less net spend for monetary (``total_spend``).
Equal values always get equal scores, whatever their order or customer ids, so the result is
deterministic; the price is that heavily tied values leave some scores unused (when 60 % of
customers have one order they all get ``f_score`` 1 and customers with two orders start at 4).
A missing value counts as the worst and scores 1.

Groups
------
The groups are read from ``R`` = ``r_score`` and ``FM`` = ``(f_score + m_score) // 2`` (the mean of
the frequency and monetary scores, rounded down) in one 5 × 5 grid, so every customer falls in
exactly one group:

========  ==============  ==================  ==================  ==============  ==============
R \\ FM    1               2                   3                   4               5
========  ==============  ==================  ==================  ==============  ==============
5         new             potential_loyalist  potential_loyalist  champions       champions
4         promising       potential_loyalist  potential_loyalist  loyal           champions
3         about_to_sleep  about_to_sleep      need_attention      loyal           loyal
2         hibernating     hibernating         at_risk             at_risk         cant_lose_them
1         lost            lost                at_risk             cant_lose_them  cant_lose_them
========  ==============  ==================  ==================  ==============  ==============

In words: champions bought recently and buy often/spend most; loyal buy often and spend well
but less recently; potential loyalists are recent with middling frequency/spend; new and
promising are recent with the lowest frequency/spend (new the most recent); need attention are
middling on all; about to sleep are middling-recent with low frequency/spend; at risk and can't
lose them used to buy often/spend much but have not bought for long; hibernating and lost are
neither recent nor frequent (lost the least recent).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.errors import InputError

#: The 11 groups, best first (the order of the categories of ``rfm_group``).
RFM_GROUPS: Final[tuple[str, ...]] = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new",
    "promising",
    "need_attention",
    "about_to_sleep",
    "at_risk",
    "cant_lose_them",
    "hibernating",
    "lost",
)

#: ``RFM_GRID[r - 1][fm - 1]`` is the group of recency score ``r`` and FM score ``fm``.
RFM_GRID: Final[tuple[tuple[str, ...], ...]] = (
    ("lost", "lost", "at_risk", "cant_lose_them", "cant_lose_them"),  # R = 1
    ("hibernating", "hibernating", "at_risk", "at_risk", "cant_lose_them"),  # R = 2
    ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),  # R = 3
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"),  # R = 4
    ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),  # R = 5
)

#: Default columns of the per-customer summary used for R, F and M.
DEFAULT_RECENCY: Final = "days_since_last_order"
DEFAULT_FREQUENCY: Final = "orders"
DEFAULT_MONETARY: Final = "total_spend"

_BINS: Final = 5
# Group code per (r, fm) cell, as an array indexed [r - 1, fm - 1].
_GRID_CODES: Final = np.array(
    [[RFM_GROUPS.index(g) for g in row] for row in RFM_GRID], dtype=np.int8
)


def tie_counts(values: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """How many values are strictly below and strictly above each value (one sort, no loop).

    NaN must be replaced by the caller (e.g. by ``-inf``); equal values get equal counts.

    Returns
    -------
    (below, above)
        Two int64 arrays of the length of ``values``.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    finite = np.isfinite(x)
    if n and finite.all():
        lo, hi = float(x.min()), float(x.max())
        if hi - lo <= 4 * n and np.array_equal(x, np.floor(x)):
            # whole numbers in a small range (orders, days): count instead of sorting
            offsets = (x - lo).astype(np.int64)
            counts = np.bincount(offsets)
            upto = np.cumsum(counts)
            return upto[offsets] - counts[offsets], n - upto[offsets]
    order = np.argsort(x)
    ordered = x[order]
    starts = np.empty(n, dtype=bool)
    starts[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=starts[1:])
    positions = np.arange(n, dtype=np.int64)
    first = np.maximum.accumulate(np.where(starts, positions, 0))
    # last position of each run: scan the reversed run starts
    ends = np.empty(n, dtype=bool)
    ends[-1:] = True
    ends[:-1] = starts[1:]
    last = np.minimum.accumulate(np.where(ends, positions, n)[::-1])[::-1]
    below = np.empty(n, dtype=np.int64)
    above = np.empty(n, dtype=np.int64)
    below[order] = first
    above[order] = n - 1 - last
    return below, above


def quantile_scores(
    values: npt.ArrayLike, *, higher_is_better: bool = True, bins: int = _BINS
) -> npt.NDArray[np.int8]:
    """Score values 1..bins by quantiles, equal values getting equal scores.

    Parameters
    ----------
    values
        One value per customer; NaN counts as the worst value.
    higher_is_better
        True when a larger value is better (orders, spend), False when smaller is (days since
        the last order).
    bins
        Number of scores (5 for quintiles).

    Returns
    -------
    numpy.ndarray of int8
        ``1 + floor(bins × share of customers with a strictly worse value)``, in 1..bins.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    x = np.where(np.isnan(x), -np.inf if higher_is_better else np.inf, x)
    below, above = tie_counts(x)
    worse = below if higher_is_better else above
    return (1 + (worse * bins) // n).astype(np.int8)


def _column(customers: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    if name not in customers.columns:
        raise InputError(
            f"the customer summary has no column {name!r} needed for RFM scores",
            column=name,
            hint="pass a customer summary from `lifevalue analyze` or name another column",
        )
    try:
        return pd.to_numeric(customers[name], errors="raise").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {name!r} is not numeric: {exc}", column=name) from exc


def rfm_scores(
    customers: pd.DataFrame,
    *,
    recency: str = DEFAULT_RECENCY,
    frequency: str = DEFAULT_FREQUENCY,
    monetary: str = DEFAULT_MONETARY,
) -> pd.DataFrame:
    """The R, F and M scores (1-5) of each customer.

    Parameters
    ----------
    customers
        Per-customer summary, one row per customer.
    recency, frequency, monetary
        Columns holding days since the last order (smaller is better), the number of orders and
        the net spend (currency).

    Returns
    -------
    pandas.DataFrame
        Columns ``r_score``, ``f_score``, ``m_score`` (int8), on the index of ``customers``.
    """
    return pd.DataFrame(
        {
            "r_score": quantile_scores(_column(customers, recency), higher_is_better=False),
            "f_score": quantile_scores(_column(customers, frequency)),
            "m_score": quantile_scores(_column(customers, monetary)),
        },
        index=customers.index,
    )


def rfm_groups(
    r_score: npt.ArrayLike, f_score: npt.ArrayLike, m_score: npt.ArrayLike
) -> pd.Categorical[str]:
    """The named group of each (R, F, M) score triple, by the grid in the module docstring.

    Parameters
    ----------
    r_score, f_score, m_score
        Scores 1-5, one per customer.

    Returns
    -------
    pandas.Categorical
        One of :data:`RFM_GROUPS` per customer.
    """
    r = np.asarray(r_score, dtype=np.int64)
    fm = (np.asarray(f_score, dtype=np.int64) + np.asarray(m_score, dtype=np.int64)) // 2
    if r.size and (r.min() < 1 or r.max() > _BINS or fm.min() < 1 or fm.max() > _BINS):
        raise ValueError("RFM scores must lie in 1..5")
    codes = _GRID_CODES[r - 1, fm - 1]
    return pd.Categorical.from_codes(codes, categories=pd.Index(list(RFM_GROUPS)))


def add_rfm(
    customers: pd.DataFrame,
    *,
    recency: str = DEFAULT_RECENCY,
    frequency: str = DEFAULT_FREQUENCY,
    monetary: str = DEFAULT_MONETARY,
) -> pd.DataFrame:
    """A copy of ``customers`` with ``r_score``, ``f_score``, ``m_score`` and ``rfm_group``.

    Parameters
    ----------
    customers
        Per-customer summary (see ``docs/contract.md``).
    recency, frequency, monetary
        Columns used for the three scores; see :func:`rfm_scores`.

    Returns
    -------
    pandas.DataFrame
        The input columns plus the scores and the group (a categorical of snake_case names).
    """
    scores = rfm_scores(customers, recency=recency, frequency=frequency, monetary=monetary)
    out = customers.copy()
    for name in ("r_score", "f_score", "m_score"):
        out[name] = scores[name]
    out["rfm_group"] = rfm_groups(scores["r_score"], scores["f_score"], scores["m_score"])
    return out
