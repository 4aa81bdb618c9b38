"""Offline evaluation of next-order recommendations against a popularity baseline.

Split ``last_order`` (default): each customer with two or more orders has their last order (by
time, then order id) held out; the recommender is fitted on every other order and recommends
``k`` items per such customer from their earlier orders. Split by date (``YYYY-MM-DD``): orders
before the date train, and customers with orders on both sides are scored on all items they
bought from the date on.

Per customer, with ``hits`` the recommended items found in the held-out orders:

- hit rate@k: share of customers with at least one hit;
- precision@k: ``hits / k``, averaged;
- recall@k: ``hits / distinct held-out items``, averaged;
- MRR: ``1 / rank of the first hit`` (0 without a hit), averaged.

The baseline recommends the ``k`` items in most training orders to everyone.

With ``new_items_only``, only products the customer never bought before count (customers
without such a product are left out) and both recommenders leave out everything the customer
owns: this measures discovery, where co-occurrence matters, rather than re-buying.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from lifevalue.errors import ConfigError, InputError
from lifevalue.recommend.cooccurrence import Baskets, as_baskets
from lifevalue.recommend.offers import Recommender

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RankingMetrics:
    """Hit rate, precision, recall at k and mean reciprocal rank (each in [0, 1])."""

    hit_rate: float
    precision: float
    recall: float
    mrr: float


@dataclass(frozen=True)
class Evaluation:
    """Metrics of lifevalue's recommender and of the popularity baseline on one split.

    Attributes
    ----------
    k
        Items recommended per customer.
    split
        ``last_order`` or the split date (ISO).
    customers
        Customers evaluated.
    lifevalue, popularity
        The metrics of each.
    new_items_only
        True when only products new to the customer were scored.
    weights
        The recommender's ``(repeat_weight, cooccurrence_weight)`` (chosen when "auto").
    """

    k: int
    split: str
    customers: int
    lifevalue: RankingMetrics
    popularity: RankingMetrics
    new_items_only: bool = False
    weights: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The content of ``evaluation.json``."""
        out: dict[str, Any] = {"k": self.k, "split": self.split, "customers": self.customers}
        if self.new_items_only:
            out["new_items_only"] = True
        out["lifevalue"] = asdict(self.lifevalue)
        out["popularity"] = asdict(self.popularity)
        if self.weights is not None:
            repeat, together = self.weights
            out["lifevalue_weights"] = {"repeat": repeat, "cooccurrence": together}
        return out

    def write_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as indented JSON; returns the path."""
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return p


def parse_split(split: str | date) -> str | date:
    """``last_order`` or a date, from a string such as ``2011-09-01``."""
    if isinstance(split, date):
        return split
    if split == "last_order":
        return split
    try:
        return datetime.strptime(split, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(
            f"--split must be last_order or a date like 2011-09-01, not {split!r}"
        ) from None


def split_baskets(
    baskets: Baskets, split: str | date = "last_order"
) -> tuple[npt.NDArray[np.bool_], IntArray, sp.csr_matrix]:
    """Training orders, the customers to score, and their held-out items.

    Returns
    -------
    (train, customers, truth)
        Boolean mask of training orders (all but the held-out last orders; or every order
        before the date); customer indices; CSR matrix (customers × items) of the items in
        their held-out orders.
    """
    split = parse_split(split)
    n = baskets.n_orders
    cust = baskets.order_customers
    if split == "last_order":
        times = baskets.order_times.astype(np.int64)
        order = np.lexsort((baskets.order_ids.astype(str), times, cust))
        last_pos = np.flatnonzero(np.r_[cust[order][1:] != cust[order][:-1], True])
        last = order[last_pos]
        per_customer = np.bincount(cust, minlength=baskets.customers.size)
        last = last[per_customer[cust[last]] >= 2]
        test = np.zeros(n, dtype=bool)
        test[last] = True
        train = ~test
    else:
        assert isinstance(split, date)
        cut = np.datetime64(split.isoformat(), "us")
        after = baskets.order_times >= cut
        train = ~after  # every order from the date on is unseen, whoever placed it
        before = np.zeros(baskets.customers.size, dtype=bool)
        before[cust[train]] = True
        test = after & before[cust]
    customers = np.unique(cust[test])
    if customers.size == 0:
        raise InputError(
            "no customer has orders on both sides of the split; nothing to evaluate",
            hint="use --split last_order or an earlier date",
        )
    row_of = np.full(baskets.customers.size, -1, dtype=np.int64)
    row_of[customers] = np.arange(customers.size)
    owner = sp.csr_matrix(
        (np.ones(int(test.sum())), (row_of[cust[test]], np.flatnonzero(test))),
        shape=(customers.size, n),
    )
    truth = sp.csr_matrix(owner @ baskets.matrix.astype(np.float64))
    truth.data[:] = 1.0
    truth.sort_indices()
    return train, customers.astype(np.int64), truth


def ranking_metrics(recommended: IntArray, truth: sp.csr_matrix) -> RankingMetrics:
    """Metrics of ``recommended`` (customers × k item indices, -1 for none) against ``truth``.

    Parameters
    ----------
    recommended
        Row i: the items recommended to customer i, best first.
    truth
        Row i: the items customer i bought in the held-out orders (non-zero entries).
    """
    n, k = recommended.shape
    if n == 0:
        return RankingMetrics(0.0, 0.0, 0.0, 0.0)
    n_items = truth.shape[1]
    coo = truth.tocoo()
    truth_keys = np.unique(coo.row.astype(np.int64) * n_items + coo.col)
    rec_keys = np.arange(n, dtype=np.int64)[:, None] * n_items + recommended
    hits = np.isin(rec_keys, truth_keys) & (recommended >= 0)
    n_hits = hits.sum(axis=1)
    relevant = np.diff(truth.indptr).astype(np.float64)
    first = np.argmax(hits, axis=1)
    reciprocal = np.where(n_hits > 0, 1.0 / (first + 1), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(relevant > 0, n_hits / relevant, 0.0)
    return RankingMetrics(
        hit_rate=float(np.mean(n_hits > 0)),
        precision=float(np.mean(n_hits / k)),
        recall=float(np.mean(recall)),
        mrr=float(np.mean(reciprocal)),
    )


def evaluate(
    orders: Any,
    *,
    k: int = 10,
    split: str | date = "last_order",
    recommender: Recommender | None = None,
    exclude_items: tuple[str, ...] = (),
    new_items_only: bool = False,
) -> Evaluation:
    """Hold out orders, recommend from the rest, and score lifevalue against popularity.

    Parameters
    ----------
    orders
        Canonical orders (DataFrame / Arrow table, one row per line item) or baskets.
    k
        Items recommended per customer.
    split
        ``last_order`` or a date (see the module docstring).
    recommender
        An unfitted :class:`Recommender` with the settings to test (default settings if None);
        it is fitted on the training orders.
    exclude_items
        Item keys to leave out (when ``orders`` are not baskets).
    new_items_only
        Score only products new to each customer (see the module docstring).

    Returns
    -------
    Evaluation
    """
    if k < 1:
        raise ConfigError(f"--k must be at least 1, got {k}")
    baskets = as_baskets(orders, exclude_items=exclude_items)
    train, customers, truth = split_baskets(baskets, split)
    training = baskets.select_orders(train)
    params = (recommender or Recommender()).get_params()
    if new_items_only:
        owned = training.customer_items()[customers]
        owned.data[:] = 1.0
        truth = sp.csr_matrix(truth - truth.multiply(owned))
        truth.eliminate_zeros()
        keep = np.diff(truth.indptr) > 0
        customers, truth = customers[keep], truth[keep]
        never_owned = {"exclude_owned": True, "replenish_min_orders": np.iinfo(np.int32).max}
        params |= never_owned | {"repurchase_rate": None, "replenishable_categories": ()}
    model = Recommender(**params).fit(training)
    ours = model.recommend_indices(k, customers).items
    if new_items_only:
        baseline = Recommender(**params | {"cooccurrence_weight": 0.0, "repeat_weight": 0.0})
        popular = baseline.fit(training).recommend_indices(k, customers).items
    else:
        top = np.full(k, -1, dtype=np.int64)
        top[: min(k, baskets.n_items)] = model.popular(k)
        popular = np.ascontiguousarray(np.broadcast_to(top, (customers.size, k)))
    parsed = parse_split(split)
    return Evaluation(
        k=k,
        split=parsed if isinstance(parsed, str) else parsed.isoformat(),
        customers=int(customers.size),
        lifevalue=ranking_metrics(ours, truth),
        popularity=ranking_metrics(popular, truth),
        new_items_only=new_items_only,
        weights=model.weights_,
    )
