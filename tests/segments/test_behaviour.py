"""Behavioural segments pinned on ten hand-made customers, and the rules file's validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lifevalue.errors import ConfigError, InputError
from lifevalue.segments import add_segments, load_rules, segment_customers, segment_summary
from lifevalue.segments.behaviour import (
    default_rules_text,
    prepare_cart_events,
    read_cart_events,
    top_share_mask,
)

END = pd.Timestamp("2024-06-30")
NAN = np.nan


def customers() -> pd.DataFrame:
    """c0..c9, each built to fall in known segments (see EXPECTED)."""
    rows = [
        # id, orders, periods, days since last, total, aov, spend_12m, discount share, gap
        ("c0", 1, 1, 5, 50.0, 50.0, 50.0, 0.0, NAN),
        ("c1", 1, 1, 400, 30.0, 30.0, 0.0, 1.0, NAN),
        ("c2", 3, 3, 10, 300.0, 100.0, 300.0, 0.0, 30.0),
        ("c3", 4, 4, 20, 200.0, 50.0, 200.0, 0.75, 25.0),
        ("c4", 10, 10, 3, 5000.0, 500.0, 4000.0, 0.1, 10.0),
        ("c5", 5, 5, 200, 1000.0, 200.0, 600.0, 0.2, 30.0),
        ("c6", 2, 2, 40, 100.0, 50.0, 100.0, 0.5, 30.0),
        ("c7", 1, 1, 60, 900.0, 900.0, 900.0, 0.0, NAN),
        ("c8", 2, 2, 500, 40.0, 20.0, 0.0, 0.0, 25.0),
        ("c9", 2, 1, 15, 80.0, 40.0, 80.0, 0.0, NAN),
    ]
    df = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "orders",
            "purchase_periods",
            "days_since_last_order",
            "total_spend",
            "average_order_value",
            "spend_12m",
            "discount_share",
            "mean_days_between_orders",
        ],
    )
    df["last_purchase"] = END - pd.to_timedelta(df["days_since_last_order"], unit="D")
    return df


EXPECTED = {
    "c0": "first_time",
    "c1": "first_time;lapsed",
    "c2": "repeat;full_price",
    "c3": "repeat;discount_shopper",
    "c4": "repeat;big_spender;high_aov;vip",
    "c5": "repeat;at_risk",
    "c6": "repeat;discount_shopper",
    "c7": "first_time;high_aov",
    "c8": "repeat;full_price;lapsed",
    "c9": "first_time;full_price",
}


def segments_of(df: pd.DataFrame) -> dict[str, str]:
    return dict(zip(df["customer_id"], df["segments"].astype(str), strict=True))


def members(df: pd.DataFrame, name: str) -> set[str]:
    padded = ";" + df["segments"].astype(str) + ";"
    return set(df.loc[padded.str.contains(f";{name};", regex=False), "customer_id"])


def test_default_segments_without_predictions_or_carts() -> None:
    result = segment_customers(customers())
    assert segments_of(result.customers) == EXPECTED
    notices = "\n".join(result.notices)
    assert "vip: no 'predicted_clv'" in notices and "spend_12m" in notices
    assert "at_risk: no probability_alive" in notices
    assert "cart_abandoner: skipped" in notices
    assert "cart_abandoner" not in result.segments
    assert result.customers["rfm_group"].notna().all()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("first_time", {"c0", "c1", "c7", "c9"}),  # exactly one purchase period
        ("repeat", {"c2", "c3", "c4", "c5", "c6", "c8"}),
        ("big_spender", {"c4"}),  # top 10 % of 10 customers by total_spend
        ("high_aov", {"c4", "c7"}),  # top 20 % by average_order_value
        ("full_price", {"c2", "c8", "c9"}),  # 2+ orders, discount_share == 0
        ("discount_shopper", {"c3", "c6"}),  # 2+ orders, discount_share >= 0.5
        ("vip", {"c4"}),  # top 5 % by spend_12m (no predictions), 3+ orders
        ("at_risk", {"c5"}),  # top half by spend and 200 days > 2 x 30-day gap
        ("lapsed", {"c1", "c8"}),  # 365+ days without an order
    ],
)
def test_each_segment(name: str, expected: set[str]) -> None:
    assert members(add_segments(customers()), name) == expected


def test_vip_and_at_risk_use_predictions_when_present() -> None:
    df = customers()
    df["predicted_clv"] = [10, 5, 50, 40, 100, 900, 20, 30, 1, 8]
    df["probability_alive"] = [0.9, 0.1, 0.3, 0.9, 0.95, 0.9, 0.8, 0.2, 0.05, 0.9]
    result = segment_customers(df)
    # vip: c5 has the top predicted CLV and 5 orders
    assert members(result.customers, "vip") == {"c5"}
    # at_risk: valuable (top half by spend: c4 c5 c7 c2 c3) with P(alive) < 0.5: c2 and c7
    assert members(result.customers, "at_risk") == {"c2", "c7"}
    assert not any(n.startswith(("vip", "at_risk")) for n in result.notices)


def test_vip_needs_several_orders() -> None:
    df = customers()
    df["predicted_clv"] = [10, 5, 50, 40, 100, 20, 20, 999, 1, 8]  # c7 top but one order
    assert members(add_segments(df), "vip") == set()


def cart_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c0", "c2", "c3", "c6", "zz", "c9"],
            "created_at": [
                "2024-06-27T10:00:00Z",  # c0: after its last purchase (June 25) -> abandoner
                "2024-06-10T10:00:00Z",  # c2: ordered since (June 20)
                "2024-06-28T10:00:00Z",  # c3: converted
                "2024-05-01T10:00:00Z",  # c6: before the 30-day window
                "2024-06-28T10:00:00Z",  # unknown customer: ignored
                "2024-06-20T10:00:00+02:00",  # c9: after its last purchase (June 15)
            ],
            "converted": ["false", "no", "yes", "0", "false", "FALSE"],
        }
    )


def test_cart_abandoner() -> None:
    result = segment_customers(customers(), cart_events=cart_events())
    assert members(result.customers, "cart_abandoner") == {"c0", "c9"}
    assert result.customers.set_index("customer_id").loc["c0", "segments"] == (
        "first_time;cart_abandoner"
    )
    assert not any("cart_abandoner" in n for n in result.notices)


def test_cart_events_from_file(tmp_path: Path) -> None:
    path = tmp_path / "carts.csv"
    cart_events().to_csv(path, index=False)
    events = read_cart_events(path)
    assert events["converted"].tolist() == [False, False, True, False, False, False]
    assert str(events["created_at"].dtype).startswith("datetime64")
    assert events["created_at"].iloc[5] == pd.Timestamp("2024-06-20 08:00")  # UTC, naive
    with pytest.raises(InputError, match="converted"):
        prepare_cart_events(pd.DataFrame({"customer_id": ["a"], "created_at": ["2024-01-01"]}))
    bad = cart_events().assign(converted="maybe")
    with pytest.raises(InputError, match="maybe"):
        prepare_cart_events(bad)
    with pytest.raises(InputError, match="not found"):
        read_cart_events(tmp_path / "missing.csv")


def test_top_share_treats_ties_alike() -> None:
    assert top_share_mask([5, 5, 1, 1, 1], 0.2).tolist() == [True, True, False, False, False]
    assert top_share_mask([0, 0, 0, 0, 0, 0, 0, 0, 0, 3], 0.5).tolist() == [False] * 9 + [True]
    assert top_share_mask([np.nan, 2, 1], 0.5).tolist() == [False, True, False]


def test_segments_column_empty_when_none_applies() -> None:
    df = customers().iloc[[0]].assign(purchase_periods=0)  # fits no rule
    rules = _rules_file_rules(
        "[segments.first_time]\nenabled = false\n[segments.big_spender]\nenabled = false\n"
        "[segments.high_aov]\nenabled = false\n[segments.vip]\nenabled = false\n"
    )
    assert add_segments(df, rules)["segments"].tolist() == [""]


# --- rules file ----------------------------------------------------------------------------------


def _rules_file_rules(text: str) -> object:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write(text)
    return load_rules(fh.name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_rules_parse() -> None:
    rules = load_rules()
    assert [s.name for s in rules.segments] == [
        "first_time",
        "repeat",
        "big_spender",
        "high_aov",
        "full_price",
        "discount_shopper",
        "vip",
        "at_risk",
        "lapsed",
        "cart_abandoner",
    ]
    assert "[segments.vip]" in default_rules_text()
    assert rules.rfm_columns == {
        "recency": "days_since_last_order",
        "frequency": "orders",
        "monetary": "total_spend",
    }


def test_user_file_overrides_and_extends(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[segments.big_spender]
share = 0.3            # only this key changes

[segments.lapsed]
enabled = false

[segments.uk_regular]
rule = "conditions"
description = "UK customers with 3+ orders"
when = ["country == 'United Kingdom'", "orders >= 3"]

[segments.overdue]
rule = "conditions"
when = ["days_since_last_order > 2.5 * mean_days_between_orders"]

[segments.vip]
rule = "conditions"   # a different rule: the default table is replaced, not merged
when = ["orders >= 10"]
""",
    )
    df = customers()
    df["country"] = ["United Kingdom"] * 5 + ["France"] * 5
    result = segment_customers(df, path)
    out = result.customers
    assert members(out, "big_spender") == {"c4", "c5", "c7"}  # top 30 %
    assert members(out, "lapsed") == set()
    assert "lapsed" not in result.segments
    assert members(out, "uk_regular") == {"c2", "c3", "c4"}
    assert members(out, "overdue") == {"c5", "c8"}  # 200 > 75, 500 > 62.5
    assert members(out, "vip") == {"c4"}
    assert result.segments[-2:] == ("uk_regular", "overdue")


def test_rfm_columns_configurable(tmp_path: Path) -> None:
    path = write(tmp_path, '[rfm]\nmonetary = "spend_12m"\n')
    assert load_rules(path).rfm_columns["monetary"] == "spend_12m"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[segments.vip]\nshare = 'ten'\n", "segments.vip.share: must be a number"),
        ("[segments.vip]\nshare = 1.5\n", "segments.vip.share: must be a share"),
        ("[segments.vip]\nsahre = 0.1\n", "segments.vip.sahre: unknown key"),
        ("[segments.lapsed]\nwhen = ['days_since_last_order >> 3']\n", "segments.lapsed.when[0]"),
        ("[segments.lapsed]\nwhen = ['orders >= x y']\n", "segments.lapsed.when[0]"),
        ("[segments.lapsed]\nenabled = 'no'\n", "segments.lapsed.enabled: must be true or false"),
        ("[segments.mine]\nrule = 'magic'\n", "segments.mine.rule: must be one of"),
        ("[segments.mine]\nwhen = ['orders > 1']\n", "segments.mine.rule"),
        ("[segments.mine]\nrule = 'conditions'\n", "segments.mine.when: a 'conditions' rule"),
        ("[segments.Mine]\nrule = 'conditions'\nwhen=['orders>1']\n", "segments.Mine: a segment"),
        ("[segments.top]\nrule = 'top_share'\nshare = 0.1\n", "segments.top.column: missing"),
        ("[segments.cart_abandoner]\nmin_abandoned = 0\n", "cart_abandoner.min_abandoned"),
        ("[segments.at_risk]\nmax_probability_alive = 2\n", "at_risk.max_probability_alive"),
        ("[rfm]\nmoney = 'x'\n", "rfm.money: unknown key"),
        ("[segmnets.vip]\n", "segmnets: unknown table"),
        ("[segments.vip\nshare=1", "not valid TOML"),
    ],
)
def test_invalid_rules_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(".", r"\.")) as err:
        load_rules(path)
    assert str(path) in str(err.value)


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the rules file"):
        load_rules(tmp_path / "nope.toml")


def test_requires_skips_when_no_discount_data() -> None:
    df = customers().assign(discount_share=0.0)
    result = segment_customers(df)
    assert members(result.customers, "full_price") == set()
    assert any(n.startswith("full_price: skipped") for n in result.notices)
    df = customers().drop(columns="discount_share")
    result = segment_customers(df)
    assert any("discount_shopper: skipped" in n for n in result.notices)


def test_condition_on_missing_column_is_skipped_with_notice(tmp_path: Path) -> None:
    path = write(tmp_path, "[segments.mine]\nrule='conditions'\nwhen=['nope > 1']\n")
    result = segment_customers(customers(), path)
    assert any("mine: skipped" in n and "'nope'" in n for n in result.notices)


def test_bad_comparison_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "[segments.mine]\nrule='conditions'\nwhen=['customer_id > 1']\n")
    with pytest.raises(ConfigError, match="customer_id > 1"):
        segment_customers(customers(), path)


# --- summary -------------------------------------------------------------------------------------


def test_segment_summary() -> None:
    result = segment_customers(customers())
    summary = segment_summary(result.customers, result.segments)
    assert list(summary.columns) == [
        "kind",
        "segment",
        "customers",
        "share_of_customers",
        "revenue_share",
        "avg_historical_clv",
        "avg_predicted_clv",
    ]
    behaviour = summary[summary["kind"] == "behaviour"].set_index("segment")
    assert list(behaviour.index) == list(result.segments)
    total = customers()["total_spend"].sum()
    row = behaviour.loc["first_time"]  # c0 c1 c7 c9
    assert row["customers"] == 4
    assert row["share_of_customers"] == pytest.approx(0.4)
    assert row["revenue_share"] == pytest.approx((50 + 30 + 900 + 80) / total)
    assert row["avg_historical_clv"] == pytest.approx((50 + 0 + 900 + 80) / 4)
    assert np.isnan(row["avg_predicted_clv"])
    rfm = summary[summary["kind"] == "rfm"]
    assert len(rfm) == 11
    assert rfm["customers"].sum() == 10
    assert rfm["revenue_share"].sum() == pytest.approx(1.0)


def test_segment_summary_with_predictions_and_empty_segments() -> None:
    df = customers()
    df["predicted_clv"] = np.arange(10.0)
    result = segment_customers(df)
    summary = segment_summary(result.customers, [*result.segments, "never"])
    by = summary.set_index(["kind", "segment"])
    assert by.loc[("behaviour", "repeat"), "avg_predicted_clv"] == pytest.approx(
        np.mean([2, 3, 4, 5, 6, 8])
    )
    assert by.loc[("behaviour", "never"), "customers"] == 0
