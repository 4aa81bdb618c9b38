"""What ``report_from_analysis`` reads from the analysis: pairs, tables, segment summaries."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

from lifevalue.recommend import Baskets, frequently_bought_together
from lifevalue.report import aggregate as agg
from lifevalue.report.from_analysis import product_pairs, read_table


def store(n_orders: int, n_items: int, seed: int = 0, bundles: int = 0) -> pd.DataFrame:
    """Line items of random orders, with two bundles (and ``bundles`` more pairs) often
    bought together."""
    rng = np.random.default_rng(seed)
    rows = []
    for o in range(n_orders):
        items = set(rng.choice(n_items, size=int(rng.integers(1, 4))).tolist())
        if o % 25 == 0:
            items |= {0, 1}  # a bundle in 4% of the orders
        if o % 60 == 0:
            items |= {2, 3}
        if bundles and o % 3 == 0:
            k = 4 + 2 * int(rng.integers(bundles))
            items |= {k, k + 1}
        for i in sorted(items):
            rows.append((f"o{o:05d}", f"c{o % 300}", f"SKU-{i:03d}", f"Product {i}", 10.0 + i))
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "sku", "product", "amount"])
    df["status"] = np.where(np.arange(len(df)) % 50 == 7, "refunded", "paid")
    return df


def connect(orders: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("frame", orders)
    con.execute("CREATE TABLE orders AS SELECT * FROM frame")
    con.unregister("frame")
    return con


def test_product_pairs_lowers_support_in_a_large_catalogue() -> None:
    df = store(3000, 400)
    pairs = product_pairs(connect(df))
    assert pairs is not None
    baskets = Baskets.from_orders(df)
    assert len(frequently_bought_together(baskets)) < 10  # the 1% support finds too few
    expected = frequently_bought_together(baskets, min_support=max(0.001, 20 / baskets.n_orders))
    assert len(expected) >= 4
    pd.testing.assert_frame_equal(pairs, expected, check_exact=True)


def test_product_pairs_at_one_percent() -> None:
    df = store(3000, 40, seed=1, bundles=8)
    pairs = product_pairs(connect(df))
    assert pairs is not None and len(pairs) >= 10
    pd.testing.assert_frame_equal(pairs, frequently_bought_together(df), check_exact=True)
    small = store(1500, 400, seed=2)  # few pairs, but 20 orders are already 1.3% of them
    pairs = product_pairs(connect(small))
    assert pairs is not None and len(pairs) < 10
    pd.testing.assert_frame_equal(pairs, frequently_bought_together(small), check_exact=True)


def test_product_pairs_without_line_items() -> None:
    assert product_pairs(duckdb.connect()) is None  # no orders table
    no_items = store(50, 5).drop(columns=["sku", "product"])
    assert product_pairs(connect(no_items)) is None
    assert product_pairs(connect(store(50, 5).assign(sku=None, product=None))) is None


def test_read_table_is_df() -> None:
    con = duckdb.connect()
    con.execute(
        """
        CREATE TABLE t AS SELECT * FROM (VALUES
          ('a', 1::INTEGER, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05', 1.25::DECIMAL(9,2),
           true, [1, 2], 'x', 2.5::DOUBLE, INTERVAL 1 DAY),
          (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          ('c', 3, DATE '2025-12-31', TIMESTAMP '2025-12-31 23:59:59', -2.00, false, [], '',
           'nan'::DOUBLE, INTERVAL 2 HOUR)
        ) v(s, i, d, ts, dec, b, l, s2, f, iv)
        """
    )
    expected = con.execute("SELECT * FROM t").df()
    got = read_table(con, "t")
    assert list(got.columns) == list(expected.columns)
    assert (got.dtypes == expected.dtypes).all()
    pd.testing.assert_frame_equal(got, expected)
    con.execute("CREATE TABLE only_text AS SELECT s, s2 FROM t")
    pd.testing.assert_frame_equal(
        read_table(con, "only_text"), con.execute("SELECT * FROM only_text").df()
    )
    con.execute("CREATE VIEW no_text AS SELECT i, d FROM t")
    pd.testing.assert_frame_equal(
        read_table(con, "no_text"), con.execute("SELECT * FROM no_text").df()
    )


def _segment_summary_sql(customers: pd.DataFrame, column: str) -> pd.DataFrame:
    """The DuckDB query segment_summary used to run, as the reference."""
    split = "unnest(string_split(coalesce(CAST({c} AS VARCHAR), ''), ';'))"
    unnest = (
        f"trim({split.format(c=column)})"
        if column == "segments"
        else f"trim(coalesce(CAST({column} AS VARCHAR), ''))"
    )
    con = duckdb.connect()
    con.register("customers", customers)
    out = con.execute(
        f"""
        with s as (select {unnest} as segment, total_spend as spend, spend_12m as hist,
                   predicted_clv as pred from customers)
        select segment, count(*) as customers, coalesce(sum(spend), 0) as revenue,
               avg(hist) as avg_historical_clv, avg(pred) as avg_predicted_clv
        from s where segment <> '' group by segment
        """
    ).df()
    return out.set_index("segment").sort_index()


@pytest.mark.parametrize("column", ["segments", "rfm_group"])
def test_segment_summary_equals_the_sql_reference(column: str) -> None:
    rng = np.random.default_rng(4)
    n = 5000
    names = np.array(["vip", "repeat; lapsed", " at_risk", "repeat;vip", "", "lapsed;lapsed"])
    customers = pd.DataFrame(
        {
            "segments": names[rng.integers(0, names.size, n)],
            "rfm_group": np.array(["lost", "champions ", "new"])[rng.integers(0, 3, n)],
            "total_spend": rng.gamma(2.0, 50.0, n),
            "spend_12m": np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2.0, 30.0, n)),
            "predicted_clv": np.where(rng.random(n) < 0.3, np.nan, rng.gamma(2.0, 40.0, n)),
        }
    )
    customers.loc[::17, "segments"] = None
    customers.loc[::13, "total_spend"] = np.nan
    got = agg.segment_summary(customers, column)
    expected = _segment_summary_sql(customers, column)
    assert list(got["revenue"]) == sorted(got["revenue"], reverse=True)
    got = got.set_index("segment").sort_index()
    assert list(got.index) == list(expected.index)
    assert (got["customers"] == expected["customers"]).all()
    assert got["customers"].dtype == np.int64
    for col in ("revenue", "avg_historical_clv", "avg_predicted_clv"):
        np.testing.assert_allclose(got[col], expected[col], rtol=1e-12)
    assert got["customer_share"].to_numpy() == pytest.approx(got["customers"] / n)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The analysis of a small sample store (Parquet, so the orders are a view), no model."""
    from lifevalue.datasets.sample import generate_sample, write_sample
    from lifevalue.io.reader import ReadOptions
    from lifevalue.pipeline import AnalysisOptions, run_analysis

    path = write_sample(generate_sample(3000, 5), tmp_path_factory.mktemp("store") / "o.parquet")
    return run_analysis([path], ReadOptions(), AnalysisOptions())


@pytest.mark.parametrize("source", ["parquet", "csv"])
def test_product_pairs_of_the_reader_equal_baskets(
    source: str, sample_run: Any, tmp_path: Path
) -> None:
    from lifevalue.io.reader import ReadOptions, read_orders
    from lifevalue.recommend.cooccurrence import orders_table

    con = sample_run.con
    if source == "csv":  # text input: the orders are a table
        path = tmp_path / "o.csv"
        con.execute(f"COPY (SELECT * EXCLUDE (local_date, __file, __line) FROM orders) TO '{path}'")
        con = read_orders([path], ReadOptions()).con
    baskets = Baskets.from_orders(orders_table(con))
    expected = frequently_bought_together(baskets)
    if len(expected) < 10:  # as product_pairs always did: down to 0.1% (at least 20 orders)
        support = max(0.001, 20 / baskets.n_orders)
        if support < 0.01:
            expected = frequently_bought_together(baskets, min_support=support)
    pairs = product_pairs(con)
    assert pairs is not None and len(pairs) >= 10
    pd.testing.assert_frame_equal(pairs, expected, check_exact=True)


def test_report_uses_the_runs_customers_frame(
    sample_run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifevalue.report import from_analysis

    read: list[str] = []

    def recording(con: Any, name: str) -> pd.DataFrame:
        read.append(name)
        return read_table(con, name)

    monkeypatch.setattr(from_analysis, "read_table", recording)
    first = from_analysis.report_from_analysis(sample_run, tmp_path / "a.html", title="t")
    assert "customers" in read
    read.clear()
    sample_run.extra["customers"] = read_table(sample_run.con, "customers")
    try:
        second = from_analysis.report_from_analysis(sample_run, tmp_path / "b.html", title="t")
    finally:
        del sample_run.extra["customers"]
    assert "customers" not in read
    strip = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")  # the time it was generated
    assert strip.sub("", first.read_text()) == strip.sub("", second.read_text())
