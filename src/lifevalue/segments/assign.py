"""Put customers in segments and summarise the segments (``segments.csv``).

One implementation, in DuckDB SQL (:mod:`lifevalue.segments.sql`, the rules in
:mod:`lifevalue.segments.rfm` and :mod:`lifevalue.segments.behaviour`), serves both:

* :func:`segment_table` adds the scores, the group and the segments to a table of a DuckDB
  connection in place (``lifevalue analyze``), without pandas;
* :func:`segment_customers`, :func:`add_segments` and :func:`segment_summary` do the same for a
  pandas DataFrame, registered in a connection of its own.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from lifevalue.errors import ConfigError
from lifevalue.segments.behaviour import (
    CART_EVENTS,
    Context,
    Rules,
    code_sql,
    load_rules,
    names_categorical,
    names_sql,
    register_cart_events,
    segment_sql,
)
from lifevalue.segments.rfm import (
    RFM_COLUMNS,
    RFM_GRID,
    RFM_GROUPS,
    add_rfm_columns,
    group_categorical,
    group_sql,
    rfm_sql,
)
from lifevalue.segments.sql import (
    FLOAT_TYPES,
    Relation,
    base_type,
    frame_relation,
    quote,
    type_class,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

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

#: The columns segmenting adds, in order (``segments`` is VARCHAR, or a categorical in pandas).
ADDED_COLUMNS: Final = (*(name for name, _ in RFM_COLUMNS), "segments")


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


SummaryRow = tuple[str, str, int, float, float, float, float]


@dataclass(frozen=True)
class SegmentSummary:
    """The rows of ``segments.csv`` (see :func:`segment_summary`), without pandas.

    Attributes
    ----------
    rows
        One tuple per segment in the order of :data:`SUMMARY_COLUMNS`; NaN where undefined.
    """

    rows: tuple[SummaryRow, ...] = ()
    columns: tuple[str, ...] = SUMMARY_COLUMNS

    def to_frame(self) -> pd.DataFrame:
        """The rows as a DataFrame (what :func:`segment_summary` returns)."""
        import pandas as pd

        if not self.rows:
            return pd.DataFrame(columns=list(self.columns))
        frame = pd.DataFrame(list(self.rows), columns=list(self.columns))
        return frame.astype({"customers": "int64"})

    def write_csv(self, path: str | Path) -> Path:
        """Write the rows as CSV (``segments.csv``): a header, NaN as an empty field."""
        p = Path(path)
        with p.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.columns)
            for row in self.rows:
                writer.writerow([_csv_value(v) for v in row])
        return p


def _csv_value(value: object) -> object:
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return value


@dataclass
class TableSegments:
    """What :func:`segment_table` found besides the new columns.

    Attributes
    ----------
    summary
        The rows of ``segments.csv``.
    segments
        Names of the behavioural segments evaluated, in rule order.
    notices
        One line per skipped segment or fallback.
    """

    summary: SegmentSummary
    segments: tuple[str, ...]
    notices: list[str] = field(default_factory=list)


# --- in DuckDB -----------------------------------------------------------------------------------


def segment_table(
    con: Any,
    table: str = "customers",
    rules: Rules | str | Path | None = None,
    *,
    cart_events: pd.DataFrame | None = None,
    as_of: datetime | None = None,
) -> TableSegments:
    """Add ``r_score``, ``f_score``, ``m_score``, ``rfm_group`` and ``segments`` to a table.

    The table is changed in place: the five columns (TINYINT x 3, VARCHAR x 2) are appended,
    replacing any of the same names; the other columns and the row order stay. The rules are
    evaluated as SQL: a pass for column statistics, one per ranked column for the order
    statistics behind the scores and top shares, one per new column, one for the summary.
    pandas is needed only for cart events.

    Parameters
    ----------
    con
        DuckDB connection holding ``table``.
    table
        A base table of per-customer summaries (``lifevalue.analytics.customer_summary``),
        optionally with model predictions (``predicted_clv``, ``probability_alive``).
    rules
        Parsed rules, a path to a user rules file read on top of the defaults, or None for the
        defaults.
    cart_events
        Cart events with ``customer_id``, ``created_at``, ``converted`` for ``cart_abandoner``.
    as_of
        End of the observation window (for the cart window); default the end of the data.

    Returns
    -------
    TableSegments
        The summary rows (``segments.csv``), the segments evaluated and the notices.
    """

    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    name = quote(table)
    rel = Relation.describe(con, name)
    original = list(rel.types)
    for column in ADDED_COLUMNS:  # the rules read the new values, not old ones
        rel.types.pop(column, None)
    ctx = Context(as_of=_naive_or_none(as_of))
    ctx.cart_events = register_cart_events(con, cart_events)
    try:
        rules.inspect(rel)
        scores = rfm_sql(rel, **rules.rfm_columns)
        add_rfm_columns(rel, scores)
        members = segment_sql(rel, rules, ctx)
        values = rel.resolve("\n".join(scores)).split("\n")  # one pass per ranked column
        replaced = [c for c in ADDED_COLUMNS if c in original]
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The ALTERs writing the scores run on one thread: meanwhile a cursor computes
            # the segments' own order statistics, from the table as it was.
            names = pool.submit(_resolve_on_cursor, con, rel, names_sql(members))
            _write(con, rel, replaced, values, names, ctx)
        columns = {**rel.types, "segments": "VARCHAR"}
        summary = summarise(con, name, columns, tuple(members), groups_from_scores=True)
    finally:
        ctx.drop_cart_tables(con)
        if ctx.cart_events is not None:
            con.unregister(CART_EVENTS)
    return TableSegments(summary, tuple(members), ctx.notices)


def _scored(rel: Relation, replaced: Sequence[str]) -> str:
    """The customers with the computed columns (scores, group) as a subquery (placeholders left).

    ``replaced`` are columns of the relation that the computed ones replace.
    """
    exclude = f" EXCLUDE ({', '.join(quote(c) for c in replaced)})" if replaced else ""
    computed = ", ".join(f"{sql} AS {quote(c)}" for c, sql in rel.computed.items())
    return f"(SELECT *{exclude}, {computed} FROM {rel.source})"


def _resolve_on_cursor(con: Any, rel: Relation, sql: str) -> str:
    """:meth:`Relation.resolve` on a cursor of ``con``, while ``con`` itself is busy."""
    cursor = con.cursor()
    try:
        return rel.resolve(sql, cursor)
    finally:
        cursor.close()


def _write(
    con: Any,
    rel: Relation,
    replaced: Sequence[str],
    values: Sequence[str],
    names: Future[str],
    ctx: Context,
) -> None:
    """Replace the new columns of the table ``rel.source``, in one transaction.

    One ``ALTER TABLE ... ADD COLUMN`` and ``ALTER ... TYPE ... USING <SQL>`` per column: it
    writes that column alone, where ``CREATE TABLE AS`` would copy every other one too.
    """
    import duckdb

    name = rel.source

    def add(column: str, type_name: str, sql: str) -> None:
        col = quote(column)
        con.execute(f"ALTER TABLE {name} ADD COLUMN {col} {type_name}").fetchall()
        con.execute(f"ALTER TABLE {name} ALTER {col} TYPE {type_name} USING {sql}").fetchall()

    con.execute("BEGIN TRANSACTION").fetchall()
    try:
        for column in replaced:
            con.execute(f"ALTER TABLE {name} DROP COLUMN {quote(column)}").fetchall()
        for (column, type_name), sql in zip(RFM_COLUMNS[:3], values, strict=True):
            add(column, type_name, sql)
        add("rfm_group", "VARCHAR", group_sql(*(quote(c) for c, _ in RFM_COLUMNS[:3])))
        segments = names.result()
        flags = ctx.cart_flags
        without_carts = segments
        for flag in flags:  # cart abandoners: a subquery each, which ALTER cannot hold
            without_carts = without_carts.replace(flag, "false")
        try:  # the SQL of the rules' conditions
            add("segments", "VARCHAR", without_carts)
            if flags:
                con.execute(
                    f"UPDATE {name} SET {quote('segments')} = {segments} WHERE "
                    + " OR ".join(f"({f})" for f in flags)
                ).fetchall()
        except duckdb.Error as exc:
            raise _rules_error(exc) from exc
        con.execute("COMMIT").fetchall()
    except BaseException:
        con.execute("ROLLBACK").fetchall()
        raise


def _rules_error(exc: Exception) -> ConfigError:
    return ConfigError(f"the segment rules cannot be evaluated on these customers: {exc}")


def _naive_or_none(value: datetime | None) -> datetime | None:
    from lifevalue.segments.behaviour import _naive

    return None if value is None else _naive(value)


# --- pandas --------------------------------------------------------------------------------------


@dataclass
class _FrameCodes:
    """Scores, group and segment codes of a DataFrame's rows (in row order)."""

    r_score: npt.NDArray[np.int8]
    f_score: npt.NDArray[np.int8]
    m_score: npt.NDArray[np.int8]
    group: npt.NDArray[np.int8]
    code: npt.NDArray[np.int64] | None
    segments: tuple[str, ...]
    notices: list[str]


def _frame_codes(
    customers: pd.DataFrame,
    rules: Rules,
    *,
    with_segments: bool = True,
    cart_events: pd.DataFrame | None = None,
    as_of: datetime | None = None,
) -> _FrameCodes:
    """Evaluate the rules' SQL on a DataFrame registered in a connection of its own."""
    import duckdb
    import numpy as np

    rel = frame_relation(customers)
    con = rel.con
    ctx = Context(as_of=_naive_or_none(as_of))
    try:
        existing = [c for c in ADDED_COLUMNS if c in rel.types]
        for column in ADDED_COLUMNS:
            rel.types.pop(column, None)
        if with_segments:
            ctx.cart_events = register_cart_events(con, cart_events)
            rules.inspect(rel)
        scores = rfm_sql(rel, **rules.rfm_columns)
        add_rfm_columns(rel, scores)
        members = segment_sql(rel, rules, ctx) if with_segments else {}
        scored = _scored(rel, existing)  # the segments may read the computed columns
        group = group_sql(*(quote(c) for c, _ in RFM_COLUMNS[:3]), names=False)
        picks = [*(quote(c) for c, _ in RFM_COLUMNS[:3]), f"{group} AS g"]
        if with_segments:
            picks.append(f"{code_sql(members)} AS s")
        query = f"SELECT {', '.join(picks)} FROM {scored}"
        if ctx.cart_flags:  # the subqueries are joins, which do not keep the row order
            query = (
                f"SELECT {', '.join(picks)} FROM (SELECT *, row_number() OVER () AS __lv_row "
                f"FROM {scored}) ORDER BY __lv_row"
            )
        try:
            out = con.execute(rel.resolve(query)).fetchnumpy()
        except duckdb.Error as exc:
            raise _rules_error(exc) from exc
    finally:
        ctx.drop_cart_tables(con)
        con.close()
    return _FrameCodes(
        np.asarray(out["r_score"], dtype=np.int8),
        np.asarray(out["f_score"], dtype=np.int8),
        np.asarray(out["m_score"], dtype=np.int8),
        np.asarray(out["g"], dtype=np.int8),
        np.asarray(out["s"], dtype=np.int64) if with_segments else None,
        tuple(members),
        ctx.notices,
    )


def segment_frame(
    customers: pd.DataFrame,
    rules: Rules | str | Path | None = None,
    *,
    with_segments: bool = True,
    cart_events: pd.DataFrame | None = None,
    as_of: datetime | None = None,
) -> SegmentResult:
    """:func:`segment_customers`; with ``with_segments=False`` only the RFM columns."""
    if not isinstance(rules, Rules):
        rules = load_rules(rules)
    codes = _frame_codes(
        customers, rules, with_segments=with_segments, cart_events=cart_events, as_of=as_of
    )
    out = customers.copy()
    out["r_score"] = codes.r_score
    out["f_score"] = codes.f_score
    out["m_score"] = codes.m_score
    out["rfm_group"] = group_categorical(codes.group)
    if codes.code is not None:
        out["segments"] = names_categorical(codes.code, codes.segments)
    return SegmentResult(out, codes.segments, codes.notices)


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
        ``customers`` with ``r_score``, ``f_score``, ``m_score`` (int8), ``rfm_group`` and
        ``segments`` (categoricals), computed by the SQL of :func:`segment_table`.
    """
    return segment_frame(customers, rules, cart_events=cart_events, as_of=as_of)


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


# --- summary -------------------------------------------------------------------------------------


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
    rel = frame_relation(customers)
    try:
        summary = summarise(rel.con, rel.source, rel.types, segments)
    finally:
        rel.con.close()
    return summary.to_frame()


def summarise(
    con: Any,
    source: str,
    types: Mapping[str, str],
    segments: Sequence[str] | None = None,
    *,
    groups_from_scores: bool = False,
) -> SegmentSummary:
    """The rows of :func:`segment_summary` for the relation ``source`` of ``con``.

    One ``GROUP BY`` of the customers by their combination of segments and their group; each
    combination's totals then go to the segments it names.

    Parameters
    ----------
    con, source
        DuckDB connection and a relation in it (a quoted table name or a subquery).
    types
        Column -> DuckDB type of the relation (the type matters for ``total_spend``,
        ``spend_12m``, ``predicted_clv``; any other value marks a column as present).
    segments
        As in :func:`segment_summary`.
    groups_from_scores
        Read each customer's RFM group from ``r_score``, ``f_score``, ``m_score`` (small numbers
        group faster than names) rather than from ``rfm_group``.
    """
    has_segments = "segments" in types
    has_groups = "rfm_group" in types or groups_from_scores
    if not (has_segments or has_groups):
        return SegmentSummary()

    def number(column: str) -> str:
        if column not in types:
            return "CAST(NULL AS DOUBLE)"
        col = quote(column)
        if base_type(types[column]) in FLOAT_TYPES:  # NaN and infinities count as missing
            return f"CASE WHEN isfinite({col}) THEN CAST({col} AS DOUBLE) END"
        if type_class(types[column]) in ("number", "bool"):
            return f"CAST({col} AS DOUBLE)"
        value = f"TRY_CAST({col} AS DOUBLE)"
        return f"CASE WHEN isfinite({value}) THEN {value} END"

    def exact_sum(column: str) -> str:
        # added as decimals (to a millionth, as money is written out): the totals are the
        # same whatever order DuckDB's threads add the rows in, as floating-point sums are not
        return f"sum(CAST({column} AS DECIMAL(38,6)))"

    def key(column: str, present: bool) -> str:
        return f"coalesce(CAST({quote(column)} AS VARCHAR), '')" if present else "''"

    segment_key = key("segments", has_segments)
    group_key = key("rfm_group", has_groups)
    if groups_from_scores:
        r, f, m = (quote(c) for c, _ in RFM_COLUMNS[:3])
        group_key = f"CAST({r} AS INTEGER) * 10 + ({f} + {m}) // 2"
    first = has_segments and segments is None  # order of first appearance needed
    rows = con.execute(
        f"SELECT {segment_key} AS s, {group_key} AS g, "
        f"count(*), coalesce({exact_sum('spend')}, 0), coalesce({exact_sum('hist')}, 0), "
        f"count(hist), coalesce({exact_sum('pred')}, 0), count(pred)"
        + (", min(__lv_row)" if first else "")
        + f" FROM (SELECT *, coalesce({number('total_spend')}, 0) AS spend, "
        f"{number('spend_12m')} AS hist, {number('predicted_clv')} AS pred"
        + (", row_number() OVER () AS __lv_row" if first else "")
        + f" FROM {source}) GROUP BY ALL"
    ).fetchall()
    if groups_from_scores:
        rows = [(s, RFM_GRID[g // 10 - 1][g % 10 - 1], *rest) for s, g, *rest in rows]
    n = sum(int(r[2]) for r in rows)
    total_spend = math.fsum(float(r[3]) for r in rows)
    out: list[SummaryRow] = []
    if has_segments:
        combos: dict[str, list[list[float]]] = {}
        order: dict[str, int] = {}
        for row in rows:
            if row[0] == "":
                continue
            parts = combos.setdefault(row[0], [[] for _ in range(6)])
            for i in range(6):
                parts[i].append(float(row[2 + i]))
            if first:
                order[row[0]] = min(order.get(row[0], int(row[8])), int(row[8]))
        names = sorted(combos, key=order.__getitem__) if first else list(combos)
        per: dict[str, list[list[float]]] = {}
        for combo in names:
            for segment in combo.split(";"):
                bucket = per.setdefault(segment, [[] for _ in range(6)])
                for i in range(6):
                    bucket[i].extend(combos[combo][i])
        totals = {s: [math.fsum(v) for v in parts] for s, parts in per.items()}
        if segments is not None:
            listed = [(s, totals.get(s, [0.0] * 6)) for s in segments]
        else:
            listed = sorted(totals.items(), key=lambda item: -item[1][0])  # stable
        out += [_row("behaviour", s, t, n, total_spend) for s, t in listed]
    if has_groups:
        groups: dict[str, list[list[float]]] = {g: [[] for _ in range(6)] for g in RFM_GROUPS}
        for row in rows:
            if row[1] in groups:
                for i in range(6):
                    groups[row[1]][i].append(float(row[2 + i]))
        for g in RFM_GROUPS:
            t = [math.fsum(v) for v in groups[g]]
            out.append(_row("rfm", g, t, n, total_spend))
    return SegmentSummary(tuple(out))


def _row(kind: str, segment: str, t: Sequence[float], n: int, total_spend: float) -> SummaryRow:
    customers, spend, hist_sum, hist_n, pred_sum, pred_n = t
    nan = math.nan
    return (
        kind,
        segment,
        int(customers),
        customers / n if n else 0.0,
        spend / total_spend if total_spend else nan,
        hist_sum / hist_n if hist_n else nan,
        pred_sum / pred_n if pred_n else nan,
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
    import pandas as pd

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

        options = AnalysisOptions(end=end, segments=False)  # segmented below, by these rules
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
