"""Benchmark: co-occurrence mining and next-order recommendations on UCI Online Retail.

Reads ``../shared/data/online_retail/online_retail.csv.gz`` with ``read_orders`` (preset
``online_retail``), leaves out cancelled lines, returns and the non-product codes (postage,
carriage, fees, manual lines, samples, bad debt, gift vouchers), then:

1. times the mining: baskets (sparse order × item matrix) from the line items, then every
   two-item rule at the minimum support, median of 3;
2. runs mlxtend's ``apriori`` (``low_memory=True``: its default builds a candidates × orders
   array and takes minutes here; ``--default-apriori`` times it too) + ``association_rules`` on
   the same baskets, in its own virtual environment (``benchmarks/.work/venv-mlxtend``, created
   on first run with ``python3 -m venv`` and ``pip install mlxtend pandas``), median of 3, and
   checks that the support, confidence and lift of its top 100 rules (by support) agree;
3. evaluates next-order products @10 with each customer's last order held out: lifevalue's
   recommender against the popularity baseline (and the two halves of the blend alone); then
   only the products new to each customer (discovery), where co-occurrence does the work.

Usage: ``.venv/bin/python benchmarks/recommend.py [--min-support 0.01] [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lifevalue.io import ReadOptions, read_orders
from lifevalue.recommend import Baskets, PairCounts, Recommender, association_rules, evaluate
from lifevalue.recommend.cooccurrence import orders_table

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
WORK = ROOT / "benchmarks" / ".work"
VENV = WORK / "venv-mlxtend"
#: StockCodes that are not products (see the data set's README).
NON_PRODUCTS = ("POST", "DOT", "M", "m", "C2", "D", "S", "B", "CRUK", "PADS", "AMAZONFEE")
NON_PRODUCT_PREFIXES = ("BANK CHARGES", "DCGS", "gift_0001")

MLXTEND_SCRIPT = r"""
import json, statistics, sys, time
import pandas as pd
from mlxtend.frequent_patterns import apriori, association_rules

min_support, runs, low_memory = float(sys.argv[2]), int(sys.argv[3]), sys.argv[5] == "1"
encode, mine = [], []
for _ in range(runs):
    t = time.perf_counter()
    pairs = pd.read_csv(sys.argv[1], dtype=str)
    onehot = pd.crosstab(pairs["order"], pairs["item"]).astype(bool)
    encode.append(time.perf_counter() - t)
    t = time.perf_counter()
    frequent = apriori(onehot, min_support=min_support, use_colnames=True, max_len=2,
                       low_memory=low_memory)
    rules = association_rules(frequent, metric="support", min_threshold=min_support)
    mine.append(time.perf_counter() - t)
rules = rules[(rules["antecedents"].map(len) == 1) & (rules["consequents"].map(len) == 1)]
out = pd.DataFrame({
    "antecedent": rules["antecedents"].map(lambda s: next(iter(s))),
    "consequent": rules["consequents"].map(lambda s: next(iter(s))),
    "support": rules["support"], "confidence": rules["confidence"], "lift": rules["lift"],
})
out.to_csv(sys.argv[4], index=False)
print(json.dumps({"encode": statistics.median(encode), "mine": statistics.median(mine),
                  "times": mine, "rules": len(out)}))
"""


def ensure_mlxtend() -> Path:
    """The mlxtend venv's python, created on first use."""
    py = VENV / "bin" / "python"
    if py.exists():
        return py
    print("creating the mlxtend venv (python3 -m venv; pip install mlxtend pandas) ...", flush=True)
    WORK.mkdir(parents=True, exist_ok=True)
    python3 = shutil.which("python3") or sys.executable
    subprocess.run([python3, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", "mlxtend", "pandas"], check=True)
    return py


def load() -> tuple[Any, Any, tuple[str, ...]]:
    """The DuckDB connection holding Online Retail's orders, its line items as an Arrow table,
    and the non-product codes in it."""
    ingested = read_orders([DATA], ReadOptions(preset="online_retail"))
    table = orders_table(ingested.con)
    skus = {str(s) for s in table.column("sku").unique().to_pylist() if s is not None}
    exclude = sorted(s for s in skus if s in NON_PRODUCTS or s.startswith(NON_PRODUCT_PREFIXES))
    return ingested.con, table, tuple(exclude)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-support", type=float, default=0.01)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--default-apriori",
        action="store_true",
        help="also time mlxtend's apriori with its default low_memory=False (about 2 minutes)",
    )
    parser.add_argument(
        "--no-mlxtend", action="store_true", help="skip mlxtend (its venv needs pip and a network)"
    )
    args = parser.parse_args()
    if not DATA.exists():
        sys.exit(f"missing {DATA}")

    start = time.perf_counter()
    con, table, exclude = load()
    read_time = time.perf_counter() - start
    print(
        f"read_orders(preset='online_retail'): {read_time:.1f} s; {table.num_rows:,} line "
        f"items; left out the non-product codes {', '.join(exclude)}"
    )

    # 1. mining: baskets from the line items, then the rules
    build, mine = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        baskets = Baskets.from_orders(table, exclude_items=exclude)
        build.append(time.perf_counter() - t)
        t = time.perf_counter()
        pairs = association_rules(baskets, min_support=args.min_support, top_k=None)
        mine.append(time.perf_counter() - t)
    ours_build, ours_mine = statistics.median(build), statistics.median(mine)
    print(
        f"\n{baskets.n_orders:,} orders, {baskets.n_items:,} products, "
        f"{baskets.customers.size:,} customers"
    )
    print(
        f"lifevalue: baskets from the line items {ours_build:.3f} s; all pairs at support "
        f">= {args.min_support:g}: {len(pairs):,} rules in {ours_mine:.3f} s "
        f"(median of {args.runs}); with reading the file "
        f"{read_time + ours_build + ours_mine:.1f} s (under 10 s: "
        f"{read_time + ours_build + ours_mine < 10})"
    )

    # 1b. the item and pair counts straight from DuckDB (what lifevalue report does)
    count, rules = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        counts = PairCounts.from_duckdb(con, exclude_items=exclude)
        count.append(time.perf_counter() - t)
        t = time.perf_counter()
        from_counts = association_rules(counts, min_support=args.min_support, top_k=None)
        rules.append(time.perf_counter() - t)
    print(
        f"lifevalue: item and pair counts from DuckDB (PairCounts.from_duckdb) "
        f"{statistics.median(count):.3f} s, rules {statistics.median(rules):.3f} s (median of "
        f"{args.runs}); same rules as from the baskets: {from_counts.equals(pairs)}"
    )
    if args.no_mlxtend:
        return

    # 2. mlxtend on the same baskets
    py = ensure_mlxtend()
    with tempfile.TemporaryDirectory() as tmp:
        coo = baskets.matrix.tocoo()
        pd.DataFrame({"order": baskets.order_ids[coo.row], "item": baskets.items[coo.col]}).to_csv(
            Path(tmp) / "pairs.csv", index=False
        )
        script = Path(tmp) / "run.py"
        script.write_text(MLXTEND_SCRIPT)

        def run_mlxtend(runs: int, low_memory: bool) -> dict[str, float]:
            result = subprocess.run(
                [
                    str(py),
                    str(script),
                    str(Path(tmp) / "pairs.csv"),
                    str(args.min_support),
                    str(runs),
                    str(Path(tmp) / "rules.csv"),
                    "1" if low_memory else "0",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            info: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
            return info

        info = run_mlxtend(args.runs, low_memory=True)
        theirs = pd.read_csv(Path(tmp) / "rules.csv", dtype={"antecedent": str, "consequent": str})
        slow = run_mlxtend(1, low_memory=False) if args.default_apriori else None
    print(
        f"mlxtend (apriori low_memory=True, its fastest setting here; + association_rules): "
        f"{int(info['rules']):,} rules in {info['mine']:.3f} s; one-hot from the same pairs "
        f"{info['encode']:.3f} s (median of {args.runs})"
    )
    if slow is not None:
        print(f"mlxtend with apriori's default low_memory=False: {slow['mine']:.1f} s (1 run)")
    key = ["antecedent", "consequent"]
    top = theirs.sort_values(["support", *key], ascending=[False, True, True]).head(100)
    merged = top.merge(pairs, on=key, how="left", suffixes=("_mlxtend", ""))
    found = int(merged["support"].notna().sum())
    diffs = {
        m: float(np.nanmax(np.abs(merged[m] - merged[f"{m}_mlxtend"])))
        for m in ("support", "confidence", "lift")
    }
    same_set = set(map(tuple, theirs[key].to_numpy())) == set(map(tuple, pairs[key].to_numpy()))
    print(
        f"top 100 mlxtend rules by support found in lifevalue's: {found}/100; max |difference| "
        f"support {diffs['support']:.1e}, confidence {diffs['confidence']:.1e}, lift "
        f"{diffs['lift']:.1e}; same rule set: {same_set} ({len(theirs):,} vs {len(pairs):,})"
    )
    print(
        f"speed, rules from baskets: lifevalue {info['mine'] / ours_mine:.1f}x faster "
        f"({info['mine']:.3f} s / {ours_mine:.3f} s); from line items (baskets/one-hot + "
        f"rules): {(info['mine'] + info['encode']) / (ours_mine + ours_build):.1f}x"
    )

    # 3. next-order products
    print(f"\nnext-order products @{args.k}, each customer's last order held out:")
    variants = {
        "lifevalue (auto weights)": Recommender(),
        "  repeat 1, co-occurrence 0.1": Recommender(repeat_weight=1.0, cooccurrence_weight=0.1),
        "  repeat purchases only": Recommender(repeat_weight=1.0, cooccurrence_weight=0.0),
        "  co-occurrence only": Recommender(repeat_weight=0.0, cooccurrence_weight=1.0),
    }
    print(f"{'':30s} {'hit rate':>9s} {'precision':>9s} {'recall':>9s} {'MRR':>9s}")
    baseline = None
    for name, model in variants.items():
        t = time.perf_counter()
        ev = evaluate(baskets, k=args.k, recommender=model)
        m = ev.lifevalue
        assert ev.weights is not None
        print(
            f"{name:30s} {m.hit_rate:9.3f} {m.precision:9.3f} {m.recall:9.3f} {m.mrr:9.3f}"
            f"   ({time.perf_counter() - t:.1f} s, {ev.customers:,} customers, weights repeat "
            f"{ev.weights[0]:g} co-occurrence {ev.weights[1]:g})"
        )
        baseline = ev.popularity
    assert baseline is not None
    print(
        f"{'popularity baseline':30s} {baseline.hit_rate:9.3f} {baseline.precision:9.3f} "
        f"{baseline.recall:9.3f} {baseline.mrr:9.3f}"
    )

    print(f"\nonly products new to the customer @{args.k} (discovery; owned items left out):")
    ev = evaluate(baskets, k=args.k, new_items_only=True)
    for name, m in (("lifevalue", ev.lifevalue), ("popularity (not owned)", ev.popularity)):
        print(
            f"{name:30s} {m.hit_rate:9.3f} {m.precision:9.3f} {m.recall:9.3f} {m.mrr:9.3f}"
            f"   ({ev.customers:,} customers)"
        )


if __name__ == "__main__":
    main()
