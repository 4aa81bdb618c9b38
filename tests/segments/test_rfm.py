"""RFM scores and the named-group grid, pinned cell by cell on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lifevalue.errors import InputError
from lifevalue.segments.rfm import (
    RFM_GROUPS,
    add_rfm,
    quantile_scores,
    rfm_groups,
    rfm_scores,
)

# The grid of the module docstring, restated here: group -> cells (R, FM) with FM = (F + M) // 2.
EXPECTED_CELLS = {
    "champions": [(5, 4), (5, 5), (4, 5)],
    "loyal": [(4, 4), (3, 4), (3, 5)],
    "potential_loyalist": [(5, 2), (5, 3), (4, 2), (4, 3)],
    "new": [(5, 1)],
    "promising": [(4, 1)],
    "need_attention": [(3, 3)],
    "about_to_sleep": [(3, 1), (3, 2)],
    "at_risk": [(2, 3), (2, 4), (1, 3)],
    "cant_lose_them": [(2, 5), (1, 4), (1, 5)],
    "hibernating": [(2, 1), (2, 2)],
    "lost": [(1, 1), (1, 2)],
}


def test_grid_is_total_and_each_cell_has_one_group() -> None:
    cells = [cell for group_cells in EXPECTED_CELLS.values() for cell in group_cells]
    assert sorted(cells) == [(r, fm) for r in range(1, 6) for fm in range(1, 6)]
    assert set(EXPECTED_CELLS) == set(RFM_GROUPS)
    assert len(RFM_GROUPS) == 11


@pytest.mark.parametrize(("group", "cells"), EXPECTED_CELLS.items())
def test_each_group_rule(group: str, cells: list[tuple[int, int]]) -> None:
    for r, fm in cells:
        # every (F, M) pair with (F + M) // 2 == fm lands in the group
        pairs = [(f, m) for f in range(1, 6) for m in range(1, 6) if (f + m) // 2 == fm]
        assert pairs
        f = [p[0] for p in pairs]
        m = [p[1] for p in pairs]
        got = rfm_groups([r] * len(pairs), f, m)
        assert list(got) == [group] * len(pairs), (r, fm)


def test_all_125_score_triples_get_exactly_one_group() -> None:
    r, f, m = np.meshgrid(np.arange(1, 6), np.arange(1, 6), np.arange(1, 6), indexing="ij")
    got = rfm_groups(r.ravel(), f.ravel(), m.ravel())
    assert got.isna().sum() == 0
    assert set(got) == set(RFM_GROUPS)


def test_scores_out_of_range_rejected() -> None:
    with pytest.raises(ValueError):
        rfm_groups([0], [1], [1])


def test_quintiles_of_distinct_values() -> None:
    values = np.arange(10.0)  # two customers per fifth
    assert quantile_scores(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # smaller is better for recency
    reverse = quantile_scores(values, higher_is_better=False).tolist()
    assert reverse == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_get_equal_scores_whatever_the_order() -> None:
    # 6 of 10 customers with one order: 0 strictly worse -> 1; two orders: 6 worse -> 1+3 = 4
    values = np.array([1, 1, 2, 1, 1, 3, 1, 2, 1, 5], dtype=float)
    scores = quantile_scores(values)
    assert scores.tolist() == [1, 1, 4, 1, 1, 5, 1, 4, 1, 5]
    perm = np.random.default_rng(3).permutation(values.size)
    assert quantile_scores(values[perm]).tolist() == scores[perm].tolist()


def test_missing_value_scores_worst() -> None:
    assert quantile_scores([np.nan, 1.0, 2.0, 3.0, 4.0]).tolist()[0] == 1
    assert quantile_scores([np.nan, 1.0, 2.0, 3.0, 4.0], higher_is_better=False).tolist()[0] == 1


def _scores_by_definition(x: np.ndarray, higher_is_better: bool, bins: int = 5) -> list[int]:
    """1 + floor(bins x share strictly worse), NaN the worst, by brute force."""
    worst = -np.inf if higher_is_better else np.inf
    v = np.where(np.isnan(x), worst, x)
    worse = (v[:, None] > v[None, :]) if higher_is_better else (v[:, None] < v[None, :])
    return (1 + worse.sum(1) * bins // len(v)).tolist()


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_quantile_scores_against_brute_force(higher_is_better: bool) -> None:
    rng = np.random.default_rng(0)
    for size in (1, 2, 3, 4, 5, 6, 9, 10, 11, 37, 300):
        for x in (
            rng.integers(0, 9, size).astype(float),  # heavy ties, counted
            rng.random(size).round(2),  # doubles, by quantile
            np.where(rng.random(size) < 0.3, np.nan, rng.integers(0, 4, size)),  # missing
            np.full(size, np.nan),
        ):
            got = quantile_scores(x, higher_is_better=higher_is_better).tolist()
            assert got == _scores_by_definition(x, higher_is_better), (size, x)
    x = rng.integers(0, 50, 200).astype(float)
    assert quantile_scores(x, bins=3).tolist() == _scores_by_definition(x, True, bins=3)


def test_wide_integers_and_empty_input() -> None:
    x = np.array([0, 10**12, 5, 10**12, -(10**9), 7], dtype=float)  # a range too wide to count
    assert quantile_scores(x).tolist() == _scores_by_definition(x, True)
    assert quantile_scores(np.array([])).tolist() == []


def _customers() -> pd.DataFrame:
    # five customers, each best in a different way; distinct values -> scores 1..5 exactly
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "days_since_last_order": [3, 400, 30, 200, 90],
            "orders": [9, 8, 1, 2, 4],
            "total_spend": [900.0, 1200.0, 20.0, 60.0, 300.0],
        }
    )


def test_add_rfm_end_to_end() -> None:
    out = add_rfm(_customers())
    assert out["r_score"].tolist() == [5, 1, 4, 2, 3]
    assert out["f_score"].tolist() == [5, 4, 1, 2, 3]
    assert out["m_score"].tolist() == [4, 5, 1, 2, 3]
    # a: R5 FM4 champions; b: R1 FM4 cant_lose_them; c: R4 FM1 promising;
    # d: R2 FM2 hibernating; e: R3 FM3 need_attention
    assert list(out["rfm_group"]) == [
        "champions",
        "cant_lose_them",
        "promising",
        "hibernating",
        "need_attention",
    ]
    assert "rfm_group" not in _customers().columns  # input untouched


def test_other_columns_and_missing_column() -> None:
    df = _customers().rename(columns={"total_spend": "spend_12m"})
    scores = rfm_scores(df, monetary="spend_12m")
    assert scores["m_score"].tolist() == [4, 5, 1, 2, 3]
    with pytest.raises(InputError, match="total_spend"):
        rfm_scores(df)


def test_one_million_customers_fast() -> None:
    import time

    rng = np.random.default_rng(1)
    n = 1_000_000
    df = pd.DataFrame(
        {
            "days_since_last_order": rng.integers(0, 700, n),
            "orders": rng.geometric(0.4, n),
            "total_spend": rng.gamma(2.0, 60.0, n),
        }
    )
    start = time.perf_counter()
    out = add_rfm(df)
    elapsed = time.perf_counter() - start
    assert out["rfm_group"].notna().all()
    assert elapsed < 1.5  # typically ~0.25 s; generous for slow CI machines
