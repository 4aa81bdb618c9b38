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
        _require_line_items(names, item_column)
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


#: Python's whitespace (what ``str.strip()`` removes; none above U+3000), as an RE2 class.
_WHITESPACE: Final = "".join(f"\\x{{{i:x}}}" for i in range(0x3001) if chr(i).isspace())


def _not_purchased_sql(status: str) -> str:
    """SQL true when ``lower(strip(status))`` is in :data:`NOT_PURCHASED` (NULL for NULL).

    One regular expression, so that the status expression of a view is evaluated once; the
    words hold only ASCII letters that no other character lower-cases or case-folds to, so
    RE2's case-insensitive match is Python's ``lower()``.
    """
    words = "|".join(sorted(NOT_PURCHASED))
    return f"regexp_full_match({status}, '[{_WHITESPACE}]*(?i:{words})[{_WHITESPACE}]*')"


def _require_line_items(names: Sequence[str], item_column: str) -> None:
    """Raise a clear InputError when the order id or the item column is missing."""
    for col in ("order_id", item_column):
        if col not in names:
            raise InputError(
                f"the orders have no {col!r} column; recommendations need line items",
                column=col,
                hint="read an order log with one row per line item (sku, product, ...)",
            )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _dense_codes(column: Any) -> tuple[npt.NDArray[np.int32], Any]:
    """Codes (0..k-1, in order of first appearance) and distinct values of a non-null column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()  # one dictionary for all chunks
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)
    return codes, encoded.dictionary


def _first_rows(codes: npt.NDArray[np.int32], n_codes: int) -> IntArray:
    """Index of the first occurrence of each code present in ``codes`` (values 0..n_codes-1).

    Looks at a growing prefix (every item of a catalogue usually shows up early) rather than
    hashing all the rows.
    """
    first = np.full(n_codes, -1, dtype=np.int64)
    start, size, found = 0, 1 << 16, 0
    while start < codes.size and found < n_codes:
        chunk = codes[start : start + size]
        seen, index = np.unique(chunk, return_index=True)
        new = first[seen] < 0
        first[seen[new]] = start + index[new]
        found += int(new.sum())
        start += chunk.size
        size *= 2
    return first[first >= 0]


def _order_codes(
    order_ids: Any, hashes: npt.NDArray[np.uint64]
) -> tuple[npt.NDArray[np.int32], int]:
    """Dense codes of the orders (non-null ids) and their number.

    The lines of an order are usually next to each other: when the runs of equal adjacent ids
    start with distinct ids, each run is one order. The ids are distinct when they increase (or
    decrease) from run to run, or else when their ``hashes`` are distinct; otherwise the ids
    are dictionary-encoded. Either way equal ids get equal codes and distinct ids distinct
    codes.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(order_ids)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        differs = pc.not_equal(order_ids.slice(1), order_ids.slice(0, n - 1))
        if isinstance(differs, pa.ChunkedArray):
            differs = differs.combine_chunks()
        starts[1:] = differs.to_numpy(zero_copy_only=False)
    runs = int(starts.sum())
    distinct = runs <= 1
    if not distinct:
        firsts = order_ids.filter(pa.array(starts))
        before, after = firsts.slice(0, runs - 1), firsts.slice(1)
        distinct = bool(pc.all(pc.less(before, after)).as_py()) or bool(
            pc.all(pc.greater(before, after)).as_py()
        )
    if not distinct:
        sorted_hashes = np.sort(hashes[starts])
        distinct = not bool((sorted_hashes[1:] == sorted_hashes[:-1]).any())
    if distinct:
        return (np.cumsum(starts, dtype=np.int32) - 1).astype(np.int32), runs
    codes, values = _dense_codes(order_ids)
    return codes, len(values)


@dataclass(frozen=True)
class PairCounts:
    """In how many orders each item and each pair of items appear: what the rules need.

    :func:`association_rules` and :func:`frequently_bought_together` take it in place of the
    orders; it is much smaller than :class:`Baskets` and :meth:`from_duckdb` builds it from a
    DuckDB table of line items without the per-order and per-customer attributes.

    Attributes
    ----------
    counts
        Item × item CSR matrix: orders holding both items (``Xᵀ X`` of the order × item
        incidence matrix; diagonal: orders holding the item).
    items
        Item keys (sku, or product name), sorted as text.
    names
        Product name of each item (first seen; None when absent).
    n_orders
        Number of orders with at least one item.
    """

    counts: sp.csr_matrix
    items: ObjArray
    names: ObjArray
    n_orders: int

    @property
    def n_items(self) -> int:
        """Number of distinct items."""
        return int(self.items.size)

    @property
    def item_counts(self) -> IntArray:
        """Orders holding each item."""
        return np.asarray(self.counts.diagonal(), dtype=np.int64)

    @classmethod
    def from_baskets(cls, baskets: Baskets) -> PairCounts:
        """The counts of :class:`Baskets`."""
        return cls(
            counts=cooccurrence(baskets.matrix),
            items=baskets.items,
            names=baskets.names,
            n_orders=baskets.n_orders,
        )

    @classmethod
    def from_duckdb(
        cls,
        con: Any,
        table: str = "orders",
        *,
        item_column: str | None = None,
        exclude_items: Sequence[str] = (),
    ) -> PairCounts:
        """Count items and pairs of the line items in a DuckDB table (or view).

        The same orders, items and names as :meth:`Baskets.from_orders` on that table (lines
        of cancelled or refunded orders and returns are left out; an item is its ``sku``, else
        its ``product``), so :func:`association_rules` gives the same rules; only what the
        rules need is read (order id, item and product name), in one scan.

        Parameters
        ----------
        con
            DuckDB connection (``AnalysisResult.con`` / ``Ingested.con``).
        table
            Table or view with one row per line item (default ``orders``).
        item_column, exclude_items
            As in :meth:`Baskets.from_orders`.

        Raises
        ------
        InputError
            A needed column is missing or no purchase line is left.
        """
        import pyarrow as pa
        import pyarrow.compute as pc

        source = _ident(table)
        names = [str(r[0]) for r in con.execute(f"DESCRIBE {source}").fetchall()]
        if item_column is None:  # the sku, or the product name when there is no sku
            has_sku = "sku" in names and bool(
                con.execute(f"SELECT 1 FROM {source} WHERE sku IS NOT NULL LIMIT 1").fetchall()
            )
            item_column = "sku" if has_sku or "product" not in names else "product"
        _require_line_items(names, item_column)
        item = _ident(item_column)
        if (
            not con.execute(f"SELECT 1 FROM {source} WHERE {item} IS NOT NULL LIMIT 1").fetchall()
            and con.execute(f"SELECT 1 FROM {source} LIMIT 1").fetchall()
        ):
            raise InputError(
                f"the orders have no {item_column!r} values: recommendations need line items",
                column=item_column,
                hint="read an order log with a product or sku per row",
            )
        # Lines without an order id or an item are dropped from the Arrow table: a filter on
        # them here would evaluate a view's expressions for those columns a second time.
        where = [
            f"NOT coalesce(TRY_CAST({_ident(col)} AS DOUBLE) < 0, false)"  # returns
            for col in ("amount", "quantity")
            if col in names
        ]
        if "status" in names:
            where.append(f"NOT coalesce({_not_purchased_sql('CAST(status AS VARCHAR)')}, false)")
        with_names = "product" in names and item_column != "product"
        query = (
            "SELECT CAST(order_id AS VARCHAR) AS o, hash(CAST(order_id AS VARCHAR)) AS h, "
            f"CAST({item} AS VARCHAR) AS i{', product AS p' if with_names else ''} "
            f"FROM {source}{' WHERE ' + ' AND '.join(where) if where else ''}"
        )
        lines = con.sql(query).to_arrow_table()
        if lines.column("o").null_count or lines.column("i").null_count:
            valid = pc.and_(pc.is_valid(lines.column("o")), pc.is_valid(lines.column("i")))
            lines = lines.filter(valid)
        item_codes, item_values = _dense_codes(lines.column("i"))
        values = np.asarray(item_values.to_pylist(), dtype=object)
        if exclude_items:
            excluded = np.isin(values.astype(str), np.asarray(list(exclude_items), str))
            if excluded.any():
                lines = lines.filter(pa.array(~excluded[item_codes]))
                item_codes, item_values = _dense_codes(lines.column("i"))
                values = np.asarray(item_values.to_pylist(), dtype=object)
        if lines.num_rows == 0:
            raise InputError("no purchase lines with an order id and an item were found")
        hashes = np.asarray(lines.column("h").to_numpy(), dtype=np.uint64)
        order_codes, n_orders = _order_codes(lines.column("o"), hashes)
        n_items = values.size
        # items numbered in sorted order of their keys (as Baskets.from_orders)
        order = np.argsort(values.astype(str), kind="stable")
        position = np.empty(n_items, dtype=np.int32)
        position[order] = np.arange(n_items, dtype=np.int32)
        columns = position[item_codes]
        matrix = sp.csr_matrix(
            (np.ones(columns.size, dtype=np.int32), (order_codes, columns)),
            shape=(n_orders, n_items),
        )
        matrix.sum_duplicates()
        matrix.data[:] = 1  # an item twice in an order counts once
        product_names = np.full(n_items, None, dtype=object)
        if with_names:
            product = lines.column("p")
            named = np.flatnonzero(pc.is_valid(product).to_numpy(zero_copy_only=False))
            for row in _first_rows(columns[named], n_items):  # first line with a name
                product_names[columns[named[row]]] = product[int(named[row])].as_py()
        elif item_column == "product":
            product_names = values[order].copy()
        return cls(
            counts=cooccurrence(matrix),
            items=values[order].astype(str).astype(object),
            names=product_names,
            n_orders=n_orders,
        )


def as_baskets(orders: Any, **kwargs: Any) -> Baskets:
    """``orders`` itself when it is already :class:`Baskets`, else ``Baskets.from_orders``."""
    if isinstance(orders, Baskets):
        return orders
    return Baskets.from_orders(orders, **kwargs)


# --- co-occurrence and rules -------------------------------------------------------------------


#: Largest item × item table counted densely by :func:`cooccurrence` (32 MB of int64).
_DENSE_PAIRS: Final = 1 << 22
#: Pairs per order line up to which listing the pairs beats the sparse product (measured: 0.6
#: on the sample store, 4x faster listed; 13 on Online Retail, 1.25x faster as a product).
_LISTED_PAIRS_PER_LINE: Final = 4


def cooccurrence(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Item × item counts of orders holding both items (``Xᵀ X``; diagonal: orders per item).

    For a binary matrix of up to 2,048 items and small orders (many orders of a few items,
    where SciPy's product spends its time per order), the pairs of each order are listed and
    counted with ``numpy.bincount``; otherwise ``Xᵀ X`` is SciPy's sparse product. Both give
    the same integers.
    """
    x = sp.csr_matrix(matrix, dtype=np.int32)
    x.sum_duplicates()  # sorted, distinct item indices in each row (no-op when already so)
    n_items = int(x.shape[1])
    sizes = np.diff(x.indptr).astype(np.int64)
    n_pairs = int((sizes * (sizes - 1) // 2).sum())
    if (
        n_items * n_items > _DENSE_PAIRS
        or n_pairs > _LISTED_PAIRS_PER_LINE * x.nnz
        or not bool((x.data == 1).all())
    ):
        counts = sp.csr_matrix(x.T @ x)
        counts.sort_indices()
        return counts
    diagonal = np.bincount(x.indices, minlength=n_items)
    multi = x[np.diff(x.indptr) >= 2]  # orders with one item add to the diagonal only
    lengths = np.diff(multi.indptr)
    # int32 where it fits: half the memory to touch
    index = np.int32 if max(n_pairs, multi.nnz) < np.iinfo(np.int32).max else np.int64
    items = multi.indices.astype(index, copy=False)
    bounds = multi.indptr.astype(index, copy=False)
    position = np.arange(items.size, dtype=index)
    # each item of an order pairs with the items after it in the (sorted) row: a < b
    partners = np.repeat(bounds[1:], lengths) - position - 1
    first = np.repeat(items, partners)
    skip = np.repeat(position + 1 - (np.cumsum(partners, dtype=index) - partners), partners)
    second = items[np.arange(n_pairs, dtype=index) + skip]
    upper = np.bincount(first * index(n_items) + second, minlength=n_items * n_items)
    dense = upper.reshape(n_items, n_items)
    dense = dense + dense.T
    dense[np.diag_indices(n_items)] = diagonal
    counts = sp.csr_matrix(dense.astype(np.int32))
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
    if isinstance(orders, PairCounts):
        n, items, names = orders.n_orders, orders.items, orders.names
        item_counts = orders.item_counts
        frequent = np.flatnonzero(item_counts / n >= min_support)
        counts = sp.csr_matrix(orders.counts[frequent][:, frequent]).tocoo()
    else:
        baskets = as_baskets(orders, exclude_items=exclude_items)
        n, items, names = baskets.n_orders, baskets.items, baskets.names
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
    alphabetical = alphabetical_rank(items)
    keys.append(alphabetical[b])
    order, rank = ranked_top_k(alphabetical[a], keys, top_k)
    a, b, c = a[order], b[order], c[order]
    return pd.DataFrame(
        {
            "antecedent": items[a],
            "consequent": items[b],
            "rank": rank,
            "antecedent_product": names[a],
            "consequent_product": names[b],
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
