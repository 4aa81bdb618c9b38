"""The SQL of the segments on a DuckDB table (the analyze path) and on a DataFrame agree."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from lifevalue.errors import ConfigError, InputError
from lifevalue.segments import segment_customers, segment_summary, segment_table
from lifevalue.segments import sql as segsql
from lifevalue.segments.behaviour import top_share_mask

from .test_behaviour import EXPECTED, cart_events, customers

ADDED = ["r_score", "f_score", "m_score", "rfm_group", "segments"]


def table_of(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("frame", frame)
    con.execute("CREATE TABLE customers AS SELECT * FROM frame").fetchall()
    con.unregister("frame")
    return con


def added_columns(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.sql("SELECT * FROM customers").df()


def random_customers(n: int, seed: int = 0) -> pd.DataFrame:
    """Ties, missing values and zeros everywhere, as a real summary has them."""
    rng = np.random.default_rng(seed)
    orders = rng.geometric(0.45, n)
    spend = np.round(rng.gamma(1.5, 60.0, n) * orders, 2)
    spend[rng.random(n) < 0.02] = 0.0
    gap = np.where(orders > 1, np.round(rng.gamma(2.0, 40.0, n), 1), np.nan)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "orders": orders,
            "purchase_periods": np.maximum(orders - (rng.random(n) < 0.1), 1),
            "days_since_last_order": rng.integers(0, 800, n),
            "total_spend": spend,
            "average_order_value": np.round(spend / orders, 2),
            "spend_12m": np.where(rng.random(n) < 0.4, 0.0, np.round(spend * 0.7, 2)),
            "discount_share": np.round(rng.choice([0.0, 0.25, 0.5, 1.0], n), 2),
            "mean_days_between_orders": gap,
            "last_purchase": pd.Timestamp("2024-06-30")
            - pd.to_timedelta(rng.integers(0, 800, n), unit="D"),
        }
    )


def assert_same(table: pd.DataFrame, frame: pd.DataFrame) -> None:
    for col in ("r_score", "f_score", "m_score"):
        assert table[col].tolist() == frame[col].astype(int).tolist(), col
    assert table["rfm_group"].tolist() == frame["rfm_group"].astype(str).tolist()
    assert table["segments"].tolist() == frame["segments"].astype(str).tolist()


def assert_same_summary(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert a[["kind", "segment", "customers"]].values.tolist() == (
        b[["kind", "segment", "customers"]].values.tolist()
    )
    for col in ("share_of_customers", "revenue_share", "avg_historical_clv", "avg_predicted_clv"):
        np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize("frame", [customers(), random_customers(3000)], ids=["ten", "random"])
def test_table_and_frame_agree(frame: pd.DataFrame) -> None:
    con = table_of(frame)
    found = segment_table(con, "customers")
    result = segment_customers(frame)
    table = added_columns(con)
    assert list(table.columns) == [*frame.columns, *ADDED]
    types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns()").fetchall())
    assert [types[c] for c in ADDED] == ["TINYINT", "TINYINT", "TINYINT", "VARCHAR", "VARCHAR"]
    assert table["customer_id"].tolist() == frame["customer_id"].tolist()  # row order kept
    assert_same(table, result.customers)
    assert found.segments == result.segments
    assert found.notices == result.notices
    assert_same_summary(
        found.summary.to_frame(), segment_summary(result.customers, result.segments)
    )


def test_table_segments_pinned() -> None:
    con = table_of(customers())
    segment_table(con, "customers")
    table = added_columns(con)
    assert dict(zip(table["customer_id"], table["segments"], strict=True)) == EXPECTED


def test_running_again_replaces_the_columns(tmp_path: Path) -> None:
    con = table_of(customers())
    segment_table(con, "customers")
    first = added_columns(con)
    path = tmp_path / "no_lapsed.toml"
    path.write_text("[segments.lapsed]\nenabled = false\n", encoding="utf-8")
    found = segment_table(con, "customers", path)
    again = added_columns(con)
    assert list(again.columns) == list(first.columns)
    assert "lapsed" not in found.segments
    assert not again["segments"].str.contains("lapsed").any()
    assert again["r_score"].tolist() == first["r_score"].tolist()


def test_cart_abandoners_in_a_table() -> None:
    con = table_of(customers())
    found = segment_table(con, "customers", cart_events=cart_events())
    table = added_columns(con).set_index("customer_id")
    members = {c for c, s in table["segments"].items() if "cart_abandoner" in s.split(";")}
    assert members == {"c0", "c9"}
    assert table.loc["c0", "segments"] == "first_time;cart_abandoner"
    assert "cart_abandoner" in found.segments
    frame = segment_customers(customers(), cart_events=cart_events()).customers
    assert_same(added_columns(con), frame)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


def test_rules_may_read_the_scores(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "[segments.recent]\nrule = 'conditions'\nwhen = ['r_score >= 4']\n"
        "[segments.best]\nrule = 'conditions'\nwhen = [\"rfm_group == 'champions'\"]\n"
        "[segments.top_r]\nrule = 'top_share'\ncolumn = 'r_score'\nshare = 0.3\n",
        encoding="utf-8",
    )
    frame = random_customers(500, seed=3)
    result = segment_customers(frame, path).customers
    for name, expected in (
        ("recent", result["r_score"] >= 4),
        ("best", result["rfm_group"] == "champions"),
        ("top_r", top_share_mask(result["r_score"].to_numpy(float), 0.3)),
    ):
        got = result["segments"].astype(str).str.split(";").apply(lambda s, n=name: n in s)
        assert got.tolist() == list(expected), name
    con = table_of(frame)
    segment_table(con, "customers", path)
    assert_same(added_columns(con), result)


def test_missing_values_and_kinds_in_conditions(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        "[segments.gap_not_30]\nrule = 'conditions'\nwhen = ['mean_days_between_orders != 30']\n"
        "[segments.gap_30]\nrule = 'conditions'\nwhen = ['mean_days_between_orders == 30']\n"
        "[segments.named]\nrule = 'conditions'\nwhen = [\"orders == 'two'\"]\n"
        "[segments.not_named]\nrule = 'conditions'\nwhen = [\"orders != 'two'\"]\n",
        encoding="utf-8",
    )
    df = customers()
    out = segment_customers(df, path).customers.set_index("customer_id")
    seg = out["segments"].astype(str).str.split(";")
    # a missing gap (NaN) is != 30, as pandas compares it; never == 30
    assert set(seg.index[seg.apply(lambda s: "gap_not_30" in s)]) == {
        c for c in df["customer_id"] if c not in ("c2", "c5", "c6")
    }
    assert set(seg.index[seg.apply(lambda s: "gap_30" in s)]) == {"c2", "c5", "c6"}
    # a number is never equal to text, always different from it
    assert not seg.apply(lambda s: "named" in s).any()
    assert seg.apply(lambda s: "not_named" in s).all()
    bad = tmp_path / "bad.toml"
    bad.write_text("[segments.x]\nrule = 'conditions'\nwhen = [\"orders < 'two'\"]\n")
    with pytest.raises(ConfigError, match="orders < 'two'"):
        segment_customers(df, bad)
    with pytest.raises(ConfigError, match="orders < 'two'"):
        segment_table(table_of(df), "customers", bad)


def test_nan_in_a_table_counts_as_missing() -> None:
    frame = customers()
    con = table_of(frame)
    # DuckDB keeps NaN (0.0 / 0.0) in a DOUBLE column; pandas would read it as missing
    con.execute(
        "UPDATE customers SET total_spend = CAST('NaN' AS DOUBLE), "
        "mean_days_between_orders = CAST('NaN' AS DOUBLE) WHERE customer_id IN ('c4', 'c0')"
    ).fetchall()
    segment_table(con, "customers")
    expected = frame.copy()
    expected.loc[expected["customer_id"].isin(["c4", "c0"]), "total_spend"] = np.nan
    expected.loc[expected["customer_id"].isin(["c4", "c0"]), "mean_days_between_orders"] = np.nan
    assert_same(added_columns(con), segment_customers(expected).customers)
    assert added_columns(con).set_index("customer_id").loc["c4", "m_score"] == 1


def test_counting_and_quantiles_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = random_customers(2000, seed=5)
    by_quantile = segment_customers(frame).customers
    monkeypatch.setattr(segsql, "_quantile_disc_is_exact", lambda con: False)
    by_counting = segment_customers(frame).customers
    assert_same(by_quantile.astype({"rfm_group": str, "segments": str}), by_counting)


def test_quantile_disc_definition_is_checked() -> None:
    assert segsql._quantile_disc_is_exact(duckdb.connect()) is True


def test_top_share_mask_against_brute_force() -> None:
    rng = np.random.default_rng(2)
    for size in (1, 2, 5, 10, 33, 200):
        for x in (
            rng.integers(0, 5, size).astype(float),
            np.where(rng.random(size) < 0.3, np.nan, rng.random(size).round(1)),
        ):
            for share in (0.05, 0.1, 0.2, 0.5, 1.0):
                valid = ~np.isnan(x)
                v = np.where(valid, x, -np.inf)
                higher = (v[None, :] > v[:, None]).sum(1)
                expected = valid & (higher < share * valid.sum()) & (v > 0)
                assert top_share_mask(x, share).tolist() == expected.tolist(), (x, share)


def test_rfm_column_missing_or_not_numeric() -> None:
    con = table_of(customers().drop(columns="orders"))
    with pytest.raises(InputError, match="orders"):
        segment_table(con, "customers")
    assert "r_score" not in added_columns(con).columns  # the table is left as it was
    con = table_of(customers().assign(orders="many"))
    with pytest.raises(InputError, match="not numeric"):
        segment_table(con, "customers")


def test_summary_csv_matches_pandas(tmp_path: Path) -> None:
    con = table_of(random_customers(1000, seed=7).assign(predicted_clv=np.nan))
    found = segment_table(con, "customers")
    path = found.summary.write_csv(tmp_path / "segments.csv")
    frame = found.summary.to_frame()
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    assert path.read_text() == (tmp_path / "pandas.csv").read_text()
    assert math.isnan(frame["avg_predicted_clv"].iloc[0])


def test_segment_table_imports_neither_pandas_nor_numpy() -> None:
    code = (
        "import sys, duckdb\n"
        "from lifevalue.segments.assign import segment_table\n"
        "con = duckdb.connect()\n"
        "con.execute(\"CREATE TABLE customers AS SELECT 'c' || range AS customer_id, "
        "1 + range % 4 AS orders, 1 + range % 3 AS purchase_periods, range % 400 AS "
        "days_since_last_order, range * 1.5 AS total_spend, 2.5 AS average_order_value, "
        "range * 0.5 AS spend_12m, 0.0 AS discount_share, 20.0 AS mean_days_between_orders "
        'FROM range(100)").fetchall()\n'
        "found = segment_table(con)\n"
        "assert len(found.summary.rows) > 11\n"
        "assert 'pandas' not in sys.modules and 'numpy' not in sys.modules, 'imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
