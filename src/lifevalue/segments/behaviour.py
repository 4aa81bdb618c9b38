"""Behavioural segments: configurable rules over the per-customer summary.

The rules live in a TOML file (the default, ``rules.toml``, ships with the package; print it with
``lifevalue segments --show-rules``). A user file is read on top of it: a ``[segments.NAME]``
table changes only the keys it names, a new name adds a segment, ``enabled = false`` turns one
off. Four kinds of rule exist:

``conditions``
    All conditions in ``when`` hold, each ``"column OP value"`` with OP one of
    ``== != < <= > >=`` and value a number, a quoted string, ``true``/``false``, a column, or
    ``NUMBER * column``.
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

The default segments: first_time, repeat, big_spender (top 10 % by total_spend), high_aov (top 20 %
by average_order_value), full_price, discount_shopper, vip (top 5 % by predicted_clv, else by
spend_12m, with 3+ orders), at_risk, lapsed (365+ days without an order) and cart_abandoner.
"""

from __future__ import annotations

import math
import operator
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from lifevalue.errors import ConfigError, InputError
from lifevalue.segments import rfm

BoolArray = npt.NDArray[np.bool_]

_NAME_RE: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_IDENT_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COND_RE: Final = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_SCALED_RE: Final = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*\s*(\S+)$")
_OPS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
#: Cart event columns (see :func:`read_cart_events`).
CART_COLUMNS: Final = ("customer_id", "created_at", "converted")


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

    def evaluate(self, customers: pd.DataFrame) -> BoolArray:
        """True where the condition holds; a missing value never satisfies it."""
        left = customers[self.column]
        right: Any = self.literal
        if self.other is not None:
            right = customers[self.other]
            if self.factor != 1.0:
                right = right * self.factor
        try:
            result = _OPS[self.op](left, right)
        except TypeError as exc:
            raise ConfigError(f"condition {self.text!r} cannot compare these types: {exc}") from exc
        out: BoolArray = pd.Series(result).to_numpy(dtype=bool, na_value=False)
        return out


# --- rules ---------------------------------------------------------------------------------------


@dataclass
class Context:
    """What rules may use besides the summary: cart events, the end date, and notices to add."""

    cart_events: pd.DataFrame | None = None
    as_of: pd.Timestamp | None = None
    notices: list[str] = field(default_factory=list)
    _higher: dict[str, npt.NDArray[np.int64]] = field(default_factory=dict)

    def top_share(
        self, customers: pd.DataFrame, column: str, share: float, above: float
    ) -> BoolArray:
        """:func:`top_share_mask` of a column, sorting each column once per evaluation."""
        x = _numeric(customers, column)
        if column not in self._higher:
            self._higher[column] = rfm.tie_counts(np.where(np.isnan(x), -np.inf, x))[1]
        return top_share_mask(x, share, above, self._higher[column])


@dataclass(frozen=True)
class Segment:
    """A behavioural segment: its name, description, rule parameters and shared options."""

    name: str
    description: str
    enabled: bool
    requires: tuple[str, ...]
    when: tuple[Condition, ...]

    rule: str = ""

    def evaluate(self, customers: pd.DataFrame, ctx: Context) -> BoolArray:
        """Membership per customer; raises :class:`SkipSegment` when it cannot be decided."""
        for col in self.requires:
            if col not in customers.columns:
                raise SkipSegment(f"{self.name}: skipped, the customers have no column {col!r}")
            values = customers[col]
            if not (values.notna() & (values != 0)).any():
                raise SkipSegment(
                    f"{self.name}: skipped, column {col!r} is empty or zero for every customer "
                    "(the input probably has no such data)"
                )
        for cond in self.when:
            for col in cond.columns:
                if col not in customers.columns:
                    raise SkipSegment(
                        f"{self.name}: skipped, condition {cond.text!r} names column {col!r} "
                        "which the customers do not have"
                    )
        mask = self._members(customers, ctx)
        for cond in self.when:
            mask &= cond.evaluate(customers)
        return mask

    def _members(self, customers: pd.DataFrame, ctx: Context) -> BoolArray:
        return np.ones(len(customers), dtype=bool)


@dataclass(frozen=True)
class ConditionsSegment(Segment):
    """Members satisfy every condition in ``when``."""

    rule: str = "conditions"


def top_share_mask(
    values: npt.ArrayLike,
    share: float,
    above: float = 0.0,
    higher: npt.NDArray[np.int64] | None = None,
) -> BoolArray:
    """True for values in the top ``share``: fewer than ``share × N`` values are strictly higher.

    Parameters
    ----------
    values
        One value per customer; NaN is never in the top and does not count in N.
    share
        Fraction in (0, 1].
    above
        Members must also have a value strictly above this.
    higher
        Precomputed counts of strictly higher values (from :func:`rfm.tie_counts`), if known.

    Returns
    -------
    numpy.ndarray of bool
    """
    x = np.asarray(values, dtype=np.float64)
    valid = ~np.isnan(x)
    if higher is None:
        _, higher = rfm.tie_counts(np.where(valid, x, -np.inf))
    n = int(valid.sum())
    out: BoolArray = valid & (higher < share * n) & (x > above)
    return out


def _numeric(customers: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    try:
        return pd.to_numeric(customers[column], errors="raise").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    except (TypeError, ValueError) as exc:
        raise InputError(f"column {column!r} is not numeric: {exc}", column=column) from exc


def _has_values(customers: pd.DataFrame, column: str | None) -> bool:
    return (
        column is not None and column in customers.columns and bool(customers[column].notna().any())
    )


@dataclass(frozen=True)
class TopShareSegment(Segment):
    """Members are in the top ``share`` of customers by ``column`` (or ``fallback_column``)."""

    column: str = ""
    share: float = 0.1
    fallback_column: str | None = None
    above: float = 0.0
    rule: str = "top_share"

    def _members(self, customers: pd.DataFrame, ctx: Context) -> BoolArray:
        column = self.column
        if not _has_values(customers, column):
            if not _has_values(customers, self.fallback_column):
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
        return ctx.top_share(customers, column, self.share, self.above)


@dataclass(frozen=True)
class AtRiskSegment(Segment):
    """Historically valuable customers who are probably gone (see the module docstring)."""

    max_probability_alive: float = 0.5
    value_column: str = "total_spend"
    value_top_share: float = 0.5
    overdue_factor: float = 2.0
    rule: str = "at_risk"

    def _members(self, customers: pd.DataFrame, ctx: Context) -> BoolArray:
        if self.value_column not in customers.columns:
            raise SkipSegment(f"{self.name}: skipped, no column {self.value_column!r}")
        valuable = ctx.top_share(customers, self.value_column, self.value_top_share, 0.0)
        n = len(customers)
        overdue = np.zeros(n, dtype=bool)
        have_gap = {"days_since_last_order", "mean_days_between_orders"} <= set(customers.columns)
        if have_gap:
            since = _numeric(customers, "days_since_last_order")
            gap = _numeric(customers, "mean_days_between_orders")
            with np.errstate(invalid="ignore"):
                overdue = since > self.overdue_factor * gap
        if _has_values(customers, "probability_alive"):
            alive = _numeric(customers, "probability_alive")
            with np.errstate(invalid="ignore"):
                gone = np.where(np.isnan(alive), overdue, alive < self.max_probability_alive)
            if np.isnan(alive).any():
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
        out: BoolArray = valuable & gone
        return out


@dataclass(frozen=True)
class CartAbandonerSegment(Segment):
    """Customers who left carts unconverted recently and have not ordered since."""

    window_days: float = 30.0
    min_abandoned: int = 1
    rule: str = "cart_abandoner"

    def _members(self, customers: pd.DataFrame, ctx: Context) -> BoolArray:
        if ctx.cart_events is None:
            raise SkipSegment(f"{self.name}: skipped, no cart events given (--carts FILE)")
        if "customer_id" not in customers.columns:
            raise SkipSegment(f"{self.name}: skipped, the customers have no customer_id")
        events = ctx.cart_events
        end = ctx.as_of if ctx.as_of is not None else _end_of_data(customers, events)
        start = end - pd.Timedelta(days=self.window_days)
        recent = events[(~events["converted"]) & (events["created_at"] > start)]
        recent = recent[recent["created_at"] <= end]
        ids = customers["customer_id"].astype(str)
        if "last_purchase" in customers.columns:
            last = pd.to_datetime(customers["last_purchase"]).dt.normalize()
            last_by_id = pd.Series(last.to_numpy(), index=ids.to_numpy())
            last_by_id = last_by_id[~last_by_id.index.duplicated()]
            after = recent["created_at"].dt.normalize() > recent["customer_id"].map(last_by_id)
            # customers unknown to the summary map to NaT, compare False, and are dropped anyway
            recent = recent[after.to_numpy(dtype=bool, na_value=False)]
        counts = recent.groupby("customer_id").size()
        found = ids.map(counts).fillna(0).to_numpy(dtype=np.float64)
        out: BoolArray = found >= self.min_abandoned
        return out


def _end_of_data(customers: pd.DataFrame, events: pd.DataFrame) -> pd.Timestamp:
    """End of the observation window: last purchase + days since it, else the last cart event."""
    if {"last_purchase", "days_since_last_order"} <= set(customers.columns) and len(customers):
        ends = pd.to_datetime(customers["last_purchase"]) + pd.to_timedelta(
            pd.to_numeric(customers["days_since_last_order"]), unit="D"
        )
        end = ends.max()
        if pd.notna(end):
            # the whole last day counts
            return pd.Timestamp(end).normalize() + pd.Timedelta(days=1) - pd.Timedelta(1, "us")
    return pd.Timestamp(events["created_at"].max())


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
    ctx = Context(
        cart_events=None if cart_events is None else prepare_cart_events(cart_events),
        as_of=as_of,
    )
    masks: dict[str, BoolArray] = {}
    for segment in rules.enabled:
        try:
            masks[segment.name] = segment.evaluate(customers, ctx)
        except SkipSegment as skip:
            ctx.notices.append(str(skip))
    return masks, ctx.notices


def join_names(masks: Mapping[str, BoolArray], n: int) -> pd.Categorical[str]:
    """Semicolon-separated names of the segments each row belongs to ('' for none).

    Works on the few distinct combinations rather than per row, so 1M rows take milliseconds;
    the result is a categorical of those combinations.
    """
    names: Sequence[str] = list(masks)
    if len(names) > 62:
        raise ConfigError(f"at most 62 segments can be enabled at once, got {len(names)}")
    codes = np.zeros(n, dtype=np.int64)
    for bit, name in enumerate(names):
        codes |= masks[name].astype(np.int64) << bit
    if len(names) <= 20:  # few combinations possible: count them instead of sorting
        unique = np.flatnonzero(np.bincount(codes, minlength=1 << len(names)))
        remap = np.zeros(1 << len(names), dtype=np.int64)
        remap[unique] = np.arange(unique.size)
        inverse = remap[codes]
    else:
        unique, inverse = np.unique(codes, return_inverse=True)
    labels = [
        ";".join(nm for bit, nm in enumerate(names) if (int(code) >> bit) & 1) for code in unique
    ]
    return pd.Categorical.from_codes(inverse.reshape(-1), categories=pd.Index(labels))
