"""Bad input: one clear message with the place, exit code 2, no traceback; rejects.csv rows."""

from __future__ import annotations

import csv
import gzip
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Cli = Callable[..., Any]
Writer = Callable[..., Path]

HEADER = "customer_id,order_id,ordered_at,amount"


def fails(result: Any) -> str:
    """Assert a user error (exit code 2, one message, no traceback); return the message."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "error:" in result.stderr
    return str(result.stderr)


def rejects(out: Path) -> list[dict[str, str]]:
    with open(out / "rejects.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def customers(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "customers.csv", newline="", encoding="utf-8") as fh:
        return {r["customer_id"]: r for r in csv.DictReader(fh)}


# --- the whole file is unusable ------------------------------------------------------------------


def test_missing_required_column(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("orders.csv", "cust,when,amount\nA,2024-01-01,10\n")
    msg = fails(cli("analyze", path, "--out", tmp_path / "out"))
    assert "orders.csv:1" in msg
    assert "missing required column(s): customer_id, ordered_at" in msg
    assert "columns found: cust, when, amount" in msg
    assert "customer_id (customer_id)" in msg and "ordered_at (ordered_at)" in msg


def test_missing_column_for_a_preset_lists_what_the_preset_expects(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    path = write_file("orders.csv", f"{HEADER}\nA,1,2024-01-01,10\n")
    msg = fails(cli("analyze", path, "--preset", "shopify", "--out", tmp_path / "out"))
    assert "orders.csv:1" in msg
    assert "columns found: customer_id, order_id, ordered_at, amount" in msg
    assert "preset 'shopify' expects" in msg
    assert "Created at or Paid at" in msg
    assert "amount (Total)" in msg


def test_unknown_preset(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("orders.csv", f"{HEADER}\nA,1,2024-01-01,10\n")
    msg = fails(cli("analyze", path, "--preset", "magento", "--out", tmp_path / "out"))
    assert "unknown preset 'magento'" in msg
    assert "shopify" in msg and "woocommerce" in msg


def test_empty_file(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    msg = fails(cli("analyze", write_file("orders.csv", b""), "--out", tmp_path / "out"))
    assert "orders.csv: the file is empty" in msg


def test_blank_file(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    msg = fails(cli("analyze", write_file("orders.csv", "\n\n  \n"), "--out", tmp_path / "out"))
    assert "orders.csv: the file is empty" in msg


def test_header_only(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("orders.csv", HEADER + "\n")
    msg = fails(cli("analyze", path, "--out", tmp_path / "o"))
    assert f"no purchases to analyse: the order log has no data rows ({path})" in msg


def test_parquet_without_rows(cli: Cli, tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "orders.parquet"
    duckdb.sql(
        "COPY (SELECT 'c1' AS customer_id, 'o1' AS order_id, TIMESTAMP '2024-01-01' AS ordered_at,"
        f" 1.5 AS amount WHERE false) TO '{path}'"
    )
    msg = fails(cli("analyze", path, "--out", tmp_path / "o"))
    assert f"the order log has no data rows ({path})" in msg


def test_every_row_rejected_names_the_reasons_and_first_lines(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    body = ",o1,2024-01-01,10\nc1,o2,notadate,4\nc2,o3,someday,5\n"
    path = write_file("orders.csv", HEADER + "\n" + body)
    out = tmp_path / "out"
    msg = fails(cli("analyze", path, "--out", out))
    assert "none of the 3 rows could be used" in msg
    assert "cannot parse date" in msg and f"(2 rows, first at {path}:3)" in msg
    assert f"missing customer id (1 row, first at {path}:2)" in msg
    # the run stops, but what was found is written where the outputs would have gone
    assert f"every row left out is listed in {out / 'rejects.csv'}" in msg
    assert [(r["line"], r["column"]) for r in rejects(out)] == [
        ("2", "customer_id"),
        ("3", "ordered_at"),
        ("4", "ordered_at"),
    ]
    assert not (out / "customers.csv").exists()


def test_missing_file(cli: Cli, tmp_path: Path) -> None:
    msg = fails(cli("analyze", tmp_path / "nope.csv", "--out", tmp_path / "out"))
    assert "nope.csv: no such file" in msg


@pytest.mark.parametrize(
    "content",
    [
        random.Random(7).randbytes(4096),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06\x00\x00\x00",
        # binary without a single NUL byte (decodes as Latin-1 "text")
        bytes(random.Random(8).randrange(1, 256) for _ in range(4096)),
    ],
    ids=["random-bytes", "png-header", "binary-without-nul"],
)
def test_not_a_csv_at_all(cli: Cli, write_file: Writer, tmp_path: Path, content: bytes) -> None:
    msg = fails(cli("analyze", write_file("orders.csv", content), "--out", tmp_path / "out"))
    assert "orders.csv" in msg
    # the message names the user's file, not a temporary copy made while reading it
    assert "lifevalue-" not in msg and "/tmp" not in msg.replace(str(tmp_path), "")


def test_prose_is_not_a_csv(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("orders.csv", "Dear shop owner\nhere are the orders you asked for\n")
    msg = fails(cli("analyze", path, "--out", tmp_path / "out"))
    assert "orders.csv:1" in msg
    # one line of words reads as a one-column header
    assert "columns found: Dear shop owner;" in msg
    path = write_file("letter.csv", "Hello there, this is a letter.\nIt has some lines.\n")
    msg = fails(cli("analyze", path, "--out", tmp_path / "out"))
    assert "letter.csv:1" in msg
    assert "columns found: Hello there, this is a letter." in msg


def test_mixed_currencies(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = (
        f"{HEADER},currency\nA,1,2024-01-01,10,USD\nB,2,2024-01-02,10,EUR\nC,3,2024-01-03,10,eur\n"
    )
    msg = fails(cli("analyze", write_file("orders.csv", text), "--out", tmp_path / "out"))
    assert "orders.csv" in msg
    assert "mixed currencies" in msg
    assert "EUR (2 rows)" in msg and "USD (1 rows)" in msg


def test_end_before_all_orders(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("orders.csv", f"{HEADER}\nA,1,2024-01-01,10\nA,2,2024-02-01,10\n")
    msg = fails(cli("analyze", path, "--end", "2023-12-31", "--out", tmp_path / "out"))
    assert "2023-12-31" in msg and "2024-01-01" in msg
    assert "--end" in msg


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--end", "31/12/2024"], "--end must be a date like 2024-12-31"),
        (["--time-unit", "months"], "--time-unit must be days or weeks"),
        (["--calibration-end", "2024-03-01"], "calibration end 2024-03-01 must be before"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_options(
    cli: Cli, write_file: Writer, tmp_path: Path, args: list[str], expected: str
) -> None:
    path = write_file("orders.csv", f"{HEADER}\nA,1,2024-01-01,10\nA,2,2024-02-01,10\n")
    msg = fails(cli("analyze", path, *args, "--out", tmp_path / "out"))
    assert expected in msg


# --- one bad row -----------------------------------------------------------------------------


BAD_DATE = f"{HEADER}\nA,1,2024-01-01,10\nB,2,2024-13-45,20\nA,3,2024-01-05,30\n"
BAD_AMOUNT = f"{HEADER}\nA,1,2024-01-01,10\nB,2,2024-01-02,12.3.4\nA,3,2024-01-05,30\n"


@pytest.mark.parametrize(
    ("text", "column", "value", "reason"),
    [
        (BAD_DATE, "ordered_at", "2024-13-45", "cannot parse date"),
        (BAD_AMOUNT, "amount", "12.3.4", "not a number"),
    ],
    ids=["date", "amount"],
)
def test_strict_stops_at_the_bad_row(
    cli: Cli, write_file: Writer, tmp_path: Path, text: str, column: str, value: str, reason: str
) -> None:
    path = write_file("orders.csv", text)
    msg = fails(cli("analyze", path, "--strict", "--out", tmp_path / "out"))
    assert f"orders.csv:3: column '{column}': {reason}" in msg
    assert repr(value) in msg
    assert not (tmp_path / "out" / "customers.csv").exists()


@pytest.mark.parametrize(
    ("text", "column", "value", "reason"),
    [
        (BAD_DATE, "ordered_at", "2024-13-45", "cannot parse date"),
        (BAD_AMOUNT, "amount", "12.3.4", "not a number"),
    ],
    ids=["date", "amount"],
)
def test_without_strict_the_bad_row_goes_to_rejects(
    cli: Cli, write_file: Writer, tmp_path: Path, text: str, column: str, value: str, reason: str
) -> None:
    out = tmp_path / "out"
    result = cli("analyze", write_file("orders.csv", text), "--out", out)
    assert result.exit_code == 0, result.output
    bad = rejects(out)
    assert len(bad) == 1
    assert (bad[0]["file"].endswith("orders.csv"), bad[0]["line"], bad[0]["column"]) == (
        True,
        "3",
        column,
    )
    assert bad[0]["value"] == value
    assert bad[0]["reason"].startswith(reason)
    assert bad[0]["kind"] == "rejected"
    # the rest is analysed: A bought on 01-01 (10) and 01-05 (30); B's only row was bad
    rows = customers(out)
    assert set(rows) == {"A"}
    assert float(rows["A"]["total_spend"]) == pytest.approx(40.0)
    assert int(rows["A"]["frequency"]) == 1


def test_missing_customer_and_missing_date_are_rejected(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = f"{HEADER}\nA,1,2024-01-01,10\n,2,2024-01-02,20\nB,3,,30\nB,4,2024-01-04,\n"
    out = tmp_path / "out"
    result = cli("analyze", write_file("orders.csv", text), "--out", out)
    assert result.exit_code == 0, result.output
    assert [(r["line"], r["column"], r["reason"]) for r in rejects(out)] == [
        ("3", "customer_id", "missing customer id"),
        ("4", "ordered_at", "missing date"),
        ("5", "amount", "missing amount"),
    ]


# --- line numbers that are not simply "row + 2" ------------------------------------------------


def _expect_line(
    cli: Cli, write_file: Writer, tmp_path: Path, text: str, line: int, reason: str
) -> list[dict[str, str]]:
    """Both the strict message and rejects.csv name ``line`` for the first bad row."""
    path = write_file("orders.csv", text)
    msg = fails(cli("analyze", path, "--strict", "--out", tmp_path / "strict"))
    assert f"orders.csv:{line}:" in msg
    assert reason in msg
    out = tmp_path / "out"
    result = cli("analyze", path, "--out", out)
    assert result.exit_code == 0, result.output
    bad = rejects(out)
    assert bad[0]["line"] == str(line)
    assert reason in bad[0]["reason"]
    return bad


def test_line_number_after_a_blank_line(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = (
        f"{HEADER}\nA,1,2024-01-01,10\n\nB,2,2024-01-02,10\nC,3,2024-01-03,xx\nD,4,2024-01-04,5\n"
    )
    #        line 1   line 2              3  line 4              line 5 (bad)
    bad = _expect_line(cli, write_file, tmp_path, text, 5, "not a number")
    assert len(bad) == 1


def test_line_number_after_blank_lines_with_crlf(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = f"{HEADER}\r\nA,1,2024-01-01,10\r\n\r\n\r\nB,2,2024-01-02,10\r\nC,3,bad-date,1\r\n"
    _expect_line(cli, write_file, tmp_path, text, 6, "cannot parse date")


def test_line_number_after_a_quoted_newline(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = (
        f"{HEADER},note\n"
        'A,1,2024-01-01,10,"two\nlines"\n'  # lines 2-3
        "B,2,2024-01-02,10,plain\n"  # line 4
        "C,3,2024-01-03,xx,plain\n"  # line 5 (bad)
        "D,4,2024-01-04,5,plain\n"
    )
    _expect_line(cli, write_file, tmp_path, text, 5, "not a number")


def _padded(rows: list[str], n: int = 30) -> str:
    """Good rows after ``rows`` so the file is long enough for delimiter sniffing to matter."""
    good = [f"K{i},k{i},2024-02-{i % 28 + 1:02d},{i + 1}" for i in range(n)]
    return "\n".join([HEADER, *rows, *good]) + "\n"


def test_too_many_fields(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = _padded(
        [
            "A,1,2024-01-01,10",  # line 2
            "B,2,2024-01-02,10,extra,fields",  # line 3: 6 fields, header has 4
            "C,3,2024-01-03,xx",  # line 4
        ]
    )
    bad = _expect_line(cli, write_file, tmp_path, text, 3, "malformed row")
    # one entry per bad row (not one per surplus field), then the bad amount on line 4
    assert [(r["line"], r["reason"].split(":")[0]) for r in bad] == [
        ("3", "malformed row"),
        ("4", "not a number"),
    ]
    report = (tmp_path / "out" / "ingest.json").read_text()
    assert '"rows_read": 33' in report  # 30 good + 3, each row counted once
    assert '"rows_rejected": 2' in report


def test_too_few_fields(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = _padded(["A,1,2024-01-01,10", "B,2", "C,3,2024-01-03,5"])
    bad = _expect_line(cli, write_file, tmp_path, text, 3, "malformed row")
    assert len(bad) == 1


def test_malformed_row_after_a_quoted_newline_and_a_blank_line(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    good = "".join(f"K{i},k{i},2024-02-{i % 28 + 1:02d},{i + 1},x\n" for i in range(30))
    text = (
        f"{HEADER},note\n"
        'A,1,2024-01-01,10,"multi\nline"\n'  # lines 2-3
        "\n"  # line 4
        "B,2,2024-01-02,10,ok\n"  # line 5
        "B,3,2024-01-02,10,ok,extra\n"  # line 6: malformed
        "C,4,2024-01-03,zz,ok\n"  # line 7: bad amount
        "D,5,2024-01-04,5,ok\n" + good
    )
    bad = _expect_line(cli, write_file, tmp_path, text, 6, "malformed row")
    assert [(r["line"], r["reason"].split(":")[0]) for r in bad] == [
        ("6", "malformed row"),
        ("7", "not a number"),
    ]


def test_duplicate_rows_are_reported_with_their_lines(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = (
        f"{HEADER},note\n"
        'A,1,2024-01-01,10,"multi\nline"\n'  # lines 2-3
        "\n"  # line 4
        "B,2,2024-01-02,10,ok\n"  # line 5
        "B,2,2024-01-02,10,ok\n"  # line 6: exact duplicate of line 5
    )
    out = tmp_path / "out"
    result = cli("analyze", write_file("orders.csv", text), "--out", out)
    assert result.exit_code == 0, result.output
    assert [(r["line"], r["kind"]) for r in rejects(out)] == [("6", "duplicate")]
    assert float(customers(out)["B"]["total_spend"]) == pytest.approx(10.0)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duplicates_among_many_rows_leave_the_counts_of_the_rest(
    write_file: Writer, tmp_path: Path, fmt: str
) -> None:
    """Only rows that hash alike are compared: duplicates of a return row and of a sale are
    removed (the first copy kept), rows that differ in one column are not, and the row counts
    of ingest.json are those of the rows kept."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    from lifevalue.analytics.summary import compute_summary
    from lifevalue.io import read_orders

    n = 500
    rows = {
        "customer_id": [f"C{i % 50}" for i in range(n)],
        "order_id": [f"O{i}" for i in range(n)],
        "ordered_at": [f"2024-01-{1 + i % 28:02d} 10:00:00" for i in range(n)],
        "amount": [float(i % 7 + 1) for i in range(n)],
    }
    rows["amount"][10] = -3.0  # a return
    copies = [10, 10, 20, 30]  # row 10 twice more, rows 20 and 30 once more
    for key in rows:
        rows[key] += [rows[key][i] for i in copies]
    rows["customer_id"].append(rows["customer_id"][40])  # like row 40 but 1 more in amount
    rows["order_id"].append(rows["order_id"][40])
    rows["ordered_at"].append(rows["ordered_at"][40])
    rows["amount"].append(rows["amount"][40] + 1)
    table = pa.table(rows)
    if fmt == "csv":
        path = tmp_path / "orders.csv"
        pa_csv.write_csv(table, path)
    else:
        path = tmp_path / "orders.parquet"
        pq.write_table(table, path)
    ingested = read_orders([path])
    compute_summary(ingested)
    lines = ingested.con.execute(
        "SELECT line FROM rejects WHERE kind = 'duplicate' ORDER BY line"
    ).fetchall()
    first = 2 if fmt == "csv" else 1  # the CSV header is line 1
    assert [r[0] for r in lines] == [n + first + k for k in range(len(copies))]
    stats = ingested.stats
    assert stats["rows_read"] == n + len(copies) + 1
    assert stats["rows_duplicate"] == len(copies)
    assert stats["rows_accepted"] == n + 1
    assert stats["negative_amount_rows"] == 1
    spend = ingested.con.execute("SELECT sum(total_spend) FROM customers").fetchall()[0][0]
    assert spend == pytest.approx(sum(rows["amount"][:n]) + rows["amount"][40] + 1)


def test_bad_row_in_the_second_file_of_a_glob(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    write_file("in/o1.csv", f"{HEADER}\nA,1,2024-01-01,10\n")
    write_file("in/o2.csv", f"{HEADER}\nB,2,2024-01-02,10\n\nB,3,2024-01-03,oops\n")
    pattern = str(tmp_path / "in" / "*.csv")
    msg = fails(cli("analyze", pattern, "--strict", "--out", tmp_path / "strict"))
    assert "o2.csv:4: column 'amount': not a number: 'oops'" in msg
    out = tmp_path / "out"
    assert cli("analyze", pattern, "--out", out).exit_code == 0
    bad = rejects(out)
    assert [(Path(r["file"]).name, r["line"], r["column"]) for r in bad] == [
        ("o2.csv", "4", "amount")
    ]


def test_line_numbers_in_a_gzipped_file(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = (
        f"{HEADER},note\n"
        'A,1,2024-01-01,10,"a\nb"\n'  # lines 2-3
        "\n"  # line 4
        "B,2,2024-01-02,10,ok,surplus\n"  # line 5: malformed
        "C,3,2024-01-03,1x,ok\n"  # line 6: bad amount
    )
    path = write_file("orders.csv.gz", gzip.compress(text.encode()))
    out = tmp_path / "out"
    assert cli("analyze", path, "--delimiter", ",", "--out", out).exit_code == 0
    assert [(r["line"], r["reason"].split(":")[0]) for r in rejects(out)] == [
        ("5", "malformed row"),
        ("6", "not a number"),
    ]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bad_rows_leave_the_rest_as_if_they_were_not_there(
    write_file: Writer, tmp_path: Path, fmt: str
) -> None:
    """The rows of a text file are parsed on the fly from its raw table: bad rows scattered
    through it are left out of every metric, contact details included (A's latest row is bad,
    so A's e-mail is the one of their latest good row), and the rest is as if they were never
    in the file."""
    import json

    from lifevalue.analytics.summary import compute_summary
    from lifevalue.io import read_orders

    good = [
        ("A", "1", "2024-01-01 10:00", "10", "a.old@example.com"),
        ("B", "2", "2024-01-02 10:00", "7", "b@example.com"),
        ("A", "3", "2024-01-04 10:00", "30", "a.new@example.com"),
        ("C", "4", "2024-01-05 10:00", "5", "c@example.com"),
    ]
    bad = [
        (1, ("B", "9", "2024-01-03 10:00", "lots", "b.bad@example.com")),
        (4, ("A", "8", "not a date", "12", "a.bad@example.com")),
        (5, ("A", "7", "2024-01-06 10:00", "", "a.bad@example.com")),
    ]
    rows = list(good)
    for at, row in bad:
        rows.insert(at, row)
    keys = ("customer_id", "order_id", "ordered_at", "amount", "email")

    def write(name: str, records: list[tuple[str, ...]]) -> Path:
        if fmt == "csv":
            return write_file(f"{name}.csv", "\n".join([",".join(keys), *map(",".join, records)]))
        text = "\n".join(json.dumps(dict(zip(keys, r, strict=True))) for r in records)
        return write_file(f"{name}.jsonl", text + "\n")

    def summary(path: Path) -> list[tuple[object, ...]]:
        ingested = read_orders([path])
        compute_summary(ingested)
        return ingested.con.execute(
            "SELECT customer_id, orders, total_spend, last_purchase, email FROM customers "
            "ORDER BY 1"
        ).fetchall()

    with_bad = summary(write("with_bad", rows))
    assert with_bad == summary(write("clean", good))
    assert [r[4] for r in with_bad] == ["a.new@example.com", "b@example.com", "c@example.com"]
    ingested = read_orders([write("again", rows)])
    lines = ingested.con.execute("SELECT line FROM rejects ORDER BY line").fetchall()
    first = 2 if fmt == "csv" else 1  # the CSV header is line 1
    assert [r[0] for r in lines] == [at + first for at, _ in bad]
