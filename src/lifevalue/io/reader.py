"""Read order logs into the canonical orders table, validating every row.

The work is done by DuckDB: files are scanned by DuckDB's CSV / Parquet / JSON readers, columns are
mapped and parsed with SQL expressions, and rows that cannot be used are collected with their file,
line, column and reason. Nothing is dropped silently: every row that does not reach the orders
table is in the ``rejects`` table with a ``kind`` of ``rejected`` (bad data), ``skipped`` (expected
and harmless for this source, such as UCI Online Retail rows without a customer) or ``duplicate``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from lifevalue.errors import ConfigError, InputError
from lifevalue.io.order_totals import (
    MAX_AMOUNT,
    ROW_KEY_SHIFT,
    UTC_ZONES,
    create_customer_days,
    local_date_sql,
    utc_timestamp_sql,
)
from lifevalue.io.presets import (
    CANONICAL_COLUMNS,
    DEFAULT_DATE_FORMATS,
    NUMBER_COLUMNS,
    AmountLevel,
    Preset,
    get_preset,
)
from lifevalue.io.sources import (
    Source,
    detect,
    expand_paths,
    open_decompressed,
    sniff_encoding,
    transcode_to_utf8,
)
from lifevalue.settings import get_settings

Progress = Callable[[str], None]


#: Contact columns tracked per customer-day (their latest row) when the input has them.
_CONTACT_COLUMNS = ("email", "phone", "country")

#: A Parquet row's line number (its row number + 1: the first data row is line 1).
_PARQUET_LINE = "file_row_number + 1"


def _cores() -> int:
    """CPU cores this process may use (what DuckDB's default thread count is)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class ReadOptions:
    """How to read an order log. Every field is optional; presets fill in the rest.

    Parameters
    ----------
    preset
        ``shopify``, ``woocommerce``, ``cdnow``, ``online_retail`` or None for canonical names.
    customer_col, order_col, date_col, amount_col, currency_col
        Source column names overriding the preset.
    columns
        Further overrides, canonical name -> source column name.
    date_format
        strptime format of the date column (e.g. ``%d/%m/%Y``); default: ISO 8601 and the
        month-first formats listed in the README.
    timezone
        Store time zone for timestamps without an offset (IANA name, e.g. ``Europe/London``).
    currency
        Currency to record when the file has no currency column.
    delimiter, encoding
        Override CSV sniffing.
    amount_level
        ``line`` (amounts add up per order) or ``order`` (amount is the order total).
    strict
        Stop at the first bad row instead of rejecting it.
    """

    preset: str | None = None
    customer_col: str | None = None
    order_col: str | None = None
    date_col: str | None = None
    amount_col: str | None = None
    currency_col: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    timezone: str | None = None
    currency: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    amount_level: AmountLevel | None = None
    strict: bool = False

    def overrides(self) -> dict[str, str]:
        """Canonical column -> source column chosen explicitly by the user."""
        explicit = {
            "customer_id": self.customer_col,
            "order_id": self.order_col,
            "ordered_at": self.date_col,
            "amount": self.amount_col,
            "currency": self.currency_col,
        }
        out = {k: v for k, v in explicit.items() if v}
        out.update(self.columns)
        unknown = set(out) - set(CANONICAL_COLUMNS)
        if unknown:
            raise ConfigError(
                f"unknown canonical column(s) {sorted(unknown)}; "
                f"known: {', '.join(CANONICAL_COLUMNS)}"
            )
        return out


@dataclass
class FileReport:
    """What was found in one input file."""

    file: str
    format: str
    compression: str
    encoding: str | None = None
    delimiter: str | None = None
    decimal_mark: str | None = None
    """How the file's numbers written as text are read: "." or "," (None: none are text)."""
    rows: int = 0
    columns: dict[str, str] = field(default_factory=dict)


@dataclass
class Ingested:
    """The result of reading: a DuckDB connection holding the ``orders`` and ``rejects`` tables.

    ``orders`` has the canonical columns of the data contract plus ``local_date`` (the purchase
    period: the order's calendar day in the store time zone), ``__file`` and ``__line``.
    ``rejects`` has ``file, line, column, value, reason, kind``.
    """

    con: duckdb.DuckDBPyConnection
    timezone: str
    currency: str | None
    amount_level: AmountLevel
    files: list[FileReport]
    stats: dict[str, Any]
    cache: dict[str, Any] = field(default_factory=dict)
    """What later steps built on ``con`` and for which window (e.g. the retention timeline)."""
    contact_rows: str = "orders"
    """A relation (SQL) with each accepted row's key ``__file * ROW_KEY_SHIFT + __line`` as
    ``__row`` and its contact columns (``email``, ``phone``, ``country``) as text, to be
    trimmed with :func:`contact_text`: the ``orders`` table, or for Parquet input a view reading
    just those columns from the files."""
    contact_match: str = "f.__row = {key}"
    """The join condition finding a row of :attr:`contact_rows` (alias ``f``) by its key (SQL,
    in place of ``{key}``). For one file, the row is matched on its own line or row number
    rather than on ``__row``, computed: DuckDB then pushes a filter of the keys wanted into the
    scan, which reads the contact columns of those rows only."""

    def rejects_frame(self) -> Any:
        """All rows that did not reach the orders table, as a pandas DataFrame."""
        return self.con.execute("SELECT * FROM rejects ORDER BY file_index, line").df()

    def write_rejects(self, path: Path) -> None:
        """Write ``rejects.csv`` (file, line, column, value, reason, kind)."""
        self.con.execute(
            'COPY (SELECT file, line, "column", value, reason, kind FROM rejects '
            f"ORDER BY file_index, line) TO '{_sql_path(path)}' (HEADER, DELIMITER ',')"
        )


def _sql_path(path: Path | str) -> str:
    return str(path).replace("'", "''")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name.strip().lower())


# ---------------------------------------------------------------------------------------------
# loading files into raw relations


@dataclass
class _Raw:
    """A file loaded (or viewable) in DuckDB: relation name, its columns and types, line offset."""

    relation: str
    columns: dict[str, str]
    line_expr: str
    source: Source
    report: FileReport
    structural: list[tuple[int, str, str]] = field(default_factory=list)


class _Loader:
    def __init__(self, con: duckdb.DuckDBPyConnection, options: ReadOptions, preset: Preset):
        self.con = con
        self.options = options
        self.preset = preset
        self.workdir = tempfile.mkdtemp(prefix="lifevalue-")

    def close(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def load(self, index: int, source: Source) -> _Raw:
        report = FileReport(source.name, source.format, source.compression)
        if source.format == "parquet":
            return self._parquet(index, source, report)
        if source.format == "jsonl":
            return self._jsonl(index, source, report)
        return self._csv(index, source, report)

    def _describe(self, relation: str) -> dict[str, str]:
        rows = self.con.execute(f"DESCRIBE {relation}").fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def _parquet(self, index: int, source: Source, report: FileReport) -> _Raw:
        name = f"raw_{index}"
        try:
            self.con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet("
                f"{_lit(_sql_path(source.path))}, file_row_number=true)"
            )
            cols = self._describe(name)
        except duckdb.Error as exc:
            raise InputError(f"cannot read the Parquet file: {exc}", file=source.name) from None
        cols.pop("file_row_number", None)
        return _Raw(name, cols, _PARQUET_LINE, source, report)

    def _jsonl(self, index: int, source: Source, report: FileReport) -> _Raw:
        name = f"raw_{index}"
        try:
            self.con.execute(
                f"CREATE TABLE {name} AS SELECT * FROM read_json({_lit(_sql_path(source.path))}, "
                "format='newline_delimited', union_by_name=true)"
            )
        except duckdb.Error as exc:
            raise InputError(f"cannot read the JSON Lines file: {exc}", file=source.name) from None
        return _Raw(name, self._describe(name), "rowid + 1", source, report)

    def _csv(self, index: int, source: Source, report: FileReport) -> _Raw:
        encoding = self.options.encoding or self.preset.encoding or sniff_encoding(source)
        report.encoding = encoding
        path: Path = source.path
        compression = source.compression
        if encoding.lower().replace("_", "-") in ("cp1252", "windows-1252") or (
            encoding.lower() not in ("utf-8", "utf8", "utf-16", "latin-1", "latin1", "iso-8859-1")
        ):
            path = transcode_to_utf8(source, encoding, self.workdir)
            compression = "none"
            duck_encoding = "utf-8"
        else:
            duck_encoding = {"utf8": "utf-8", "latin1": "latin-1", "iso-8859-1": "latin-1"}.get(
                encoding.lower(), encoding.lower()
            )
        comp = {"none": "none", "gzip": "gzip", "zstd": "zstd"}[compression]
        name = f"raw_{index}"
        if self.preset.name == "cdnow":
            return self._cdnow(name, path, comp, duck_encoding, source, report)
        args = [
            f"{_lit(_sql_path(path))}",
            "all_varchar=true",
            "header=true",
            f"compression={_lit(comp)}",
            f"encoding={_lit(duck_encoding)}",
            "store_rejects=true",
            f"rejects_table={_lit(name + '_errors')}",
            f"rejects_scan={_lit(name + '_scans')}",
        ]
        delimiter = self.options.delimiter or self._sniff_delimiter(path, comp, duck_encoding)
        if delimiter:
            args.append(f"delim={_lit(delimiter)}")
        try:
            self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_csv({', '.join(args)})")
            scan = self.con.execute(f"SELECT delimiter FROM {name}_scans").fetchall()
            # DuckDB reports a row with surplus or missing fields once per field: keep one
            # entry per row (the one naming the real field count). Its ``line`` counts records,
            # not lines (a quoted newline is not counted), so the row's byte offset is kept to
            # find its real line.
            idx = "CAST(column_idx AS BIGINT)"
            order = f"CASE WHEN error_type = 'TOO MANY COLUMNS' THEN {idx} ELSE -{idx} END"
            errors = self.con.execute(
                f"SELECT line, line_byte_position, arg_max(coalesce(column_name, ''), {order}), "
                f"arg_max(error_message, {order}) FROM {name}_errors "
                "GROUP BY line, line_byte_position ORDER BY line"
            ).fetchall()
        except duckdb.Error as exc:
            # name the user's file, not the UTF-8 copy DuckDB may have been reading
            msg = str(exc).split("\n")[0].replace(str(path), source.name)
            raise InputError(
                f"cannot read this as CSV: {msg}",
                file=source.name,
                hint="check the delimiter (--delimiter) and encoding (--encoding)",
            ) from None
        report.delimiter = delimiter or (str(scan[0][0]) if scan else None)
        cols = self._describe(name)
        if len(cols) == 1 and not self.options.delimiter:
            only = next(iter(cols))
            if not re.fullmatch(r"[\w .\-]+", only):
                raise InputError(
                    "this does not look like a CSV file: no delimiter found in the header "
                    f"{only[:60]!r}",
                    file=source.name,
                    line=1,
                    hint="pass --delimiter if the file uses an unusual separator",
                )
        raw = _Raw(name, cols, "rowid + 2", source, report)
        offsets = [int(r[1]) for r in errors if r[1] is not None]
        lines = _lines_at(Source(path, "csv", compression), offsets)
        raw.structural = [(lines.get(r[1], int(r[0])), str(r[2]), str(r[3])) for r in errors]
        return raw

    def _sniff_delimiter(self, path: Path, comp: str, encoding: str) -> str | None:
        try:
            rows = self.con.execute(
                f"SELECT Delimiter FROM sniff_csv({_lit(_sql_path(path))}, "
                f"compression={_lit(comp)}, encoding={_lit(encoding)}, "
                # a malformed row must not make the sniffer give up on the delimiter
                "ignore_errors=true)"
            ).fetchall()
        except duckdb.Error:
            return None
        return str(rows[0][0]) if rows and rows[0][0] else None

    def _cdnow(
        self, name: str, path: Path, comp: str, encoding: str, source: Source, report: FileReport
    ) -> _Raw:
        # Whitespace-separated with leading blanks: read whole lines, split in SQL.
        self.con.execute(
            f"CREATE TABLE {name}_lines AS SELECT regexp_split_to_array(trim(line), '\\s+') AS f "
            f"FROM read_csv({_lit(_sql_path(path))}, columns={{'line': 'VARCHAR'}}, header=false, "
            f"delim='\\x01', quote='', escape='', compression={_lit(comp)}, "
            f"encoding={_lit(encoding)})"
        )
        first = self.con.execute(f"SELECT f FROM {name}_lines WHERE rowid = 0").fetchall()
        if not first:
            raise InputError("the file is empty", file=source.name)
        fields = list(first[0][0])
        has_header = bool(fields) and fields[0].lower() == "customer_id"
        if has_header:
            names = ["customer_id", "date", "number_of_cds", "dollar_value"]
            offset, skip = "1", "WHERE rowid > 0"
        else:
            names = ["master_customer_id", "customer_id", "date", "number_of_cds", "dollar_value"]
            offset, skip = "1", ""
        select = ", ".join(f"f[{i + 1}] AS {_q(n)}" for i, n in enumerate(names))
        self.con.execute(
            f"CREATE TABLE {name} AS SELECT {select}, len(f) AS __nfields, rowid AS __rid "
            f"FROM {name}_lines {skip}"
        )
        bad = self.con.execute(
            f"SELECT __rid + 1, len FROM (SELECT __rid, __nfields AS len FROM {name}) "
            f"WHERE len <> {len(names)} ORDER BY 1"
        ).fetchall()
        raw = _Raw(name, {n: "VARCHAR" for n in names}, f"__rid + {offset}", source, report)
        raw.structural = [
            (int(r[0]), "", f"expected {len(names)} fields, found {r[1]}") for r in bad
        ]
        if bad:
            self.con.execute(f"DELETE FROM {name} WHERE __nfields <> {len(names)}")
        return raw


# ---------------------------------------------------------------------------------------------
# mapping and parsing


def _map_columns(raw: _Raw, preset: Preset, overrides: dict[str, str]) -> dict[str, str]:
    """Canonical column -> source column for one file."""
    present = list(raw.columns)
    by_norm: dict[str, str] = {}
    for c in present:
        by_norm.setdefault(_norm(c), c)
    mapping: dict[str, str] = {}
    for canon in CANONICAL_COLUMNS:
        if canon in overrides:
            wanted = overrides[canon]
            if wanted in raw.columns:
                mapping[canon] = wanted
            elif _norm(wanted) in by_norm:
                mapping[canon] = by_norm[_norm(wanted)]
            else:
                raise InputError(
                    f"column '{wanted}' (given for {canon}) is not in the file; "
                    f"columns found: {', '.join(present)}",
                    file=raw.source.name,
                    line=1,
                )
            continue
        for cand in preset.columns.get(canon, ()):
            if cand in raw.columns:
                mapping[canon] = cand
                break
            if _norm(cand) in by_norm:
                mapping[canon] = by_norm[_norm(cand)]
                break
    derive = "amount" not in mapping and "quantity" in mapping and "unit_price" in mapping
    missing = [
        c
        for c in ("customer_id", "ordered_at", "amount")
        if c not in mapping and not (c == "amount" and derive)
    ]
    if missing:
        expected = []
        for c in missing:
            names = overrides.get(c) or " or ".join(preset.columns.get(c, (c,)))
            expected.append(f"{c} ({names})")
        how = f"preset '{preset.name}' expects " if preset.name != "canonical" else "expected "
        raise InputError(
            f"missing required column(s): {', '.join(missing)}; columns found: "
            f"{', '.join(present)}; {how}{'; '.join(expected)}",
            file=raw.source.name,
            line=1,
            hint="name the columns with --customer-col/--date-col/--amount-col or use --preset",
        )
    return mapping


_NUM_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT")
_INT_TYPES = (*_NUM_TYPES, "UINTEGER", "UBIGINT")
_TIME_TYPES = (
    "DATE",
    "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE",
    "TIMESTAMP_S",
    "TIMESTAMP_MS",
    "TIMESTAMP_NS",
)


def _is_numeric_type(dtype: str) -> bool:
    """True for column types every value of which converts to DOUBLE."""
    return dtype in (*_INT_TYPES, "DOUBLE", "FLOAT", "REAL", "UHUGEINT") or dtype.startswith(
        "DECIMAL"
    )


def contact_text(expr: str) -> str:
    """Text ``expr`` (SQL) trimmed of spaces, NULL when empty: how every text column is read
    (and the contact values of :attr:`Ingested.contact_rows` after their lookup)."""
    # trim (spaces, as DuckDB's trim) only the values that need it: copying every string
    # would double the cost of each scan
    return (
        f"CASE WHEN starts_with({expr}, ' ') OR ends_with({expr}, ' ') "
        f"THEN nullif(trim({expr}), '') ELSE nullif({expr}, '') END"
    )


def _text_expr(col: str, dtype: str) -> str:
    c = _q(col)
    if dtype in ("DOUBLE", "FLOAT", "REAL") or dtype.startswith("DECIMAL"):
        # ids stored as floats (17850.0) are written without the fraction
        return (
            f"CASE WHEN {c} = floor({c}) THEN CAST(CAST({c} AS HUGEINT) AS VARCHAR) "
            f"ELSE CAST({c} AS VARCHAR) END"
        )
    if dtype == "VARCHAR":
        return contact_text(c)
    if dtype == "JSON":  # a JSON Lines key holding strings and numbers: "A7" is A7
        return contact_text(_as_text(col, dtype))
    return f"CAST({c} AS VARCHAR)"


def _as_text(col: str, dtype: str) -> str:
    """A column's value as the text a person wrote (a JSON string without its quotes)."""
    if dtype == "JSON":
        return f"json_extract_string({_q(col)}, '$')"
    return f"CAST({_q(col)} AS VARCHAR)"


#: Reasons for a number written with the other decimal mark than the rest of its file's.
DECIMAL_POINT_IN_COMMA_FILE = (
    "not a number: this file writes numbers with a decimal comma (12,50 or 1.234,50), and a dot "
    "only between groups of three digits"
)
DECIMAL_COMMA_IN_POINT_FILE = (
    "not a number: this file writes numbers with a decimal point (12.50 or 1,234.50), and a "
    "comma only between groups of three digits"
)


#: Characters that separate groups of three digits besides the comma or dot: space, no-break
#: space and narrow no-break space (1 234,50 as French and Nordic spreadsheets write it), and
#: the apostrophe, straight or typographic (1'234.50, as in Switzerland).
_GROUP_MARKS = " \u00a0\u202f'\u2019"

#: :data:`_GROUP_MARKS` inside an SQL string literal.
_GROUP_SPACES = _GROUP_MARKS.replace("'", "''")


#: Currency symbols an amount may be written with: taken off before the number is read.
_CURRENCY_SYMBOLS = "$€£¥"

#: The currencies each symbol is written for; the first names the log's currency when it has
#: no currency column (only for € and £: $ and ¥ stand for several currencies alike).
_SYMBOL_CURRENCIES: dict[str, tuple[str, ...]] = {
    "€": ("EUR",),
    "£": ("GBP", "EGP", "GIP", "FKP", "SHP"),
    "$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "ARS", "CLP", "COP", "TWD"),
    "¥": ("JPY", "CNY"),
}


def _marker_sql(c: str) -> str:
    """SQL for the currency marker of a text amount ``c``: its symbol, else a three-letter code
    set off by a space before or after the number (``EUR 12.50``, ``12.50 EUR``), else ''."""
    symbols = " ".join(f"WHEN contains({c}, '{s}') THEN '{s}'" for s in _CURRENCY_SYMBOLS)
    code = (
        f"coalesce(nullif(regexp_extract({c}, '^[\\s(+-]*([A-Z]{{3}})\\s', 1), ''), "
        f"regexp_extract({c}, '\\s([A-Z]{{3}})[\\s)]*$', 1))"
    )
    return f"CASE {symbols} ELSE {code} END"


def _amount_markers(con: duckdb.DuckDBPyConnection, raws: list[_Raw]) -> dict[str, list[Any]]:
    """The currency markers (symbols and codes) the money values of text files are written
    with: for each, the number of values and the first place (``file:line``). Values that are
    plain numbers are passed over at the cost of a cast."""
    found: dict[str, list[Any]] = {}
    for raw in raws:
        for canon in ("amount", "unit_price", "refunded"):
            col = raw.report.columns.get(canon)
            if col is None or raw.columns.get(col) != "VARCHAR":
                continue
            c = _q(col)
            line = "NULL" if raw.source.format == "parquet" else f"min({raw.line_expr})"
            rows = con.execute(
                f"SELECT {_marker_sql(c)} AS m, count(*), {line} FROM {raw.relation} "
                f"WHERE TRY_CAST({c} AS DOUBLE) IS NULL "
                f"AND regexp_matches({c}, '[A-Z{_CURRENCY_SYMBOLS}]') GROUP BY 1"
            ).fetchall()
            for marker, n, first in rows:
                if not marker:
                    continue
                entry = found.setdefault(marker, [0, None])
                entry[0] += int(n)
                if entry[1] is None:
                    entry[1] = raw.source.name + (f":{first}" if first is not None else "")
    return found


def _check_amount_markers(
    markers: dict[str, list[Any]], currency: str | None, file: str | None
) -> str | None:
    """The log's currency, given the currency markers its amounts are written with (see
    :func:`_amount_markers`) and its currency (column or option): an error for two
    currencies."""

    def listed(names: list[str]) -> str:
        return ", ".join(
            f"{m} ({markers[m][0]:,} value{'s' if markers[m][0] != 1 else ''}, first at "
            f"{markers[m][1]})"
            for m in sorted(names, key=lambda m: -markers[m][0])
        )

    hint = "split the log by currency or convert the amounts first"
    symbols = [m for m in markers if m in _SYMBOL_CURRENCIES]
    codes = [m for m in markers if m not in _SYMBOL_CURRENCIES]
    clash = len(symbols) > 1 or len(codes) > 1
    if not clash and symbols and codes:
        clash = codes[0] not in _SYMBOL_CURRENCIES[symbols[0]]
    if clash:
        raise InputError(
            f"mixed currencies: the amounts are written with {listed(list(markers))}; "
            "lifevalue analyses one currency at a time",
            file=file,
            hint=hint,
        )
    if codes:
        named: str | None = codes[0]
    elif symbols and symbols[0] in ("€", "£"):
        named = _SYMBOL_CURRENCIES[symbols[0]][0]
    else:
        named = None
    if currency is not None and markers:
        fits = currency == codes[0] if codes else currency in _SYMBOL_CURRENCIES[symbols[0]]
        if not fits:
            raise InputError(
                f"mixed currencies: the amounts are written with {listed(list(markers))} but "
                f"the currency is {currency}",
                file=file,
                hint="check the currency column or --currency",
            )
    return currency or named


def _number_expr(col: str, dtype: str, decimal_comma: bool) -> str:
    c = _q(col)
    if dtype != "VARCHAR":
        return f"TRY_CAST({c} AS DOUBLE)"
    sym = _CURRENCY_SYMBOLS
    # common: a currency symbol just before or after the number (£12.50, 12.50 €)
    v = f"regexp_replace(trim({c}), '^[{sym}]\\s*|\\s*[{sym}]$', '')"
    # rarer, tried only on the values the common cleaning leaves unread (regular expressions
    # with groups cost more): a three-letter code set off by a space before or after the
    # number (EUR 12.50, 12.50 EUR), the sign before a leading symbol or code (-£5.00,
    # - EUR 5.00), accounting brackets and a trailing minus for negatives ((12.50), £(12.50),
    # 12.50-). Which currencies the log's amounts are written in is checked by
    # _amount_markers.
    brackets = "'^\\(\\s*(.*?)\\s*\\)$', '-\\1'"
    markers = f"'^([+-]?)\\s*(?:[{sym}]\\s*|[A-Z]{{3}}\\s+)|(?:\\s*[{sym}]|\\s+[A-Z]{{3}})$', '\\1'"
    trailing = f"'^([0-9][0-9.,{_GROUP_SPACES}]*)-$', '-\\1'"
    unmarked = (
        f"regexp_replace(CASE WHEN starts_with(t, '(') THEN regexp_replace(t, {brackets}) "
        f"ELSE t END, {markers})"
    )
    # (the lambdas name each intermediate text once)
    rare = (
        f"list_transform([trim({c})], lambda t: list_transform([{unmarked}], lambda u: "
        f"CASE WHEN starts_with(u, '(') THEN regexp_replace(u, {brackets}) "
        f"WHEN ends_with(u, '-') THEN regexp_replace(u, {trailing}) ELSE u END)[1])[1]"
    )
    mark = "," if decimal_comma else "\\."
    spaced = f"'-?\\d{{1,3}}([{_GROUP_SPACES}]\\d{{3}})+({mark}\\d*)?'"  # 1 234,50 / 1 234.50
    unspaced = f"regexp_replace(x, '[{_GROUP_SPACES}]', '', 'g')"
    if decimal_comma:
        # a dot is a thousands separator only between groups of three digits (1.234,50): any
        # other dot (12.5) does not fit the file's way of writing numbers and leaves the value
        # unparsed, rather than read as 125 (see DECIMAL_POINT_IN_COMMA_FILE); so is a space
        # (1 234,50)
        has_space = " OR ".join(f"contains(x, {_lit(ch)})" for ch in _GROUP_MARKS)

        def comma(text: str) -> str:
            return (
                f"TRY_CAST(list_transform([{text}], lambda x: CASE WHEN NOT (contains(x, '.') "
                f"OR {has_space}) THEN replace(x, ',', '.') WHEN regexp_full_match(x, "
                "'-?\\d{1,3}(\\.\\d{3})+(,\\d*)?') THEN replace(replace(x, '.', ''), ',', '.') "
                f"WHEN regexp_full_match(x, {spaced}) THEN replace({unspaced}, ',', '.') END)[1]"
                " AS DOUBLE)"
            )

        # numbers without a dot are cast at once, the rest cleaned first (as below)
        plain = f"TRY_CAST(replace({c}, ',', '.') AS DOUBLE)"
        plain = f"CASE WHEN NOT contains({c}, '.') THEN {plain} END"
        return f"coalesce({plain}, {comma(v)}, {comma(rare)})"

    # plain numbers (nearly all) are cast at once; only the rest go through the regexes
    # (COALESCE evaluates each argument for the rows the ones before it left NULL; the lambda
    # names the cleaned text once, so that it is not computed for every row beforehand)
    def grouped(text: str) -> str:
        return (
            f"TRY_CAST(list_transform([{text}], lambda x: CASE WHEN regexp_full_match(x, "
            "'-?\\d{1,3}(,\\d{3})+(\\.\\d*)?') THEN replace(x, ',', '') "
            f"WHEN regexp_full_match(x, {spaced}) THEN {unspaced} ELSE x END)[1] AS DOUBLE)"
        )

    return f"coalesce(TRY_CAST({c} AS DOUBLE), {grouped(v)}, {grouped(rare)})"


def _unix_time_sql(n: str) -> str:
    """SQL for a number ``n`` read as Unix time (an instant), NULL where it cannot be one.

    Seconds from 1e8 (1973) to 1e11, milliseconds from 1e11 to 1e13 (1973 to 2286),
    microseconds from 1e14 to 1e17; the numbers between are left to the date formats: eight
    digits are ``%Y%m%d`` (20240131), fourteen ``%Y%m%d%H%M%S``.
    """
    return (
        f"CASE WHEN {n} >= 1e8 AND {n} < 1e11 THEN to_timestamp({n}) "
        f"WHEN {n} >= 1e11 AND {n} < 1e13 THEN make_timestamptz(CAST({n} * 1000 AS BIGINT)) "
        f"WHEN {n} >= 1e14 AND {n} < 1e17 THEN make_timestamptz(CAST({n} AS BIGINT)) END"
    )


def _date_expr(col: str, dtype: str, formats: Sequence[str], utc: bool = False) -> str:
    """SQL parsing a date column into a TIMESTAMPTZ; values without an offset are store times
    (the connection's time zone; with ``utc`` a UTC store's, taken without ICU's rules).
    Numbers, and text of digits only that no date format reads, are Unix times
    (:func:`_unix_time_sql`)."""
    c = _q(col)
    if dtype in ("TIMESTAMP WITH TIME ZONE",):
        return c
    if dtype.startswith("TIMESTAMP") or dtype == "DATE":
        if utc:  # the wall time is the instant
            return f"make_timestamptz(epoch_us(CAST({c} AS TIMESTAMP)))"
        return f"CAST({c} AS TIMESTAMPTZ)"
    if dtype in _INT_TYPES or dtype in ("DOUBLE", "FLOAT", "REAL"):
        return f"coalesce({_unix_time_sql(c)}, {_date_expr(col, 'VARCHAR', formats, utc)})"
    v = f"trim(CAST({c} AS VARCHAR))"
    if formats:
        fmt_list = "[" + ", ".join(_lit(f) for f in formats) + "]"
        return f"CAST(try_strptime({v}, {fmt_list}) AS TIMESTAMPTZ)"
    fmt_list = "[" + ", ".join(_lit(f) for f in DEFAULT_DATE_FORMATS) + "]"
    # most values cast as they are; the rest are trimmed and tried in the listed formats (the
    # lambda names the trimmed text once, so that it is not computed for every row beforehand)
    tried = (
        f"list_transform([{v}], lambda x: COALESCE(TRY_CAST(x AS TIMESTAMPTZ), "
        f"try_strptime(x, '%Y-%m-%d %H:%M:%S %z'), "
        f"CAST(try_strptime(x, {fmt_list}) AS TIMESTAMPTZ), "
        f"{_unix_time_sql('TRY_CAST(x AS BIGINT)')}))[1]"
    )
    return f"COALESCE(TRY_CAST({c} AS TIMESTAMPTZ), {tried})"


def _looks_decimal_comma(con: duckdb.DuckDBPyConnection, raw: _Raw, cols: list[str]) -> bool:
    """True when the file's amounts are written with a decimal comma (``12,50``)."""
    if raw.report.delimiter == "," or not cols:
        return False
    checks = " + ".join(
        f"count(*) FILTER (regexp_full_match(trim({_q(c)}), '-?[\\d.{_GROUP_SPACES}]*\\d,\\d+'))"
        for c in cols
    )
    dots = " + ".join(
        f"count(*) FILTER (regexp_full_match(trim({_q(c)}), '-?\\d+\\.\\d{{1,2}}'))" for c in cols
    )
    row = con.execute(
        f"SELECT {checks}, {dots} FROM (SELECT * FROM {raw.relation} LIMIT 20000)"
    ).fetchall()[0]
    return int(row[0]) > int(row[1])  # a tie is read with decimal points


@dataclass(frozen=True)
class _Profile:
    """What one pass over a file's text columns found (see :func:`_profile`)."""

    clean: frozenset[str]
    """Source columns none of whose values is empty or has a space."""
    values: dict[str, list[str | None]]
    """Canonical column (``status``, ``currency``) -> its distinct source values."""


#: Canonical text columns whose values are checked for spaces, and those looked up by value.
_ID_COLUMNS = ("customer_id", "order_id", "sku")
_CODED_COLUMNS = ("status", "currency")
_MAX_CODES = 256


def _profile(con: duckdb.DuckDBPyConnection, raw: _Raw, mapping: dict[str, str]) -> _Profile:
    """One scan of a loaded file: which id columns need no trimming, the distinct statuses and
    currencies. The staged rows then take those columns as they are and map the few statuses
    and currencies by value (for Parquet, every later query parses the rows again: trimming and
    mapping every value in every query would be most of its cost)."""
    ids = [mapping[c] for c in _ID_COLUMNS if c in mapping and raw.columns[mapping[c]] == "VARCHAR"]
    coded = {
        c: mapping[c]
        for c in _CODED_COLUMNS
        if c in mapping and raw.columns[mapping[c]] == "VARCHAR"
    }
    if not ids and not coded:
        return _Profile(frozenset(), {})
    # a space anywhere (one memchr) or an empty value: such a column is trimmed as usual
    dirty = [f"bool_or(contains({_q(c)}, ' ') OR {_q(c)} = '')" for c in ids]
    keys = [_q(src) for src in coded.values()]
    select = ", ".join(keys + dirty) or "count(*)"
    group = " GROUP BY ALL" if keys else ""
    rows = con.execute(
        f"SELECT {select} FROM {raw.relation}{group} LIMIT {_MAX_CODES + 1}"
    ).fetchall()
    values: dict[str, list[str | None]] = {}
    if len(rows) <= _MAX_CODES:
        for i, canon in enumerate(coded):
            values[canon] = sorted({r[i] for r in rows}, key=lambda v: (v is None, v or ""))
    elif ids:  # too many distinct statuses: the id checks over the whole file
        rows = con.execute(f"SELECT {', '.join(dirty)} FROM {raw.relation}").fetchall()
        keys = []
    clean = frozenset(c for j, c in enumerate(ids) if not any(r[len(keys) + j] for r in rows))
    return _Profile(clean, values)


def _lookup(
    con: duckdb.DuckDBPyConnection, column: str, expr: str, values: list[str | None]
) -> str:
    """``expr`` of ``column`` as a CASE over its distinct values, each mapped by DuckDB itself."""
    con.execute("CREATE OR REPLACE TEMP TABLE __codes (v VARCHAR)")
    con.executemany("INSERT INTO __codes VALUES (?)", [(v,) for v in values if v is not None])
    mapped = con.execute(f"SELECT v, {expr.replace(_q(column), 'v')} FROM __codes").fetchall()
    con.execute("DROP TABLE __codes")
    cases = " ".join(f"WHEN {_lit(v)} THEN {'NULL' if m is None else _lit(m)}" for v, m in mapped)
    return f"CASE {_q(column)} {cases} ELSE NULL END" if cases else "NULL"


def blank(text: str) -> str:
    """SQL: the text ``text`` is NULL or spaces only."""
    return f"{text} IS NULL OR regexp_full_match({text}, ' *')"


@dataclass(frozen=True)
class _ValueReason:
    """A reason worked out from the rejected value: SQL in which ``{value}`` stands for it."""

    sql: str


def _reason_sql(reason: str | _ValueReason, index: int) -> str:
    """SQL for the reason of check ``index`` (its value is the staged column ``__pv{index}``)."""
    if isinstance(reason, str):
        return _lit(reason)
    return reason.sql.replace("{value}", f"__pv{index}")


def _stage_select(
    con: duckdb.DuckDBPyConnection,
    index: int,
    raw: _Raw,
    mapping: dict[str, str],
    preset: Preset,
    options: ReadOptions,
    profile: _Profile | None = None,
    utc: bool = False,
) -> str:
    """SELECT producing the staged rows of one file: parsed columns plus the first problem.

    With a ``profile``, text columns known to need no trimming are taken as they are and the
    status and currency are looked up from their few distinct values. ``utc``: the store's time
    zone is UTC (see :func:`_date_expr`).
    """
    clean = profile.clean if profile else frozenset()
    formats: tuple[str, ...] = (
        (options.date_format,) if options.date_format else preset.date_formats
    )
    number_src = [
        mapping[c] for c in NUMBER_COLUMNS if c in mapping and raw.columns[mapping[c]] == "VARCHAR"
    ]
    decimal_comma = _looks_decimal_comma(con, raw, number_src)
    if number_src:
        raw.report.decimal_mark = "," if decimal_comma else "."
    out: dict[str, str] = {}
    # (condition, column, value expr, reason)
    checks: list[tuple[str, str, str, str | _ValueReason]] = []
    for canon in CANONICAL_COLUMNS:
        src = mapping.get(canon)
        if src is None:
            out[canon] = "NULL"
            continue
        dtype = raw.columns[src]
        raw_text = _as_text(src, dtype)
        if canon == "ordered_at":
            expr = _date_expr(src, dtype, formats, utc)
            out[canon] = expr
            example = formats[0] if formats else "2024-01-31, 2024-01-31 14:05:00 or Unix time"
            if dtype == "VARCHAR":
                # blank values are unparsed ones: test the cheap condition first
                # (a regex, not trim: the parse's trimmed text must not be computed for every
                # row as a common subexpression)
                missing = f"({expr}) IS NULL AND ({blank(raw_text)})"
            else:  # typed dates and timestamps: only a missing value is a problem
                missing = f"{_q(src)} IS NULL"
            checks.append((missing, src, "''", "missing date"))
            if dtype not in _TIME_TYPES:
                checks.append(
                    (
                        f"({expr}) IS NULL",
                        src,
                        raw_text,
                        f"cannot parse date (expected e.g. {example}; set --date-format)",
                    )
                )
        elif canon in NUMBER_COLUMNS:
            expr = _number_expr(src, dtype, decimal_comma)
            out[canon] = expr
            if dtype == "VARCHAR":
                # a number written the other way (12,5 where numbers have a decimal point, or
                # 12.5 where they have a decimal comma) is named as such: the reason is worked
                # out for the rejected rows alone, from their value
                other, why = (
                    (r"-?\d+\.\d+", DECIMAL_POINT_IN_COMMA_FILE)
                    if decimal_comma
                    else (r"-?\d+,\d+", DECIMAL_COMMA_IN_POINT_FILE)
                )
                reason = _ValueReason(
                    f"CASE WHEN regexp_full_match(trim({{value}}), '{other}') THEN {_lit(why)} "
                    "ELSE 'not a number' END"
                )
                checks.append(
                    (f"({expr}) IS NULL AND NOT ({blank(raw_text)})", src, raw_text, reason)
                )
            elif not _is_numeric_type(dtype):  # e.g. a date in the amount column
                checks.append(
                    (f"{_q(src)} IS NOT NULL AND ({expr}) IS NULL", src, raw_text, "not a number")
                )
        else:
            out[canon] = _q(src) if src in clean else _text_expr(src, dtype)
    if "order_id" not in mapping:
        # no order ids: one order per customer and timestamp (as the data contract says)
        out["order_id"] = (
            f"({out['customer_id']}) || '@' || strftime({out['ordered_at']}, '%Y-%m-%dT%H:%M:%S%z')"
        )
    if "amount" not in mapping and "quantity" in mapping and "unit_price" in mapping:
        out["amount"] = f"({out['quantity']}) * ({out['unit_price']})"
    amount_col = mapping.get("amount") or mapping.get("unit_price") or "amount"
    level = options.amount_level or preset.amount_level
    if level == "line":
        checks.append((f"({out['amount']}) IS NULL", amount_col, "''", "missing amount"))
    for canon, src in (("amount", amount_col), ("refunded", mapping.get("refunded"))):
        if src is not None and canon in out:  # money is added up exactly, below MAX_AMOUNT
            checks.append(
                (
                    f"NOT (abs({out[canon]}) < {MAX_AMOUNT:.0f})",
                    src,
                    _as_text(src, raw.columns[src]),
                    f"amount out of range (a finite number below {MAX_AMOUNT:,.0f} in absolute "
                    "value expected)",
                )
            )
    if preset.guest_customer_ids and "email" in mapping:
        guests = ", ".join(_lit(g) for g in preset.guest_customer_ids)
        out["customer_id"] = (
            f"CASE WHEN ({out['customer_id']}) IN ({guests}) THEN lower({out['email']}) "
            f"ELSE {out['customer_id']} END"
        )
    # customer last: a row without a customer may be expected (skipped) rather than bad
    cust = mapping["customer_id"]
    no_customer = f"({out['customer_id']}) IS NULL"
    if preset.cancellation_prefix and "order_id" in mapping:
        cancel = f"starts_with({out['order_id']}, {_lit(preset.cancellation_prefix)})"
        status = f"CASE WHEN {cancel} THEN 'cancelled' ELSE NULL END"
        if "status" in mapping:
            status = f"coalesce({status}, {out['status']})"
        out["status"] = status
    status_map = preset.status_map
    if status_map and "status" in mapping:
        # one map lookup (a CASE on lower(...) would lower the text once per branch)
        pairs = ", ".join(f"{_lit(k)}: {_lit(v)}" for k, v in status_map.items())
        low = f"lower({out['status']})"
        out["status"] = f"coalesce(map_extract_value(MAP {{{pairs}}}, {low}), {low})"
    if "currency" not in mapping:
        cur = options.currency or preset.currency
        out["currency"] = _lit(cur) if cur else "NULL"
    else:
        out["currency"] = f"upper({out['currency']})"
    if profile is not None:
        for canon in ("status", "currency"):
            if canon in mapping and canon in profile.values:
                out[canon] = _lookup(con, mapping[canon], out[canon], profile.values[canon])

    skip_missing = preset.skip_missing_customer
    cust_reason = (
        "no customer id (the row cannot be attributed to a customer)"
        if skip_missing
        else "missing customer id"
    )
    # The first problem of a row, by number: each condition is evaluated once, on the rows no
    # earlier one matched (its column, value and reason are picked by the number outside).
    checks.append((no_customer, cust, "''", cust_reason))
    first = "CASE " + " ".join(f"WHEN {c} THEN {i}" for i, (c, *_) in enumerate(checks, 1))
    values = {i: v for i, (_, _, v, _) in enumerate(checks, 1) if v != "''"}
    cols_sql = ",\n  ".join(f"{expr} AS {_q(c)}" for c, expr in out.items())
    passed = "".join(f",\n  {v} AS __pv{i}" for i, v in values.items())
    inner = (
        f"SELECT {index} AS __file, CAST({raw.line_expr} AS BIGINT) AS __line,\n  {cols_sql},\n"
        f"  {first} END AS __pidx{passed}\nFROM {raw.relation}"
    )

    def pick(parts: list[str]) -> str:
        return (
            "CASE __pidx " + " ".join(f"WHEN {i} THEN {p}" for i, p in enumerate(parts, 1)) + " END"
        )

    dropped = ", ".join(["__pidx", *(f"__pv{i}" for i in values)])
    skipped = (
        f"CASE WHEN __pidx = {len(checks)} THEN 'skipped' ELSE 'rejected' END"
        if skip_missing
        else "'rejected'"
    )
    return (
        f"SELECT * EXCLUDE ({dropped}),\n"
        f"  {pick([_lit(col) for _, col, _, _ in checks])} AS __pcol,\n"
        f"  {pick([f'__pv{i}' if i in values else chr(39) * 2 for i in range(1, len(checks) + 1)])}"
        " AS __pval,\n"
        f"  {pick([_reason_sql(r, i) for i, (*_, r) in enumerate(checks, 1)])} AS __pwhy,\n"
        f"  {skipped} AS __pkind\n"
        f"FROM ({inner})"
    )


def _contact_select(index: int, raw: _Raw, mapping: dict[str, str], key: str | None = None) -> str:
    """SELECT of one file's row keys (``__row``, or the column ``key``) and contact columns as
    text, not yet trimmed.

    Trimming (:func:`contact_text`) is left to the query that looks rows up by key, so that it
    is done for the rows found only.
    """

    def text(c: str) -> str:
        if c not in mapping:
            return "NULL::VARCHAR"
        src, dtype = mapping[c], raw.columns[mapping[c]]
        return _q(src) if dtype == "VARCHAR" else _text_expr(src, dtype)

    cols = ", ".join(f"{text(c)} AS {c}" for c in _CONTACT_COLUMNS)
    key = key or f"{index} * {ROW_KEY_SHIFT} + CAST({raw.line_expr} AS BIGINT) AS __row"
    return f"SELECT {key}, {cols} FROM {raw.relation}"


# ---------------------------------------------------------------------------------------------
# exact line numbers


def _lines_at(source: Source, offsets: Sequence[int]) -> dict[int, int]:
    """1-based line number of each byte offset of a (decompressed) file."""
    wanted = sorted(set(offsets))
    found: dict[int, int] = {}
    if not wanted:
        return found
    seen = newlines = i = 0
    with open_decompressed(source) as fh:
        while i < len(wanted) and (chunk := fh.read(1 << 20)):
            end = seen + len(chunk)
            while i < len(wanted) and wanted[i] < end:
                found[wanted[i]] = newlines + chunk.count(b"\n", 0, wanted[i] - seen) + 1
                i += 1
            newlines += chunk.count(b"\n")
            seen = end
    return found


def _line_count(source: Source) -> int:
    """Lines of a (decompressed) file: its newlines, plus one for a last line without one."""
    newlines = 0
    last = b""
    with open_decompressed(source) as fh:
        while chunk := fh.read(1 << 20):
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return newlines + (0 if last in (b"\n", b"") else 1)


def _csv_line_map(
    source: Source, encoding: str, delimiter: str, structural: set[int], rows: int
) -> list[int] | Any | None:
    """Line number of each record DuckDB kept, when they are not simply rowid + 2.

    Returns None when every record is one line (no blank lines, no quoted newlines, nothing
    rejected by the CSV parser), the common case, decided by counting newlines. Otherwise the
    records are found by NumPy (:func:`_record_starts`: a newline outside quotes ends one), or,
    when that does not account for every row (unusual quoting, UTF-16), by Python's csv module.
    """
    if _line_count(source) == rows + 1 and not structural:
        return None
    if encoding.lower().replace("_", "-") not in ("utf-16", "utf-16-le", "utf-16-be"):
        found = _record_starts(source, structural)
        if found is not None and len(found) == rows:
            return found
    enc = "utf-8-sig" if encoding in ("utf-8", "utf8") else encoding
    with open_decompressed(source) as fh:
        text = io.TextIOWrapper(fh, encoding=enc, errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter or ",")
        next(reader, None)
        prev = reader.line_num
        mapping: list[int] = []
        for rec in reader:
            start = prev + 1
            prev = reader.line_num
            if not rec or start in structural:
                continue
            mapping.append(start)
    return mapping


def _jsonl_line_map(source: Source, rows: int) -> Any:
    """Line number of each JSON Lines record when blank lines (which DuckDB skips) make it
    other than rowid + 1, else None. A record is one line (JSON Lines escapes the newlines in
    strings), so the records are the lines with anything on them: found by NumPy, or by
    Python when that does not account for every row (lines of blanks only)."""
    import numpy as np

    if _line_count(source) == rows:  # the common case: no blank line
        return None
    ends: list[Any] = []  # byte offset of each newline
    before: list[Any] = []  # the byte before it
    offset = 0
    previous = 10  # a newline "before" the file
    with open_decompressed(source) as fh:
        while chunk := fh.read(RECORD_SCAN_BYTES):
            data = np.frombuffer(chunk, dtype=np.uint8)
            at = np.flatnonzero(data == 10)
            ends.append(offset + at)
            before.append(np.where(at > 0, data[np.maximum(at - 1, 0)], previous))
            offset += data.size
            previous = int(data[-1]) if data.size else previous
    end = np.concatenate(ends) if ends else np.zeros(0, np.int64)
    prior = np.concatenate(before) if before else np.zeros(0, np.uint8)
    start = np.concatenate([[0], end[:-1] + 1]) if end.size else end
    size = end - start - (prior == 13)
    lines = 1 + np.flatnonzero(size > 0)
    tail = offset - (int(end[-1]) + 1 if end.size else 0) - (previous == 13)
    if tail > 0:  # a last line without a newline
        lines = np.append(lines, end.size + 1)
    if lines.size == rows:
        if not rows or int(lines[-1]) == rows:  # no blank line before the last record
            return None
        return lines.astype(np.int64)
    with open_decompressed(source) as fh:
        return [n for n, line in enumerate(fh, 1) if line.strip()]


#: Bytes of a CSV file :func:`_record_starts` looks at a time.
RECORD_SCAN_BYTES = 1 << 24


def _record_starts(source: Source, structural: set[int]) -> Any:
    """First line of each data record of a CSV file (an int64 array), by NumPy over its bytes.

    A record ends at a newline outside quotes: one preceded by an even number of quote
    characters (a doubled quote inside a quoted field counts twice). The header record is left
    out, and so are blank records (nothing, or a lone carriage return, between two ends) and
    the records of the lines in ``structural`` (rows DuckDB's parser rejected). None when the
    file ends inside quotes.
    """
    import numpy as np

    ends: list[Any] = []  # byte offset of each record's closing newline
    end_lines: list[Any] = []  # the line that newline closes (1-based)
    before: list[Any] = []  # the byte before it
    parity = offset = seen_lines = 0
    previous = 10  # a newline "before" the file
    with open_decompressed(source) as fh:
        while chunk := fh.read(RECORD_SCAN_BYTES):
            data = np.frombuffer(chunk, dtype=np.uint8)
            at = np.flatnonzero(data == 10)
            quote_at = np.flatnonzero(data == 34)
            # quotes before each newline, by position (a running count would cost a number
            # per byte)
            closes = ((np.searchsorted(quote_at, at) + parity) & 1) == 0
            line_of = seen_lines + np.arange(1, at.size + 1, dtype=np.int64)
            prior = np.where(at > 0, data[np.maximum(at - 1, 0)], previous)
            ends.append(offset + at[closes])
            end_lines.append(line_of[closes])
            before.append(prior[closes])
            parity = (parity + quote_at.size) & 1
            seen_lines += at.size
            offset += data.size
            previous = int(data[-1]) if data.size else previous
    if parity:
        return None
    end = np.concatenate(ends) if ends else np.zeros(0, np.int64)
    closed = np.concatenate(end_lines) if end_lines else np.zeros(0, np.int64)
    prior = np.concatenate(before) if before else np.zeros(0, np.uint8)
    start = np.concatenate([[0], end[:-1] + 1]) if end.size else np.zeros(0, np.int64)
    first_line = np.concatenate([[1], closed[:-1] + 1]) if closed.size else closed
    size = end - start - (prior == 13)
    # a last record without a newline after it
    tail = offset - (int(end[-1]) + 1 if end.size else 0) - (previous == 13)
    if tail > 0:
        first_line = np.append(first_line, 1 + (int(closed[-1]) if closed.size else 0))
        size = np.append(size, tail)
    keep = size[1:] > 0
    lines = first_line[1:][keep]
    if structural:
        lines = lines[~np.isin(lines, np.fromiter(structural, dtype=np.int64))]
    return lines.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# the whole read


def read_orders(
    paths: Sequence[str | Path],
    options: ReadOptions | None = None,
    progress: Progress | None = None,
) -> Ingested:
    """Read one or more order files into the canonical orders table.

    Parameters
    ----------
    paths
        Files, folders or glob patterns; all are read as one log. CSV (delimiter and encoding
        sniffed), Parquet and JSON Lines, optionally ``.gz`` or ``.zst`` compressed.
    options
        Column mapping, preset, time zone and validation behaviour.
    progress
        Called with a short description before each step (for progress display).

    Returns
    -------
    Ingested
        A DuckDB connection with tables ``orders`` and ``rejects``, and counts in ``stats``.

    Raises
    ------
    InputError
        Missing columns, empty or unreadable files, mixed currencies, and (with ``strict``) the
        first bad row, each with file, line and column.
    """
    options = options or ReadOptions()
    preset = get_preset(options.preset)
    overrides = options.overrides()
    settings = get_settings()
    timezone = options.timezone or preset.timezone or settings.store_timezone
    utc = timezone in UTC_ZONES  # local times are UTC: converted without time zone rules
    say = progress or (lambda _msg: None)

    files = expand_paths(list(paths))
    if not files:
        raise InputError("no input files given")
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")  # the CLI shows its own progress
        con.execute(f"SET TimeZone = {_lit(timezone)}")
        con.execute("SELECT now()::DATE").fetchall()
    except duckdb.Error:
        raise ConfigError(
            f"unknown time zone '{timezone}' (use an IANA name such as Europe/London)"
        ) from None
    if settings.duckdb_threads:
        con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    if settings.duckdb_memory_limit:
        con.execute(f"SET memory_limit = {_lit(settings.duckdb_memory_limit)}")

    loader = _Loader(con, options, preset)
    raws: list[_Raw] = []
    lazy = lazy_orders = False
    try:
        selects: list[str] = []
        contact_selects: list[str] = []
        has_order_ids = True
        for i, path in enumerate(files):
            say(f"reading {path.name}")
            source = detect(path)
            raw = loader.load(i, source)
            _exact_lines(con, raw)
            mapping = _map_columns(raw, preset, overrides)
            raw.report.columns = mapping
            has_order_ids = has_order_ids and "order_id" in mapping
            raws.append(raw)
            profile = _profile(con, raw, mapping)
            selects.append(_stage_select(con, i, raw, mapping, preset, options, profile, utc))
            contact_selects.append(_contact_select(i, raw, mapping))
        say("validating rows")
        lazy = all(r.source.format == "parquet" for r in raws)
        # The staged rows are a view: each later query parses just the columns it needs, on
        # the fly (a few narrow scans cost less than materialising the parsed rows; for a text
        # file they also spare a second copy of its rows beside the raw table).
        con.execute("CREATE VIEW staged AS\n" + "\nUNION ALL BY NAME\n".join(selects))
        dedupe = preset.dedupe and has_order_ids
        scan = _scan(con, len(raws), dedupe=dedupe)
        for i, raw in enumerate(raws):
            raw.report.rows = scan.file_rows[i] + len(raw.structural)
        _build_rejects(con, raws, scan.bad_rows)
        level: AmountLevel = options.amount_level or preset.amount_level
        _raise_if_strict(con, options.strict)
        say("checking duplicates")
        accepted = _accepted(con, scan.problems, cheap_checks=lazy)
        accepted, removed = _remove_duplicates(con, accepted, scan.repeated_hashes)
        lazy_orders = _build_orders(con, accepted=accepted, level=level, utc=utc)
        say("totalling orders")
        present = {c for r in raws for c in r.report.columns}
        if preset.cancellation_prefix and has_order_ids:
            present.add("status")
        contacts = [c for c in _CONTACT_COLUMNS if c in present]
        # The two hash aggregations of the totalling (millions of orders and days) wait on the
        # kernel for fresh memory; one DuckDB thread more than cores keeps the cores busy
        # meanwhile (1M-customer sample on 2 cores, medians of 5: 2.45 s with 2 threads, 2.05 s
        # with 3). Not when the user set the threads.
        more_threads = not settings.duckdb_threads
        if more_threads:
            con.execute(f"SET threads = {_cores() + 1}")
        try:
            create_customer_days(
                con,
                level,
                source=accepted if lazy_orders else "orders",
                zoned=lazy_orders,
                present=present,
                contacts=contacts,
                utc=utc,
            )
        finally:
            if more_threads:
                con.execute("RESET threads")
        # the row counts of the scan hold, less the duplicates, unless rows were removed later
        rows = scan.accepted.less(removed) if lazy_orders else _row_stats(con, "orders")
        currency = _check_currency(con, raws, rows)
        currency = _check_amount_markers(
            _amount_markers(con, raws), currency, raws[0].source.name if len(raws) == 1 else None
        )
        stats = _stats(con, raws, rows, timezone, currency, level)
    finally:
        loader.close()
        # the raw tables of text files hold the rows while ``orders`` is a view of ``staged``,
        # a view of them
        for raw in raws:
            if raw.source.format != "parquet" and not lazy_orders:
                con.execute(f"DROP TABLE IF EXISTS {raw.relation}")
            con.execute(f"DROP TABLE IF EXISTS {raw.relation}_lines")
        if not lazy_orders:  # else ``orders`` is a view of it
            con.execute("DROP VIEW IF EXISTS staged")
    contact_rows = f"(SELECT __file * {ROW_KEY_SHIFT} + __line AS __row, * FROM orders)"
    contact_match = Ingested.contact_match
    if len(raws) == 1 and not lazy_orders:
        # the key of file 0's row is its line
        contact_rows, contact_match = "orders", "f.__line = {key}"
    elif len(raws) == 1 and raws[0].line_expr == _PARQUET_LINE:
        # its key is its row number + 1
        raw = raws[0]
        select = _contact_select(0, raw, raw.report.columns, key="file_row_number AS __rn")
        con.execute(f"CREATE VIEW contact_rows AS {select}")
        contact_rows, contact_match = "contact_rows", "f.__rn = {key} - 1"
    elif lazy_orders:
        # rows are looked up by key: read the contact columns alone from the files (or the raw
        # tables of text files)
        con.execute("CREATE VIEW contact_rows AS\n" + "\nUNION ALL\n".join(contact_selects))
        contact_rows = "contact_rows"
    return Ingested(
        con=con,
        timezone=timezone,
        currency=currency,
        amount_level=level,
        files=[r.report for r in raws],
        stats=stats,
        contact_rows=contact_rows,
        contact_match=contact_match,
    )


def _build_rejects(con: duckdb.DuckDBPyConnection, raws: list[_Raw], bad_rows: Any) -> None:
    """Create ``rejects``: the rows the scan found a problem in (``bad_rows``, see
    :class:`_Scan`; None without any) and the rows the CSV parser could not split."""
    import pyarrow as pa

    con.execute(
        'CREATE TABLE rejects (file_index INTEGER, file VARCHAR, line BIGINT, "column" VARCHAR, '
        "value VARCHAR, reason VARCHAR, kind VARCHAR)"
    )
    con.execute("CREATE TEMP TABLE __files (idx INTEGER, name VARCHAR)")
    con.executemany(
        "INSERT INTO __files VALUES (?, ?)", [(i, r.source.name) for i, r in enumerate(raws)]
    )
    if bad_rows is not None:
        con.register("lv_bad_rows", pa.table({"bad": bad_rows}))
        try:
            con.execute(
                "INSERT INTO rejects SELECT s.f, n.name, s.l, s.c, s.v, s.w, s.k "
                "FROM (SELECT unnest(bad, recursive := true) FROM lv_bad_rows) s "
                "JOIN __files n ON n.idx = s.f"
            )
        finally:
            con.unregister("lv_bad_rows")
    for i, raw in enumerate(raws):
        for line, column, message in raw.structural:
            con.execute(
                "INSERT INTO rejects VALUES (?, ?, ?, ?, NULL, ?, 'rejected')",
                [i, raw.source.name, line, column or None, f"malformed row: {message}"],
            )


#: Column added to the raw table of a CSV file whose records are not one line each: the line
#: each record starts on.
LINE_COLUMN = "__lv_line"


def _exact_lines(con: duckdb.DuckDBPyConnection, raw: _Raw) -> None:
    """Give the rows of a CSV file their exact line numbers where rowid + 2 is not one.

    That is when a record spans lines (a quoted newline), after a blank line, or after a row the
    CSV parser rejected (see :func:`_csv_line_map`; decided by one newline count per file).
    The raw table then gets a column :data:`LINE_COLUMN` with each record's first line, and
    that column becomes the file's line numbers, in the rejects as everywhere else.
    """
    csv_file = raw.source.format == "csv" and raw.line_expr == "rowid + 2"
    if not csv_file and not (raw.source.format == "jsonl" and raw.line_expr == "rowid + 1"):
        return
    import numpy as np
    import pyarrow as pa

    rows = int(con.execute(f"SELECT count(*) FROM {raw.relation}").fetchall()[0][0])
    if csv_file:
        mapping = _csv_line_map(
            raw.source,
            raw.report.encoding or "utf-8",
            raw.report.delimiter or ",",
            {s[0] for s in raw.structural},
            rows,
        )
    else:
        mapping = _jsonl_line_map(raw.source, rows)
    if mapping is None:
        return
    lines = np.asarray(mapping, dtype=np.int64)
    table = pa.table({"rid": np.arange(lines.size, dtype=np.int64), "line": lines})
    con.register("lv_linemap", table)
    try:
        con.execute(f"ALTER TABLE {raw.relation} ADD COLUMN {LINE_COLUMN} BIGINT")
        con.execute(
            f"UPDATE {raw.relation} r SET {LINE_COLUMN} = m.line FROM lv_linemap m "
            "WHERE r.rowid = m.rid"
        )
    finally:
        con.unregister("lv_linemap")
    raw.line_expr = LINE_COLUMN


def _raise_if_strict(con: duckdb.DuckDBPyConnection, strict: bool) -> None:
    if not strict:
        return
    first = con.execute(
        "SELECT file, line, \"column\", value, reason FROM rejects WHERE kind = 'rejected' "
        "ORDER BY file_index, line LIMIT 1"
    ).fetchall()
    if first:
        file, line, column, value, reason = first[0]
        shown = f": {value!r}" if value else ""
        raise InputError(
            f"{reason}{shown}",
            file=str(file),
            line=int(line),
            column=column,
            hint="--strict stops at the first bad row; without it the row goes to rejects.csv",
        )


def _check_currency(
    con: duckdb.DuckDBPyConnection, raws: list[_Raw], rows: _RowStats
) -> str | None:
    if rows.currency_min == rows.currency_max:
        return rows.currency_min
    source = "orders"
    counts = con.execute(
        f"SELECT currency, count(*) FROM {source} WHERE currency IS NOT NULL "
        "GROUP BY currency ORDER BY 2 DESC, 1"
    ).fetchall()
    found = ", ".join(f"{c} ({n} rows)" for c, n in counts)
    raise InputError(
        f"mixed currencies: {found}; lifevalue analyses one currency at a time",
        file=raws[0].source.name if len(raws) == 1 else None,
        hint="split the log by currency or convert the amounts first",
    )


@dataclass(frozen=True)
class _RowStats:
    """Counts over the accepted rows (what ``ingest.json`` reports of them)."""

    accepted: int
    negative: int
    cancelled: int
    returns: int
    refunded: int
    currency_min: str | None
    currency_max: str | None
    first_at: Any
    last_at: Any

    def less(self, copies: _RowStats | None) -> _RowStats:
        """These counts without ``copies``, rows each identical to one that stays (so the
        currencies and the first and last times stay as they are)."""
        if copies is None:
            return self
        return replace(
            self,
            accepted=self.accepted - copies.accepted,
            negative=self.negative - copies.negative,
            cancelled=self.cancelled - copies.cancelled,
            returns=self.returns - copies.returns,
            refunded=self.refunded - copies.refunded,
        )


def _row_stats_sql(where: str, zoned: bool) -> str:
    """Aggregates of :class:`_RowStats` over the rows matching ``where``."""
    f = f" FILTER ({where})"

    def utc(agg: str) -> str:
        value = f"{agg}(ordered_at){f}"
        return utc_timestamp_sql(value) if zoned else value

    first = f"{utc('min')}, {utc('max')}"
    return (
        f"count(*){f}, count(*) FILTER ({where} AND amount < 0), "
        f"count(*) FILTER ({where} AND status = 'cancelled'), "
        f"count(*) FILTER ({where} AND quantity < 0 AND coalesce(status, '') <> 'cancelled'), "
        f"count(*) FILTER ({where} AND status = 'refunded'), "
        f"min(currency){f}, max(currency){f}, {first}"
    )


def _row_stats(con: duckdb.DuckDBPyConnection, relation: str) -> _RowStats:
    row = con.execute(f"SELECT {_row_stats_sql('TRUE', False)} FROM {relation}").fetchall()[0]
    return _row_stats_from(row)


def _row_stats_from(row: Sequence[Any]) -> _RowStats:
    """:class:`_RowStats` from the values of :func:`_row_stats_sql`, in order."""
    n = [int(v) for v in row[:5]]
    return _RowStats(n[0], n[1], n[2], n[3], n[4], row[5], row[6], row[7], row[8])


@dataclass(frozen=True)
class _Scan:
    """One pass over the staged rows: rows per file, bad rows, the accepted rows' counts."""

    file_rows: list[int]
    problems: int
    accepted: _RowStats
    repeated_hashes: Any
    """The hash values (a NumPy uint64 array) that two or more accepted rows share on
    :data:`_DUPLICATE_KEY`: the rows that may be exact duplicates. None without ``dedupe``."""
    bad_rows: Any = None
    """The rows with a problem (an Arrow list of their file, line, column, value, reason and
    kind), collected by the same scan."""


#: Columns every exact duplicate shares: rows agreeing on all of them are compared in full.
_DUPLICATE_KEY = ("customer_id", "order_id", "ordered_at", "amount", "sku", "quantity")


def _scan(con: duckdb.DuckDBPyConnection, n_files: int, *, dedupe: bool) -> _Scan:
    """Count the staged rows per file, the bad rows and the accepted rows in one scan.

    With ``dedupe``, also which accepted rows may be exact duplicates: those that hash alike on
    :data:`_DUPLICATE_KEY` (only they are compared in full). The scan collects the accepted
    rows' hashes and NumPy sorts them: at 5.5 M rows that is about half the cost of DuckDB's
    ``count(DISTINCT ...)``, which builds a hash table of every row.
    """
    ok = "__pwhy IS NULL"
    per_file = n_files <= 64
    files = "".join(f"count(*) FILTER (__file = {i}), " for i in range(n_files) if per_file)
    key = ", ".join(_q(c) for c in _DUPLICATE_KEY)
    hashes = f", list(hash({key})) FILTER ({ok})" if dedupe else ""
    bad = (
        ", list({'f': __file, 'l': __line, 'c': __pcol, 'v': __pval, 'w': __pwhy, "
        f"'k': __pkind}}) FILTER (NOT ({ok}))"
    )
    table = con.sql(
        f"SELECT {files}count(*) FILTER (NOT ({ok})), {_row_stats_sql(ok, True)}{bad}{hashes} "
        "FROM staged"
    ).to_arrow_table()
    lists = 2 if dedupe else 1
    row = [table.column(i)[0].as_py() for i in range(table.num_columns - lists)]
    if per_file:
        counts = [int(v) for v in row[:n_files]]
        row = row[n_files:]
    else:
        found = dict(con.execute("SELECT __file, count(*) FROM staged GROUP BY ALL").fetchall())
        counts = [int(found.get(i, 0)) for i in range(n_files)]
    accepted = _row_stats_from(row[1:10])
    repeated = _repeated_hashes(table.column(table.num_columns - 1)) if dedupe else None
    bad_rows = table.column(table.num_columns - lists) if row[0] else None
    return _Scan(counts, int(row[0]), accepted, repeated, bad_rows)


def _repeated_hashes(lists: Any) -> Any:
    """The values that occur twice or more in the (one) list of row hashes of an Arrow column,
    as a NumPy uint64 array (empty when none does)."""
    import numpy as np

    for chunk in lists.chunks:
        values = chunk.values  # the hashes of the one list (NULL, without accepted rows)
        if len(values) < 2:
            continue
        # the UINT64 buffer as it is (to_numpy() would copy it value by value)
        hashes = np.frombuffer(
            values.buffers()[1], dtype=np.uint64, count=len(values), offset=values.offset * 8
        )
        ordered = np.sort(hashes)
        again = ordered[1:][ordered[1:] == ordered[:-1]]
        return np.unique(again)
    return np.zeros(0, dtype=np.uint64)


def _accepted(con: duckdb.DuckDBPyConnection, problems: int, *, cheap_checks: bool) -> str:
    """SQL for the accepted rows of ``staged``, after the rejects are recorded.

    Without a problem that is every row: a query of the view then parses just the columns it
    reads. Otherwise the rows whose checks found nothing (``__pwhy IS NULL``) when the checks
    are cheap (typed Parquet columns), else (text parsed on the fly, where the checks parse
    every column) the rows not in ``rejects``, found by file and line.
    """
    if not problems:
        return "staged"
    if cheap_checks:
        return "(SELECT * FROM staged WHERE __pwhy IS NULL)"
    con.execute(
        "CREATE TEMP TABLE __rejected AS "
        "SELECT DISTINCT file_index AS __file, line AS __line FROM rejects"
    )
    return "(SELECT * FROM staged ANTI JOIN __rejected USING (__file, __line))"


def _remove_duplicates(
    con: duckdb.DuckDBPyConnection, accepted: str, repeated_hashes: Any
) -> tuple[str, _RowStats | None]:
    """Report exact duplicates of earlier rows and leave them out of ``accepted``.

    Exact duplicates are identical in every canonical column; the first occurrence (by file
    and line) is kept. Only the rows whose :data:`_DUPLICATE_KEY` hash is among
    ``repeated_hashes`` (from :func:`_scan`) can be duplicates, so only they are compared.
    Returns the SQL of the rows kept and the counts of the rows removed (None if none).
    """
    if repeated_hashes is None or not len(repeated_hashes):
        return accepted, None
    import pyarrow as pa

    cols = ", ".join(_q(c) for c in CANONICAL_COLUMNS)
    key = ", ".join(_q(c) for c in _DUPLICATE_KEY)
    con.register("lv_repeated_hashes", pa.table({"h": pa.array(repeated_hashes, pa.uint64())}))
    try:
        con.execute(
            "CREATE TEMP TABLE __duplicates AS SELECT * EXCLUDE (__copy) FROM ("
            f"SELECT *, row_number() OVER (PARTITION BY {cols} ORDER BY __file, __line) "
            f"AS __copy FROM {accepted} WHERE hash({key}) IN (SELECT h FROM lv_repeated_hashes)"
            ") WHERE __copy > 1"
        )
    finally:
        con.unregister("lv_repeated_hashes")
    removed = _row_stats_from(
        con.execute(f"SELECT {_row_stats_sql('TRUE', True)} FROM __duplicates").fetchall()[0]
    )
    if not removed.accepted:
        return accepted, None
    con.execute(
        "INSERT INTO rejects SELECT d.__file, n.name, d.__line, NULL, NULL, "
        "'exact duplicate of an earlier row', 'duplicate' FROM __duplicates d "
        "JOIN __files n ON n.idx = d.__file"
    )
    return f"(SELECT * FROM {accepted} ANTI JOIN __duplicates USING (__file, __line))", removed


def _build_orders(
    con: duckdb.DuckDBPyConnection,
    *,
    accepted: str,
    level: AmountLevel,
    utc: bool = False,
) -> bool:
    """Create ``orders`` from the accepted rows without exact duplicates (``accepted``, see
    :func:`_remove_duplicates`): a view for line-level rows, else a table (orders without a
    total are removed from it). True when it is a view. ``utc``: the store's zone is UTC.
    """
    cols = ", ".join(_q(c) for c in CANONICAL_COLUMNS)
    body = (
        f"SELECT {cols}, {local_date_sql('ordered_at', utc)} AS local_date, "
        f"{utc_timestamp_sql('ordered_at')} AS ordered_at_utc, __file, __line "
        f"FROM {accepted}"
    )
    select = ", ".join(
        "ordered_at_utc AS ordered_at" if c == "ordered_at" else _q(c) for c in CANONICAL_COLUMNS
    )
    if level == "line":
        # a view of the staged rows (parsed on the fly by each query)
        con.execute(
            f"CREATE VIEW orders AS SELECT {select}, local_date, __file, __line FROM ({body})"
        )
        return True
    # orders: the canonical table; ordered_at in UTC
    con.execute(f"CREATE TABLE orders AS SELECT {select}, local_date, __file, __line FROM ({body})")
    if level == "order":
        missing = con.execute(
            "SELECT count(*) FROM (SELECT order_id FROM orders GROUP BY order_id "
            "HAVING count(amount) = 0)"
        ).fetchall()[0][0]
        if missing:
            con.execute(
                "INSERT INTO rejects SELECT o.__file, n.name, o.__line, 'amount', NULL, "
                "'missing amount (no row of this order has a total)', 'rejected' FROM orders o "
                "JOIN __files n ON n.idx = o.__file WHERE o.order_id IN "
                "(SELECT order_id FROM orders GROUP BY order_id HAVING count(amount) = 0)"
            )
            con.execute(
                "DELETE FROM orders WHERE order_id IN (SELECT order_id FROM orders "
                "GROUP BY order_id HAVING count(amount) = 0)"
            )
    return False


def _stats(
    con: duckdb.DuckDBPyConnection,
    raws: list[_Raw],
    rows: _RowStats,
    timezone: str,
    currency: str | None,
    level: AmountLevel,
) -> dict[str, Any]:
    """Counts for ``ingest.json``."""
    kinds = dict(con.execute("SELECT kind, count(*) FROM rejects GROUP BY kind").fetchall())
    reasons = con.execute(
        "SELECT kind, reason, count(*) FROM rejects GROUP BY ALL ORDER BY 3 DESC"
    ).fetchall()
    # order counts from the customer-days (each order is on one customer's day)
    o = con.execute(
        "SELECT count(DISTINCT customer_id), coalesce(sum(n_all), 0), "
        "coalesce(sum(n_cancelled), 0) FROM customer_days"
    ).fetchall()[0]
    rows_read = sum(r.report.rows for r in raws)
    return {
        "files": [
            {
                "file": r.report.file,
                "format": r.report.format,
                "compression": r.report.compression,
                "encoding": r.report.encoding,
                "delimiter": r.report.delimiter,
                "decimal_mark": r.report.decimal_mark,
                "rows": r.report.rows,
                "columns": r.report.columns,
            }
            for r in raws
        ],
        "rows_read": rows_read,
        "rows_accepted": rows.accepted,
        "rows_rejected": int(kinds.get("rejected", 0)),
        "rows_skipped": int(kinds.get("skipped", 0)),
        "rows_duplicate": int(kinds.get("duplicate", 0)),
        "reasons": [{"kind": k, "reason": r, "rows": int(n)} for k, r, n in reasons],
        "customers": int(o[0]),
        "orders": int(o[1]),
        "cancellation_rows": rows.cancelled,
        "cancelled_orders": int(o[2]),
        "negative_amount_rows": rows.negative,
        "return_rows": rows.returns,
        "refund_status_rows": rows.refunded,
        "first_order_at": rows.first_at.isoformat() if rows.first_at else None,
        "last_order_at": rows.last_at.isoformat() if rows.last_at else None,
        "timezone": timezone,
        "currency": currency,
        "amount_level": level,
    }
