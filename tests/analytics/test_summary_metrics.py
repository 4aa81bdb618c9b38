"""The per-customer summary pinned on small hand-written logs (values worked out by hand)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lifevalue.analytics.summary import compute_summary, customer_summary
from lifevalue.io import ReadOptions, read_orders

# Customer A exercises every netting rule, B is a one-time buyer, C spreads over two years.
LOG = """\
customer_id,order_id,ordered_at,amount,discount,status
A,o1,2024-01-01 10:00,100,10,paid
A,o2,2024-01-01 15:00,50,,paid
A,o3,2024-01-11 09:00,80,,paid
A,o3,2024-01-20 09:00,-20,,paid
A,o4,2024-02-10 09:00,40,,cancelled
A,o5,2024-03-01 09:00,70,,refunded
A,C9,2024-03-10 09:00,-15,,
A,o6,2024-03-31 09:00,30,,paid
B,b1,2024-02-01 12:00,200,,paid
C,c1,2022-03-31 12:00,1000,,
C,c2,2022-04-01 12:00,500,,
C,c3,2023-03-31 12:00,300,,
C,c4,2023-04-01 12:00,200,,
C,c5,2024-03-01 12:00,100,,
C,Cx,2023-06-01 12:00,-50,,
"""


def _rows(frame: Any) -> dict[str, dict[str, Any]]:
    return {str(r["customer_id"]): r for r in frame.to_dict("records")}


def _day(value: Any) -> date:
    return value.date() if hasattr(value, "date") else value


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    path = tmp_path_factory.mktemp("summary") / "orders.csv"
    path.write_text(LOG, encoding="utf-8")
    return _rows(customer_summary(read_orders([path])))


def test_purchase_periods_frequency_recency_T_in_days(summary: dict[str, dict[str, Any]]) -> None:
    a = summary["A"]
    # Purchases of A: o1 + o2 on 01-01 (one period), o3 on 01-11, o6 on 03-31.
    # o4 is cancelled, o5 refunded in full, C9 is a refund document: none is a purchase.
    assert a["orders"] == 4  # o1, o2, o3, o6
    assert a["purchase_periods"] == 3  # 01-01, 01-11, 03-31
    assert a["frequency"] == 2  # 3 periods - 1
    assert _day(a["first_purchase"]) == date(2024, 1, 1)
    assert _day(a["last_purchase"]) == date(2024, 3, 31)
    # 2024 is a leap year: 01-01 -> 03-31 = 30 (rest of Jan) + 29 (Feb) + 31 (Mar) = 90 days
    assert a["recency"] == 90.0
    # --end defaults to the last purchase day in the log (A's 2024-03-31): T = 90 days
    assert a["T"] == 90.0

    b = summary["B"]
    assert (b["orders"], b["purchase_periods"], b["frequency"], b["recency"]) == (1, 1, 0, 0.0)
    assert b["T"] == 59.0  # 2024-02-01 -> 2024-03-31: 28 (rest of Feb, leap) + 31 = 59 days

    c = summary["C"]
    # 2022-03-31 -> 2023-03-31 = 365 days, -> 2024-03-31 = 366 more (29 Feb 2024): 731
    assert c["T"] == 731.0
    assert c["recency"] == 701.0  # last purchase 2024-03-01 is 30 days before 03-31
    assert c["frequency"] == 4


def test_monetary_value_is_mean_of_repeat_periods(summary: dict[str, dict[str, Any]]) -> None:
    # A's periods: 01-01 = 100 + 50 = 150 (two orders, one period, spend summed);
    # 01-11 = 80 - 20 = 60 (the refund row of o3 dated 01-20 is netted into o3's day);
    # 03-31 = 30. The first period is left out: (60 + 30) / 2 = 45.
    assert summary["A"]["monetary_value"] == pytest.approx(45.0)
    # one-time buyer: 0
    assert summary["B"]["monetary_value"] == 0.0
    # C: (500 + 300 + 200 + 100) / 4 = 275 (the refund document Cx is not a purchase period)
    assert summary["C"]["monetary_value"] == pytest.approx(275.0)


def test_total_spend_and_refunds(summary: dict[str, dict[str, Any]]) -> None:
    a = summary["A"]
    # o1 100 + o2 50 + o3 (80 - 20) + o6 30 = 240 net purchases;
    # o4 cancelled adds 0; o5 refunded in full adds 70 - 70 = 0;
    # the unlinked refund document C9 subtracts 15 on its own day: 240 - 15 = 225
    assert a["total_spend"] == pytest.approx(225.0)
    # refunded: 20 (o3) + 70 (o5, full refund by status) + 15 (C9) = 105
    assert a["refunded_amount"] == pytest.approx(105.0)
    assert summary["B"]["total_spend"] == pytest.approx(200.0)
    assert summary["B"]["refunded_amount"] == 0.0
    # C: 1000 + 500 + 300 + 200 + 100 = 2100, less the refund document Cx (50) = 2050
    assert summary["C"]["total_spend"] == pytest.approx(2050.0)
    assert summary["C"]["refunded_amount"] == pytest.approx(50.0)


def test_spend_windows_12m_24m(summary: dict[str, dict[str, Any]]) -> None:
    c = summary["C"]
    # end = 2024-03-31; the 12-month window is (2023-03-31, 2024-03-31]:
    # c4 (2023-04-01) 200 + c5 (2024-03-01) 100 - Cx (2023-06-01, on its own day) 50 = 250;
    # c3 on 2023-03-31 is just outside.
    assert c["spend_12m"] == pytest.approx(250.0)
    # 24 months: (2022-03-31, 2024-03-31]: 500 + 300 + 200 + 100 - 50 = 1050; c1 out.
    assert c["spend_24m"] == pytest.approx(1050.0)
    # A is entirely inside both windows
    assert summary["A"]["spend_12m"] == pytest.approx(225.0)
    assert summary["A"]["spend_24m"] == pytest.approx(225.0)


def test_average_order_value_is_gross_per_order(summary: dict[str, dict[str, Any]]) -> None:
    # contract: average_order_value = total gross spend / orders.
    # A's purchase orders and their gross: o1 100, o2 50, o3 80, o6 30 -> 260 / 4 = 65
    assert summary["A"]["average_order_value"] == pytest.approx(65.0)
    assert summary["B"]["average_order_value"] == pytest.approx(200.0)
    # C: (1000 + 500 + 300 + 200 + 100) / 5 = 420
    assert summary["C"]["average_order_value"] == pytest.approx(420.0)


def test_rates_and_gaps(summary: dict[str, dict[str, Any]]) -> None:
    c = summary["C"]
    # 5 orders over a tenure of 731 + 1 = 732 days (first purchase to end, both included):
    # 5 / (732 / 365.25) = 2.49488...
    assert c["purchase_frequency_per_year"] == pytest.approx(5 / (732 / 365.25))
    # (last - first) / (periods - 1) = 701 / 4 = 175.25 days
    assert c["mean_days_between_orders"] == pytest.approx(175.25)
    assert c["days_since_last_order"] == 30  # 2024-03-01 -> 2024-03-31
    a = summary["A"]
    assert a["mean_days_between_orders"] == pytest.approx(45.0)  # 90 / (3 - 1)
    assert a["days_since_last_order"] == 0
    # one-time buyer: no gap
    b_gap = summary["B"]["mean_days_between_orders"]
    assert b_gap is None or math.isnan(b_gap)
    assert summary["B"]["days_since_last_order"] == 59


def test_discount_share(summary: dict[str, dict[str, Any]]) -> None:
    # A: o1 has a discount of 10, o2, o3, o6 none: 1 / 4
    assert summary["A"]["discount_share"] == pytest.approx(0.25)
    assert summary["C"]["discount_share"] == 0.0


def test_time_unit_weeks(write_file: Callable[..., Path]) -> None:
    ingested = read_orders([write_file("orders.csv", LOG)])
    rows = _rows(customer_summary(ingested, time_unit="weeks"))
    assert rows["A"]["recency"] == pytest.approx(90 / 7)  # 12.857 weeks
    assert rows["A"]["T"] == pytest.approx(90 / 7)
    assert rows["B"]["T"] == pytest.approx(59 / 7)
    assert rows["C"]["T"] == pytest.approx(731 / 7)  # 104.43 weeks
    # days-based columns keep days
    assert rows["C"]["days_since_last_order"] == 30
    assert rows["C"]["mean_days_between_orders"] == pytest.approx(175.25)


def test_only_cancelled_or_refunded_orders_is_not_a_customer(
    write_file: Callable[..., Path],
) -> None:
    log = (
        "customer_id,order_id,ordered_at,amount,status\n"
        "X,x1,2024-01-01,10,cancelled\n"
        "X,x2,2024-01-02,20,refunded\n"
        "Y,y1,2024-01-03,30,paid\n"
    )
    ingested = read_orders([write_file("orders.csv", log)])
    rows = _rows(customer_summary(ingested))
    assert set(rows) == {"Y"}


CAL_LOG = """\
customer_id,order_id,ordered_at,amount
H,h1,2024-01-01 09:00,10
H,h2,2024-01-05 09:00,20
H,h3,2024-01-20 09:00,30
H,h4,2024-01-20 18:00,5
H,h5,2024-02-10 09:00,40
I,i1,2024-01-25 09:00,99
J,j1,2024-01-08 09:00,7
"""


def test_calibration_holdout_split(write_file: Callable[..., Path]) -> None:
    ingested = read_orders([write_file("orders.csv", CAL_LOG)])
    info = compute_summary(ingested, calibration_end=date(2024, 1, 10))
    rows = _rows(ingested.con.execute("SELECT * FROM customers").df())
    # end defaults to the last purchase day, 2024-02-10
    assert info.end == date(2024, 2, 10)
    assert info.calibration_end == date(2024, 1, 10)
    # I's first purchase (01-25) is after the calibration end: left out, and counted
    assert set(rows) == {"H", "J"}
    assert info.customers == 2
    assert info.customers_first_seen_in_holdout == 1
    h = rows["H"]
    # calibration (up to 01-10): periods 01-01 (10) and 01-05 (20)
    assert h["frequency"] == 1
    assert h["recency"] == 4.0  # 01-01 -> 01-05
    assert h["T"] == 9.0  # 01-01 -> 01-10 (the calibration end)
    assert h["monetary_value"] == pytest.approx(20.0)
    # holdout (01-11 .. 02-10): periods 01-20 (30 + 5 = 35, two orders) and 02-10 (40)
    assert h["holdout_frequency"] == 2
    assert h["holdout_monetary_value"] == pytest.approx((35 + 40) / 2)
    # whole-window columns cover both parts: 10 + 20 + 35 + 40 = 105 over 4 periods, 5 orders
    assert h["total_spend"] == pytest.approx(105.0)
    assert (h["orders"], h["purchase_periods"]) == (5, 4)
    j = rows["J"]
    assert (j["frequency"], j["T"], j["holdout_frequency"], j["holdout_monetary_value"]) == (
        0,
        2.0,  # 01-08 -> 01-10
        0,
        0.0,
    )


def test_no_holdout_columns_without_split(write_file: Callable[..., Path]) -> None:
    ingested = read_orders([write_file("orders.csv", CAL_LOG)])
    frame = customer_summary(ingested)
    assert "holdout_frequency" not in frame.columns
    assert "holdout_monetary_value" not in frame.columns


def test_orders_after_end_are_left_out(write_file: Callable[..., Path]) -> None:
    ingested = read_orders([write_file("orders.csv", CAL_LOG)])
    info = compute_summary(ingested, end=date(2024, 1, 20))
    rows = _rows(ingested.con.execute("SELECT * FROM customers").df())
    assert info.end == date(2024, 1, 20)
    assert info.orders_after_end == 2  # I's i1 (01-25) and H's h5 (02-10)
    assert set(rows) == {"H", "J"}  # I only bought after the end
    h = rows["H"]
    # periods up to 01-20: 01-01, 01-05, 01-20 -> frequency 2; T = 01-01 -> 01-20 = 19 days
    assert (h["frequency"], h["recency"], h["T"]) == (2, 19.0, 19.0)
    assert h["total_spend"] == pytest.approx(10 + 20 + 30 + 5)
    assert h["monetary_value"] == pytest.approx((20 + 35) / 2)
    assert h["days_since_last_order"] == 0


def test_end_default_is_last_purchase_day_not_last_refund(write_file: Callable[..., Path]) -> None:
    log = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,a1,2024-01-01 10:00,10\n"
        "A,a2,2024-01-15 10:00,10\n"
        # an unlinked refund after the last purchase does not move the end
        "A,r1,2024-02-01 10:00,-5\n"
    )
    ingested = read_orders([write_file("orders.csv", log)])
    info = compute_summary(ingested)
    assert info.end == date(2024, 1, 15)
    row = ingested.con.execute("SELECT T, total_spend FROM customers").fetchall()[0]
    assert row == (14.0, 20.0)  # T = 01-01 -> 01-15; the refund after the end is left out


TZ_LOG = """\
customer_id,order_id,ordered_at,amount
N,n1,2024-01-14T12:00:00Z,10
N,n2,2024-01-15T02:00:00Z,20
"""


def test_time_zone_moves_a_late_utc_order_to_the_previous_local_day(
    write_file: Callable[..., Path],
) -> None:
    path = write_file("orders.csv", TZ_LOG)
    # In UTC the two orders are on 01-14 and 01-15: two purchase periods.
    utc = _rows(customer_summary(read_orders([path], ReadOptions(timezone="UTC"))))
    assert (utc["N"]["purchase_periods"], utc["N"]["frequency"]) == (2, 1)
    assert _day(utc["N"]["last_purchase"]) == date(2024, 1, 15)
    # 2024-01-15 02:00 UTC is 2024-01-14 21:00 in New York (UTC-5 in January): one day.
    ingested = read_orders([path], ReadOptions(timezone="America/New_York"))
    ny = _rows(customer_summary(ingested))
    assert (ny["N"]["purchase_periods"], ny["N"]["frequency"]) == (1, 0)
    assert _day(ny["N"]["last_purchase"]) == date(2024, 1, 14)
    assert ny["N"]["total_spend"] == pytest.approx(30.0)
    assert ny["N"]["orders"] == 2
    # the orders table keeps UTC timestamps and the local day next to them
    rows = ingested.con.execute(
        "SELECT order_id, CAST(ordered_at AS VARCHAR), local_date FROM orders ORDER BY order_id"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("n1", "2024-01-14 12:00:00", date(2024, 1, 14)),
        ("n2", "2024-01-15 02:00:00", date(2024, 1, 14)),
    ]


def test_naive_timestamps_are_local_time_of_the_store(write_file: Callable[..., Path]) -> None:
    # without an offset, 2024-01-14 23:30 is read as New York time: UTC 2024-01-15 04:30
    path = write_file("orders.csv", "customer_id,ordered_at,amount\nN,2024-01-14 23:30:00,10\n")
    ingested = read_orders([path], ReadOptions(timezone="America/New_York"))
    row = ingested.con.execute("SELECT CAST(ordered_at AS VARCHAR), local_date FROM orders")
    assert row.fetchall() == [("2024-01-15 04:30:00", date(2024, 1, 14))]


CONTACTS_LOG = """\
customer_id,order_id,ordered_at,amount,email,phone,country
A,a1,2024-01-01 10:00,10,old@a.example,+441111,GB
A,a2,2024-02-01 10:00,10,new@a.example,,
A,a3,2024-02-01 09:00,10,,+442222,
B,b1,2024-01-05 10:00,10,b@b.example,,FR
B,b2,2024-03-05 10:00,10,,,
C,c1,2024-01-07 10:00,10,,,
"""


@pytest.mark.parametrize("files", [1, 2])
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_contacts_are_each_columns_latest_given_value(
    tmp_path: Path, suffix: str, files: int
) -> None:
    # A: the latest row has an email but no phone or country; the phone comes from the row an
    # hour earlier that day, the country from January. B: the latest row has nothing at all.
    # With two files, A's rows are split between them (rows are found by file and line).
    header, *lines = CONTACTS_LOG.splitlines(keepends=True)
    parts = [lines] if files == 1 else [lines[:2], lines[2:]]
    paths = []
    for i, part in enumerate(parts):
        csv = tmp_path / f"orders{i}.csv"
        csv.write_text(header + "".join(part), encoding="utf-8")
        path = csv
        if suffix == ".parquet":
            import duckdb

            path = tmp_path / f"orders{i}.parquet"
            duckdb.sql(
                f"COPY (SELECT * REPLACE (CAST(ordered_at AS TIMESTAMP) AS ordered_at) "
                f"FROM read_csv('{csv}', all_varchar=true)) TO '{path}'"
            )
        paths.append(path)
    rows = _rows(customer_summary(read_orders(paths)))

    def contacts(customer: str) -> tuple[Any, ...]:
        values = (rows[customer][c] for c in ("email", "phone", "country"))
        return tuple(None if v is None or v != v else v for v in values)  # NaN -> None

    assert contacts("A") == (
        "new@a.example",
        "+442222",
        "GB",
    )
    assert contacts("B") == (
        "b@b.example",
        None,
        "FR",
    )
    assert contacts("C") == (None, None, None)


def test_money_is_written_without_binary_rounding_noise(tmp_path: Path) -> None:
    """Amounts that binary floating point cannot hold exactly still add up to the figures a
    person would write: 0.1 + 0.2 is 0.3 (not 0.30000000000000004), and a customer whose refund
    documents cancel their purchase has spent 0 (not a few 1e-13), in the customers, the
    retention and the cohorts alike."""
    from lifevalue.analytics.cohorts import compute_cohorts
    from lifevalue.analytics.retention import compute_retention

    log = (
        "customer_id,order_id,ordered_at,amount\n"
        "A,a1,2024-01-01 10:00,0.1\n"
        "A,a1,2024-01-01 10:00,0.2\n"
        "A,a2,2024-01-05 10:00,0.7\n"
        "A,a2,2024-01-05 10:00,0.1\n"
        "R,r1,2024-01-02 10:00,0.7\n"
        "R,r1,2024-01-02 10:00,0.2\n"
        "R,r1,2024-01-02 10:00,0.1\n"
        "R,x1,2024-01-03 10:00,-0.3\n"
        "R,x2,2024-01-03 11:00,-0.6\n"
        "R,x3,2024-01-03 12:00,-0.1\n"
    )
    path = tmp_path / "orders.csv"
    path.write_text(log, encoding="utf-8")
    ingested = read_orders([path])
    end = compute_summary(ingested).end
    compute_retention(ingested, end=end)
    compute_cohorts(ingested, end=end)
    con = ingested.con
    rows = con.execute(
        "SELECT customer_id, total_spend, spend_12m, monetary_value, average_order_value "
        "FROM customers ORDER BY 1"
    ).fetchall()
    assert rows == [("A", 1.1, 1.1, 0.8, 0.55), ("R", 0.0, 0.0, 0.0, 1.0)]
    assert con.execute("SELECT revenue FROM retention WHERE period = 'month'").fetchall() == [
        (1.1,)
    ]
    assert con.execute("SELECT revenue FROM cohorts WHERE month_index = 0").fetchall() == [(1.1,)]
