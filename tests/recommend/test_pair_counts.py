"""PairCounts from DuckDB give the same rules as Baskets; the fast co-occurrence count is exact."""

from __future__ import annotations

import re
import sys

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp

from lifevalue.errors import InputError
from lifevalue.recommend import Baskets, association_rules, frequently_bought_together
from lifevalue.recommend.cooccurrence import (
    _WHITESPACE,
    NOT_PURCHASED,
    PairCounts,
    _not_purchased_sql,
    _order_codes,
    cooccurrence,
)


def connect(orders: pd.DataFrame, name: str = "orders") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("__frame", orders)
    con.execute(f'CREATE TABLE "{name}" AS SELECT * FROM __frame')
    con.unregister("__frame")
    return con


def same_rules(
    counts: PairCounts, orders: pd.DataFrame, *, min_support: float, top_k: int | None
) -> None:
    expected = association_rules(orders, min_support=min_support, top_k=top_k)
    got = association_rules(counts, min_support=min_support, top_k=top_k)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def random_orders(seed: int, n_orders: int = 400, shuffle: bool = False) -> pd.DataFrame:
    """Lines of random baskets with repeats, returns, cancelled orders and missing values."""
    rng = np.random.default_rng(seed)
    rows = []
    for o in range(n_orders):
        size = int(rng.integers(1, 6))
        items = rng.choice(15, size=size, p=np.linspace(1, 4, 15) / 37.5)  # repeats allowed
        status = ("paid", " Cancelled", "refunded\t", "pending", None)[int(rng.integers(5))]
        for item in items:
            amount = -5.0 if rng.random() < 0.05 else float(item + 1)
            rows.append((f"o{o:04d}", f"c{o % 50}", f"i{item:02d}", amount, status))
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "sku", "amount", "status"])
    df["product"] = "Product " + df["sku"]
    df.loc[df.index % 7 == 3, "product"] = None  # names missing on some lines
    df.loc[df.index % 97 == 5, "sku"] = None
    df.loc[df.index % 89 == 7, "order_id"] = None
    if shuffle:  # the lines of an order no longer next to each other
        df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return df


def test_from_duckdb_small(small_orders: pd.DataFrame) -> None:
    counts = PairCounts.from_duckdb(connect(small_orders))
    baskets = Baskets.from_orders(small_orders)
    assert list(counts.items) == list(baskets.items)
    assert list(counts.names) == list(baskets.names)
    assert counts.n_orders == baskets.n_orders == 6
    assert (counts.counts != cooccurrence(baskets.matrix)).nnz == 0
    assert counts.item_counts.tolist() == [4, 3, 2, 3, 1]
    same_rules(counts, small_orders, min_support=0.1, top_k=None)
    same_rules(counts, small_orders, min_support=0.3, top_k=1)
    pd.testing.assert_frame_equal(
        frequently_bought_together(counts, min_support=0.3, min_lift=1.2),
        frequently_bought_together(small_orders, min_support=0.3, min_lift=1.2),
    )


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_from_duckdb_equals_baskets(seed: int, shuffle: bool) -> None:
    df = random_orders(seed, shuffle=shuffle)
    counts = PairCounts.from_duckdb(connect(df))
    baskets = Baskets.from_orders(df)
    assert list(counts.items) == list(baskets.items)
    assert list(counts.names) == list(baskets.names)
    assert counts.n_orders == baskets.n_orders
    assert (counts.counts != cooccurrence(baskets.matrix)).nnz == 0
    same_rules(counts, df, min_support=0.01, top_k=None)
    same_rules(counts, df, min_support=0.02, top_k=3)


def test_from_duckdb_exclude_items_and_products(small_orders: pd.DataFrame) -> None:
    con = connect(small_orders)
    counts = PairCounts.from_duckdb(con, exclude_items=["E"])
    assert "E" not in list(counts.items) and counts.n_orders == 5  # o6 held only E
    pd.testing.assert_frame_equal(
        association_rules(counts, min_support=0.1, top_k=None),
        association_rules(small_orders, min_support=0.1, top_k=None, exclude_items=["E"]),
    )
    no_sku = small_orders.assign(sku=None)
    by_name = PairCounts.from_duckdb(connect(no_sku))
    assert list(by_name.items) == ["Product A", "Product B", "Product C", "Product D", "Product E"]
    assert list(by_name.names) == list(by_name.items)
    same_rules(by_name, no_sku, min_support=0.1, top_k=None)


def test_from_duckdb_first_name_in_table_order(small_orders: pd.DataFrame) -> None:
    df = small_orders.copy()
    df.loc[[0, 3], "product"] = None  # the two A lines of o1
    df.loc[4, "product"] = "Renamed A"  # the first named line of A
    assert PairCounts.from_duckdb(connect(df)).names[0] == "Renamed A"
    assert Baskets.from_orders(df).names[0] == "Renamed A"


def test_from_duckdb_errors(small_orders: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="order_id"):
        PairCounts.from_duckdb(connect(small_orders.drop(columns="order_id")))
    with pytest.raises(InputError, match="no purchase lines"):
        PairCounts.from_duckdb(connect(small_orders.assign(amount=-1.0)))
    with pytest.raises(InputError, match="line items"):
        PairCounts.from_duckdb(connect(small_orders.assign(sku=None, product=None)))
    with pytest.raises(duckdb.Error):
        PairCounts.from_duckdb(connect(small_orders, "other"))


def test_not_purchased_matches_python() -> None:
    assert (
        "".join(f"\\x{{{i:x}}}" for i in range(sys.maxunicode + 1) if chr(i).isspace())
        == _WHITESPACE
    )
    statuses = [
        "cancelled",
        "Canceled",
        " REFUNDED ",
        "\u3000cancelled\t\n",
        "\x1crefunded\x85",
        "refunded.",
        "partially refunded",
        "cancel",
        "paid",
        "",
        " ",
        "ca\u200bncelled",  # a zero-width space is not whitespace
        "\u212aefunded",  # Kelvin sign, lower-cases to k
        "ﬁ",
    ]
    con = duckdb.connect()
    got = [con.execute(f"SELECT {_not_purchased_sql('?')}", [s]).fetchall()[0][0] for s in statuses]
    assert got == [s.strip().lower() in NOT_PURCHASED for s in statuses]
    assert con.execute(f"SELECT {_not_purchased_sql('NULL')}").fetchall()[0][0] is None
    assert re.search(r"\(\?i:", _not_purchased_sql("status"))


@pytest.mark.parametrize(
    ("n_items", "density"),
    [(1, 0.5), (7, 0.4), (40, 0.08), (30, 0.8), (2049, 0.002)],  # listed pairs; 2 products
)
def test_cooccurrence_equals_sparse_product(n_items: int, density: float) -> None:
    rng = np.random.default_rng(n_items)
    n_orders = 500
    x = sp.csr_matrix(sp.random(n_orders, n_items, density=density, random_state=3), dtype=np.int32)
    x.data[:] = 1
    expected = sp.csr_matrix(x.T @ x)
    expected.sort_indices()
    got = cooccurrence(x[rng.permutation(n_orders)])
    assert got.dtype == expected.dtype == np.int32
    assert got.has_sorted_indices
    assert (got.indptr == expected.indptr).all() and (got.indices == expected.indices).all()
    assert (got.data == expected.data).all()


def test_order_codes_runs_and_fallback() -> None:
    ids = pa.chunked_array([["a", "a", "b"], ["b", "c", "c", "c"]])
    codes, n = _order_codes(ids, np.asarray([1, 1, 2, 2, 3, 3, 3], dtype=np.uint64))
    assert codes.tolist() == [0, 0, 1, 1, 2, 2, 2] and n == 3
    # "a" comes back after "b": one order in two runs, so the ids are encoded instead
    ids = pa.chunked_array([["a", "b", "b", "a"]])
    codes, n = _order_codes(ids, np.asarray([1, 2, 2, 1], dtype=np.uint64))
    assert codes.tolist() == [0, 1, 1, 0] and n == 2
    # colliding hashes of distinct orders: also encoded, never merged
    ids = pa.chunked_array([["b", "a", "c", "e", "d", "g", "f"]])
    codes, n = _order_codes(ids, np.zeros(7, dtype=np.uint64))
    assert codes.tolist() == list(range(7)) and n == 7


def test_order_codes_unsorted_runs() -> None:
    # runs neither increasing nor decreasing: distinct by their hashes
    ids = pa.chunked_array([["b", "b", "a", "c", "c"]])
    codes, n = _order_codes(ids, np.asarray([5, 5, 9, 1, 1], dtype=np.uint64))
    assert codes.tolist() == [0, 0, 1, 2, 2] and n == 3
    # decreasing runs are distinct whatever the hashes
    ids = pa.chunked_array([["c", "c"], ["b", "a"]])
    codes, n = _order_codes(ids, np.zeros(4, dtype=np.uint64))
    assert codes.tolist() == [0, 0, 1, 2] and n == 3
    codes, n = _order_codes(pa.chunked_array([["x"]]), np.zeros(1, dtype=np.uint64))
    assert codes.tolist() == [0] and n == 1
