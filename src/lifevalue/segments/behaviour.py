"""Behavioural segments: configurable rules over the per-customer summary.

The rules live in a TOML file (the default, ``rules.toml``, ships with the package; print it with
``lifevalue segments --show-rules``). A user file is read on top of it: a ``[segments.NAME]``
table changes only the keys it names, a new name adds a segment, ``enabled = false`` turns one
off. Four kinds of rule exist:

``conditions``
    All conditions in ``when`` hold, each ``"column OP value"`` with OP one of
    ``== != < <= > >=`` and value a number, a quoted string, ``true``/``false``, a column, or
    ``NUMBER * column``. A missing value satisfies only ``!=``; values of different kinds
    (a number and text) are never equal and cannot be ordered.
``top_share``
    The value of ``column`` is in the top ``share`` of customers: fewer than ``share × N`` of
    the N customers with a value have a strictly higher one (equal values are treated alike),
    and it is above ``above`` (default 0). When ``column`` is missing or empty,
    ``fallback_column`` is used and a notice says so.
``at_risk``
    In the top ``value_top_share`` by ``value_column`` (historically valuable) and probably gone:
    ``probability_alive < max_probability_alive`` where a prediction exists; otherwise
    ``days_since_last_order > overdue_factor × mean_days_between_orders`` (one-time buyers have
    no usual gap and are never overdue).
``cart_abandoner``
    At least ``min_abandoned`` unconverted carts created in the ``window_days`` before the end of
    the data, after the customer's last purchase day. Needs cart events (``customer_id``,
    ``created_at``, ``converted``); skipped with a notice without them.

Every rule also accepts ``when`` (extra conditions) and ``requires`` (columns that must exist and
be non-zero for someone, else the segment is skipped with a notice).

Each rule becomes a DuckDB SQL expression (see :mod:`lifevalue.segments.sql`), evaluated on a
table of the analysis (``lifevalue analyze``) or on a registered DataFrame alike.

The default segments: first_time, repeat, big_spender (top 10 % by total_spend), high_aov (top 20 %
by average_order_value), full_price, discount_shopper, vip (top 5 % by predicted_clv, else by
spend_12m, with 3+ orders), at_risk, lapsed (365+ days without an order) and cart_abandoner.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from lifevalue.errors import ConfigError, InputError
from lifevalue.segments import rfm
from lifevalue.segments.sql import (
    INTEGER_TYPES,
    Relation,
    base_type,
    ceil_share,
    frame_relation,
    literal,
    number_literal,
    quote,
    text_literal,
    type_class,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    BoolArray = npt.NDArray[np.bool_]

_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENT_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COND_RE: Final = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_SCALED_RE: Final = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*\s*(\S+)$")
#: Condition operators and their SQL.
_OPS: Final[dict[str, str]] = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
#: Cart event columns (see :func:`read_cart_events`).
CART_COLUMNS: Final = ("customer_id", "created_at", "converted")
#: Name of the cart events in the connection while segmenting.
CART_EVENTS: Final = "__lv_cart_events"


class SkipSegment(Exception):
    """Raised by a rule that cannot be evaluated on the data given; the message is the notice."""


# --- conditions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One ``column OP value`` test, parsed from its text.

    Attributes
    ----------
    column
        Left-hand column.
    op
        One of ``== != < <= > >=``.
    literal
        Right-hand constant, when the right side is not a column.
    other, factor
        Right-hand column and its multiplier (``factor × other``), when it is one.
    text
        The condition as written.
    """

    column: str
    op: str
    literal: float | str | bool | None
    other: str | None
    factor: float
    text: str

    @classmethod
    def parse(cls, text: str, key: str) -> Condition:
        """Parse ``"column OP value"``; ``key`` names the TOML key for error messages."""
        m = _COND_RE.match(text)
        if m is None:
            raise ConfigError(
                f"{key}: cannot read condition {text!r}; write 'column OP value' with OP one "
                "of == != < <= > >=, e.g. 'orders >= 2'"
            )
        column, op, rhs = m.groups()
        literal: float | str | bool | None = None
        other: str | None = None
        factor = 1.0
        scaled = _SCALED_RE.match(rhs)
        if len(rhs) >= 2 and rhs[0] == rhs[-1] and rhs[0] in "'\"":
            literal = rhs[1:-1]
        elif rhs in ("true", "false"):
            literal = rhs == "true"
        elif scaled is not None and _IDENT_RE.match(scaled.group(2)):
            factor, other = float(scaled.group(1)), scaled.group(2)
        elif _IDENT_RE.match(rhs):
            other = rhs
        else:
            try:
                literal = float(rhs)
            except ValueError:
                raise ConfigError(
                    f"{key}: condition {text!r}: the right side {rhs!r} is not a number, a "
                    "'quoted string', true/false, a column or NUMBER * column"
                ) from None
            if math.isnan(literal):
                raise ConfigError(f"{key}: condition {text!r}: NaN is not allowed")
        return cls(column, op, literal, other, factor, text)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns the condition reads."""
        return (self.column,) if self.other is None else (self.column, self.other)

    def sql(self, rel: Relation) -> str:
        """SQL that is true where the condition holds.

        A missing value (NULL, NaN) satisfies only ``!=`` (as NaN compares in pandas). Numbers
        and booleans compare as numbers, text with text, dates and times with each other or a
        quoted date; values of different kinds are never equal (``==`` is false, ``!=`` true)
        and cannot be ordered (a :class:`ConfigError`).
        """
        left, left_kind = _operand(rel, self.column)
        if self.other is not None:
            right, right_kind = _operand(rel, self.other)
            if self.factor != 1.0:
                if right_kind not in ("number", "bool"):
                    raise self._mismatch(rel, right_kind, "number")
                right, right_kind = f"{number_literal(self.factor)} * {right}", "number"
        elif isinstance(self.literal, bool):
            right_kind = "bool"
            right = literal(self.literal) if left_kind == "bool" else str(int(self.literal))
        elif isinstance(self.literal, str):
            right, right_kind = text_literal(self.literal), "text"
        else:
            assert self.literal is not None
            right, right_kind = number_literal(self.literal), "number"
            if (
                base_type(rel.types[self.column]) in INTEGER_TYPES
                and self.literal.is_integer()
                and abs(self.literal) < 2**53
            ):
                right = str(int(self.literal))  # the same test, without a cast per row
        if left_kind == "bool" and right_kind == "number":
            left, left_kind = f"CAST({left} AS TINYINT)", "number"
        if right_kind == "bool" and left_kind == "number" and self.other is not None:
            right, right_kind = f"CAST({right} AS TINYINT)", "number"
        numeric = {left_kind, right_kind} <= {"number", "bool"}
        dated = left_kind == "temporal" and (
            right_kind == "temporal" or (right_kind == "text" and self.other is None)
        )
        if not (numeric or dated or left_kind == right_kind != "other"):
            if self.op == "==":
                return "false"
            if self.op == "!=":
                return "true"
            raise self._mismatch(rel, left_kind, right_kind)
        if self.op == "!=":
            return f"coalesce({left} <> {right}, true)"
        return f"{left} {_OPS[self.op]} {right}"

    def _mismatch(self, rel: Relation, left: str, right: str) -> ConfigError:
        return ConfigError(
            f"condition {self.text!r} cannot compare these types: {left} "
            f"({rel.types[self.column]}) and {right}"
        )


def _operand(rel: Relation, column: str) -> tuple[str, str]:
    """SQL for a column in a condition and its kind (see :func:`type_class`)."""
    kind = type_class(rel.types[column])
    if kind == "text" and rel.types[column].upper().startswith("ENUM"):
        return f"CAST({quote(column)} AS VARCHAR)", kind
    return rel.ref(column), kind


# --- rules ---------------------------------------------------------------------------------------


@dataclass
class Context:
    """What rules may use besides the customers: cart events, the end date, notices to add.

    Attributes
    ----------
    cart_events
        Name of the prepared cart events in the connection (see :func:`register_cart_events`),
        or None without them.
    as_of
        End of the observation window (naive UTC); default the end of the data.
    notices
        One line per skipped segment or fallback.
    cart_tables, cart_flags
        Temporary tables of cart abandoners made while building the SQL (one per rule; the
        caller drops them) and the SQL testing membership of each (a subquery).
    """

    cart_events: str | None = None
    as_of: datetime | None = None
    notices: list[str] = field(default_factory=list)
    cart_tables: list[str] = field(default_factory=list)
    cart_flags: list[str] = field(default_factory=list)

    def cart_flag(self, rel: Relation, window_days: float, min_abandoned: int) -> str:
        """SQL that is true for customers with ``min_abandoned`` recent unconverted carts.

        The abandoners go to a temporary table; the SQL tests membership (a subquery).
        """
        assert self.cart_events is not None
        con = rel.con
        events = quote(self.cart_events)
        end = self.as_of if self.as_of is not None else _end_of_data(rel, events)
        if end is None:
            return "false"
        start = end - timedelta(days=window_days)
        name = f"__lv_cart_{len(self.cart_tables)}"
        recent = (
            f"SELECT customer_id, created_at FROM {events} WHERE NOT converted "
            f"AND created_at > {_timestamp(start)} AND created_at <= {_timestamp(end)}"
        )
        if rel.has("last_purchase"):
            # carts after the customer's last purchase day; customers unknown to the summary
            # drop out (only the customers with recent carts are looked up)
            cid = f"CAST({quote('customer_id')} AS VARCHAR)"
            last = f"date_trunc('day', CAST({quote('last_purchase')} AS TIMESTAMP))"
            recent = (
                f"WITH r AS ({recent}), l AS (SELECT {cid} AS customer_id, min({last}) AS day "
                f"FROM {rel.source} WHERE {cid} IN (SELECT customer_id FROM r) GROUP BY 1) "
                "SELECT r.customer_id, r.created_at FROM r JOIN l USING (customer_id) "
                "WHERE date_trunc('day', CAST(r.created_at AS TIMESTAMP)) > l.day"
            )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT customer_id FROM ({recent}) "
            f"GROUP BY customer_id HAVING count(*) >= {int(min_abandoned)}"
        ).fetchall()
        self.cart_tables.append(name)
        flag = f"(CAST({quote('customer_id')} AS VARCHAR) IN (SELECT customer_id FROM {name}))"
        self.cart_flags.append(flag)
        return flag

    def drop_cart_tables(self, con: Any) -> None:
        """Drop the temporary tables made by :meth:`cart_flag`."""
        for name in self.cart_tables:
            con.execute(f"DROP TABLE IF EXISTS {name}").fetchall()
        self.cart_tables.clear()


def _timestamp(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def _end_of_data(rel: Relation, events: str) -> datetime | None:
    """End of the observation window: last purchase + days since it, else the last cart event."""
    end: datetime | None = None
    if rel.has("last_purchase") and rel.has("days_since_last_order") and rel.n:
        days = rel.numeric("days_since_last_order")
        micros = rel.con.execute(  # in microseconds since 1970: integers add fast
            f"SELECT max(epoch_us(CAST({quote('last_purchase')} AS TIMESTAMP)) + "
            f"CAST(round(CAST({days} AS DOUBLE) * 86400000000e0) AS BIGINT)) FROM {rel.source}"
        ).fetchall()[0][0]
        if micros is not None:
            latest = datetime(1970, 1, 1) + timedelta(microseconds=int(micros))
            # the whole last day counts
            day = datetime.combine(latest.date(), time())
            end = day + timedelta(days=1) - timedelta(microseconds=1)
    if end is None:
        latest = rel.con.execute(f"SELECT max(created_at) FROM {events}").fetchall()[0][0]
        end = None if latest is None else _naive(latest)
    return end


def _naive(value: Any) -> datetime:
    """A datetime (or pandas Timestamp, or date) as naive UTC."""
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    if moment.tzinfo is not None:
        from datetime import UTC

        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


@dataclass(frozen=True)
class Segment:
    """A behavioural segment: its name, description, rule parameters and shared options."""

    name: str
    description: str
    enabled: bool
    requires: tuple[str, ...]
    when: tuple[Condition, ...]

    rule: str = ""

    def sql(self, rel: Relation, ctx: Context) -> str:
        """SQL for membership; raises :class:`SkipSegment` when it cannot be decided."""
        for col in self.requires:
            if not rel.has(col):
                raise SkipSegment(f"{self.name}: skipped, the customers have no column {col!r}")
            if not rel.nonzero(col):
                raise SkipSegment(
                    f"{self.name}: skipped, column {col!r} is empty or zero for every customer "
                    "(the input probably has no such data)"
                )
        for cond in self.when:
            for col in cond.columns:
                if not rel.has(col):
                    raise SkipSegment(
                        f"{self.name}: skipped, condition {cond.text!r} names column {col!r} "
                        "which the customers do not have"
                    )
        parts = [self._members(rel, ctx), *(cond.sql(rel) for cond in self.when)]
        parts = [p for p in parts if p != "true"]
        if not parts:
            return "true"
        return parts[0] if len(parts) == 1 else " AND ".join(f"({p})" for p in parts)

    def _members(self, rel: Relation, ctx: Context) -> str:
        return "true"


@dataclass(frozen=True)
class ConditionsSegment(Segment):
    """Members satisfy every condition in ``when``."""

    rule: str = "conditions"


def top_share_sql(rel: Relation, column: str, share: float, above: float = 0.0) -> str:
    """SQL that is true for values in the top ``share``: fewer than ``share × N`` are higher.

    Missing values are never in the top and do not count in N; equal values are treated alike.
    Fewer than ``ceil(share × N)`` values are higher than ``x`` exactly when ``x`` is at least
    the ``ceil(share × N)``-th largest value. Members must also be above ``above``.
    """
    x = rel.numeric(column)
    valid = rel.stat(column).valid
    if valid == 0:
        return "false"
    top = ceil_share(share, valid)

    def build(values: list[object]) -> str:
        threshold = values[0]
        at_least = f"{x} >= {literal(threshold)}"
        if isinstance(threshold, int | float) and threshold > above:
            return at_least  # implies the value is above ``above``
        return f"{at_least} AND {x} > {number_literal(above)}"

    return rel.when_known([(column, valid - top + 1)], build)


def top_share_mask(values: npt.ArrayLike, share: float, above: float = 0.0) -> BoolArray:
    """True for values in the top ``share``: fewer than ``share × N`` values are strictly higher.

    Parameters
    ----------
    values
        One value per customer; NaN is never in the top and does not count in N.
    share
        Fraction in (0, 1].
    above
        Members must also have a value strictly above this.

    Returns
    -------
    numpy.ndarray of bool
        (The SQL of :func:`top_share_sql`.)
    """
    import numpy as np
    import pandas as pd

    rel = frame_relation(pd.DataFrame({"v": np.asarray(values, dtype=np.float64)}))
    try:
        rel.inspect(["v"])
        sql = rel.resolve(top_share_sql(rel, "v", share, above))
        out = rel.con.execute(f"SELECT coalesce({sql}, false) AS m FROM {rel.source}").fetchnumpy()
    finally:
        rel.con.close()
    mask: BoolArray = np.asarray(out["m"], dtype=bool)
    return mask


@dataclass(frozen=True)
class TopShareSegment(Segment):
    """Members are in the top ``share`` of customers by ``column`` (or ``fallback_column``)."""

    column: str = ""
    share: float = 0.1
    fallback_column: str | None = None
    above: float = 0.0
    rule: str = "top_share"

    def _members(self, rel: Relation, ctx: Context) -> str:
        column = self.column
        if not rel.has_values(column):
            if not rel.has_values(self.fallback_column):
                raise SkipSegment(
                    f"{self.name}: skipped, no values in column {self.column!r}"
                    + (f" nor {self.fallback_column!r}" if self.fallback_column else "")
                )
            assert self.fallback_column is not None
            column = self.fallback_column
            ctx.notices.append(
                f"{self.name}: no {self.column!r} (no model predictions?), "
                f"ranked by {column!r} instead"
            )
        return top_share_sql(rel, column, self.share, self.above)


@dataclass(frozen=True)
class AtRiskSegment(Segment):
    """Historically valuable customers who are probably gone (see the module docstring)."""

    max_probability_alive: float = 0.5
    value_column: str = "total_spend"
    value_top_share: float = 0.5
    overdue_factor: float = 2.0
    rule: str = "at_risk"

    def _members(self, rel: Relation, ctx: Context) -> str:
        if not rel.has(self.value_column):
            raise SkipSegment(f"{self.name}: skipped, no column {self.value_column!r}")
        valuable = top_share_sql(rel, self.value_column, self.value_top_share, 0.0)
        overdue = "false"
        have_gap = rel.has("days_since_last_order") and rel.has("mean_days_between_orders")
        if have_gap:
            since = rel.numeric("days_since_last_order")
            gap = rel.numeric("mean_days_between_orders")
            overdue = f"{since} > {number_literal(self.overdue_factor)} * {gap}"
        if rel.has_values("probability_alive"):
            alive = rel.numeric("probability_alive")
            limit = number_literal(self.max_probability_alive)
            gone = f"CASE WHEN {alive} IS NULL THEN {overdue} ELSE {alive} < {limit} END"
            if rel.stat("probability_alive").valid < rel.n:
                ctx.notices.append(
                    f"{self.name}: customers without probability_alive judged by their gap "
                    "between orders instead"
                )
        elif have_gap:
            gone = overdue
            ctx.notices.append(
                f"{self.name}: no probability_alive (no model predictions), used "
                f"days_since_last_order > {self.overdue_factor:g} × mean_days_between_orders"
            )
        else:
            raise SkipSegment(
                f"{self.name}: skipped, needs probability_alive or days_since_last_order and "
                "mean_days_between_orders"
            )
        return f"({valuable}) AND ({gone})"


@dataclass(frozen=True)
class CartAbandonerSegment(Segment):
    """Customers who left carts unconverted recently and have not ordered since."""

    window_days: float = 30.0
    min_abandoned: int = 1
    rule: str = "cart_abandoner"

    def _members(self, rel: Relation, ctx: Context) -> str:
        if ctx.cart_events is None:
            raise SkipSegment(f"{self.name}: skipped, no cart events given (--carts FILE)")
        if not rel.has("customer_id"):
            raise SkipSegment(f"{self.name}: skipped, the customers have no customer_id")
        return ctx.cart_flag(rel, self.window_days, self.min_abandoned)


# --- loading and validation ----------------------------------------------------------------------

_COMMON_KEYS: Final = {"rule", "description", "enabled", "requires", "when"}
_RULE_CLASSES: Final[dict[str, type[Segment]]] = {
    "conditions": ConditionsSegment,
    "top_share": TopShareSegment,
    "at_risk": AtRiskSegment,
    "cart_abandoner": CartAbandonerSegment,
}
# rule -> {key: (kind, required)}; kind: "column", "share", "prob", "positive", "count", "number"
_RULE_KEYS: Final[dict[str, dict[str, tuple[str, bool]]]] = {
    "conditions": {},
    "top_share": {
        "column": ("column", True),
        "share": ("share", True),
        "fallback_column": ("column", False),
        "above": ("number", False),
    },
    "at_risk": {
        "max_probability_alive": ("prob", False),
        "value_column": ("column", False),
        "value_top_share": ("share", False),
        "overdue_factor": ("positive", False),
    },
    "cart_abandoner": {"window_days": ("positive", False), "min_abandoned": ("count", False)},
}
_RFM_KEYS: Final = ("recency", "frequency", "monetary")


@dataclass(frozen=True)
class Rules:
    """Parsed segment rules: the segments in file order and the RFM columns.

    Attributes
    ----------
    segments
        All segments, enabled or not, defaults first then new ones from the user file.
    rfm_columns
        Columns behind the R, F and M scores (``recency``, ``frequency``, ``monetary``).
    sources
        The files read, default first.
    """

    segments: tuple[Segment, ...]
    rfm_columns: Mapping[str, str]
    sources: tuple[str, ...]

    @property
    def enabled(self) -> tuple[Segment, ...]:
        """The segments to evaluate."""
        return tuple(s for s in self.segments if s.enabled)

    @property
    def required_columns(self) -> frozenset[str]:
        """The ``requires`` columns of the enabled segments."""
        return frozenset(c for segment in self.enabled for c in segment.requires)

    @property
    def ranked_columns(self) -> frozenset[str]:
        """Columns that may be ranked: the RFM columns and those of top-share rules."""
        names = set(self.rfm_columns.values())
        for segment in self.enabled:
            for attr in ("column", "fallback_column", "value_column"):
                value = getattr(segment, attr, None)
                if isinstance(value, str):
                    names.add(value)
        return frozenset(names)

    def inspect(self, rel: Relation) -> None:
        """Gather, in one pass, the statistics of ``rel``'s columns the rules need.

        Those of ranked and required columns, ``probability_alive``, and every float column
        (NaN counts as missing). Others are only looked up by name: counting the values of a
        text column of a DataFrame would convert every string.
        """
        ranked, required = self.ranked_columns, self.required_columns
        wanted = ranked | required | {"probability_alive"}
        floats = {c for c in self.columns if c in rel.types and rel.is_float(c)}
        rel.inspect(
            [*self.rfm_columns.values(), *sorted((wanted | floats) - set(self.rfm_columns))],
            nonzero=required,
            ranked=ranked,
        )

    @property
    def columns(self) -> frozenset[str]:
        """Every customer column the RFM scores and the enabled segments may read."""
        names = set(self.rfm_columns.values())
        for segment in self.enabled:
            names.update(segment.requires)
            for cond in segment.when:
                names.update(cond.columns)
            for attr in ("column", "fallback_column", "value_column"):
                value = getattr(segment, attr, None)
                if isinstance(value, str):
                    names.add(value)
            if isinstance(segment, AtRiskSegment):
                names.update(("days_since_last_order", "mean_days_between_orders"))
                names.add("probability_alive")
            if isinstance(segment, CartAbandonerSegment):
                names.update(("customer_id", "last_purchase"))
        return frozenset(names)


def default_rules_text() -> str:
    """The text of the default ``rules.toml`` shipped with the package."""
    return resources.files("lifevalue.segments").joinpath("rules.toml").read_text("utf-8")


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_value(kind: str, value: object, key: str) -> Any:
    if kind == "column":
        if not isinstance(value, str) or not _IDENT_RE.match(value):
            raise ConfigError(f"{key}: must be a column name, got {value!r}")
        return value
    if kind == "count":
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{key}: must be a whole number of at least 1, got {value!r}")
        return value
    if not _is_number(value):
        raise ConfigError(f"{key}: must be a number, got {value!r}")
    assert isinstance(value, int | float)
    number = float(value)
    if kind == "share" and not 0.0 < number <= 1.0:
        raise ConfigError(f"{key}: must be a share in (0, 1], e.g. 0.1 for 10 %, got {value!r}")
    if kind == "prob" and not 0.0 <= number <= 1.0:
        raise ConfigError(f"{key}: must be a probability in [0, 1], got {value!r}")
    if kind == "positive" and not number > 0.0:
        raise ConfigError(f"{key}: must be a positive number, got {value!r}")
    if not math.isfinite(number):
        raise ConfigError(f"{key}: must be a finite number, got {value!r}")
    return number


def _build_segment(name: str, table: Mapping[str, Any], source: str) -> Segment:
    where = f"{source}: segments.{name}"
    if not _NAME_RE.match(name):
        raise ConfigError(
            f"{where}: a segment name must be lower-case snake_case (letters, digits, _)"
        )
    rule = table.get("rule")
    if rule not in _RULE_CLASSES:
        raise ConfigError(f"{where}.rule: must be one of {', '.join(_RULE_CLASSES)}, got {rule!r}")
    assert isinstance(rule, str)
    allowed = _COMMON_KEYS | set(_RULE_KEYS[rule])
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key for rule {rule!r} (allowed: "
            f"{', '.join(sorted(allowed))})"
        )
    description = table.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}.description: must be a string, got {description!r}")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{where}.enabled: must be true or false, got {enabled!r}")
    requires = table.get("requires", [])
    if not isinstance(requires, list):
        raise ConfigError(f"{where}.requires: must be a list of column names")
    for i, col in enumerate(requires):
        _check_value("column", col, f"{where}.requires[{i}]")
    when = table.get("when", [])
    if isinstance(when, str):
        when = [when]
    if not isinstance(when, list) or not all(isinstance(c, str) for c in when):
        raise ConfigError(f'{where}.when: must be a list of conditions like "orders >= 2"')
    if rule == "conditions" and not when:
        raise ConfigError(f"{where}.when: a 'conditions' rule needs at least one condition")
    conditions = tuple(Condition.parse(c, f"{where}.when[{i}]") for i, c in enumerate(when))
    params: dict[str, Any] = {}
    for key, (kind, required) in _RULE_KEYS[rule].items():
        if key in table:
            params[key] = _check_value(kind, table[key], f"{where}.{key}")
        elif required:
            raise ConfigError(f"{where}.{key}: missing, a {rule!r} rule needs it")
    return _RULE_CLASSES[rule](
        name=name,
        description=description,
        enabled=enabled,
        requires=tuple(requires),
        when=conditions,
        **params,
    )


def _merge(base: dict[str, Any], user: Mapping[str, Any], source: str) -> None:
    unknown = sorted(set(user) - {"rfm", "segments"})
    if unknown:
        raise ConfigError(f"{source}: {unknown[0]}: unknown table (allowed: rfm, segments)")
    rfm_user = user.get("rfm", {})
    if not isinstance(rfm_user, dict):
        raise ConfigError(f"{source}: rfm: must be a table of column names")
    for key, value in rfm_user.items():
        if key not in _RFM_KEYS:
            raise ConfigError(f"{source}: rfm.{key}: unknown key (allowed: {', '.join(_RFM_KEYS)})")
        base.setdefault("rfm", {})[key] = _check_value("column", value, f"{source}: rfm.{key}")
    segments_user = user.get("segments", {})
    if not isinstance(segments_user, dict):
        raise ConfigError(f"{source}: segments: must be tables like [segments.vip]")
    segments = base.setdefault("segments", {})
    for name, table in segments_user.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: segments.{name}: must be a table [segments.{name}]")
        old = segments.get(name)
        if old is None or ("rule" in table and table["rule"] != old.get("rule")):
            segments[name] = dict(table)  # new segment, or a different rule: start afresh
        else:
            segments[name] = {**old, **table}
        segments[name]["__source__"] = source


def load_rules(path: str | Path | None = None) -> Rules:
    """The default rules, with a user TOML file read on top when given.

    Parameters
    ----------
    path
        A user rules file; its ``[segments.NAME]`` tables change or add segments, its ``[rfm]``
        table changes the RFM columns.

    Returns
    -------
    Rules

    Raises
    ------
    ConfigError
        The file cannot be read or a key is wrong; the message names the file and the key.
    """
    merged: dict[str, Any] = {}
    sources = ["default rules.toml"]
    _merge(merged, _parse_toml(default_rules_text(), sources[0]), sources[0])
    if path is not None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read the rules file: {exc.strerror}") from exc
        sources.append(str(p))
        _merge(merged, _parse_toml(text, str(p)), str(p))
    rfm_columns = {
        "recency": rfm.DEFAULT_RECENCY,
        "frequency": rfm.DEFAULT_FREQUENCY,
        "monetary": rfm.DEFAULT_MONETARY,
        **merged.get("rfm", {}),
    }
    segments = []
    for name, table in merged.get("segments", {}).items():
        source = table.pop("__source__")
        segments.append(_build_segment(name, table, source))
    return Rules(tuple(segments), rfm_columns, tuple(sources))


# --- cart events ---------------------------------------------------------------------------------

_TRUE: Final = {"true", "t", "yes", "y", "1"}
_FALSE: Final = {"false", "f", "no", "n", "0", ""}


def prepare_cart_events(events: pd.DataFrame, source: str = "cart events") -> pd.DataFrame:
    """Check and normalise cart events: string ids, naive UTC timestamps, boolean ``converted``.

    Parameters
    ----------
    events
        One row per cart with ``customer_id``, ``created_at`` and ``converted`` (bool, 0/1 or
        true/false/yes/no text).
    source
        Name used in error messages (a file name).

    Returns
    -------
    pandas.DataFrame
        Columns ``customer_id`` (str), ``created_at`` (datetime64, UTC, naive), ``converted``
        (bool); rows without a customer are dropped.

    Raises
    ------
    InputError
        A column is missing or a value cannot be read.
    """
    import pandas as pd

    missing = [c for c in CART_COLUMNS if c not in events.columns]
    if missing:
        raise InputError(
            f"cart events need columns {', '.join(CART_COLUMNS)}; missing {', '.join(missing)}",
            file=source,
            column=missing[0],
        )
    out = pd.DataFrame({"customer_id": events["customer_id"]})
    out = out[out["customer_id"].notna()].astype({"customer_id": str})
    kept = events.loc[out.index]
    try:
        created = pd.to_datetime(kept["created_at"], utc=True, format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"cannot read a timestamp: {exc}", file=source, column="created_at"
        ) from exc
    out["created_at"] = created.dt.tz_localize(None)
    converted = kept["converted"]
    if converted.dtype != bool:
        text = converted.astype(str).str.strip().str.lower()
        text = text.where(converted.notna(), "")
        bad = ~text.isin(_TRUE | _FALSE)
        if bad.any():
            raise InputError(
                f"'converted' must be true/false, yes/no or 1/0, got {converted[bad].iloc[0]!r}",
                file=source,
                column="converted",
            )
        converted = text.isin(_TRUE)
    out["converted"] = converted.to_numpy(dtype=bool)
    return out.reset_index(drop=True)


def read_cart_events(path: str | Path) -> pd.DataFrame:
    """Read cart events from a CSV, Parquet or JSON-lines file (see :func:`prepare_cart_events`).

    Raises
    ------
    InputError
        The file cannot be read or lacks a column.
    """
    import duckdb

    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=str(p), hint="pass the cart events with --carts")
    suffixes = "".join(p.suffixes).lower()
    if ".parquet" in suffixes:
        reader = "read_parquet"
    elif ".json" in suffixes or ".ndjson" in suffixes:
        reader = "read_json_auto"
    else:
        reader = "read_csv_auto"
    con = duckdb.connect()
    try:
        frame = con.sql(f"SELECT * FROM {reader}(?)", params=[str(p)]).to_arrow_table().to_pandas()
    except duckdb.Error as exc:
        raise InputError(f"cannot read cart events: {exc}", file=str(p)) from exc
    finally:
        con.close()
    return prepare_cart_events(frame, str(p))


# --- evaluation ----------------------------------------------------------------------------------


def register_cart_events(con: Any, cart_events: pd.DataFrame | None) -> str | None:
    """Prepare cart events (:func:`prepare_cart_events`) and register them in ``con``.

    Returns
    -------
    str or None
        The name they are registered under (:data:`CART_EVENTS`), None without events.
    """
    if cart_events is None:
        return None
    con.register(CART_EVENTS, prepare_cart_events(cart_events))
    return CART_EVENTS


def segment_sql(rel: Relation, rules: Rules, ctx: Context) -> dict[str, str]:
    """SQL for the membership of each enabled segment that can be evaluated, in rule order.

    Skipped segments are absent; their notices (and fallbacks) go to ``ctx.notices``. The SQL
    reads the columns of ``rel`` and its computed columns by name, and may hold order-statistic
    placeholders (see :meth:`Relation.resolve`).
    """
    rules.inspect(rel)
    out: dict[str, str] = {}
    for segment in rules.enabled:
        try:
            out[segment.name] = segment.sql(rel, ctx)
        except SkipSegment as skip:
            ctx.notices.append(str(skip))
    if len(out) > 62:
        raise ConfigError(f"at most 62 segments can be enabled at once, got {len(out)}")
    return out


def code_sql(members: Mapping[str, str]) -> str:
    """SQL for the segments of a customer as a bit mask (bit i: the i-th segment), BIGINT."""
    kind = "INTEGER" if len(members) <= 30 else "BIGINT"
    if not members:
        return f"CAST(0 AS {kind})"
    bits = " + ".join(
        f"CASE WHEN {sql} THEN CAST({1 << i} AS {kind}) ELSE 0 END"
        for i, sql in enumerate(members.values())
    )
    return f"({bits})"


#: Up to this many segments the names are looked up by bit mask in a list of every combination.
_LOOKUP_SEGMENTS: Final = 10


def names_sql(members: Mapping[str, str]) -> str:
    """SQL for the semicolon-separated names of a customer's segments ('' for none), VARCHAR."""
    names = list(members)
    if not names:
        return "''"
    if len(names) <= _LOOKUP_SEGMENTS:
        labels = ", ".join(text_literal(label) for label in combination_labels(names))
        return f"[{labels}][{code_sql(members)} + 1]"
    return (
        "concat_ws(';', "
        + ", ".join(
            f"CASE WHEN {sql} THEN {text_literal(name)} END" for name, sql in members.items()
        )
        + ")"
    )


def combination_labels(names: Sequence[str], codes: Sequence[int] | None = None) -> list[str]:
    """The label of each bit mask (all ``2 ** len(names)`` of them by default)."""
    codes = range(1 << len(names)) if codes is None else codes
    return [";".join(nm for bit, nm in enumerate(names) if (int(c) >> bit) & 1) for c in codes]


def behaviour_masks(
    customers: pd.DataFrame,
    rules: Rules,
    *,
    cart_events: pd.DataFrame | None = None,
    as_of: pd.Timestamp | None = None,
) -> tuple[dict[str, BoolArray], list[str]]:
    """Membership of each enabled segment, and the notices (skipped segments, fallbacks).

    Parameters
    ----------
    customers
        Per-customer summary, optionally with model predictions.
    rules
        From :func:`load_rules`.
    cart_events
        Cart events (see :func:`prepare_cart_events`); the cart_abandoner rule is skipped
        without them.
    as_of
        End of the observation window for the cart window; by default the end of the data.

    Returns
    -------
    (dict of name -> bool array, list of notices)
        Skipped segments are absent from the dict.
    """
    from lifevalue.segments.assign import _frame_codes

    result = _frame_codes(customers, rules, cart_events=cart_events, as_of=as_of)
    assert result.code is not None
    code = result.code
    masks = {name: (code >> bit) & 1 == 1 for bit, name in enumerate(result.segments)}
    return masks, result.notices


def join_names(masks: Mapping[str, BoolArray], n: int) -> pd.Categorical[str]:
    """Semicolon-separated names of the segments each row belongs to ('' for none).

    Works on the few distinct combinations rather than per row, so 1M rows take milliseconds;
    the result is a categorical of those combinations.
    """
    import numpy as np

    names: Sequence[str] = list(masks)
    if len(names) > 62:
        raise ConfigError(f"at most 62 segments can be enabled at once, got {len(names)}")
    codes = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(names):
        codes |= masks[name].astype(np.int64) << bit
    return names_categorical(codes, names)


def names_categorical(codes: npt.NDArray[np.int64], names: Sequence[str]) -> pd.Categorical[str]:
    """Bit masks of segments (bit i: ``names[i]``) as a categorical of their labels."""
    import numpy as np
    import pandas as pd

    if len(names) <= 20:  # few combinations possible: count them instead of sorting
        unique = np.flatnonzero(np.bincount(codes, minlength=1 << len(names)))
        remap = np.zeros(1 << len(names), dtype=np.int64)
        remap[unique] = np.arange(unique.size)
        inverse = remap[codes]
    else:
        unique, inverse = np.unique(codes, return_inverse=True)
    labels = combination_labels(names, [int(c) for c in unique])
    return pd.Categorical.from_codes(inverse.reshape(-1), categories=pd.Index(labels))
