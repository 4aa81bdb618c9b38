"""`lifevalue recommend` on the Online Retail slice in tests/data (60 customers)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd

SLICE = Path(__file__).parents[1] / "data" / "online_retail_slice.csv.gz"


def test_recommend_with_evaluation(cli: Callable[..., object], tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "recommend",
        SLICE,
        "--preset",
        "online_retail",
        "--out",
        out,
        "--evaluate",
        "--min-support",
        "0.02",
        "--k",
        "5",
        "--exclude-item",
        "POST",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    pairs = pd.read_csv(out / "pairs.csv", dtype={"antecedent": str, "consequent": str})
    assert len(pairs) > 0
    assert {"antecedent", "consequent", "support", "confidence", "lift", "count"} <= set(
        pairs.columns
    )
    assert (pairs["support"] >= 0.02).all() and (pairs["lift"] >= 1).all()
    assert "POST" not in set(pairs["antecedent"]) | set(pairs["consequent"])
    recs = pd.read_csv(out / "customer_recommendations.csv", dtype={"sku": str})
    assert recs.groupby("customer_id").size().max() == 5
    assert "POST" not in set(recs["sku"])
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert evaluation["k"] == 5 and evaluation["split"] == "last_order"
    for who in ("lifevalue", "popularity"):
        assert set(evaluation[who]) == {"hit_rate", "precision", "recall", "mrr"}
    assert "popularity" in result.stdout  # type: ignore[attr-defined]
    assert "no product categories" in result.stderr  # type: ignore[attr-defined]


def test_recommend_user_errors(cli: Callable[..., object], tmp_path: Path) -> None:
    args = ("recommend", SLICE, "--preset", "online_retail", "--out", tmp_path)
    bad_split = cli(*args, "--evaluate", "--split", "soon")
    assert bad_split.exit_code == 2 and "--split" in bad_split.stderr  # type: ignore[attr-defined]
    bad_support = cli(*args, "--min-support", "0")
    assert bad_support.exit_code == 2  # type: ignore[attr-defined]
    assert "--min-support" in bad_support.stderr  # type: ignore[attr-defined]
    text = cli("recommend", "--help").stdout  # type: ignore[attr-defined]
    assert "Examples" in text and "lifevalue recommend" in text
