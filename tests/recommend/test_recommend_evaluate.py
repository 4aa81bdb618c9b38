"""Hold-out splits and ranking metrics, by hand; lifevalue against popularity on re-buyers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from lifevalue.errors import ConfigError, InputError
from lifevalue.recommend import Baskets, evaluate
from lifevalue.recommend.evaluate import ranking_metrics, split_baskets


def test_ranking_metrics_by_hand() -> None:
    recommended = np.array([[1, 2, 3], [4, 5, -1], [7, 8, 9]])
    truth = sp.csr_matrix(
        (np.ones(4), ([0, 0, 1, 2], [2, 9, 0, 7])),
        shape=(3, 10),
    )
    m = ranking_metrics(recommended, truth)
    # row 0: item 2 at rank 2 (1 of 2 relevant); row 1: none; row 2: item 7 at rank 1
    assert m.hit_rate == pytest.approx(2 / 3)
    assert m.precision == pytest.approx((1 / 3 + 0 + 1 / 3) / 3)
    assert m.recall == pytest.approx((1 / 2 + 0 + 1) / 3)
    assert m.mrr == pytest.approx((1 / 2 + 0 + 1) / 3)


def test_last_order_split(small_orders: pd.DataFrame) -> None:
    b = Baskets.from_orders(small_orders)
    train, customers, truth = split_baskets(b, "last_order")
    # c1 (o1, o2) and c3 (o4, o5) have two orders; their last ones are held out
    assert list(b.order_ids[~train]) == ["o2", "o5"]
    assert list(b.customers[customers]) == ["c1", "c3"]
    held = [sorted(b.items[truth[i].indices]) for i in range(2)]
    assert held == [["A", "B"], ["A", "D"]]


def test_date_split(small_orders: pd.DataFrame) -> None:
    b = Baskets.from_orders(small_orders)
    train, customers, _ = split_baskets(b, "2024-01-06")
    # from Jan 6: o2 (c1, bought before), o4 o5 (c3's first orders), o6 (c4's first)
    assert list(b.customers[customers]) == ["c1"]
    assert list(b.order_ids[train]) == ["o1", "o3"]
    with pytest.raises(InputError, match="both sides"):
        split_baskets(b, "2030-01-01")
    with pytest.raises(ConfigError, match="--split"):
        split_baskets(b, "yesterday")


def rebuyers() -> pd.DataFrame:
    """40 customers, each re-buying a favourite item in all of their 3 orders, plus noise."""
    rng = np.random.default_rng(3)
    rows = []
    for c in range(40):
        favourite = f"fav{c % 20:02d}"
        for o in range(3):
            order = f"c{c}-o{o}"
            when = pd.Timestamp("2024-01-01") + pd.Timedelta(days=30 * o + c)
            rows.append((order, f"c{c}", when, favourite))
            for item in rng.choice(30, size=3, replace=False):
                rows.append((order, f"c{c}", when, f"item{item:02d}"))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "sku"])


def test_evaluate_beats_popularity_on_rebuyers(tmp_path: Path) -> None:
    result = evaluate(rebuyers(), k=5)
    assert result.customers == 40
    assert result.lifevalue.hit_rate == 1.0  # the favourite is always recommended
    assert result.popularity.hit_rate < result.lifevalue.hit_rate
    assert result.lifevalue.mrr > result.popularity.mrr
    path = result.write_json(tmp_path / "evaluation.json")
    data = json.loads(path.read_text())
    assert data["k"] == 5 and data["split"] == "last_order"
    assert set(data["lifevalue"]) == {"hit_rate", "precision", "recall", "mrr"}
    assert set(data["popularity"]) == {"hit_rate", "precision", "recall", "mrr"}


def test_evaluate_with_date_split() -> None:
    result = evaluate(rebuyers(), k=3, split="2024-02-15")
    assert result.split == "2024-02-15"
    assert 0 < result.customers <= 40
    with pytest.raises(ConfigError, match="--k"):
        evaluate(rebuyers(), k=0)


def test_new_items_only(small_orders: pd.DataFrame) -> None:
    # c1's last order (A B) holds nothing new; c3's (A D) holds A, new to c3, whom the
    # co-occurrence of D with A (2 orders together) points to
    result = evaluate(small_orders, k=1, new_items_only=True)
    assert result.customers == 1
    assert result.lifevalue.hit_rate == 1.0
    assert result.to_dict()["new_items_only"] is True
