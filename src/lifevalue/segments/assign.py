"""Put customers in segments and summarise the segments (``segments.csv``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.segments.behaviour import Rules, behaviour_masks, join_names, load_rules
from lifevalue.segments.rfm import RFM_GROUPS, add_rfm

#: Columns of :func:`segment_summary`.
SUMMARY_COLUMNS = (
    "kind",
    "segment",
    "customers",
    "share_of_customers",
    "revenue_share",
    "avg_historical_clv",
    "avg_predicted_clv",
)


@dataclass
class SegmentResult:
    """Customers with their segments, plus what the rules could not do.

    Attributes
    ----------
    customers
        The input with ``r_score``, ``f_score``, ``m_score``, ``rfm_group`` and ``segments``.
    segments
        Names of the behavioural segments evaluated, in rule order.
    notices
        One line per skipped segment or fallback (e.g. no predictions, no cart events).
    """

    customers: pd.DataFrame
    segments: tuple[str, ...]
    notices: list[str] = field(default_factory=list)


def segment_customers(
    customers: pd.DataFrame,
    rules: Rules | str | Path | None = None,
    *,
    cart_events: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> SegmentResult:
    """RFM group and behavioural segments of every customer.

    Parameters
    ----------
    customers
        Per-customer summary (``lifevalue.analytics.customer_summary``), optionally with model
        predictions (``predicted_clv``, ``probability_alive``).
    rules
        Parsed rules, a path to a user rules file read on top of the defaults, or None for the
        defaults.
    cart_events
        Cart events with ``customer_id``, ``created_at``, ``converted`` for ``cart_abandoner``.
    as_of
        End of the observation window (for the cart window); default the end of the data.

    Returns
    -------
    SegmentResult
    """
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    out = add_rfm(customers, **rules.rfm_columns)
    masks, notices = behaviour_masks(out, rules, cart_events=cart_events, as_of=as_of)
    out["segments"] = join_names(masks, len(out))
    return SegmentResult(out, tuple(masks), notices)


def add_segments(
    customers: pd.DataFrame,
    rules: Rules | str | Path | None = None,
    *,
    cart_events: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """A copy of ``customers`` with the ``segments`` and ``rfm_group`` columns (and R/F/M scores).

    ``segments`` holds the semicolon-separated names of the behavioural segments of each
    customer ('' for none). See :func:`segment_customers` for the parameters; use it to get the
    notices too.
    """
    return segment_customers(customers, rules, cart_events=cart_events, as_of=as_of).customers


def _column_or_nan(customers: pd.DataFrame, name: str) -> pd.Series:
    if name in customers.columns:
        return pd.to_numeric(customers[name], errors="coerce").astype("float64")
    return pd.Series(np.nan, index=customers.index, dtype="float64")


def segment_summary(customers: pd.DataFrame, segments: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per behavioural segment and per RFM group: size, revenue and CLV.

    Parameters
    ----------
    customers
        Output of :func:`add_segments` (needs ``segments`` and/or ``rfm_group``; uses
        ``total_spend``, ``spend_12m`` and ``predicted_clv`` when present).
    segments
        Behavioural segments to list, in this order, empty ones included (e.g.
        ``SegmentResult.segments``); default those found, largest first.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``behaviour`` or ``rfm``), ``segment``, ``customers``,
        ``share_of_customers`` (of all customers), ``revenue_share`` (share of the sum of
        total_spend), ``avg_historical_clv`` (mean spend_12m, currency), ``avg_predicted_clv``
        (mean predicted_clv; empty without predictions). Behavioural segments overlap, so their
        shares need not add up to 1; all 11 RFM groups are listed, empty ones with 0 customers.
    """
    n = len(customers)
    spend = _column_or_nan(customers, "total_spend").fillna(0.0).to_numpy()
    hist = _column_or_nan(customers, "spend_12m").to_numpy()
    pred = _column_or_nan(customers, "predicted_clv").to_numpy()
    weights = {
        "customers": np.ones(n),
        "spend": spend,
        "hist_sum": np.nan_to_num(hist),
        "hist_n": (~np.isnan(hist)).astype(np.float64),
        "pred_sum": np.nan_to_num(pred),
        "pred_n": (~np.isnan(pred)).astype(np.float64),
    }
    total_spend = float(spend.sum())
    parts = []
    if "segments" in customers.columns:
        combos = _aggregate(customers["segments"], weights)
        # expand each combination "a;b" into its segments, then add up per segment
        combos = combos[combos.index != ""]
        names = combos.index.to_series().str.split(";")
        exploded = combos.assign(segment=names.to_numpy()).explode("segment")
        per = exploded.groupby("segment", sort=False)[list(weights)].sum()
        if segments is not None:
            per = per.reindex(list(segments), fill_value=0)
        else:
            per = per.sort_values("customers", ascending=False, kind="stable")
        parts.append(_finish(per, "behaviour", n, total_spend))
    if "rfm_group" in customers.columns:
        per = _aggregate(customers["rfm_group"], weights).reindex(list(RFM_GROUPS), fill_value=0)
        parts.append(_finish(per, "rfm", n, total_spend))
    if not parts:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(SUMMARY_COLUMNS)]


def _aggregate(key: pd.Series, weights: dict[str, npt.NDArray[np.float64]]) -> pd.DataFrame:
    """Sums of each weight per distinct key value (missing keys count as '')."""
    codes, uniques = pd.factorize(key, use_na_sentinel=True)
    labels = [str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append("")
    sums = {
        name: np.bincount(codes, weights=w, minlength=len(labels)) for name, w in weights.items()
    }
    frame = pd.DataFrame(sums, index=pd.Index(labels, dtype=object))
    return frame.groupby(level=0, sort=False).sum()  # '' may appear twice


def _finish(per: pd.DataFrame, kind: str, n: int, total_spend: float) -> pd.DataFrame:
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "kind": kind,
                "segment": per.index.astype(str),
                "customers": per["customers"].to_numpy(dtype=np.int64),
                "share_of_customers": per["customers"].to_numpy(dtype=float) / n if n else 0.0,
                "revenue_share": (
                    per["spend"].to_numpy(dtype=float) / total_spend if total_spend else np.nan
                ),
                "avg_historical_clv": per["hist_sum"].to_numpy(dtype=float)
                / per["hist_n"].to_numpy(dtype=float),
                "avg_predicted_clv": per["pred_sum"].to_numpy(dtype=float)
                / per["pred_n"].to_numpy(dtype=float),
            }
        )
