"""The SQL engine behind the segments: a relation's columns, their statistics, order statistics.

RFM scores and behavioural segments are evaluated as DuckDB SQL, whether the customers are a
table of the analysis connection (``lifevalue analyze``) or a pandas DataFrame registered in a
connection of their own (``lifevalue segments``, the report, the Python API). This module holds
what every rule needs:

* :class:`Relation`: the column types of the customers, the number of rows and, per column the
  rules read, how many values it has (NULL and NaN are missing) and whether one is non-zero;
* :meth:`Relation.order_stat`: the j-th smallest value of a column, exact (quantile and top-share
  thresholds are order statistics), requested while the SQL is built and filled in by
  :meth:`Relation.resolve` with as few passes over the data as possible;
* literals and quoting.

No pandas or NumPy here: the analyze path imports neither.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from lifevalue.errors import InputError

#: DuckDB types compared and ranked as they are (exact integers and doubles).
INTEGER_TYPES: Final = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    }
)
FLOAT_TYPES: Final = frozenset({"DOUBLE", "FLOAT"})
#: Types that behave as numbers in conditions (cast to DOUBLE unless integer or DOUBLE).
NUMERIC_TYPES: Final = INTEGER_TYPES | FLOAT_TYPES | frozenset({"HUGEINT", "UHUGEINT"})
TEXT_TYPES: Final = frozenset({"VARCHAR"})
TEMPORAL_TYPES: Final = frozenset(
    {
        "DATE",
        "TIME",
        "TIMESTAMP",
        "TIMESTAMP_NS",
        "TIMESTAMP_MS",
        "TIMESTAMP_S",
        "TIMESTAMP WITH TIME ZONE",
    }
)

_TOKEN_RE: Final = re.compile("\x00(\\d+)\x00")


def quote(name: str) -> str:
    """A SQL identifier: ``name`` in double quotes."""
    return '"' + name.replace('"', '""') + '"'


def text_literal(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def number_literal(value: float) -> str:
    """A SQL DOUBLE equal to ``value`` bit for bit (``repr`` round-trips, the cast parses it)."""
    return f"CAST('{float(value)!r}' AS DOUBLE)"


def literal(value: object) -> str:
    """A SQL literal for an int, float, bool or str (an order statistic, a rule's constant)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_literal(value)
    if isinstance(value, str):
        return text_literal(value)
    raise TypeError(f"no SQL literal for {value!r}")


def base_type(type_name: str) -> str:
    """The DuckDB type without parameters (``DECIMAL(18,3)`` -> ``DECIMAL``)."""
    return type_name.split("(", 1)[0].strip().upper()


def type_class(type_name: str) -> str:
    """``number``, ``bool``, ``text``, ``temporal`` or ``other``: what a value compares with."""
    t = base_type(type_name)
    if t in NUMERIC_TYPES or t == "DECIMAL":
        return "number"
    if t == "BOOLEAN":
        return "bool"
    if t in TEXT_TYPES or t == "ENUM":
        return "text"
    if t in TEMPORAL_TYPES:
        return "temporal"
    return "other"


@dataclass(frozen=True)
class ColumnStats:
    """What the rules need to know about one column.

    Attributes
    ----------
    valid
        Values that are neither NULL nor NaN.
    has_nan
        Some value is NaN (a float column), which then counts as missing.
    nonzero
        Some value is present and not zero (for ``requires``); for text, some value is present.
        None when not gathered (see :meth:`Relation.nonzero`).
    low, high
        Smallest and largest value of an integer column, when gathered (they let order
        statistics be counted rather than sorted).
    """

    valid: int
    has_nan: bool = False
    nonzero: bool | None = None
    low: int | None = None
    high: int | None = None


@dataclass
class Relation:
    """The customers as a DuckDB relation, with the statistics the rules need.

    Attributes
    ----------
    con
        DuckDB connection.
    source
        SQL naming the relation in ``FROM`` (a quoted table name or a parenthesised query).
    types
        Column name -> DuckDB type, in the relation's order.
    n
        Number of rows.
    stats
        Column -> :class:`ColumnStats`, for the columns given to :meth:`inspect`.
    computed
        Columns computed by the segmentation itself (the RFM scores and group), as SQL over
        ``source``; the rules may read them like any column.
    """

    con: Any
    source: str
    types: dict[str, str]
    n: int = 0
    stats: dict[str, ColumnStats] = field(default_factory=dict)
    computed: dict[str, str] = field(default_factory=dict)
    _requests: list[tuple[str, int]] = field(default_factory=list)
    _values: dict[tuple[str, int], object] = field(default_factory=dict)
    _deferred: list[tuple[list[tuple[str, int]], Callable[[list[object]], str]]] = field(
        default_factory=list
    )
    _numeric: dict[str, str] = field(default_factory=dict)

    # --- construction ------------------------------------------------------------------------

    @classmethod
    def describe(cls, con: Any, source: str) -> Relation:
        """The relation ``source`` of ``con`` with its column types (no statistics yet)."""
        rows = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        return cls(con, source, {str(r[0]): str(r[1]) for r in rows})

    def inspect(
        self,
        columns: Iterable[str],
        *,
        nonzero: Iterable[str] = (),
        ranked: Iterable[str] = (),
    ) -> None:
        """Count the rows and gather :class:`ColumnStats` of ``columns`` (those that exist), in
        one pass.

        ``nonzero`` names the columns whose :attr:`ColumnStats.nonzero` is needed, ``ranked``
        those that may need order statistics (their range is gathered if they are integers).
        """
        want_nonzero, want_range = set(nonzero), set(ranked)
        names = [c for c in dict.fromkeys(columns) if c in self.types and c not in self.stats]
        if not names and self.stats:
            return  # the row count is known
        parts = ["count(*)"]
        layout: list[tuple[str, list[str]]] = []
        for name in names:
            col = quote(name)
            kind = base_type(self.types[name])
            fields: dict[str, str] = {}
            fields["valid"] = f"count({col})"
            if kind in FLOAT_TYPES:
                fields["nan"] = f"coalesce(bool_or(isnan({col})), false)"
            if name in want_nonzero:
                if kind in FLOAT_TYPES:
                    test = f"{col} <> 0 AND NOT isnan({col})"
                elif type_class(self.types[name]) == "number":
                    test = f"{col} <> 0"
                elif kind == "BOOLEAN":
                    test = col
                else:
                    test = f"{col} IS NOT NULL"
                fields["nonzero"] = f"coalesce(bool_or({test}), false)"
            if kind in INTEGER_TYPES and name in want_range:
                fields["low"], fields["high"] = f"min({col})", f"max({col})"
            layout.append((name, list(fields)))
            parts += fields.values()
        row = self.con.execute(f"SELECT {', '.join(parts)} FROM {self.source}").fetchall()[0]
        self.n = int(row[0])
        i = 1
        gathered = []
        for name, keys in layout:
            gathered.append((name, dict(zip(keys, row[i : i + len(keys)], strict=True))))
            i += len(keys)
        with_nan = [name for name, got in gathered if got.get("nan")]
        if with_nan:  # rare: NaN counts as missing, count again without it
            counts = self.con.execute(
                "SELECT "
                + ", ".join(
                    f"count({quote(c)}) FILTER (WHERE NOT isnan({quote(c)}))" for c in with_nan
                )
                + f" FROM {self.source}"
            ).fetchall()[0]
            for (_, got), valid in zip(
                [g for g in gathered if g[0] in with_nan], counts, strict=True
            ):
                got["valid"] = valid
        for name, got in gathered:
            valid = int(got["valid"])
            self.stats[name] = ColumnStats(
                valid,
                has_nan=bool(got.get("nan")),
                nonzero=None if "nonzero" not in got else bool(got["nonzero"]),
                low=None if got.get("low") is None else int(got["low"]),
                high=None if got.get("high") is None else int(got["high"]),
            )

    def nonzero(self, column: str) -> bool:
        """True when some value of ``column`` is present and not zero (text: present)."""
        st = self.stat(column)
        if st.nonzero is None:
            del self.stats[column]
            self.inspect([column], nonzero=[column])
            st = self.stats[column]
        return bool(st.nonzero)

    def add_computed(self, name: str, sql: str, type_name: str, stats: ColumnStats) -> None:
        """Declare a column the segmentation computes (``sql`` over :attr:`source`)."""
        self.computed[name] = sql
        self.types[name] = type_name
        self.stats[name] = stats

    # --- columns -----------------------------------------------------------------------------

    def has(self, column: str) -> bool:
        """True when the relation has ``column``."""
        return column in self.types

    def is_float(self, column: str) -> bool:
        """True when ``column`` is FLOAT or DOUBLE (whose NaN counts as missing)."""
        return base_type(self.types[column]) in FLOAT_TYPES

    def has_values(self, column: str | None) -> bool:
        """True when ``column`` exists and has at least one value that is not missing."""
        return column is not None and column in self.types and self.stat(column).valid > 0

    def stat(self, column: str) -> ColumnStats:
        """The statistics of ``column``, gathering them if needed."""
        if column not in self.stats:
            self.inspect([column])
        return self.stats[column]

    def ref(self, column: str) -> str:
        """SQL for the values of ``column``, NaN read as NULL (missing)."""
        col = quote(column)
        if base_type(self.types[column]) in FLOAT_TYPES and self.stat(column).has_nan:
            return f"nullif({col}, CAST('NaN' AS DOUBLE))"
        return col

    def numeric(self, column: str) -> str:
        """SQL for ``column`` as a number (integers stay exact, others become DOUBLE).

        Raises
        ------
        InputError
            The column holds values that are not numbers.
        """
        known = self._numeric.get(column)
        if known is None:
            known = self._numeric[column] = self._numeric_sql(column)
        return known

    def _numeric_sql(self, column: str) -> str:
        kind = base_type(self.types[column])
        if kind in INTEGER_TYPES or kind == "DOUBLE":
            return self.ref(column)
        if type_class(self.types[column]) == "number":
            return f"CAST({self.ref(column)} AS DOUBLE)"
        if kind == "BOOLEAN":
            return f"CAST({quote(column)} AS TINYINT)"
        if kind in TEXT_TYPES and column not in self.computed:
            col = quote(column)
            bad = self.con.execute(
                f"SELECT min({col}) FILTER (WHERE {col} IS NOT NULL AND "
                f"TRY_CAST({col} AS DOUBLE) IS NULL) FROM {self.source}"
            ).fetchall()[0][0]
            if bad is None:
                return f"CAST({col} AS DOUBLE)"
            raise InputError(
                f"column {column!r} is not numeric: cannot read {bad!r} as a number", column=column
            )
        raise InputError(f"column {column!r} is not numeric ({self.types[column]})", column=column)

    # --- order statistics --------------------------------------------------------------------

    def order_stat(self, column: str, j: int) -> str:
        """A placeholder for the ``j``-th smallest value (1-based) of ``column``'s values.

        Missing values do not count; ``1 <= j <= stat(column).valid``. The placeholder becomes
        a literal in :meth:`resolve`.
        """
        return self.when_known([(column, j)], lambda values: literal(values[0]))

    def when_known(
        self, keys: Sequence[tuple[str, int]], build: Callable[[list[object]], str]
    ) -> str:
        """A placeholder for SQL that needs order statistics: ``build(values)`` in
        :meth:`resolve`, with ``values`` those of ``keys`` (``(column, j)`` pairs, see
        :meth:`order_stat`), e.g. to leave out a test the thresholds make redundant."""
        for column, j in keys:
            valid = self.stat(column).valid
            if not 1 <= j <= valid:
                raise ValueError(f"order statistic {j} of {valid} values of {column!r}")
            if (column, j) not in self._requests:
                self._requests.append((column, j))
        self._deferred.append((list(keys), build))
        return f"\x00{len(self._deferred) - 1}\x00"

    def resolve(self, sql: str, con: Any = None) -> str:
        """``sql`` with every order-statistic placeholder replaced by its value.

        Computes the values it needs that are still unknown, with one pass per column (a count
        of each value for integers in a small range, else ``quantile_disc``); a pass also gets
        the other ranks requested of its column. ``con`` runs the queries (default
        :attr:`con`; a cursor lets another thread resolve while :attr:`con` is busy).
        """
        con = self.con if con is None else con
        needed = [key for key in self._keys_of(sql) if key not in self._values]
        # computed columns depend on order statistics of the others: those first
        self._compute([k for k in needed if k[0] not in self.computed], con)
        self._compute([k for k in needed if k[0] in self.computed], con)
        return self._substitute(sql)

    def _keys_of(self, sql: str) -> list[tuple[str, int]]:
        """The order statistics ``sql`` needs, those of the computed columns it ranks included."""
        keys: dict[tuple[str, int], None] = {}
        for m in _TOKEN_RE.finditer(sql):
            for key in self._deferred[int(m.group(1))][0]:
                if key[0] in self.computed:
                    keys.update(dict.fromkeys(self._keys_of(self.computed[key[0]])))
                keys[key] = None
        return list(keys)

    def _substitute(self, sql: str) -> str:
        def value(m: re.Match[str]) -> str:
            keys, build = self._deferred[int(m.group(1))]
            return build([self._values[key] for key in keys])

        return _TOKEN_RE.sub(value, sql)

    def _compute(self, keys: Sequence[tuple[str, int]], con: Any) -> None:
        columns = dict.fromkeys(column for column, _ in keys)
        by_column: dict[str, list[int]] = {c: [] for c in columns}
        for column, j in self._requests:  # every rank asked of these columns, in one pass each
            if column in by_column and (column, j) not in self._values:
                by_column[column].append(j)
        exact = _quantile_disc_is_exact(con) if by_column else True
        for column, ranks in by_column.items():
            st = self.stats[column]
            small = (
                st.low is not None
                and st.high is not None
                and st.high - st.low <= max(4 * st.valid, 1024)
            )
            if small or not exact:
                rows = con.execute(self._counting_sql(column, ranks)).fetchall()
                pairs = [(int(j), v) for j, v in rows]
            else:
                rows = con.execute(self._quantile_sql(column, ranks)).fetchall()
                pairs = list(zip(ranks, rows[0][0], strict=True))
            for j, v in pairs:
                self._values[(column, j)] = _python_number(v)

    def _input(self, column: str) -> str:
        """The values of ``column`` as a one-column relation ``v`` (computed columns too)."""
        if column in self.computed:
            return f"(SELECT {self._substitute(self.computed[column])} AS v FROM {self.source})"
        return f"(SELECT {self.numeric(column)} AS v FROM {self.source})"

    def _counting_sql(self, column: str, ranks: Sequence[int]) -> str:
        """Exact order statistics from the running count of each distinct value."""
        wanted = ", ".join(str(j) for j in sorted(set(ranks)))
        return (
            f"WITH h AS (SELECT v, count(*) AS c FROM {self._input(column)} WHERE v IS NOT NULL "
            "GROUP BY v), cum AS (SELECT v, c, sum(c) OVER (ORDER BY v ROWS BETWEEN UNBOUNDED "
            f"PRECEDING AND CURRENT ROW) AS upto FROM h) SELECT r.j, cum.v FROM cum, "
            f"(SELECT unnest([{wanted}]) AS j) r WHERE cum.upto >= r.j AND cum.upto - cum.c < r.j"
        )

    def _quantile_sql(self, column: str, ranks: Sequence[int]) -> str:
        """Exact order statistics from ``quantile_disc``, one list of them.

        The quantile ``(j - 0.5) / valid`` is half a value away from the neighbouring ranks, so
        rounding cannot move it; :func:`_quantile_disc_is_exact` checks DuckDB's definition.
        """
        valid = self.stats[column].valid
        qs = ", ".join(repr((j - 0.5) / valid) for j in ranks)
        return f"SELECT quantile_disc(v, [{qs}]::DOUBLE[]) FROM {self._input(column)}"


#: Name under which a DataFrame of customers is registered in its own connection.
FRAME: Final = "__lv_customers"


def frame_relation(frame: Any, name: str = FRAME) -> Relation:
    """A DataFrame (or Arrow table) registered in a new DuckDB connection, as a relation.

    The caller closes ``relation.con``. Only the columns a query reads are converted.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.register(name, frame)
        return Relation.describe(con, quote(name))
    except BaseException:
        con.close()
        raise


def _python_number(value: object) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value
    return float(value)  # type: ignore[arg-type]  # Decimal and the like


_QUANTILE_CHECK: dict[str, bool] = {}


def _quantile_disc_is_exact(con: Any) -> bool:
    """Whether ``quantile_disc(x, (j - 0.5) / n)`` is the j-th smallest of n values here.

    Checked once per process on a few tied values (every rank of several sizes): DuckDB has
    changed its definition before; the counting method is used if this ever fails.
    """
    import duckdb

    version = str(getattr(duckdb, "__version__", ""))
    known = _QUANTILE_CHECK.get(version)
    if known is not None:
        return known
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]
    sizes = (2, 7, len(values))
    rows = ", ".join(f"({i}, {v})" for i, v in enumerate(values))
    aggs = ", ".join(
        "quantile_disc(x, ["
        + ", ".join(repr((j - 0.5) / size) for j in range(1, size + 1))
        + f"]::DOUBLE[]) FILTER (WHERE i < {size})"
        for size in sizes
    )
    got = con.execute(f"SELECT {aggs} FROM (VALUES {rows}) t(i, x)").fetchall()[0]
    ok = all(
        [int(v) for v in found] == sorted(values[:size])
        for size, found in zip(sizes, got, strict=True)
    )
    _QUANTILE_CHECK[version] = ok
    return ok


def ceil_share(share: float, count: int) -> int:
    """``ceil(share × count)`` computed as NumPy would (the float product, then ceil)."""
    return math.ceil(share * count)
