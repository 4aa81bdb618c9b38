"""Input formats, encodings, compressions, column overrides and store-export presets."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from lifevalue.io import read_orders

Cli = Callable[..., Any]
Writer = Callable[..., Path]

# One small log written in many ways. A: 10.50 on 01-01 and 20.25 on 01-05; B: 7.00 on 01-03.
ROWS = [
    ("101", "1", dt.datetime(2024, 1, 1, 10), 10.50),
    ("101", "2", dt.datetime(2024, 1, 5, 11), 20.25),
    ("202", "3", dt.datetime(2024, 1, 3, 12), 7.00),
]
CANONICAL_CSV = "customer_id,order_id,ordered_at,amount\n" + "".join(
    f"{c},{o},{t:%Y-%m-%d %H:%M:%S},{a:.2f}\n" for c, o, t, a in ROWS
)


def analyze(cli: Cli, out: Path, *args: str | Path) -> tuple[dict[str, dict[str, str]], dict]:
    """Run `lifevalue analyze ARGS --out OUT`; return customers.csv by id and ingest.json."""
    result = cli("analyze", *args, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    with open(out / "customers.csv", newline="", encoding="utf-8") as fh:
        customers = {r["customer_id"]: r for r in csv.DictReader(fh)}
    return customers, json.loads((out / "ingest.json").read_text(encoding="utf-8"))


def assert_base_log(customers: dict[str, dict[str, str]]) -> None:
    """The summary of ROWS: 101 bought twice (10.50 + 20.25), 202 once (7.00); end 01-05."""
    assert set(customers) == {"101", "202"}
    a, b = customers["101"], customers["202"]
    assert float(a["total_spend"]) == pytest.approx(30.75)
    assert (int(a["frequency"]), float(a["recency"]), float(a["T"])) == (1, 4.0, 4.0)
    assert float(a["monetary_value"]) == pytest.approx(20.25)
    assert float(b["total_spend"]) == pytest.approx(7.0)
    assert (int(b["frequency"]), float(b["T"])) == (0, 2.0)  # 01-03 -> 01-05


def test_plain_csv(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    customers, report = analyze(cli, tmp_path / "out", write_file("o.csv", CANONICAL_CSV))
    assert_base_log(customers)
    assert report["files"][0]["delimiter"] == ","
    assert report["files"][0]["decimal_mark"] == "."
    assert report["rows_read"] == 3


def test_semicolon_and_decimal_comma(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = (
        "customer_id;order_id;ordered_at;amount\n"
        "101;1;2024-01-01 10:00:00;1.234,50\n"  # thousands dot, decimal comma: 1234.50
        "101;2;2024-01-05 11:00:00;20,25\n"
        "202;3;2024-01-03 12:00:00;7,00\n"
    )
    customers, report = analyze(cli, tmp_path / "out", write_file("o.csv", text))
    assert report["files"][0]["delimiter"] == ";"
    assert report["files"][0]["decimal_mark"] == ","
    assert float(customers["101"]["total_spend"]) == pytest.approx(1234.50 + 20.25)
    assert float(customers["101"]["monetary_value"]) == pytest.approx(20.25)
    assert float(customers["202"]["total_spend"]) == pytest.approx(7.0)


def _rejects(out: Path) -> list[dict[str, str]]:
    with open(out / "rejects.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_decimal_point_in_a_decimal_comma_file_is_rejected_not_misread(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    # 12.5 does not fit 1.234,50: read the file's way it would be 125, so it is left out
    text = (
        "customer_id;order_id;ordered_at;amount\n"
        "101;1;2024-01-01 10:00:00;1.234,50\n"
        "101;2;2024-01-05 11:00:00;20,25\n"
        "202;3;2024-01-03 12:00:00;12.5\n"
        "202;4;2024-01-04 12:00:00;7,00\n"
    )
    customers, report = analyze(cli, tmp_path / "out", write_file("o.csv", text))
    assert float(customers["101"]["total_spend"]) == pytest.approx(1234.50 + 20.25)
    assert float(customers["202"]["total_spend"]) == pytest.approx(7.0)  # 12.5 not in it
    assert report["rows_rejected"] == 1
    (bad,) = _rejects(tmp_path / "out")
    assert (bad["line"], bad["column"], bad["value"]) == ("4", "amount", "12.5")
    assert bad["reason"].startswith("not a number: this file writes numbers with a decimal comma")


def test_decimal_comma_in_a_decimal_point_file_is_named(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    rows = [("101", "1", "2024-01-01", "10.50"), ("101", "2", "2024-01-05", "12,5")]
    rows += [("101", "3", "2024-01-06", "1,234.50"), ("202", "4", "2024-01-03", "7.00")]
    text = "".join(
        json.dumps(dict(zip(("customer_id", "order_id", "ordered_at", "amount"), r, strict=True)))
        + "\n"
        for r in rows
    )
    customers, _ = analyze(cli, tmp_path / "out", write_file("o.jsonl", text))
    assert float(customers["101"]["total_spend"]) == pytest.approx(10.50 + 1234.50)
    (bad,) = _rejects(tmp_path / "out")
    assert (bad["line"], bad["value"]) == ("2", "12,5")
    assert bad["reason"].startswith("not a number: this file writes numbers with a decimal point")


@pytest.mark.parametrize(
    ("header", "values", "mark"),
    [
        # French and Nordic spreadsheets: a space, a no-break or a narrow no-break space
        (
            "customer_id;order_id;ordered_at;amount",
            ["1 234,50", "1\u00a0000,25", "2\u202f000"],
            ",",
        ),
        (
            "customer_id,order_id,ordered_at,amount",
            ["1 234.50", "1\u00a0000.25", "2\u202f000"],
            ".",
        ),
    ],
)
def test_spaces_between_groups_of_three_digits(
    write_file: Writer, header: str, values: list[str], mark: str
) -> None:
    delimiter = header[len("customer_id")]
    text = (
        header
        + "\n"
        + "".join(
            f"A{delimiter}{i}{delimiter}2024-01-0{i}{delimiter}{v}\n"
            for i, v in enumerate(values, 1)
        )
    )
    text += f"A{delimiter}9{delimiter}2024-01-09{delimiter}12 34\n"  # not groups of three
    ingested = read_orders([write_file("o.csv", text)])
    amounts = ingested.con.execute("SELECT amount FROM orders ORDER BY order_id").fetchall()
    assert amounts == [(1234.50,), (1000.25,), (2000.0,)]
    assert ingested.files[0].decimal_mark == mark
    line = ingested.con.execute("SELECT line, reason FROM rejects").fetchall()
    assert line == [(5, "not a number")]


def test_currency_symbols_and_signs_around_them(write_file: Writer) -> None:
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,1,2024-01-01,£12.50\nA,2,2024-01-02,-£5.00\nA,3,2024-01-03,£-2.25\n"
        "A,4,2024-01-04,7.5£\nA,5,2024-01-05,- £1.00\nA,6,2024-01-06,3\n"
    )
    ingested = read_orders([write_file("o.csv", text)])
    amounts = ingested.con.execute("SELECT amount FROM orders ORDER BY order_id").fetchall()
    assert amounts == [(12.5,), (-5.0,), (-2.25,), (7.5,), (-1.0,), (3.0,)]
    # the symbol names the currency when the log has no currency column
    assert ingested.currency == "GBP"


def test_two_currency_symbols_are_mixed_currencies(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        'A,1,2024-01-01,£12.50\nA,2,2024-01-02,"$1,234.50"\nB,3,2024-01-03,£3.00\n'
    )
    result = cli("analyze", write_file("o.csv", text), "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    out = " ".join(result.output.split())
    assert "mixed currencies" in out
    assert re.search(r"£ \(2 values, first at \S*o\.csv:2\)", out)
    assert re.search(r"\$ \(1 value, first at \S*o\.csv:3\)", out)


def test_a_symbol_of_another_currency_than_the_column(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = "customer_id,order_id,ordered_at,amount,currency\nA,1,2024-01-01,€12.50,USD\n"
    result = cli("analyze", write_file("o.csv", text), "--out", tmp_path / "out")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert re.search(
        r"written with € \(1 value, first at \S*o\.csv:2\) but the currency is USD", out
    )
    # a dollar sign stands for several currencies: the column's is taken when it is one of them
    text = "customer_id,order_id,ordered_at,amount,currency\nA,1,2024-01-01,$12.50,CAD\n"
    ingested = read_orders([write_file("d.csv", text)])
    assert ingested.currency == "CAD"
    text = "customer_id,order_id,ordered_at,amount,currency\nA,1,2024-01-01,$12.50,EUR\n"
    result = cli("analyze", write_file("e.csv", text), "--out", tmp_path / "out2")
    assert result.exit_code == 2
    assert "but the currency is EUR" in " ".join(result.output.split())


def test_currency_codes_brackets_and_trailing_minus(write_file: Writer) -> None:
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,1,2024-01-01,EUR 12.50\nA,2,2024-01-02,12.50 EUR\nA,3,2024-01-03,EUR -3.00\n"
        'A,4,2024-01-04,(12.50)\nA,5,2024-01-05,€(2.00)\nA,6,2024-01-06,"(1,234.50 EUR)"\n'
        "A,7,2024-01-07,7.5-\nA,8,2024-01-08,EUR12.50\nA,9,2024-01-09,eur 5\n"
    )
    ingested = read_orders([write_file("o.csv", text)])
    amounts = ingested.con.execute("SELECT amount FROM orders ORDER BY order_id").fetchall()
    assert amounts == [(12.5,), (12.5,), (-3.0,), (-12.5,), (-2.0,), (-1234.5,), (-7.5,)]
    assert ingested.currency == "EUR"  # the code names it; € agrees
    # a code must be upper case and set off by a space
    rejected = ingested.con.execute("SELECT line, value FROM rejects ORDER BY line").fetchall()
    assert rejected == [(9, "EUR12.50"), (10, "eur 5")]


def test_a_code_and_a_symbol_of_another_currency_are_mixed(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,1,2024-01-01,EUR 12.50\nA,2,2024-01-02,£3.00\nA,3,2024-01-03,USD 1\n"
    )
    result = cli("analyze", write_file("o.csv", text), "--out", tmp_path / "out")
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "mixed currencies" in out
    for marker in ("EUR (1 value", "£ (1 value", "USD (1 value"):
        assert marker in out
    # $ and a dollar code agree
    text = "customer_id,order_id,ordered_at,amount\nA,1,2024-01-01,$12.50\nA,2,2024-01-02,AUD 3\n"
    assert read_orders([write_file("d.csv", text)]).currency == "AUD"


def test_apostrophes_between_groups_of_three_digits(write_file: Writer) -> None:
    # as Swiss spreadsheets write thousands, with a straight or a typographic apostrophe
    text = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,1,2024-01-01,1'234.50\nA,2,2024-01-02,1\u2019234.50\nA,3,2024-01-03,CHF -1'000\n"
        "A,4,2024-01-04,12'34\n"
    )
    ingested = read_orders([write_file("o.csv", text)])
    amounts = ingested.con.execute("SELECT amount FROM orders ORDER BY order_id").fetchall()
    assert amounts == [(1234.5,), (1234.5,), (-1000.0,)]
    assert ingested.currency == "CHF"
    assert ingested.con.execute("SELECT line, value FROM rejects").fetchall() == [(5, "12'34")]
    text = "customer_id;order_id;ordered_at;amount\nA;1;2024-01-01;1'234,50\nA;2;2024-01-02;12,5\n"
    ingested = read_orders([write_file("c.csv", text)])
    amounts = ingested.con.execute("SELECT amount FROM orders ORDER BY order_id").fetchall()
    assert amounts == [(1234.5,), (12.5,)]


def test_as_many_decimal_commas_as_points_reads_points(write_file: Writer) -> None:
    text = "customer_id;order_id;ordered_at;amount\nA;1;2024-01-01;12,50\nA;2;2024-01-02;3.25\n"
    ingested = read_orders([write_file("o.csv", text)])
    amounts = ingested.con.execute("SELECT amount FROM orders").fetchall()
    assert amounts == [(3.25,)]
    assert ingested.stats["rows_rejected"] == 1


def test_utf8_bom(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("o.csv", b"\xef\xbb\xbf" + CANONICAL_CSV.encode())
    customers, report = analyze(cli, tmp_path / "out", path)
    assert_base_log(customers)  # the BOM does not end up in the first column's name
    assert report["files"][0]["columns"]["customer_id"] == "customer_id"


def test_cp1252_file(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = (
        "customer_id,order_id,ordered_at,amount,product\n"
        "101,1,2024-01-01 10:00:00,10.50,€ gift card\n"
        "101,2,2024-01-05 11:00:00,20.25,“Best” mug – blue\n"
        "202,3,2024-01-03 12:00:00,7.00,café crème\n"
    )
    path = write_file("o.csv", text, encoding="cp1252")
    assert b"\x80" in path.read_bytes()  # the euro sign is 0x80 in cp1252
    customers, report = analyze(cli, tmp_path / "out", path)
    assert_base_log(customers)
    assert report["files"][0]["encoding"] == "cp1252"
    ingested = read_orders([path])
    products = ingested.con.execute("SELECT product FROM orders ORDER BY order_id").fetchall()
    assert [p[0] for p in products] == ["€ gift card", "“Best” mug – blue", "café crème"]


def test_latin1_file(write_file: Writer) -> None:
    header, *lines = CANONICAL_CSV.splitlines()
    text = f"{header},product\n{lines[0]},Gift voucher £40.00\n"
    text += "".join(f"{line},plain\n" for line in lines[1:])
    ingested = read_orders([write_file("o.csv", text, encoding="latin-1")])
    assert ingested.files[0].encoding == "latin-1"
    first = ingested.con.execute("SELECT product FROM orders WHERE order_id = '1'").fetchall()
    assert first == [("Gift voucher £40.00",)]


def test_gzip_and_zstd(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    gz = write_file("o.csv.gz", gzip.compress(CANONICAL_CSV.encode()))
    zst = write_file("o.csv.zst", zstandard.ZstdCompressor().compress(CANONICAL_CSV.encode()))
    for path in (gz, zst):
        customers, report = analyze(cli, tmp_path / f"out_{path.name}", path)
        assert_base_log(customers)
        assert report["files"][0]["compression"] == ("gzip" if path == gz else "zstd")


def test_parquet(cli: Cli, tmp_path: Path) -> None:
    table = pa.table(
        {
            "customer_id": pa.array([int(r[0]) for r in ROWS], pa.int64()),
            "order_id": [r[1] for r in ROWS],
            "ordered_at": pa.array([r[2] for r in ROWS], pa.timestamp("us")),
            "amount": [r[3] for r in ROWS],
        }
    )
    path = tmp_path / "o.parquet"
    pq.write_table(table, path)
    customers, report = analyze(cli, tmp_path / "out", path)
    assert_base_log(customers)  # integer ids are read as "101", not "101.0"
    assert report["files"][0]["format"] == "parquet"
    assert report["files"][0]["decimal_mark"] is None  # the amounts are numbers, not text


def test_json_lines(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    lines = "".join(
        json.dumps({"customer_id": c, "order_id": o, "ordered_at": t.isoformat(), "amount": a})
        + "\n"
        for c, o, t, a in ROWS
    )
    customers, report = analyze(cli, tmp_path / "out", write_file("o.jsonl", lines))
    assert_base_log(customers)
    assert report["files"][0]["format"] == "jsonl"


def test_json_lines_bad_row_has_its_line_number(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    records = [
        {"customer_id": "101", "order_id": "1", "ordered_at": "2024-01-01", "amount": 1},
        {"customer_id": "101", "order_id": "2", "ordered_at": "someday", "amount": 2},
        {"customer_id": "202", "order_id": "3", "ordered_at": "2024-01-03", "amount": 3},
    ]
    path = write_file("o.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    result = cli("analyze", path, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    rejects = _rejects(tmp_path / "out")
    assert [(r["line"], r["column"], r["value"]) for r in rejects] == [
        ("2", "ordered_at", "someday")
    ]


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_json_lines_blank_lines_and_mixed_types(
    cli: Cli, write_file: Writer, tmp_path: Path, eol: str
) -> None:
    """Blank lines (which DuckDB skips) do not shift the line numbers of later rows, and a key
    holding both strings and numbers gives the strings without their JSON quotes: customer
    "A7" is A7, and the bad amount "x" is reported as x."""
    records = [
        {"customer_id": 101, "ordered_at": "2024-01-01", "amount": 1},
        None,
        None,
        {"customer_id": "A7", "ordered_at": "2024-01-02", "amount": "12.5"},
        None,
        {"customer_id": "A7", "ordered_at": "2024-01-03", "amount": "x"},
        {"customer_id": 101, "ordered_at": "2024-01-04", "amount": 2},
    ]
    text = eol.join("" if r is None else json.dumps(r) for r in records) + eol
    customers, report = analyze(cli, tmp_path / "out", write_file("o.jsonl", text))
    assert set(customers) == {"101", "A7"}
    assert float(customers["A7"]["total_spend"]) == 12.5
    assert float(customers["101"]["total_spend"]) == 3.0
    rejects = _rejects(tmp_path / "out")
    assert [(r["line"], r["column"], r["value"]) for r in rejects] == [("6", "amount", "x")]
    assert report["rows_read"] == 4


def test_glob_of_several_files(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    header, *lines = CANONICAL_CSV.splitlines()
    for i, line in enumerate(lines):
        write_file(f"in/orders_{i}.csv", f"{header}\n{line}\n")
    write_file("in/notes.txt", "not an order file\n")
    customers, report = analyze(cli, tmp_path / "out", str(tmp_path / "in" / "orders_*.csv"))
    assert_base_log(customers)
    assert [Path(f["file"]).name for f in report["files"]] == [
        "orders_0.csv",
        "orders_1.csv",
        "orders_2.csv",
    ]
    assert report["rows_read"] == 3


def test_glob_matching_nothing_is_an_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("analyze", str(tmp_path / "nothing_*.csv"), "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "no file matches this pattern" in result.stderr
    assert "Traceback" not in result.output


def test_column_overrides(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    text = CANONICAL_CSV.replace(
        "customer_id,order_id,ordered_at,amount", "Client,Ref,Purchased On,Paid EUR"
    )
    path = write_file("o.csv", text)
    customers, report = analyze(
        cli,
        tmp_path / "out",
        path,
        "--customer-col",
        "Client",
        "--order-col",
        "Ref",
        "--date-col",
        "Purchased On",
        "--amount-col",
        "Paid EUR",
    )
    assert_base_log(customers)
    assert report["files"][0]["columns"] == {
        "customer_id": "Client",
        "order_id": "Ref",
        "ordered_at": "Purchased On",
        "amount": "Paid EUR",
    }


def test_override_naming_a_missing_column(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("o.csv", CANONICAL_CSV)
    result = cli("analyze", path, "--customer-col", "Client", "--out", tmp_path / "out")
    assert result.exit_code == 2
    assert "o.csv:1" in result.stderr
    assert "'Client'" in result.stderr
    assert "customer_id, order_id, ordered_at, amount" in result.stderr  # columns found
    assert "Traceback" not in result.output


SHOPIFY = """\
Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,\
Discount Code,Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,\
Lineitem sku,Billing Country,Refunded Amount,Id
#1001,ann@example.com,paid,2024-01-05 10:02:00 -0500,fulfilled,USD,50.00,10.00,0.00,55.00,\
NEWYEAR,5.00,2024-01-05 10:00:00 -0500,1,Mug,30.00,MUG-1,US,0.00,5001
#1001,ann@example.com,,,,,,,,,,,2024-01-05 10:00:00 -0500,1,Plate,20.00,PLATE-1,,,
#1002,bob@example.com,refunded,2024-01-20 09:00:00 -0500,fulfilled,USD,40.00,0.00,0.00,40.00,\
,0.00,2024-01-20 09:00:00 -0500,2,Cup,20.00,CUP-1,US,40.00,5002
#1003,ann@example.com,partially_refunded,2024-02-10 12:00:00 -0500,fulfilled,USD,100.00,0.00,\
0.00,100.00,,0.00,2024-02-10 12:00:00 -0500,1,Lamp,60.00,LAMP-1,US,30.00,5003
#1003,ann@example.com,,,,,,,,,,,2024-02-10 12:00:00 -0500,2,Bulb,20.00,BULB-1,,,
#1004,bob@example.com,paid,2024-03-01 21:30:00 -0500,unfulfilled,USD,25.00,0.00,0.00,25.00,\
,0.00,2024-03-01 21:30:00 -0500,1,Vase,25.00,VASE-1,US,0.00,5004
"""


def test_shopify_export(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("orders_export.csv", SHOPIFY)
    customers, report = analyze(
        cli, tmp_path / "out", path, "--preset", "shopify", "--timezone", "America/New_York"
    )
    assert report["rows_read"] == 6  # six line items
    assert report["orders"] == 4
    assert report["rows_rejected"] == 0
    assert report["currency"] == "USD"
    assert set(customers) == {"ann@example.com", "bob@example.com"}
    ann = customers["ann@example.com"]
    # #1001: Total 55 taken once (not per line item); #1003: Total 100, partially refunded 30
    assert int(ann["orders"]) == 2
    assert float(ann["total_spend"]) == pytest.approx(55 + (100 - 30))
    assert float(ann["monetary_value"]) == pytest.approx(70.0)  # the repeat day: 100 - 30
    assert float(ann["refunded_amount"]) == pytest.approx(30.0)
    assert float(ann["average_order_value"]) == pytest.approx((55 + 100) / 2)  # gross
    assert float(ann["discount_share"]) == pytest.approx(0.5)  # #1001 had a discount
    assert (ann["first_purchase"], ann["last_purchase"]) == ("2024-01-05", "2024-02-10")
    bob = customers["bob@example.com"]
    # #1002 refunded in full: not a purchase; #1004 is bob's only purchase
    assert int(bob["orders"]) == 1
    assert float(bob["total_spend"]) == pytest.approx(25.0)
    assert float(bob["refunded_amount"]) == pytest.approx(40.0)
    # 2024-03-01 21:30 -05:00 is 03-02 in UTC but 03-01 in the store's time zone
    assert bob["first_purchase"] == "2024-03-01"
    assert int(ann["days_since_last_order"]) == 20  # 02-10 -> 03-01 (end = last purchase day)


WOOCOMMERCE = """\
Order ID,Order Date,Order Status,Customer User ID,Billing Email,Order Currency,Order Total,\
Cart Discount Amount,Order Refund Amount,SKU,Item Name,Quantity,Item Cost
101,2024-01-05 10:00:00,wc-completed,7,ann@example.com,EUR,45.00,5.00,0.00,MUG-1,Mug,1,30.00
101,2024-01-05 10:00:00,wc-completed,7,ann@example.com,EUR,45.00,5.00,0.00,PLATE-1,Plate,1,20.00
102,2024-01-20 09:00:00,wc-refunded,8,bob@example.com,EUR,40.00,0.00,40.00,CUP-1,Cup,2,20.00
103,2024-02-10 12:00:00,wc-completed,7,ann@example.com,EUR,80.00,0.00,15.00,LAMP-1,Lamp,1,80.00
104,2024-02-15 12:00:00,wc-cancelled,7,ann@example.com,EUR,12.00,0.00,0.00,CUP-1,Cup,1,12.00
105,2024-03-01 08:00:00,processing,8,bob@example.com,EUR,25.00,0.00,0.00,VASE-1,Vase,1,25.00
106,2024-03-02 08:00:00,wc-pending,8,bob@example.com,EUR,99.00,0.00,0.00,VASE-1,Vase,4,25.00
"""


def test_woocommerce_export(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    path = write_file("woo.csv", WOOCOMMERCE)
    customers, report = analyze(cli, tmp_path / "out", path, "--preset", "woocommerce")
    assert report["rows_read"] == 7
    assert report["rows_duplicate"] == 0  # two line items of order 101 are not duplicates
    assert report["currency"] == "EUR"
    assert report["cancelled_orders"] == 1  # 104
    ann, bob = customers["7"], customers["8"]
    # order totals are repeated on each line item and taken once: 101 = 45 (not 90);
    # 103 = 80 - 15 refunded = 65; 104 cancelled
    assert int(ann["orders"]) == 2
    assert float(ann["total_spend"]) == pytest.approx(45 + 65)
    assert float(ann["monetary_value"]) == pytest.approx(65.0)
    assert float(ann["refunded_amount"]) == pytest.approx(15.0)
    assert float(ann["discount_share"]) == pytest.approx(0.5)
    # 102 refunded in full and 106 pending are not purchases: bob bought once (105)
    assert int(bob["orders"]) == 1
    assert float(bob["total_spend"]) == pytest.approx(25.0)
    assert float(bob["refunded_amount"]) == pytest.approx(40.0)
    assert (bob["first_purchase"], bob["last_purchase"]) == ("2024-03-01", "2024-03-01")


def test_woocommerce_guest_orders_are_not_one_customer(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    text = (
        "Order ID,Order Date,Order Status,Customer User ID,Billing Email,Order Currency,"
        "Order Total\n"
        "201,2024-01-05 10:00:00,wc-completed,0,guest1@example.com,EUR,10.00\n"
        "202,2024-01-06 10:00:00,wc-completed,0,guest2@example.com,EUR,20.00\n"
        "203,2024-01-07 10:00:00,wc-completed,5,reg@example.com,EUR,30.00\n"
    )
    customers, _ = analyze(
        cli, tmp_path / "out", write_file("woo.csv", text), "--preset", "woocommerce"
    )
    # two different guests bought once each: nobody has a repeat purchase
    assert len(customers) == 3
    assert all(int(r["frequency"]) == 0 for r in customers.values())


def test_parquet_text_is_cleaned_as_in_csv(tmp_path: Path) -> None:
    """Parquet text columns are read as they are only when no value needs trimming; padded
    ids, statuses in any case and padded currencies give the same log as clean ones."""
    rows = {
        "customer_id": [" 101", "101 ", "202", "202", "303"],
        "order_id": ["1", "2 ", "3", "4", "5"],
        "ordered_at": [dt.datetime(2024, 1, d, 10) for d in (1, 5, 3, 4, 5)],
        "amount": [10.5, 20.25, 7.0, 99.0, 1.0],
        "status": ["Paid", " paid", "COMPLETED ", "Cancelled", ""],
        "currency": [" gbp", "GBP", "gbp ", "GBP", None],
    }
    padded = tmp_path / "padded.parquet"
    pq.write_table(pa.table(rows), padded)
    clean = tmp_path / "clean.parquet"
    tidy = dict(rows)
    tidy["customer_id"] = ["101", "101", "202", "202", "303"]
    tidy["order_id"] = ["1", "2", "3", "4", "5"]
    tidy["status"] = ["paid", "paid", "paid", "cancelled", None]
    tidy["currency"] = ["GBP", "GBP", "GBP", "GBP", None]
    pq.write_table(pa.table(tidy), clean)

    def summary(path: Path) -> list[tuple[Any, ...]]:
        from lifevalue.analytics.summary import compute_summary

        ingested = read_orders([path])
        compute_summary(ingested)
        assert ingested.currency == "GBP"
        assert ingested.stats["cancelled_orders"] == 1
        return ingested.con.execute(
            "SELECT customer_id, orders, frequency, total_spend FROM customers ORDER BY 1"
        ).fetchall()

    expected = [("101", 2, 1, 30.75), ("202", 1, 0, 7.0), ("303", 1, 0, 1.0)]
    assert summary(padded) == expected
    assert summary(clean) == expected


def test_an_order_id_of_two_customers_is_an_order_of_each(write_file: Writer) -> None:
    """An order id used by two customers (a data problem) is not merged: each customer has
    their own order, with their own rows."""
    from lifevalue.analytics.summary import compute_summary

    log = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,1,2024-01-01 10:00,10\n"
        "A,1,2024-01-01 10:00,5\n"
        "B,1,2024-01-02 09:00,7\n"
        "B,2,2024-01-05 09:00,3\n"
    )
    ingested = read_orders([write_file("shared.csv", log)])
    compute_summary(ingested)
    rows = ingested.con.execute(
        "SELECT customer_id, orders, total_spend, first_purchase FROM customers ORDER BY 1"
    ).fetchall()
    assert rows == [("A", 1, 15.0, dt.date(2024, 1, 1)), ("B", 2, 10.0, dt.date(2024, 1, 2))]
    assert ingested.stats["orders"] == 3
    assert ingested.stats["last_order_at"] == "2024-01-05T09:00:00"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_without_order_ids_an_order_is_a_customer_and_second(
    write_file: Writer, tmp_path: Path, fmt: str
) -> None:
    """No order id column: the rows of one customer in the same second are one order (their
    amounts add up), rows a second apart are two, and another customer's row in that second
    is an order of theirs."""
    from lifevalue.analytics.summary import compute_summary

    rows = [
        ("A", dt.datetime(2024, 1, 1, 10, 0, 0, 200_000), 10.0),
        ("A", dt.datetime(2024, 1, 1, 10, 0, 0, 700_000), 5.0),
        ("A", dt.datetime(2024, 1, 1, 10, 0, 1), 2.0),
        ("B", dt.datetime(2024, 1, 1, 10, 0, 0, 200_000), 7.0),
        ("A", dt.datetime(2024, 1, 3, 9, 0, 0), 4.0),
    ]
    if fmt == "csv":
        path = write_file(
            "no_ids.csv",
            "customer_id,ordered_at,amount\n"
            + "".join(f"{c},{t:%Y-%m-%d %H:%M:%S.%f},{a}\n" for c, t, a in rows),
        )
    else:
        path = tmp_path / "no_ids.parquet"
        pq.write_table(
            pa.table(
                {
                    "customer_id": [r[0] for r in rows],
                    "ordered_at": pa.array([r[1] for r in rows], pa.timestamp("us")),
                    "amount": [r[2] for r in rows],
                }
            ),
            path,
        )
    ingested = read_orders([path])
    compute_summary(ingested)
    got = ingested.con.execute(
        "SELECT customer_id, orders, purchase_periods, total_spend, average_order_value "
        "FROM customers ORDER BY 1"
    ).fetchall()
    assert got == [("A", 3, 2, 21.0, 7.0), ("B", 1, 1, 7.0, 7.0)]
    assert ingested.stats["orders"] == 4


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_unix_times_in_seconds_milliseconds_and_microseconds(
    write_file: Writer, tmp_path: Path, fmt: str
) -> None:
    """Numbers in the date column are Unix times (database and webhook exports); eight- and
    fourteen-digit numbers stay dates in the %Y%m%d[%H%M%S] formats; other numbers are rejected.
    The instants are taken to the store's calendar (here New York, UTC-5 in winter)."""
    when = dt.datetime(2024, 1, 15, 3, 30, tzinfo=dt.UTC)  # 2024-01-14 22:30 in NY
    s = int(when.timestamp())
    values = [s, s * 1000, s * 1_000_000, 20240301, 20240302101500, 12345]
    if fmt == "csv":
        body = "".join(f"c{i},o{i},{v},10\n" for i, v in enumerate(values))
        path = write_file("orders.csv", "customer_id,order_id,ordered_at,amount\n" + body)
    else:
        path = tmp_path / "orders.parquet"
        table = {
            "customer_id": [f"c{i}" for i in range(len(values))],
            "order_id": [f"o{i}" for i in range(len(values))],
            "ordered_at": pa.array(values, pa.int64()),
            "amount": [10.0] * len(values),
        }
        pq.write_table(pa.table(table), path)
    from lifevalue.analytics.summary import compute_summary
    from lifevalue.io import ReadOptions

    ingested = read_orders([path], ReadOptions(timezone="America/New_York"))
    compute_summary(ingested)
    got = dict(ingested.con.execute("SELECT customer_id, first_purchase FROM customers").fetchall())
    expected_day = dt.date(2024, 1, 14)
    assert got == {
        "c0": expected_day,
        "c1": expected_day,
        "c2": expected_day,
        "c3": dt.date(2024, 3, 1),
        "c4": dt.date(2024, 3, 2),
    }
    rejected = ingested.con.execute('SELECT line, "column", reason FROM rejects').fetchall()
    line = 7 if fmt == "csv" else 6  # CSV lines count the header, Parquet rows from 1
    assert len(rejected) == 1 and rejected[0][:2] == (line, "ordered_at")
    assert "Unix time" in rejected[0][2]
