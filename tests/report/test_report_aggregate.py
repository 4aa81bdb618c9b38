"""Aggregations behind the report agree with the inputs, and the sentences read them right."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lifevalue.report import aggregate as agg
from lifevalue.report.format import fmt_int, fmt_money, fmt_num, fmt_pct


def test_formatting() -> None:
    assert fmt_money(1234.5, "USD") == "$1,234"
    assert fmt_money(12.5, "USD") == "$12.50"
    assert fmt_money(244_100, "USD", compact=True) == "$244.1k"
    assert fmt_money(2_500_000, "EUR", compact=True) == "€2.5M"
    assert fmt_money(-3.25, "CHF") == "-3.25 CHF"
    assert fmt_money(None) == "–"
    assert fmt_money(float("nan")) == "–"
    assert fmt_pct(0.4712) == "47%"
    assert fmt_pct(0.4712, 1) == "47.1%"
    assert fmt_int(12345.4) == "12,345"
    assert fmt_num(3.14159, 2) == "3.14"


def _customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "orders": [1, 2, 5, 1, 3],
            "purchase_periods": [1, 2, 4, 1, 3],
            "total_spend": [10.0, 30.0, 100.0, -5.0, 65.0],
            "average_order_value": [10.0, 15.0, 20.0, 5.0, 21.0],
            "spend_12m": [0.0, 30.0, 60.0, 0.0, 20.0],
            "predicted_clv": [1.0, 20.0, 80.0, 0.0, 19.0],
            "first_purchase": pd.to_datetime(["2023-01-05"] * 5),
            "last_purchase": pd.to_datetime(
                ["2023-01-05", "2023-03-01", "2024-05-01", "2023-01-05", "2024-02-01"]
            ),
            "days_since_last_order": [500, 450, 20, 500, 110],
            "segments": ["", "repeat;lapsed", "repeat;vip", None, "repeat"],
            "rfm_group": ["lost", "hibernating", "champions", "lost", "loyal"],
        }
    )


def _retention() -> pd.DataFrame:
    rows = []
    for i, (crr, rev, new) in enumerate([(None, 10.0, 3), (90.0, 20.0, 1), (80.0, 30.0, 1)]):
        start = pd.Timestamp(2024, i + 1, 1)
        rows.append(
            {
                "period": "month",
                "period_start": start,
                "crr": crr,
                "churn_rate": None if crr is None else 100 - crr,
                "revenue": rev,
                "new_customers": new,
            }
        )
    rows.append({"period": "year", "period_start": pd.Timestamp(2024, 1, 1), "crr": 50.0})
    return pd.DataFrame(rows)


def test_headline_numbers_agree_with_inputs() -> None:
    h = agg.headline_numbers(_customers(), _retention(), expected_revenue_12m=123.0)
    assert h.customers == 5
    assert h.revenue == pytest.approx(200.0)
    assert h.orders == 12
    # gross revenue per order: sum(aov * orders) / sum(orders)
    assert h.aov == pytest.approx((10 + 30 + 100 + 5 + 63) / 12)
    assert h.orders_per_customer == pytest.approx(12 / 5)
    assert h.repeat_rate == pytest.approx(3 / 5)
    assert h.crr_last == 80.0 and h.crr_period == "2024-03"  # the month rows, not the year
    assert h.avg_historical_clv == pytest.approx(22.0)
    assert h.avg_predicted_clv == pytest.approx(24.0)
    assert h.last_purchase == "2024-05-01"
    s = agg.headline_sentence(h, "USD")
    assert s.startswith("5 customers spent $200 between 2023-01-05 and 2024-05-01")
    assert "60% of them came back" in s and "expects $123" in s


def test_headline_end_overrides_last_purchase() -> None:
    h = agg.headline_numbers(_customers(), _retention(), end=pd.Timestamp("2024-06-30"))
    assert h.last_purchase == "2024-06-30"
    assert h.expected_revenue_12m is None
    assert "model expects" not in agg.headline_sentence(h)


def test_lorenz_and_top_share_match_a_brute_force_sort() -> None:
    rng = np.random.default_rng(1)
    spend = rng.gamma(0.5, 100.0, size=1001)
    spend[:5] = [-20, np.nan, 0, 0, -1]
    x, y = agg.lorenz_curve(spend, points=11)
    clean = np.sort(np.clip(np.nan_to_num(spend), 0, None))[::-1]
    total = clean.sum()
    for xi, yi in zip(x, y, strict=True):
        k = math.ceil(xi * clean.size - 1e-9)
        assert yi == pytest.approx(clean[:k].sum() / total)
    assert agg.top_share(spend, 0.10) == pytest.approx(clean[:101].sum() / total)
    assert y[0] == 0 and y[-1] == pytest.approx(1.0)


def test_concentration_sentence() -> None:
    assert (
        agg.concentration_sentence(0.4712, 0.12)
        == "Your top 10% of customers bring 47% of revenue (the top 1%: 12%)."
    )


def test_histogram_keeps_every_customer() -> None:
    values = np.concatenate([np.arange(100.0), [1e6, np.nan]])
    h = agg.histogram(values, bins=10, clip_quantile=0.99)
    assert int(h.counts.sum()) + h.overflow == 101
    assert h.overflow >= 1 and h.median == pytest.approx(50.0)
    assert agg.clv_distribution_sentence(h, "USD").startswith(
        "Half of your customers are predicted to be worth less than $50.00"
    )


def test_retention_sentence_uses_month_rows() -> None:
    monthly = agg.monthly_retention(_retention())
    assert list(monthly["period"]) == ["month"] * 3
    assert agg.retention_sentence(monthly) == (
        "Over the last 2 months, on average 85.0% of active customers stayed each month "
        "(monthly churn 15.0%); in 2024-03 the retention rate was 80.0%."
    )
    assert "not enough history" in agg.retention_sentence(monthly.iloc[:1])


def test_cohort_matrix_weights_by_cohort_size() -> None:
    cohorts = pd.DataFrame(
        {
            "cohort": ["2024-01"] * 3 + ["2024-02"] * 2,
            "month_index": [0, 1, 2, 0, 1],
            "cohort_size": [100, 100, 100, 300, 300],
            "active_customers": [100, 20, 10, 300, 30],
            "revenue": [1000.0, 300, 100, 2400, 300],
            "cumulative_revenue_per_customer": [10.0, 13, 14, 8, 9],
        }
    )
    cohorts["retention"] = cohorts["active_customers"] / cohorts["cohort_size"]
    m = agg.cohort_matrix(cohorts)
    assert m.cohorts == ["2024-01", "2024-02"] and m.sizes == [100, 300]
    assert m.avg_retention[1] == pytest.approx(50 / 400)
    assert m.avg_revenue_per_customer[0] == pytest.approx((10 * 100 + 8 * 300) / 400)
    # month 2 is reached only by a cohort holding 25% of the customers: still shown
    assert m.avg_retention[2] == pytest.approx(0.10)
    assert np.isnan(m.retention[1, 2])
    assert agg.cohort_sentence(m) == (
        "On average 12.5% of new customers buy again in the month after their first."
    )
    assert agg.cohort_revenue_sentence(m, "USD") == (
        "A new customer spends $8.50 in their first month on average."
    )
    m2 = agg.cohort_matrix(cohorts, min_weight=0.5)
    assert np.isnan(m2.avg_retention[2])


def test_segment_summary_splits_semicolons() -> None:
    s = agg.segment_summary(_customers(), "segments").set_index("segment")
    assert set(s.index) == {"repeat", "lapsed", "vip"}
    assert s.loc["repeat", "customers"] == 3
    assert s.loc["repeat", "revenue"] == pytest.approx(195.0)
    assert s.loc["repeat", "revenue_share"] == pytest.approx(195 / 200)
    assert s.loc["repeat", "customer_share"] == pytest.approx(3 / 5)
    assert s.loc["vip", "avg_predicted_clv"] == pytest.approx(80.0)
    assert s.loc["lapsed", "avg_historical_clv"] == pytest.approx(30.0)
    g = agg.segment_summary(_customers(), "rfm_group").set_index("segment")
    assert g["customers"].sum() == 5 and g.loc["lost", "revenue"] == pytest.approx(5.0)
    assert agg.segment_summary(_customers().drop(columns="segments"), "segments").empty


def test_segment_sentence_skips_tiny_segments() -> None:
    summary = pd.DataFrame(
        {
            "segment": ["cant_lose_them", "champions", "lost"],
            "customer_share": [0.002, 0.2, 0.5],
            "revenue_share": [0.01, 0.59, 0.05],
        }
    )
    assert agg.segment_sentence(summary) == (
        "“Champions” customers are 20% of customers but bring 59% of revenue."
    )
    assert agg.segment_label("cant_lose_them") == "Can't lose them"
    assert agg.segment_label("high_aov") == "High AOV"


def test_rfm_grid_counts_every_customer_once() -> None:
    grid = agg.rfm_grid(_customers())
    assert grid is not None
    assert grid.total_customers == 5 and grid.customers.sum() == 5
    assert grid.total_revenue == pytest.approx(200.0)
    # one-time buyers seen over a year ago: row "1", column "1–2 y"
    assert grid.customers[0, 4] == 2
    assert grid.customers[3, 0] == 1  # 4 purchase days, 20 days ago
    assert agg.rfm_sentence(grid) == (
        "40% of customers bought only once and have not come back in over 180 days; they "
        "brought 2% of revenue."
    )


def test_at_risk_with_model_ranks_the_fastest_fall_first() -> None:
    n = 50
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "purchase_periods": [3] * n,
            "total_spend": np.arange(n, dtype=float),
            "probability_alive": np.linspace(0.05, 0.9, n),
            "frequency": [2] * n,
            "recency": [1.0] * n,
            "T": [10.0] * n,
        }
    )
    seen: list[int] = []

    def before(frame: pd.DataFrame) -> np.ndarray:
        seen.append(len(frame))
        falls = np.where(frame["customer_id"] == "c45", 0.0, 0.2)  # c45: not falling
        return frame["probability_alive"].to_numpy() + falls

    table, found = agg.at_risk_customers(customers, alive_before=before, top_n=3)
    # top 20% by spend = spend >= 39.2 -> c40..c49; alive < 0.5 excludes all of them but...
    assert found == 0 and table.empty
    customers["probability_alive"] = 0.3
    customers.loc[customers["customer_id"] == "c47", "probability_alive"] = 0.6
    table, found = agg.at_risk_customers(customers, alive_before=before, top_n=3)
    assert seen[-1] == 9  # candidates only: c40..c49 without c47
    assert found == 8  # c45 is not falling
    assert list(table["customer_id"]) == ["c49", "c48", "c46"]
    assert table["alive_30d_ago"].tolist() == pytest.approx([0.5, 0.5, 0.5])
    assert table["value_at_risk"].iloc[0] == pytest.approx(49 * 0.7)
    s = agg.at_risk_sentence(table, found, "USD")
    assert s.startswith("8 of your most valuable repeat customers")
    assert "(the top 3 are listed)" in s and "spent $143 so far" in s


def test_at_risk_without_model_uses_overdue_customers() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "purchase_periods": [3, 3, 1, 4, 2],
            "total_spend": [100.0, 90.0, 500.0, 10.0, 95.0],
            "mean_days_between_orders": [30.0, 30.0, None, 10.0, 40.0],
            "days_since_last_order": [61.0, 59.0, 400.0, 100.0, 100.0],
        }
    )
    table, found = agg.at_risk_customers(customers, value_quantile=0.4)
    assert list(table["customer_id"]) == ["a", "e"]  # b not overdue, c one-time, d low value
    assert found == 2 and "alive_30d_ago" not in table.columns
    assert "twice their usual gap" in agg.at_risk_sentence(table, found, has_model=False)


def test_top_pairs_keeps_one_direction_and_names() -> None:
    pairs = pd.DataFrame(
        {
            "antecedent": ["1", "2", "3"],
            "consequent": ["2", "1", "4"],
            "support": [0.02, 0.02, 0.01],
            "confidence": [0.3, 0.4, 0.2],
            "lift": [3.0, 3.0, 5.0],
            "count": [10, 10, 5],
            "antecedent_name": ["Tea", "Cups", None],
            "consequent_name": ["Cups", "Tea", "Lids"],
        }
    )
    top = agg.top_pairs(pairs)
    assert len(top) == 2
    assert list(top["antecedent_label"]) == ["3", "Cups"]  # no name: the id
    assert top.iloc[1]["confidence"] == 0.4  # the stronger direction of 1<->2
    assert agg.pairs_sentence(top) == (
        "Customers who buy 3 also buy Lids in 20% of cases, 5.0 times more often than "
        "customers overall."
    )
    assert "No product pairs" in agg.pairs_sentence(top.iloc[0:0])
