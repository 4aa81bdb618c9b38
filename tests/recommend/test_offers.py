"""Next-best products, cross-sell and up-sell on the six hand-made orders (see conftest)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifevalue.errors import ConfigError, NotFittedError
from lifevalue.recommend import Recommender


def recs(model: Recommender, customer: str) -> list[tuple[str, str]]:
    out = model.recommend(k=10, customers=[customer])
    return list(zip(out["sku"], out["reason"], strict=True))


def plain(**kwargs: object) -> Recommender:
    # no time decay and no store-wide replenishable items, so the scores are easy to follow
    return Recommender(half_life_days=None, repurchase_rate=None, **kwargs)  # type: ignore[arg-type]


def test_owned_items_left_out_unless_bought_repeatedly(small_orders: pd.DataFrame) -> None:
    model = plain().fit(small_orders)
    # c3 bought C D, then A D: D twice (re-buys it); A and C once (left out);
    # B goes with A (3 orders together); E only by popularity
    assert recs(model, "c3") == [("D", "buy_again"), ("B", "bought_together"), ("E", "popular")]
    # c1 bought A B C, then A B: A and B re-bought (A more popular first), C left out,
    # D goes with A (2 orders together)
    assert recs(model, "c1") == [
        ("A", "buy_again"),
        ("B", "buy_again"),
        ("D", "bought_together"),
        ("E", "popular"),
    ]


def test_new_customer_gets_popular_items(small_orders: pd.DataFrame) -> None:
    model = plain().fit(small_orders)
    # orders per item: A 4, B 3, D 3, C 2, E 1 (ties by item key)
    assert recs(model, "someone new") == [(s, "popular") for s in ["A", "B", "D", "C", "E"]]
    out = model.recommend(k=2, customers=["someone new"])
    assert out["rank"].tolist() == [1, 2]
    assert list(out.columns) == [
        "customer_id",
        "rank",
        "sku",
        "product",
        "category",
        "score",
        "reason",
    ]


def test_replenishable_categories_and_keeping_owned(small_orders: pd.DataFrame) -> None:
    model = plain(replenishable_categories=["tea"]).fit(small_orders)
    assert ("C", "buy_again") in recs(model, "c3")  # tea is re-bought
    assert ("A", "buy_again") not in recs(model, "c3")
    model = plain(exclude_owned=False).fit(small_orders)
    assert {"A", "C", "D"} <= {sku for sku, reason in recs(model, "c3") if reason == "buy_again"}


def test_store_wide_repurchase_rate(small_orders: pd.DataFrame) -> None:
    # A: bought by c1 (2 orders), c2, c3 -> 1 of 3 buyers re-bought it; C: nobody re-bought it
    model = Recommender(half_life_days=None, repurchase_rate=0.3).fit(small_orders)
    got = dict(recs(model, "c3"))
    assert got.get("A") == "buy_again"
    assert "C" not in got


def test_recent_orders_weigh_more(small_orders: pd.DataFrame) -> None:
    model = Recommender(half_life_days=7, exclude_owned=False).fit(small_orders)
    # c3's recent order (March: A D) outweighs the January one (C D)
    history = dict(zip(model.baskets_.items, model.history_[2].toarray().ravel(), strict=True))
    assert history["A"] > history["C"]
    assert history["D"] == pytest.approx(1.0)


def test_all_customers_and_k(small_orders: pd.DataFrame) -> None:
    out = plain().fit(small_orders).recommend(k=2)
    assert out["customer_id"].tolist() == ["c1", "c1", "c2", "c2", "c3", "c3", "c4", "c4"]
    assert (out.groupby("customer_id")["score"].is_monotonic_decreasing).all()


def test_cross_sell(small_orders: pd.DataFrame) -> None:
    out = plain().fit(small_orders).cross_sell(k=5)
    # pairs in 2+ orders across categories: A (mugs) with D (tea), 2 orders
    assert list(zip(out["sku"], out["offer_sku"], strict=True)) == [("A", "D"), ("D", "A")]
    assert out["confidence"].tolist() == pytest.approx([2 / 4, 2 / 3])
    assert out["lift"].tolist() == pytest.approx([(2 / 4) / (3 / 6), (2 / 3) / (4 / 6)])


def test_up_sell(small_orders: pd.DataFrame) -> None:
    model = plain().fit(small_orders)
    out = model.up_sell(k=5)
    # same category, pricier: mugs A 1.0 -> B 2.0; tea C 3.0 -> D 4.0
    assert list(zip(out["sku"], out["offer_sku"], strict=True)) == [("A", "B"), ("C", "D")]
    assert out["offer_price"].tolist() == [2.0, 4.0]
    out = model.up_sell(k=5, max_price_ratio=1.5)  # B costs twice A
    assert list(zip(out["sku"], out["offer_sku"], strict=True)) == [("C", "D")]


def test_no_categories(small_orders: pd.DataFrame) -> None:
    model = plain().fit(small_orders.drop(columns="category"))
    assert model.cross_sell().empty
    assert model.up_sell().empty


def test_errors(small_orders: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError):
        Recommender().recommend()
    with pytest.raises(ConfigError):
        Recommender(neighbours=0)
    with pytest.raises(ConfigError):
        Recommender(half_life_days=-1)
    with pytest.raises(ConfigError, match="--k"):
        Recommender().fit(small_orders).recommend(k=0)


def test_auto_weights_learn_that_customers_rebuy() -> None:
    # 30 customers re-buy their favourite in each of 4 orders, next to random items
    rng = np.random.default_rng(5)
    rows = []
    for c in range(30):
        for o in range(4):
            when = pd.Timestamp("2024-01-01") + pd.Timedelta(days=20 * o + c)
            rows.append((f"c{c}-{o}", f"c{c}", when, f"fav{c:02d}"))
            rows += [(f"c{c}-{o}", f"c{c}", when, f"i{i:02d}") for i in rng.choice(25, 3, False)]
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "sku"])
    model = Recommender().fit(orders)
    assert model.tuning_ is not None and len(model.tuning_) == 12
    assert model.weights_[0] > 0  # re-buying pays
    best = model.tuning_["hit_rate"].max()
    assert best == 1.0
    assert ("fav07", "buy_again") in recs(model, "c7")[:5]
    fixed = Recommender(repeat_weight=2.0, cooccurrence_weight=0.5).fit(orders)
    assert fixed.tuning_ is None and fixed.weights_ == (2.0, 0.5)
    with pytest.raises(ConfigError, match="repeat_weight"):
        Recommender(repeat_weight="best")  # type: ignore[arg-type]
