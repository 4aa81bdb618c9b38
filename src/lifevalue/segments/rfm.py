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
A missing value counts as the worst and scores 1. The scores are SQL (:func:`score_sql`): each is
a ``CASE`` over four order statistics of the column, so equal values cannot be told apart.

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

from typing import TYPE_CHECKING, Final

from lifevalue.errors import InputError
from lifevalue.segments.sql import (
    ColumnStats,
    Relation,
    frame_relation,
    literal,
    quote,
    text_literal,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

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

#: The columns the RFM step adds, in order, with their DuckDB types.
RFM_COLUMNS: Final = (
    ("r_score", "TINYINT"),
    ("f_score", "TINYINT"),
    ("m_score", "TINYINT"),
    ("rfm_group", "VARCHAR"),
)

_BINS: Final = 5


# --- SQL -----------------------------------------------------------------------------------------


def score_sql(
    rel: Relation, column: str, *, higher_is_better: bool = True, bins: int = _BINS
) -> str:
    """SQL for the quantile score (1..bins) of ``column``: equal values get equal scores.

    ``1 + floor(bins × w / n)`` with ``w`` the number of the ``n`` customers with a strictly worse
    value (a missing value is the worst). It is at least ``k + 1`` exactly when ``w`` reaches
    ``ceil(k × n / bins)``, i.e. when the value beats one order statistic of the column, so the
    score is a ``CASE`` over ``bins - 1`` thresholds.

    Parameters
    ----------
    rel
        The customers (:meth:`Relation.inspect` must have seen ``column``).
    column
        A numeric column.
    higher_is_better
        True when a larger value is better (orders, spend), False when smaller is (days since
        the last order).
    bins
        Number of scores (5 for quintiles).

    Returns
    -------
    str
        A TINYINT expression; its thresholds are placeholders until :meth:`Relation.resolve`.
    """
    x = rel.numeric(column)
    n = rel.n
    valid = rel.stat(column).valid
    missing = n - valid
    tests: list[tuple[str, int | None]] = []  # (operator, rank of the threshold)
    for k in range(1, bins):
        needed = -(-k * n // bins)  # ceil(k n / bins) customers must be worse
        j = needed - missing  # ... of which the missing ones are always worse
        if j <= 0:
            tests.append(("", None))  # any value will do
        elif higher_is_better:  # more than j values below: above the j-th smallest
            tests.append((">", j))
        else:  # j values above: below the j-th largest
            tests.append(("<", valid - j + 1))

    def build(values: list[object]) -> str:
        thresholds = iter(values)
        conditions = [
            f"{x} IS NOT NULL" if j is None else f"{x} {op} {literal(next(thresholds))}"
            for op, j in tests
        ]
        # the thresholds grow with k, so the highest score whose condition holds is the score
        # (a repeated condition is never reached: left out)
        whens: dict[str, str] = {}
        for k in range(bins - 1, 0, -1):
            whens.setdefault(conditions[k - 1], f"WHEN {conditions[k - 1]} THEN {k + 1}")
        if not whens:
            return "CAST(1 AS TINYINT)"
        return f"CAST(CASE {' '.join(whens.values())} ELSE 1 END AS TINYINT)"

    keys = [(column, j) for _, j in tests if j is not None]
    return rel.when_known(keys, build) if keys else build([])


def group_sql(r_score: str, f_score: str, m_score: str, *, names: bool = True) -> str:
    """SQL for the RFM group of scores ``r_score``, ``f_score``, ``m_score`` (SQL, 1-5 each).

    Returns the group name (VARCHAR) or, with ``names=False``, its index in
    :data:`RFM_GROUPS` (TINYINT), by the grid of the module docstring.
    """
    cells = [RFM_GRID[r][fm] for r in range(_BINS) for fm in range(_BINS)]
    items = [text_literal(g) if names else str(RFM_GROUPS.index(g)) for g in cells]
    index = f"({r_score} - 1) * {_BINS} + ({f_score} + {m_score}) // 2"
    value = f"[{', '.join(items)}][{index}]"
    return value if names else f"CAST({value} AS TINYINT)"


def rfm_sql(
    rel: Relation,
    *,
    recency: str = DEFAULT_RECENCY,
    frequency: str = DEFAULT_FREQUENCY,
    monetary: str = DEFAULT_MONETARY,
) -> tuple[str, str, str]:
    """SQL for ``r_score``, ``f_score`` and ``m_score`` over ``rel``.

    Raises
    ------
    InputError
        A column is missing or not numeric.
    """
    for name in (recency, frequency, monetary):
        if not rel.has(name):
            raise InputError(
                f"the customer summary has no column {name!r} needed for RFM scores",
                column=name,
                hint="pass a customer summary from `lifevalue analyze` or name another column",
            )
    rel.inspect([recency, frequency, monetary])
    return (
        score_sql(rel, recency, higher_is_better=False),
        score_sql(rel, frequency),
        score_sql(rel, monetary),
    )


def add_rfm_columns(rel: Relation, scores: tuple[str, str, str]) -> None:
    """Declare the scores and the group as computed columns of ``rel`` (rules may read them)."""
    never_missing = ColumnStats(rel.n, nonzero=rel.n > 0, low=1, high=_BINS)
    for (name, type_name), sql in zip(RFM_COLUMNS[:3], scores, strict=True):
        rel.add_computed(name, sql, type_name, never_missing)
    group = group_sql(*(f"({s})" for s in scores))
    rel.add_computed("rfm_group", group, "VARCHAR", ColumnStats(rel.n, nonzero=rel.n > 0))


# --- DataFrames ----------------------------------------------------------------------------------


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
        ``1 + floor(bins × share of customers with a strictly worse value)``, in 1..bins (the
        SQL of :func:`score_sql`).
    """
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame({"v": np.asarray(values, dtype=np.float64)})
    rel = frame_relation(frame)
    try:
        rel.inspect(["v"])
        sql = score_sql(rel, "v", higher_is_better=higher_is_better, bins=bins)
        out = rel.con.execute(f"SELECT {rel.resolve(sql)} AS s FROM {rel.source}").fetchnumpy()
    finally:
        rel.con.close()
    scores: npt.NDArray[np.int8] = np.asarray(out["s"], dtype=np.int8)
    return scores


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
    import numpy as np
    import pandas as pd

    rel = frame_relation(customers)
    try:
        scores = rfm_sql(rel, recency=recency, frequency=frequency, monetary=monetary)
        names = [name for name, _ in RFM_COLUMNS[:3]]
        select = ", ".join(f"{s} AS {quote(n)}" for s, n in zip(scores, names, strict=True))
        out = rel.con.execute(f"SELECT {rel.resolve(select)} FROM {rel.source}").fetchnumpy()
    finally:
        rel.con.close()
    return pd.DataFrame(
        {name: np.asarray(out[name], dtype=np.int8) for name in names}, index=customers.index
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
    import numpy as np
    import pandas as pd

    r = np.asarray(r_score, dtype=np.int64)
    f = np.asarray(f_score, dtype=np.int64)
    m = np.asarray(m_score, dtype=np.int64)
    fm = (f + m) // 2
    if r.size and (r.min() < 1 or r.max() > _BINS or fm.min() < 1 or fm.max() > _BINS):
        raise ValueError("RFM scores must lie in 1..5")
    frame = pd.DataFrame({"r": r, "f": f, "m": m})
    rel = frame_relation(frame)
    try:
        sql = group_sql("r", "f", "m", names=False)
        codes = rel.con.execute(f"SELECT {sql} AS g FROM {rel.source}").fetchnumpy()["g"]
    finally:
        rel.con.close()
    return group_categorical(np.asarray(codes, dtype=np.int8))


def group_categorical(codes: npt.NDArray[np.int8]) -> pd.Categorical[str]:
    """Group indices into :data:`RFM_GROUPS` as a categorical of the 11 names."""
    import pandas as pd

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
    from lifevalue.segments.assign import segment_frame
    from lifevalue.segments.behaviour import Rules

    columns = {"recency": recency, "frequency": frequency, "monetary": monetary}
    return segment_frame(customers, Rules((), columns, ()), with_segments=False).customers
