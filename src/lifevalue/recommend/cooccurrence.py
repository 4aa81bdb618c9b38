"""Item-to-item co-occurrence: baskets as a sparse order × item matrix, association rules.

Orders come as the canonical orders table (one row per line item: ``order_id``, ``customer_id``,
``ordered_at``, ``sku``, ``product``, ``category``, ``unit_price``, ``amount``), as a pandas
DataFrame or a pyarrow Table. Lines of cancelled or refunded orders (``status``) and lines with a
negative ``amount`` or ``quantity`` (returns) are left out; an item is its ``sku`` (or ``product``
when the orders carry no sku).

With ``X`` the binary order × item incidence matrix (SciPy CSR), ``C = Xᵀ X`` counts in how many
orders each pair of items appears together (its diagonal: orders per item). For a rule
``A → B`` over N orders:

- ``support = C[A, B] / N`` (share of orders holding both),
- ``confidence = C[A, B] / C[A, A]`` (share of orders with A that also hold B),
- ``lift = confidence / (C[B, B] / N)`` (how much more often than by chance).

These are the definitions of mlxtend's ``association_rules`` for two-item rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from lifevalue.errors import ConfigError, InputError

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

#: Values of ``status`` whose lines are not purchases.
NOT_PURCHASED: Final = frozenset({"cancelled", "canceled", "refunded"})
#: Columns of :func:`association_rules` / ``pairs.csv``.
PAIR_COLUMNS: Final = (
    "antecedent",
    "consequent",
    "rank",
    "antecedent_product",
    "consequent_product",
    "support",
    "confidence",
    "lift",
    "count",
    "antecedent_support",
    "consequent_support",
)


# --- reading columns of a DataFrame or an Arrow table without a full pandas conversion ---------


def _column_names(orders: Any) -> list[str]:
    if isinstance(orders, pd.DataFrame):
        return [str(c) for c in orders.columns]
    names = getattr(orders, "column_names", None)
    if names is None:
        raise InputError(
            f"orders must be a pandas DataFrame or a pyarrow Table, not {type(orders).__name__}"
        )
    return list(names)


def _encode(orders: Any, name: str) -> tuple[IntArray, ObjArray]:
    """Codes (-1 for missing) and distinct values of a column."""
    if isinstance(orders, pd.DataFrame):
        codes, uniques = pd.factorize(orders[name], use_na_sentinel=True)
        return codes.astype(np.int64), np.asarray(uniques, dtype=object)
    import pyarrow as pa
    import pyarrow.compute as pc

    column = orders.column(name)
    if pa.types.is_null(column.type):
        return np.full(len(column), -1, dtype=np.int64), np.empty(0, dtype=object)
    encoded = pc.dictionary_encode(column).combine_chunks()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _numbers(orders: Any, name: str) -> FloatArray:
    if isinstance(orders, pd.DataFrame):
        values = pd.to_numeric(orders[name], errors="coerce")
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    import pyarrow.compute as pc

    column = orders.column(name).cast("double")
    return np.asarray(pc.fill_null(column, math.nan).to_numpy(zero_copy_only=False), np.float64)


def _times(orders: Any, name: str) -> npt.NDArray[np.datetime64]:
    if isinstance(orders, pd.DataFrame):
        values = pd.to_datetime(orders[name], utc=True).dt.tz_localize(None)
        return values.to_numpy(dtype="datetime64[us]")
    column = orders.column(name)
    return np.asarray(column.to_numpy(zero_copy_only=False), dtype="datetime64[us]")


def _first_per_group(codes: IntArray, values: ObjArray, n_groups: int) -> ObjArray:
    """The first non-missing value of each group (rows in input order)."""
    out = np.full(n_groups, None, dtype=object)
    valid = pd.notna(values) & (codes >= 0)
    groups, first = np.unique(codes[valid], return_index=True)
    out[groups] = values[valid][first]
    return out


def _median_per_group(codes: IntArray, values: FloatArray, n_groups: int) -> FloatArray:
    """Median of the positive values of each group (NaN when none)."""
    ok = (codes >= 0) & (values > 0)
    g, v = codes[ok], values[ok]
    order = np.lexsort((v, g))
    g, v = g[order], v[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    out = np.full(n_groups, np.nan)
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2.0
    return out


def _sorted_unique(codes: IntArray, values: ObjArray) -> tuple[IntArray, IntArray]:
    """Distinct codes ordered by their value as text, and each row's index into them."""
    used, inverse = np.unique(codes, return_inverse=True)
    order = np.argsort(values[used].astype(str), kind="stable")
    position = np.empty(used.size, dtype=np.int64)
    position[order] = np.arange(used.size)
    return used[order], position[inverse.reshape(-1)]


# --- baskets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Baskets:
    """Orders as a binary order × item matrix, with item and customer attributes.

    Attributes
    ----------
    matrix
        CSR matrix (orders × items), int32 ones where the order holds the item.
    items
        Item keys (sku), one per column.
    names, categories
        Product name and category of each item (first seen; None when absent).
    prices
        Median positive unit price of each item (NaN when unknown).
    order_ids, order_times, order_customers
        Per row: order id, time of the order (earliest line), index into ``customers``.
    customers
        Customer ids.
    """

    matrix: sp.csr_matrix
    items: ObjArray
    names: ObjArray
    categories: ObjArray
    prices: FloatArray
    order_ids: ObjArray
    order_times: npt.NDArray[np.datetime64]
    order_customers: IntArray
    customers: ObjArray

    @property
    def n_orders(self) -> int:
        """Number of orders (rows)."""
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        """Number of distinct items (columns)."""
        return int(self.matrix.shape[1])

    @property
    def has_categories(self) -> bool:
        """True when at least one item has a category."""
        return bool(pd.notna(self.categories).any())

    def select_orders(self, keep: npt.NDArray[np.bool_]) -> Baskets:
        """The same items and customers, with only the orders where ``keep`` is true."""
        return replace(
            self,
            matrix=self.matrix[keep],
            order_ids=self.order_ids[keep],
            order_times=self.order_times[keep],
            order_customers=self.order_customers[keep],
        )

    def customer_items(self, weights: FloatArray | None = None) -> sp.csr_matrix:
        """Customer × item matrix: (weighted) number of each customer's orders holding each item."""
        w = np.ones(self.n_orders) if weights is None else weights
        owner = sp.csr_matrix(
            (w, (self.order_customers, np.arange(self.n_orders))),
            shape=(self.customers.size, self.n_orders),
        )
        return sp.csr_matrix(owner @ self.matrix.astype(np.float64))

    @classmethod
    def from_orders(
        cls,
        orders: Any,
        *,
        item_column: str | None = None,
        exclude_items: Sequence[str] = (),
    ) -> Baskets:
        """Build the baskets from the canonical orders table.

        Parameters
        ----------
        orders
            pandas DataFrame or pyarrow Table, one row per line item.
        item_column
            Column identifying an item; default ``sku``, else (no sku values) ``product``.
        exclude_items
            Item keys to leave out (e.g. postage, ``POST``).

        Raises
        ------
        InputError
            A needed column is missing or no purchase line is left.
        """
        names = _column_names(orders)
        if item_column is None:  # the sku, or the product name when there is no sku
            has_sku = "sku" in names and bool((_encode(orders, "sku")[0] >= 0).any())
            item_column = "sku" if has_sku or "product" not in names else "product"
        for col in ("order_id", item_column):
            if col not in names:
                raise InputError(
                    f"the orders have no {col!r} column; recommendations need line items",
                    column=col,
                    hint="read an order log with one row per line item (sku, product, ...)",
                )
        n_rows = len(orders)
        keep = np.ones(n_rows, dtype=bool)
        if "status" in names:
            s_codes, s_values = _encode(orders, "status")
            bad = np.array([str(v).strip().lower() in NOT_PURCHASED for v in s_values], dtype=bool)
            keep &= ~(bad[s_codes] & (s_codes >= 0)) if bad.size else keep
        for col in ("amount", "quantity"):
            if col in names:
                keep &= ~(_numbers(orders, col) < 0)
        item_codes, item_values = _encode(orders, item_column)
        if n_rows and not (item_codes >= 0).any():
            raise InputError(
                f"the orders have no {item_column!r} values: recommendations need line items",
                column=item_column,
                hint="read an order log with a product or sku per row",
            )
        if exclude_items:
            excluded = np.isin(item_values.astype(str), np.asarray(list(exclude_items), str))
            keep &= ~(excluded[item_codes] & (item_codes >= 0)) if excluded.size else keep
        order_codes, order_values = _encode(orders, "order_id")
        keep &= (item_codes >= 0) & (order_codes >= 0)
        if not keep.any():
            raise InputError("no purchase lines with an order id and an item were found")

        # renumber items and orders densely over the kept rows, in sorted order of their keys
        # (so results do not depend on the order the rows were read in)
        items_used, item_idx = _sorted_unique(item_codes[keep], item_values)
        orders_used, order_idx = _sorted_unique(order_codes[keep], order_values)
        n_items, n_orders = items_used.size, orders_used.size
        matrix = sp.csr_matrix(
            (np.ones(item_idx.size, dtype=np.int32), (order_idx, item_idx)),
            shape=(n_orders, n_items),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1

        def per_item(col: str) -> ObjArray:
            if col not in names:
                return np.full(n_items, None, dtype=object)
            codes, values = _encode(orders, col)
            if values.size == 0:
                return np.full(n_items, None, dtype=object)
            vals = values[np.maximum(codes, 0)]
            vals[codes < 0] = None
            return _first_per_group(item_idx, vals[keep], n_items)

        prices = (
            _median_per_group(item_idx, _numbers(orders, "unit_price")[keep], n_items)
            if "unit_price" in names
            else np.full(n_items, np.nan)
        )
        if "customer_id" in names:
            c_codes, c_values = _encode(orders, "customer_id")
            c_codes = c_codes[keep]
        else:
            c_codes, c_values = order_codes[keep], order_values
        # customer of an order: the first line's customer; orders without one get their own id
        first_line = np.unique(order_idx, return_index=True)[1]
        order_cust = c_codes[first_line]
        missing = order_cust < 0
        customers_used, cust_idx = _sorted_unique(order_cust[~missing], c_values)
        customer_ids = c_values[customers_used].astype(str).astype(object)
        order_customers = np.empty(n_orders, dtype=np.int64)
        order_customers[~missing] = cust_idx
        if missing.any():
            order_customers[missing] = customer_ids.size + np.arange(int(missing.sum()))
            extra = np.asarray([f"?{o}" for o in order_values[orders_used[missing]]], dtype=object)
            customer_ids = np.concatenate([customer_ids, extra])
        if "ordered_at" in names:
            times = _times(orders, "ordered_at")[keep]
            order_times = np.full(n_orders, np.datetime64("NaT"), dtype="datetime64[us]")
            np.fmin.at(order_times, order_idx, times)  # earliest line of each order
        else:
            order_times = np.full(n_orders, np.datetime64("NaT"), dtype="datetime64[us]")
        return cls(
            matrix=matrix,
            items=item_values[items_used].astype(str).astype(object),
            names=per_item("product"),
            categories=per_item("category"),
            prices=prices,
            order_ids=order_values[orders_used].astype(str).astype(object),
            order_times=order_times,
            order_customers=order_customers,
            customers=customer_ids,
        )


#: Columns of the canonical orders table that baskets use.
LINE_ITEM_COLUMNS: Final = (
    "order_id",
    "customer_id",
    "ordered_at",
    "sku",
    "product",
    "category",
    "unit_price",
    "quantity",
    "amount",
    "status",
)


def orders_table(con: Any) -> Any:
    """The line-item columns of the ``orders`` table of a DuckDB connection, as a pyarrow Table.

    ``con`` is ``Ingested.con`` from :func:`lifevalue.io.read_orders`.
    """
    return con.sql(f"SELECT {', '.join(LINE_ITEM_COLUMNS)} FROM orders").to_arrow_table()


def as_baskets(orders: Any, **kwargs: Any) -> Baskets:
    """``orders`` itself when it is already :class:`Baskets`, else ``Baskets.from_orders``."""
    if isinstance(orders, Baskets):
        return orders
    return Baskets.from_orders(orders, **kwargs)


# --- co-occurrence and rules -------------------------------------------------------------------


def cooccurrence(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Item × item counts of orders holding both items (``Xᵀ X``; diagonal: orders per item)."""
    x = sp.csr_matrix(matrix, dtype=np.int32)
    counts = sp.csr_matrix(x.T @ x)
    counts.sort_indices()
    return counts


def ranked_top_k(
    groups: IntArray, keys: Sequence[npt.NDArray[Any]], k: int | None
) -> tuple[IntArray, IntArray]:
    """The first ``k`` entries of each group after sorting by ``keys``, with their rank.

    Parameters
    ----------
    groups
        Group of each entry (e.g. the antecedent item); output is sorted by it.
    keys
        Sort keys within a group, most significant first, ascending (negate to sort descending).
    k
        Entries kept per group (None: all).

    Returns
    -------
    (indices, ranks)
        Indices into the inputs, grouped and sorted, and the 1-based rank within the group.
    """
    order = np.lexsort([*reversed(list(keys)), groups]).astype(np.int64)
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.empty(0, np.int64)
    rank = np.arange(g.size) - np.repeat(starts, np.diff(np.r_[starts, g.size]))
    keep = rank < k if k is not None else np.ones(g.size, dtype=bool)
    return order[keep], (rank[keep] + 1).astype(np.int64)


def alphabetical_rank(values: ObjArray) -> IntArray:
    """Position of each value in sorted (string) order, to sort output by item key."""
    rank = np.empty(values.size, dtype=np.int64)
    rank[np.argsort(values.astype(str), kind="stable")] = np.arange(values.size)
    return rank


_SORT_KEYS: Final = ("confidence", "lift", "support", "count")


def association_rules(
    orders: Any,
    *,
    min_support: float = 0.01,
    min_confidence: float = 0.0,
    min_lift: float = 0.0,
    top_k: int | None = 10,
    sort_by: str = "confidence",
    exclude_items: Sequence[str] = (),
) -> pd.DataFrame:
    """Two-item association rules ``antecedent → consequent`` with support, confidence and lift.

    Parameters
    ----------
    orders
        Canonical orders (DataFrame / Arrow table, one row per line item) or :class:`Baskets`.
    min_support
        Minimum share of orders holding both items (as mlxtend's ``min_support``).
    min_confidence, min_lift
        Further filters on the rules.
    top_k
        Keep the best ``top_k`` consequents of each antecedent (None: all).
    sort_by
        ``confidence`` (default), ``lift``, ``support`` or ``count``; ties are broken by the
        others in that order, then by consequent.
    exclude_items
        Item keys to leave out (when ``orders`` is not already :class:`Baskets`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIR_COLUMNS`, sorted by antecedent then ``rank`` (1 = best).
    """
    if not 0.0 < min_support <= 1.0:
        raise ConfigError(f"--min-support must be in (0, 1], got {min_support}")
    if sort_by not in _SORT_KEYS:
        raise ConfigError(f"sort_by must be one of {', '.join(_SORT_KEYS)}, got {sort_by!r}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {top_k}")
    baskets = as_baskets(orders, exclude_items=exclude_items)
    n = baskets.n_orders
    item_counts = np.asarray(baskets.matrix.sum(axis=0)).ravel().astype(np.int64)
    # an item below the minimum support cannot be in a pair above it (apriori pruning)
    frequent = np.flatnonzero(item_counts / n >= min_support)
    counts = cooccurrence(baskets.matrix[:, frequent]).tocoo()
    a, b, c = counts.row, counts.col, counts.data.astype(np.int64)
    keep = (a != b) & (c / n >= min_support)
    a, b, c = frequent[a[keep]], frequent[b[keep]], c[keep]
    confidence = c / item_counts[a]
    lift = confidence / (item_counts[b] / n)
    keep = (confidence >= min_confidence) & (lift >= min_lift)
    a, b, c, confidence, lift = a[keep], b[keep], c[keep], confidence[keep], lift[keep]
    metrics = {"confidence": confidence, "lift": lift, "support": c / n, "count": c}
    keys: list[npt.NDArray[Any]] = [-metrics[sort_by]]
    keys += [-metrics[m] for m in _SORT_KEYS if m != sort_by]
    keys.append(alphabetical_rank(baskets.items)[b])
    order, rank = ranked_top_k(alphabetical_rank(baskets.items)[a], keys, top_k)
    a, b, c = a[order], b[order], c[order]
    return pd.DataFrame(
        {
            "antecedent": baskets.items[a],
            "consequent": baskets.items[b],
            "rank": rank,
            "antecedent_product": baskets.names[a],
            "consequent_product": baskets.names[b],
            "support": c / n,
            "confidence": confidence[order],
            "lift": lift[order],
            "count": c,
            "antecedent_support": item_counts[a] / n,
            "consequent_support": item_counts[b] / n,
        }
    )


def frequently_bought_together(
    orders: Any,
    *,
    min_support: float = 0.01,
    top_k: int = 10,
    min_lift: float = 1.0,
    exclude_items: Sequence[str] = (),
) -> pd.DataFrame:
    """Per product, the products most often in the same order (``pairs.csv``).

    The rules of :func:`association_rules` with ``lift ≥ min_lift`` (default 1: bought together
    more often than by chance), best ``top_k`` by confidence per antecedent.

    Parameters
    ----------
    orders
        Canonical orders or :class:`Baskets`.
    min_support
        Minimum share of orders holding both products.
    top_k
        Products listed per antecedent.
    min_lift
        Minimum lift.
    exclude_items
        Item keys to leave out (e.g. ``POST`` for postage).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PAIR_COLUMNS`.
    """
    return association_rules(
        orders,
        min_support=min_support,
        min_lift=min_lift,
        top_k=top_k,
        exclude_items=exclude_items,
    )
