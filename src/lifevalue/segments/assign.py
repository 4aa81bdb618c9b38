"""Put customers in segments and summarise the segments (``segments.csv``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.segments.behaviour import Rules, behaviour_masks, join_names, load_rules
from lifevalue.segments.rfm import RFM_GROUPS, add_rfm

if TYPE_CHECKING:
    from lifevalue.io.reader import ReadOptions

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


# --- files ---------------------------------------------------------------------------------------

#: Columns that mark a file as a per-customer summary rather than an order log.
_SUMMARY_MARKERS = ("customer_id", "days_since_last_order", "total_spend")
_CONTACTS = ("email", "phone", "country")
_TEXT_COLUMNS = ("customer_id", *_CONTACTS, "rfm_group", "segments")


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _reader(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return "read_parquet"
    if name.endswith((".csv", ".csv.gz", ".csv.zst")):
        return "read_csv"
    return None


def is_customer_file(paths: Sequence[str | Path]) -> bool:
    """True when ``paths`` is one Parquet/CSV file holding a per-customer summary.

    A summary (``customers.parquet`` of ``lifevalue analyze``) has ``customer_id``,
    ``days_since_last_order`` and ``total_spend`` and no ``ordered_at``.
    """
    import duckdb

    if len(paths) != 1:
        return False
    path = Path(paths[0])
    reader = _reader(path)
    if reader is None or not path.is_file():
        return False
    con = duckdb.connect()
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM {reader}({_sql_text(str(path))})").fetchall()
    except duckdb.Error:
        return False
    finally:
        con.close()
    columns = {str(r[0]) for r in rows}
    return set(_SUMMARY_MARKERS) <= columns and "ordered_at" not in columns


def read_customers(path: str | Path) -> pd.DataFrame:
    """Read a per-customer summary written by ``lifevalue analyze`` (Parquet or CSV).

    Raises
    ------
    InputError
        The file cannot be read or is not a summary.
    """
    import duckdb

    from lifevalue.errors import InputError

    p = Path(path)
    reader = _reader(p)
    if reader is None:
        raise InputError("not a .parquet or .csv customer file", file=str(p))
    try:
        if reader == "read_parquet":
            import pyarrow.parquet as pq

            frame: pd.DataFrame = pq.read_table(p).to_pandas()
        else:
            con = duckdb.connect()
            try:
                source = _sql_text(str(p))
                found = {
                    r[0] for r in con.sql(f"DESCRIBE SELECT * FROM read_csv({source})").fetchall()
                }
                # ids and contacts stay text (a phone column of digits must keep its zeros)
                text = ", ".join(f"{_sql_text(c)}: 'VARCHAR'" for c in _TEXT_COLUMNS if c in found)
                query = f"SELECT * FROM read_csv({source}, types={{{text}}})"
                frame = con.sql(query).to_arrow_table().to_pandas()
            finally:
                con.close()
    except (OSError, duckdb.Error, ValueError) as exc:
        raise InputError(f"cannot read the customer file: {exc}", file=str(p)) from exc
    missing = [c for c in _SUMMARY_MARKERS if c not in frame.columns]
    if missing:
        raise InputError(
            f"not a customer summary: no column {missing[0]!r}",
            file=str(p),
            column=missing[0],
            hint="pass customers.parquet from `lifevalue analyze`, or the order log itself",
        )
    return frame


def customer_contacts(con: Any) -> pd.DataFrame:
    """Latest e-mail, phone and country of each customer from the canonical ``orders`` table.

    Parameters
    ----------
    con
        DuckDB connection holding ``orders`` (``lifevalue.io.read_orders``).

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` plus those of ``email``, ``phone``, ``country`` that the orders carry
        (the value of the customer's latest order that has one).
    """
    counts = con.execute(
        "SELECT " + ", ".join(f"count({c})" for c in _CONTACTS) + " FROM orders"
    ).fetchall()[0]
    present = [c for c, n in zip(_CONTACTS, counts, strict=True) if n]
    if not present:
        return pd.DataFrame({"customer_id": pd.Series(dtype=object)})
    picks = ", ".join(
        f"arg_max(CAST({c} AS VARCHAR), ordered_at) FILTER (WHERE {c} IS NOT NULL) AS {c}"
        for c in present
    )
    sql = f"SELECT customer_id, {picks} FROM orders GROUP BY customer_id"
    frame: pd.DataFrame = con.sql(sql).to_arrow_table().to_pandas()
    return frame


def with_contacts(customers: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """``customers`` with the contact columns it lacks, joined on ``customer_id``."""
    extra = [c for c in contacts.columns if c != "customer_id" and c not in customers.columns]
    if not extra:
        return customers
    ids = customers["customer_id"].astype(str)
    looked_up = contacts.assign(customer_id=contacts["customer_id"].astype(str)).set_index(
        "customer_id"
    )
    out = customers.copy()
    for col in extra:
        out[col] = ids.map(looked_up[col]).to_numpy()
    return out


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as Parquet (zstd) or CSV by the file's extension, through DuckDB.

    DuckDB writes millions of rows in a fraction of the time pandas takes.
    """
    import duckdb
    import pyarrow as pa

    p = Path(path)
    options = (
        "(FORMAT parquet, COMPRESSION zstd)"
        if p.name.lower().endswith(".parquet")
        else "(HEADER, DELIMITER ',')"
    )
    con = duckdb.connect()
    try:
        con.register("frame_out", pa.Table.from_pandas(frame, preserve_index=False))
        con.execute(f"COPY frame_out TO {_sql_text(str(p))} {options}")
    finally:
        con.close()
    return p


def write_customers(customers: pd.DataFrame, out: str | Path) -> dict[str, Path]:
    """Write ``customers.parquet`` and ``customers.csv`` into the folder ``out``.

    Returns
    -------
    dict
        File name -> path written.
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    return {
        name: write_frame(customers, folder / name)
        for name in ("customers.parquet", "customers.csv")
    }


def segment_input(
    paths: Sequence[str | Path],
    read: ReadOptions | None = None,
    *,
    end: date | None = None,
    rules: Rules | str | Path | None = None,
    carts: str | Path | None = None,
    model: str = "none",
    progress: Callable[[str], None] | None = None,
) -> SegmentResult:
    """Segment the customers of a customer file or of an order log (what the CLI reads).

    Parameters
    ----------
    paths
        One ``customers.parquet``/``.csv`` (a summary from ``lifevalue analyze``, used as is),
        or order files read with ``read`` and summarised up to ``end``; customers then also
        get their latest ``email``, ``phone`` and ``country`` from the orders.
    rules, carts
        Rules (or a user rules file) and a cart events file.
    model
        With an order log: the purchase model of the analysis (``auto``, ``bgnbd``, ...) whose
        predictions (``predicted_clv``, ``probability_alive``) the vip and at_risk rules use;
        ``none`` (default) skips it.
    progress
        Called with a short description of each step.
    """
    from lifevalue.segments.behaviour import read_cart_events

    say = progress or (lambda _msg: None)
    cart_events = read_cart_events(carts) if carts is not None else None
    if is_customer_file(paths):
        say(f"reading {Path(paths[0]).name}")
        customers = read_customers(paths[0])
    else:
        from lifevalue.pipeline import AnalysisOptions, run_analysis

        options = AnalysisOptions(end=end)
        if model != "none":
            from lifevalue.models.pipeline_step import ModelOptions

            options.model = ModelOptions(model=model)
            options.model.check()
        result = run_analysis(paths, read, options, progress=say)
        customers = (
            result.con.sql("SELECT * FROM customers ORDER BY customer_id")
            .to_arrow_table()
            .to_pandas()
        )
        customers = with_contacts(customers, customer_contacts(result.con))
    say("segmenting customers")
    return segment_customers(customers, rules, cart_events=cart_events)
