"""UCI Online Retail (and its "II" release) through `lifevalue analyze --preset online_retail`.

The slices in tests/data are made by tests/data/make_slices.py. Every count lifevalue reports in
ingest.json is recounted here with nothing but Python's gzip and csv modules.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
SHARED = REPO.parent / "shared" / "data"


@dataclass(frozen=True)
class Layout:
    """How one release of the data set writes its columns."""

    encoding: str
    eol: bytes
    invoice: str
    price: str
    customer: str
    date_format: str


OR1 = Layout("latin-1", b"\r\n", "InvoiceNo", "UnitPrice", "CustomerID", "%m/%d/%Y %H:%M")
OR2 = Layout("utf-8", b"\n", "Invoice", "Price", "Customer ID", "%Y-%m-%d %H:%M:%S")
SLICES = {
    "online_retail": (DATA / "online_retail_slice.csv.gz", OR1),
    "online_retail_ii": (DATA / "online_retail_ii_slice.csv.gz", OR2),
}


def _read(path: Path, layout: Layout) -> list[dict[str, str]]:
    with gzip.open(path, "rt", encoding=layout.encoding, newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass
class Expected:
    """Counts made independently of lifevalue."""

    rows: int
    no_customer: int
    duplicates: int
    accepted: int
    customers: int
    invoices: int
    cancellation_rows: int
    cancelled_invoices: int
    negative_rows: int
    buyers: int
    purchase_invoices: int
    net_spend: float
    purchase_days: dict[str, set[date]]


def _expected(rows: list[dict[str, str]], layout: Layout) -> Expected:
    with_customer = [r for r in rows if r[layout.customer].strip()]
    seen: set[tuple[str, ...]] = set()
    distinct: list[dict[str, str]] = []
    for r in with_customer:
        key = tuple(r.values())
        if key not in seen:
            seen.add(key)
            distinct.append(r)

    def amount(r: dict[str, str]) -> float:
        return float(r["Quantity"]) * float(r[layout.price])

    cancels = [r for r in distinct if r[layout.invoice].startswith("C")]
    purchases = [r for r in distinct if not r[layout.invoice].startswith("C")]
    # precondition of the spend check below (a cancelled invoice with a non-negative line
    # would count as cancelled as a whole)
    assert all(amount(r) < 0 for r in cancels)
    days: dict[str, set[date]] = {}
    for r in purchases:
        day = datetime.strptime(r["InvoiceDate"], layout.date_format).date()
        days.setdefault(r[layout.customer], set()).add(day)
    return Expected(
        rows=len(rows),
        no_customer=len(rows) - len(with_customer),
        duplicates=len(with_customer) - len(distinct),
        accepted=len(distinct),
        customers=len({r[layout.customer] for r in distinct}),
        invoices=len({r[layout.invoice] for r in distinct}),
        cancellation_rows=len(cancels),
        cancelled_invoices=len({r[layout.invoice] for r in cancels}),
        negative_rows=sum(1 for r in distinct if amount(r) < 0),
        buyers=len({r[layout.customer] for r in purchases}),
        purchase_invoices=len({r[layout.invoice] for r in purchases}),
        net_spend=sum(amount(r) for r in distinct if r[layout.customer] in days),
        purchase_days=days,
    )


def test_slices_are_written_like_the_originals() -> None:
    raw = gzip.decompress((DATA / "online_retail_slice.csv.gz").read_bytes())
    assert raw.startswith(
        b"InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"
    )
    assert b"\xa3" in raw  # a Latin-1 pound sign
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    raw2 = gzip.decompress((DATA / "online_retail_ii_slice.csv.gz").read_bytes())
    assert raw2.startswith(
        b"Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
    )
    assert b"\r\n" not in raw2
    assert "£" in raw2.decode("utf-8")
    for name, (path, layout) in SLICES.items():
        facts = _expected(_read(path, layout), layout)
        # the slice holds what the tests need: skipped rows, cancellations, duplicates,
        # customers with cancellations only
        assert facts.no_customer >= 30, name
        assert facts.cancellation_rows >= 10, name
        assert facts.duplicates >= 5, name
        assert facts.customers == 60, name
        assert facts.buyers < facts.customers, name


@pytest.mark.parametrize("name", sorted(SLICES))
def test_ingest_counts_equal_an_independent_count(
    name: str, cli: Callable[..., Any], tmp_path: Path
) -> None:
    path, layout = SLICES[name]
    facts = _expected(_read(path, layout), layout)
    result = cli("analyze", path, "--preset", "online_retail", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "ingest.json").read_text())

    assert report["files"][0]["encoding"] == layout.encoding
    assert report["files"][0]["rows"] == facts.rows
    assert report["rows_read"] == facts.rows
    assert report["rows_skipped"] == facts.no_customer
    assert report["rows_duplicate"] == facts.duplicates
    assert report["rows_rejected"] == 0
    assert report["rows_accepted"] == facts.accepted
    assert report["customers"] == facts.customers
    assert report["orders"] == facts.invoices
    assert report["cancellation_rows"] == facts.cancellation_rows
    assert report["cancelled_orders"] == facts.cancelled_invoices
    assert report["negative_amount_rows"] == facts.negative_rows
    assert report["customers_in_summary"] == facts.buyers
    assert report["currency"] == "GBP"
    assert report["timezone"] == "Europe/London"

    with open(tmp_path / "customers.csv", newline="") as fh:
        customers = {r["customer_id"]: r for r in csv.DictReader(fh)}
    assert len(customers) == facts.buyers
    assert sum(int(r["orders"]) for r in customers.values()) == facts.purchase_invoices
    for cid, days in facts.purchase_days.items():
        row = customers[cid]
        assert int(row["purchase_periods"]) == len(days), cid
        assert row["first_purchase"] == min(days).isoformat(), cid
        assert row["last_purchase"] == max(days).isoformat(), cid
    # Every cancellation line is negative here, so net spend = sum of quantity x price over
    # the distinct rows of the customers with a purchase (cancellations subtract on their own
    # day; customers with cancellations only are not in the summary).
    total = sum(float(r["total_spend"]) for r in customers.values())
    assert total == pytest.approx(facts.net_spend, abs=1e-6)

    with open(tmp_path / "rejects.csv", newline="") as fh:
        rejects = list(csv.DictReader(fh))
    kinds = [r["kind"] for r in rejects]
    assert kinds.count("skipped") == facts.no_customer
    assert kinds.count("duplicate") == facts.duplicates


def test_rejects_point_at_the_skipped_lines(cli: Callable[..., Any], tmp_path: Path) -> None:
    path, layout = SLICES["online_retail"]
    rows = _read(path, layout)
    # data row i (0-based) is on line i + 2: header on line 1, one line per record
    expected = [i + 2 for i, r in enumerate(rows) if not r[layout.customer].strip()]
    result = cli("analyze", path, "--preset", "online_retail", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    with open(tmp_path / "rejects.csv", newline="") as fh:
        skipped = [int(r["line"]) for r in csv.DictReader(fh) if r["kind"] == "skipped"]
    assert skipped == expected


def test_rows_without_customer_do_not_stop_a_strict_run(
    cli: Callable[..., Any], tmp_path: Path
) -> None:
    path, layout = SLICES["online_retail"]
    result = cli("analyze", path, "--preset", "online_retail", "--strict", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "ingest.json").read_text())
    assert report["rows_skipped"] == _expected(_read(path, layout), layout).no_customer
    assert report["rows_rejected"] == 0


FULL = {
    # README facts of /work/shared/data/online_retail and /work/shared/data/online_retail_ii
    "online_retail": {
        "path": SHARED / "online_retail" / "online_retail.csv.gz",
        "rows": 541_909,
        "no_customer": 135_080,
        "customers": 4_372,
        "buyers": 4_339,
        "purchase_invoices": 18_536,
        "repeat_buyers": 2_845,
        "first": "2010-12-01T08:26:00",
        "last": "2011-12-09T12:50:00",
    },
    "online_retail_ii": {
        "path": SHARED / "online_retail_ii" / "online_retail_II_2009_2010.csv.gz",
        "rows": 525_461,
        "no_customer": 107_927,
        "customers": 4_383,
        "buyers": 4_314,
        "purchase_invoices": 19_215,
        "repeat_buyers": 2_893,
        "first": "2009-12-01T07:45:00",
        "last": "2010-12-09T20:01:00",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FULL))
def test_full_file_matches_the_readme(name: str, cli: Callable[..., Any], tmp_path: Path) -> None:
    facts = FULL[name]
    path = facts["path"]
    assert isinstance(path, Path)
    if not path.is_file():
        pytest.skip(f"full data set not found at {path} (expected next to the repository)")
    result = cli("analyze", path, "--preset", "online_retail", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "ingest.json").read_text())
    assert report["rows_read"] == facts["rows"]
    assert report["rows_skipped"] == facts["no_customer"]
    assert report["rows_rejected"] == 0
    assert report["customers"] == facts["customers"]  # customers with any row
    assert report["customers_in_summary"] == facts["buyers"]  # with a purchase
    # first / last InvoiceDate; UK time equals UTC in December
    assert report["first_order_at"] == facts["first"]
    assert report["last_order_at"] == facts["last"]
    with open(tmp_path / "customers.csv", newline="") as fh:
        customers = {r["customer_id"]: r for r in csv.DictReader(fh)}
    assert len(customers) == facts["buyers"]
    # non-cancellation invoices with a customer = purchase orders
    assert sum(int(r["orders"]) for r in customers.values()) == facts["purchase_invoices"]
    assert sum(1 for r in customers.values() if int(r["orders"]) >= 2) == facts["repeat_buyers"]
    if name == "online_retail":
        # 74,215 units bought and cancelled minutes later; no other purchase: net value zero
        assert float(customers["12346"]["total_spend"]) == pytest.approx(0.0, abs=1e-6)
        assert customers["12346"]["orders"] == "1"
