"""What to offer whom: next-best products per customer, cross-sell and up-sell per product.

Next-best products
------------------
For customer ``c`` and item ``j`` the score adds three parts:

``score = repeat_weight × again(c, j) × (1 + popularity_boost × pop(j))
+ cooccurrence_weight × together(c, j) + ε × rank(pop(j))``

- ``again(c, j)``: share of the customer's orders that held ``j`` (recent orders weigh more,
  with ``half_life_days``): customers, wholesalers above all, re-buy. ``pop(j)`` is the item's
  number of orders over the largest such number, so among items re-bought equally often the
  store's staples come first;
- ``together(c, j) = Σᵢ again(c, i) S[i, j] / Σᵢ again(c, i)``: how similar ``j`` is to what the
  customer bought, with ``S`` the item × item cosine similarity of co-occurrence
  ``C[i, j] / √(C[i, i] C[j, j])`` (``C = Xᵀ X`` over the order × item matrix, SciPy sparse),
  keeping each item's ``neighbours`` most similar items bought together in at least
  ``min_pair_count`` orders;
- popularity breaks the remaining ties, so a customer without history gets the most popular
  items.

By default both weights are ``"auto"``: :meth:`Recommender.fit` holds out each customer's last
order of the data it is given, fits on the rest and keeps the pair of weights with the best hit
rate@10 on those orders. Stores whose customers re-buy (UCI Online Retail: wholesalers) get a
high repeat weight; stores where they rarely do end up close to popularity. The other defaults
(``popularity_boost``, ``half_life_days``, ``repurchase_rate``) were chosen on Online Retail with
a validation split (the second-to-last orders) and checked on the last orders
(``benchmarks/recommend.py``).

Items the customer already bought are left out unless they are *replenishable*: bought by this
customer in ``replenish_min_orders`` or more orders, or in a category listed in
``replenishable_categories``, or re-bought (2+ orders) by at least ``repurchase_rate`` of the
item's buyers. Set ``exclude_owned=False`` to keep all owned items.

Cross-sell and up-sell
----------------------
Cross-sell: per product, the items of *other* categories most often bought with it (by
confidence, at least ``min_pair_count`` orders together). Up-sell: per product, the items of the
*same* category priced above it (up to ``max_price_ratio`` times its median unit price), most
popular first. Both need a ``category``; without one they are empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from lifevalue.errors import ConfigError, NotFittedError
from lifevalue.recommend.cooccurrence import (
    Baskets,
    alphabetical_rank,
    as_baskets,
    cooccurrence,
    ranked_top_k,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: ``reason`` values of :meth:`Recommender.recommend`.
REASONS: Final = ("buy_again", "bought_together", "popular")
#: Columns of :meth:`Recommender.recommend` / ``customer_recommendations.csv``.
RECOMMENDATION_COLUMNS: Final = (
    "customer_id",
    "rank",
    "sku",
    "product",
    "category",
    "score",
    "reason",
)
_CELLS_PER_BATCH: Final = 4_000_000  # dense scores kept in memory at once (float64: 32 MB)
#: Weights tried when a weight is "auto" (repeat_weight x cooccurrence_weight).
AUTO_REPEAT_WEIGHTS: Final = (0.0, 0.3, 1.0, 3.0)
AUTO_COOCCURRENCE_WEIGHTS: Final = (0.0, 0.1, 1.0)
#: (repeat_weight, cooccurrence_weight) preferred among equally good candidates.
DEFAULT_WEIGHTS: Final = (1.0, 0.1)
_TUNING_CUSTOMERS: Final = 20_000
_TUNING_K: Final = 10
Weight = float | Literal["auto"]


@dataclass(frozen=True)
class Recommendations:
    """Top-k item indices per customer, as arrays (what evaluation works on).

    Attributes
    ----------
    customers
        Customer indices (rows).
    items, scores
        ``(customers, k)`` item indices and their scores; -1 where fewer than k items exist.
    reasons
        ``(customers, k)`` codes into :data:`REASONS`.
    """

    customers: IntArray
    items: IntArray
    scores: FloatArray
    reasons: npt.NDArray[np.int8]


class Recommender:
    """Next-best products from co-occurrence, own repeat purchases and popularity.

    Parameters
    ----------
    cooccurrence_weight, repeat_weight
        Weights of the two parts of the score (see the module docstring), or ``"auto"``
        (default): chosen by :meth:`fit` among :data:`AUTO_COOCCURRENCE_WEIGHTS` and
        :data:`AUTO_REPEAT_WEIGHTS` by hit rate@10 on each customer's last training order (at
        most 20,000 customers), the model being fitted on the orders before it. Stores where
        customers re-buy get a high repeat weight; stores where they do not, a low one.
    popularity_boost
        How much more a re-bought staple counts than a re-bought rarity.
    neighbours
        Similar items kept per item.
    min_pair_count
        Orders two items must share to count as bought together.
    half_life_days
        Half-life of an order's weight in the customer's history (None: all orders weigh 1).
    exclude_owned
        Leave out items the customer bought unless replenishable.
    replenish_min_orders
        A customer's own item bought in this many orders or more is replenishable for them.
    repurchase_rate
        An item re-bought by at least this share of its buyers is replenishable for everyone
        (None: off).
    replenishable_categories
        Categories whose items are always replenishable.

    Attributes
    ----------
    baskets_
        The training baskets.
    counts_
        Item × item co-occurrence counts (``Xᵀ X``).
    similarity_
        Sparse item × item similarity, ``neighbours`` per row.
    history_
        Customer × item: weighted share of each customer's orders holding each item.
    replenishable_
        Boolean per item: replenishable for everyone.
    popularity_
        Orders per item.
    weights_
        The weights used: ``(repeat_weight, cooccurrence_weight)``.
    tuning_
        With an ``"auto"`` weight: each candidate pair of weights and its validation hit rate,
        precision, recall and MRR (None otherwise or when no customer has two orders).
    """

    def __init__(
        self,
        *,
        cooccurrence_weight: Weight = "auto",
        repeat_weight: Weight = "auto",
        popularity_boost: float = 2.0,
        neighbours: int = 50,
        min_pair_count: int = 2,
        half_life_days: float | None = 90.0,
        exclude_owned: bool = True,
        replenish_min_orders: int = 2,
        repurchase_rate: float | None = 0.1,
        replenishable_categories: Sequence[str] = (),
    ) -> None:
        for name, weight in (("cooccurrence", cooccurrence_weight), ("repeat", repeat_weight)):
            if weight != "auto" and (isinstance(weight, str) or weight < 0):
                raise ConfigError(f"{name}_weight must be 'auto' or a number >= 0, got {weight!r}")
        if popularity_boost < 0:
            raise ConfigError(f"popularity_boost must not be negative, got {popularity_boost}")
        if neighbours < 1 or min_pair_count < 1 or replenish_min_orders < 1:
            raise ConfigError("neighbours, min_pair_count and replenish_min_orders must be >= 1")
        if half_life_days is not None and half_life_days <= 0:
            raise ConfigError(f"half_life_days must be positive, got {half_life_days}")
        self.cooccurrence_weight = cooccurrence_weight
        self.repeat_weight = repeat_weight
        self.popularity_boost = popularity_boost
        self.neighbours = neighbours
        self.min_pair_count = min_pair_count
        self.half_life_days = half_life_days
        self.exclude_owned = exclude_owned
        self.replenish_min_orders = replenish_min_orders
        self.repurchase_rate = repurchase_rate
        self.replenishable_categories = tuple(replenishable_categories)

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, e.g. to build a copy with some changed."""
        return {
            "cooccurrence_weight": self.cooccurrence_weight,
            "repeat_weight": self.repeat_weight,
            "popularity_boost": self.popularity_boost,
            "neighbours": self.neighbours,
            "min_pair_count": self.min_pair_count,
            "half_life_days": self.half_life_days,
            "exclude_owned": self.exclude_owned,
            "replenish_min_orders": self.replenish_min_orders,
            "repurchase_rate": self.repurchase_rate,
            "replenishable_categories": self.replenishable_categories,
        }

    # --- fitting -------------------------------------------------------------------------------

    def fit(self, orders: Any, *, exclude_items: Sequence[str] = ()) -> Recommender:
        """Learn co-occurrence, histories and popularity from orders.

        Parameters
        ----------
        orders
            Canonical orders (DataFrame / Arrow table, one row per line item) or
            :class:`~lifevalue.recommend.cooccurrence.Baskets`.
        exclude_items
            Item keys never to recommend (e.g. ``POST``), when ``orders`` are not baskets.
        """
        baskets = as_baskets(orders, exclude_items=exclude_items)
        repeats = AUTO_REPEAT_WEIGHTS if self.repeat_weight == "auto" else (self.repeat_weight,)
        coocs = (
            AUTO_COOCCURRENCE_WEIGHTS
            if self.cooccurrence_weight == "auto"
            else (self.cooccurrence_weight,)
        )
        # candidates nearest the default first: on a tie, the one closest to the default wins
        grid = sorted(
            ((float(r), float(c)) for r in repeats for c in coocs),
            key=lambda w: abs(w[0] - DEFAULT_WEIGHTS[0]) + abs(w[1] - DEFAULT_WEIGHTS[1]),
        )
        self.tuning_: pd.DataFrame | None = None
        self.weights_ = grid[0]
        if len(grid) > 1:
            self.tuning_ = self._tune(baskets, grid)
            if self.tuning_ is not None:
                best = self.tuning_.sort_values(
                    ["hit_rate", "mrr"], ascending=False, kind="stable"
                ).iloc[0]
                self.weights_ = (float(best["repeat_weight"]), float(best["cooccurrence_weight"]))
            # else nobody has two orders, nothing to learn from: the candidate nearest the default
        self._learn(baskets)
        return self

    def _learn(self, baskets: Baskets) -> None:
        """Everything but the weights: co-occurrence, similarity, histories, popularity."""
        counts = cooccurrence(baskets.matrix)
        item_orders = counts.diagonal().astype(np.float64)
        self.baskets_ = baskets
        self.counts_ = counts
        self.popularity_ = item_orders
        self.similarity_ = self._similarity(counts, item_orders)
        plain = baskets.customer_items()  # orders per customer and item
        self.orders_per_item_ = plain
        weights = self._order_weights(baskets)
        weighted = baskets.customer_items(weights)
        totals = np.bincount(
            baskets.order_customers, weights=weights, minlength=baskets.customers.size
        )
        inverse = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        self.history_ = sp.csr_matrix(sp.diags(inverse) @ weighted)
        self.replenishable_ = self._replenishable_items(plain, baskets)
        # popularity as a tiny tie-break in [0, 1e-6)
        rank = np.empty(baskets.n_items)
        rank[np.argsort(-item_orders, kind="stable")] = np.arange(baskets.n_items)
        self.tiebreak_ = 1e-6 * (1.0 - rank / max(baskets.n_items, 1))
        share = item_orders / max(float(item_orders.max(initial=0.0)), 1.0)
        self.again_prior_: FloatArray = 1.0 + self.popularity_boost * share
        self.customer_index_ = {c: i for i, c in enumerate(baskets.customers)}

    def _tune(self, baskets: Baskets, grid: list[tuple[float, float]]) -> pd.DataFrame | None:
        """Validation metrics of each pair of weights (see the ``"auto"`` weights)."""
        from lifevalue.errors import InputError
        from lifevalue.recommend.evaluate import ranking_metrics, split_baskets

        try:
            train, customers, truth = split_baskets(baskets, "last_order")
        except InputError:
            return None
        if customers.size > _TUNING_CUSTOMERS:
            pick = np.sort(
                np.random.default_rng(0).choice(customers.size, _TUNING_CUSTOMERS, replace=False)
            )
            customers, truth = customers[pick], truth[pick]
        self._learn(baskets.select_orders(train))
        k = min(_TUNING_K, baskets.n_items)
        sums = np.zeros((len(grid), 4))
        batch = max(1, _CELLS_PER_BATCH // max(baskets.n_items, 1))
        for start in range(0, customers.size, batch):
            rows = customers[start : start + batch]
            parts = self._parts(rows)
            for i, weights in enumerate(grid):
                score, _ = self._combine(parts, weights)
                top, _, _ = _top_k(score, k)
                m = ranking_metrics(top, truth[start : start + batch])
                sums[i] += rows.size * np.array([m.hit_rate, m.precision, m.recall, m.mrr])
        means = sums / customers.size
        return pd.DataFrame(
            {
                "repeat_weight": [w[0] for w in grid],
                "cooccurrence_weight": [w[1] for w in grid],
                "hit_rate": means[:, 0],
                "precision": means[:, 1],
                "recall": means[:, 2],
                "mrr": means[:, 3],
            }
        )

    def _order_weights(self, baskets: Baskets) -> FloatArray:
        if self.half_life_days is None or baskets.n_orders == 0:
            return np.ones(baskets.n_orders)
        times = baskets.order_times.astype("datetime64[us]").astype(np.int64)
        nat = baskets.order_times != baskets.order_times  # NaT
        last = np.full(baskets.customers.size, np.iinfo(np.int64).min)
        np.maximum.at(last, baskets.order_customers[~nat], times[~nat])
        age_days = (last[baskets.order_customers] - times) / 86_400e6
        out: FloatArray = np.where(nat, 1.0, 0.5 ** (age_days / self.half_life_days))
        return out

    def _similarity(self, counts: sp.csr_matrix, item_orders: FloatArray) -> sp.csr_matrix:
        coo = counts.tocoo()
        keep = (coo.row != coo.col) & (coo.data >= self.min_pair_count)
        rows, cols, data = coo.row[keep], coo.col[keep], coo.data[keep].astype(np.float64)
        sim = data / np.sqrt(item_orders[rows] * item_orders[cols])
        # one stable sort on "row + (1 - similarity) / 2" (rows are sorted, similarity in (0, 1])
        # ranks each row's entries best first, ties by column; much faster than a lexsort
        order = np.argsort(rows + (1.0 - sim) * 0.5, kind="stable")
        sorted_rows = rows[order]
        starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
        rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
        selected = order[rank < self.neighbours]
        n = counts.shape[0]
        return sp.csr_matrix((sim[selected], (rows[selected], cols[selected])), shape=(n, n))

    def _replenishable_items(self, plain: sp.csr_matrix, baskets: Baskets) -> npt.NDArray[np.bool_]:
        out = np.zeros(baskets.n_items, dtype=bool)
        if self.repurchase_rate is not None:
            buyers = np.bincount(plain.indices, minlength=baskets.n_items)
            again = np.bincount(plain.indices[plain.data >= 2], minlength=baskets.n_items)
            with np.errstate(invalid="ignore", divide="ignore"):
                out |= (buyers > 0) & (again / np.maximum(buyers, 1) >= self.repurchase_rate)
        if self.replenishable_categories:
            cats = np.asarray([str(c) for c in baskets.categories], dtype=object)
            out |= np.isin(cats, np.asarray(self.replenishable_categories, dtype=object))
        return out

    def _check_fitted(self) -> None:
        if not hasattr(self, "baskets_"):
            raise NotFittedError("call Recommender.fit(orders) before asking for recommendations")

    # --- next-best products --------------------------------------------------------------------

    def popular(self, k: int) -> IntArray:
        """Indices of the ``k`` items in most orders (ties: item order)."""
        self._check_fitted()
        return np.argsort(-self.popularity_, kind="stable")[:k].astype(np.int64)

    def recommend_indices(self, k: int = 10, customers: IntArray | None = None) -> Recommendations:
        """Top-``k`` item indices for customers given by index (default all), in batches.

        Customers with no history in the training baskets get the most popular items.
        """
        self._check_fitted()
        if k < 1:
            raise ConfigError(f"--k must be at least 1, got {k}")
        n_items = self.baskets_.n_items
        rows = (
            np.arange(self.baskets_.customers.size, dtype=np.int64)
            if customers is None
            else np.asarray(customers, dtype=np.int64)
        )
        k_eff = min(k, n_items)
        items = np.full((rows.size, k), -1, dtype=np.int64)
        scores = np.full((rows.size, k), np.nan)
        reasons = np.full((rows.size, k), -1, dtype=np.int8)
        batch = max(1, _CELLS_PER_BATCH // max(n_items, 1))
        for start in range(0, rows.size, batch):
            part = rows[start : start + batch]
            score, reason = self._combine(self._parts(part), self.weights_)
            top, top_scores, ok = _top_k(score, k_eff)
            sl = slice(start, start + part.size)
            items[sl, :k_eff] = top
            scores[sl, :k_eff] = np.where(ok, top_scores, np.nan)
            reasons[sl, :k_eff] = np.where(ok, np.take_along_axis(reason, top, axis=1), -1)
        return Recommendations(rows, items, scores, reasons)

    def _parts(self, rows: IntArray) -> tuple[FloatArray, FloatArray, BoolArray, BoolArray]:
        """The parts of the scores of customers ``rows`` (rows × items, dense).

        Returns ``again × prior`` (re-buying), ``together`` (co-occurrence), the items the
        customer owns, and those of them that are left out (owned, not replenishable).
        """
        known = rows < self.history_.shape[0]
        safe = np.where(known, rows, 0)
        history = sp.csr_matrix(sp.diags(known.astype(np.float64)) @ self.history_[safe])
        again = history.toarray()
        together = (history @ self.similarity_).toarray()
        mass = again.sum(axis=1, keepdims=True)
        together = np.divide(together, mass, out=np.zeros_like(together), where=mass > 0)
        owned = again > 0
        if self.exclude_owned:
            bought = self.orders_per_item_[safe].toarray()
            allowed = (bought >= self.replenish_min_orders) | self.replenishable_[None, :]
            excluded = owned & ~allowed
        else:
            excluded = np.zeros_like(owned)
        return again * self.again_prior_[None, :], together, owned, excluded

    def _combine(
        self,
        parts: tuple[FloatArray, FloatArray, BoolArray, BoolArray],
        weights: tuple[float, float],
    ) -> tuple[FloatArray, npt.NDArray[np.int8]]:
        """Scores (-inf for left-out items) and reason codes from the parts and the weights."""
        again, together, owned, excluded = parts
        repeat_weight, cooccurrence_weight = weights
        score = repeat_weight * again + cooccurrence_weight * together + self.tiebreak_[None, :]
        score[excluded] = -np.inf
        reason = np.where(owned, 0, np.where(together > 0, 1, 2)).astype(np.int8)
        return score, reason

    def recommend(self, k: int = 10, customers: Sequence[str] | None = None) -> pd.DataFrame:
        """The ``k`` next-best products of each customer, one row per (customer, rank).

        Parameters
        ----------
        k
            Products per customer.
        customers
            Customer ids (default: every customer in the training orders); unknown ids get the
            most popular products.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`RECOMMENDATION_COLUMNS`; ``reason`` is ``buy_again`` (re-buys it),
            ``bought_together`` (goes with what they bought) or ``popular``.
        """
        self._check_fitted()
        b = self.baskets_
        if customers is None:
            ids = b.customers
            rows = np.arange(ids.size, dtype=np.int64)
        else:
            ids = np.asarray([str(c) for c in customers], dtype=object)
            unknown = b.customers.size  # beyond the history: no history, popularity
            rows = np.asarray([self.customer_index_.get(c, unknown) for c in ids], np.int64)
        recs = self.recommend_indices(k, rows)
        ok = recs.items >= 0
        cust = np.repeat(ids, k).reshape(-1, k)[ok]
        item = recs.items[ok]
        return pd.DataFrame(
            {
                "customer_id": cust,
                "rank": np.tile(np.arange(1, k + 1), ids.size).reshape(-1, k)[ok],
                "sku": b.items[item],
                "product": b.names[item],
                "category": b.categories[item],
                "score": recs.scores[ok],
                "reason": np.asarray(REASONS, dtype=object)[recs.reasons[ok]],
            }
        )

    # --- cross-sell and up-sell ----------------------------------------------------------------

    def cross_sell(self, k: int = 5) -> pd.DataFrame:
        """Per product, the ``k`` products of other categories most often bought with it.

        Returns
        -------
        pandas.DataFrame
            Columns ``sku``, ``product``, ``category``, ``rank``, ``offer_sku``,
            ``offer_product``, ``offer_category``, ``confidence``, ``lift``, ``count``; empty
            without categories.
        """
        self._check_fitted()
        b = self.baskets_
        coo = self.counts_.tocoo()
        cats = np.asarray([None if pd.isna(c) else str(c) for c in b.categories], dtype=object)
        a, o, c = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
        keep = (a != o) & (c >= self.min_pair_count)
        keep &= pd.notna(cats[a]) & pd.notna(cats[o]) & (cats[a] != cats[o])
        a, o, c = a[keep], o[keep], c[keep]
        confidence = c / self.popularity_[a]
        lift = confidence * b.n_orders / self.popularity_[o]
        alpha = alphabetical_rank(b.items)
        idx, rank = ranked_top_k(alpha[a], [-confidence, -c, alpha[o]], k)
        frame = self._item_offers(a[idx], o[idx], rank)
        frame["confidence"] = confidence[idx]
        frame["lift"] = lift[idx]
        frame["count"] = c[idx].astype(np.int64)
        return frame

    def up_sell(self, k: int = 5, max_price_ratio: float = 3.0) -> pd.DataFrame:
        """Per product, the ``k`` most popular pricier products of the same category.

        Parameters
        ----------
        k
            Offers per product.
        max_price_ratio
            Highest price of an offer as a multiple of the product's median unit price.

        Returns
        -------
        pandas.DataFrame
            Columns ``sku``, ``product``, ``category``, ``rank``, ``offer_sku``,
            ``offer_product``, ``offer_category``, ``price``, ``offer_price``, ``orders``
            (orders holding the offer); empty without categories or prices.
        """
        self._check_fitted()
        if max_price_ratio <= 1.0:
            raise ConfigError(f"max_price_ratio must be above 1, got {max_price_ratio}")
        b = self.baskets_
        cats = pd.Series([None if pd.isna(c) else str(c) for c in b.categories], dtype=object)
        codes, _ = pd.factorize(cats.where(cats.notna() & np.isfinite(b.prices)))
        found_a: list[IntArray] = [np.empty(0, np.int64)]
        found_o: list[IntArray] = [np.empty(0, np.int64)]
        for group in range(int(codes.max(initial=-1)) + 1):
            members = np.flatnonzero(codes == group)
            price = b.prices[members]
            # blocks of rows keep the candidate matrix small in big categories
            for block in np.array_split(np.arange(members.size), members.size // 2000 + 1):
                mine = price[block][:, None]
                ok = (price[None, :] > mine) & (price[None, :] <= mine * max_price_ratio)
                ia, io = np.nonzero(ok)
                found_a.append(members[block][ia])
                found_o.append(members[io])
        a, o = np.concatenate(found_a), np.concatenate(found_o)
        alpha = alphabetical_rank(b.items)
        idx, rank = ranked_top_k(alpha[a], [-self.popularity_[o], b.prices[o], alpha[o]], k)
        a, o = a[idx], o[idx]
        frame = self._item_offers(a, o, rank)
        frame["price"] = b.prices[a]
        frame["offer_price"] = b.prices[o]
        frame["orders"] = self.popularity_[o].astype(np.int64)
        return frame

    def _item_offers(self, a: IntArray, o: IntArray, rank: IntArray) -> pd.DataFrame:
        b = self.baskets_
        return pd.DataFrame(
            {
                "sku": b.items[a],
                "product": b.names[a],
                "category": b.categories[a],
                "rank": rank,
                "offer_sku": b.items[o],
                "offer_product": b.names[o],
                "offer_category": b.categories[o],
            }
        )


def _top_k(score: FloatArray, k: int) -> tuple[IntArray, FloatArray, BoolArray]:
    """Per row, the ``k`` best columns (best first, ties by column), their scores and whether
    each is a real candidate (finite score); columns of left-out items come back as -1."""
    top = np.argpartition(-score, k - 1, axis=1)[:, :k]
    top_scores = np.take_along_axis(score, top, axis=1)
    order = np.lexsort((top, -top_scores), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    top_scores = np.take_along_axis(top_scores, order, axis=1)
    ok = np.isfinite(top_scores)
    return np.where(ok, top, -1).astype(np.int64), top_scores, ok
