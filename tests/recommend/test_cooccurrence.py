"""Baskets and association rules against hand-computed values and a brute-force count."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lifevalue.errors import ConfigError, InputError
from lifevalue.recommend import Baskets, association_rules, frequently_bought_together


def test_baskets(small_orders: pd.DataFrame) -> None:
    b = Baskets.from_orders(small_orders)
    assert list(b.items) == ["A", "B", "C", "D", "E"]
    assert list(b.order_ids) == ["o1", "o2", "o3", "o4", "o5", "o6"]
    assert b.matrix.toarray().tolist() == [
        [1, 1, 1, 0, 0],
        [1, 1, 0, 0, 0],
        [1, 1, 0, 1, 0],
        [0, 0, 1, 1, 0],
        [1, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
    ]
    assert list(b.customers[b.order_customers]) == ["c1", "c1", "c2", "c3", "c3", "c4"]
    assert b.order_times[0] == np.datetime64("2024-01-01T10:00")  # earliest line
    assert list(b.names) == ["Product A", "Product B", "Product C", "Product D", "Product E"]
    assert list(b.categories) == ["mugs", "mugs", "tea", "tea", "x"]
    assert b.prices.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_baskets_from_arrow_equal_pandas(small_orders: pd.DataFrame) -> None:
    df = small_orders
    a = Baskets.from_orders(pa.Table.from_pandas(df, preserve_index=False))
    b = Baskets.from_orders(df)
    assert (a.matrix != b.matrix).nnz == 0
    assert list(a.items) == list(b.items) and list(a.customers) == list(b.customers)
    assert (a.order_times == b.order_times).all()


def test_baskets_exclude_and_errors(small_orders: pd.DataFrame) -> None:
    b = Baskets.from_orders(small_orders, exclude_items=["E"])
    assert "E" not in list(b.items)
    assert b.n_orders == 5  # o6 held only E
    with pytest.raises(InputError, match="order_id"):
        Baskets.from_orders(small_orders.drop(columns="order_id"))
    with pytest.raises(InputError, match="no purchase lines"):
        Baskets.from_orders(small_orders.assign(amount=-1.0))


def test_rules_by_hand(small_orders: pd.DataFrame) -> None:
    rules = association_rules(small_orders, min_support=0.3, top_k=None)
    got = {
        (r.antecedent, r.consequent): (r.support, r.confidence, r.lift, r.count)
        for r in rules.itertuples()
    }
    # counts: A 4, B 3, C 2, D 3 of 6 orders; AB together 3, AD 2
    assert got == {
        ("A", "B"): pytest.approx((3 / 6, 3 / 4, (3 / 4) / (3 / 6), 3)),
        ("B", "A"): pytest.approx((3 / 6, 3 / 3, 1.0 / (4 / 6), 3)),
        ("A", "D"): pytest.approx((2 / 6, 2 / 4, (2 / 4) / (3 / 6), 2)),
        ("D", "A"): pytest.approx((2 / 6, 2 / 3, (2 / 3) / (4 / 6), 2)),
    }
    assert list(rules["antecedent"]) == ["A", "A", "B", "D"]  # by antecedent, best first
    assert list(rules["rank"]) == [1, 2, 1, 1]
    assert rules.loc[0, "antecedent_product"] == "Product A"
    assert rules.loc[0, "consequent_support"] == pytest.approx(3 / 6)


def test_top_k_min_lift_and_fbt(small_orders: pd.DataFrame) -> None:
    assert len(association_rules(small_orders, min_support=0.3, top_k=1)) == 3
    fbt = frequently_bought_together(small_orders, min_support=0.3, min_lift=1.2)
    assert list(zip(fbt["antecedent"], fbt["consequent"], strict=True)) == [
        ("A", "B"),
        ("B", "A"),
    ]


def test_rules_against_brute_force() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for o in range(300):
        size = rng.integers(1, 6)
        for item in rng.choice(12, size=size, replace=False, p=np.linspace(1, 3, 12) / 24):
            rows.append((f"o{o}", f"c{o % 40}", f"i{item:02d}"))
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "sku"])
    baskets = [set(g["sku"]) for _, g in df.groupby("order_id")]
    n = len(baskets)
    count = {i: sum(i in b for b in baskets) for i in set(df["sku"])}
    min_support = 0.03
    expected = {}
    for x, y in itertools.permutations(sorted(count), 2):
        both = sum(x in b and y in b for b in baskets)
        if both / n >= min_support:
            expected[(x, y)] = (both / n, both / count[x], (both / count[x]) / (count[y] / n))
    rules = association_rules(df, min_support=min_support, top_k=None)
    got = {
        (r.antecedent, r.consequent): (r.support, r.confidence, r.lift) for r in rules.itertuples()
    }
    assert set(got) == set(expected)
    for key, values in expected.items():
        assert got[key] == pytest.approx(values)


def test_bad_parameters(small_orders: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="min-support"):
        association_rules(small_orders, min_support=0)
    with pytest.raises(ConfigError, match="top-k"):
        association_rules(small_orders, top_k=0)
    with pytest.raises(ConfigError, match="sort_by"):
        association_rules(small_orders, sort_by="magic")


def test_product_names_when_no_sku(small_orders: pd.DataFrame) -> None:
    b = Baskets.from_orders(small_orders.assign(sku=None))
    assert list(b.items) == ["Product A", "Product B", "Product C", "Product D", "Product E"]
    with pytest.raises(InputError, match="line items"):
        Baskets.from_orders(small_orders.assign(sku=None, product=None))
