"""The model files do not depend on the order of the log's rows, nor on DuckDB's threads.

Grouped rows come out of DuckDB in an order that depends on the input order and on which thread
did what, and floating-point sums in NumPy depend on that order in their last digits: the fits'
log-likelihoods, the scorecard and the holdout report once differed from run to run
(``"rmse": 1.7261526011066295`` once, ``1.7261526011066293`` the next time, on CDNOW). Every
grouped input of the model step is now taken in sorted order.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from lifevalue.io import ReadOptions
from lifevalue.models.pipeline_step import ModelOptions
from lifevalue.pipeline import AnalysisOptions, run_analysis, write_outputs

SUPERSTORE = Path(__file__).resolve().parent.parent / "data" / "superstore_orders.csv.gz"


def _shuffled_copy(tmp: Path, seed: int) -> Path:
    import gzip

    with gzip.open(SUPERSTORE, "rt", encoding="utf-8") as f:
        header, *rows = f.read().splitlines()
    random.Random(seed).shuffle(rows)
    out = tmp / f"shuffled_{seed}.csv"
    out.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return out


@pytest.mark.parametrize("model", ["auto", "pnbd"])
def test_a_shuffled_log_gives_the_same_model_files(tmp_path: Path, model: str) -> None:
    options = AnalysisOptions(
        calibration_end=date(2017, 6, 30), model=ModelOptions(model=model), segments=False
    )
    outs = []
    for i, path in enumerate(
        [SUPERSTORE, _shuffled_copy(tmp_path, 1), _shuffled_copy(tmp_path, 2)]
    ):
        result = run_analysis([path], ReadOptions(), options)
        out = tmp_path / f"out{i}"
        write_outputs(result, out)
        result.con.close()
        outs.append(out)
    for name in ("model.json", "holdout.csv", "customers.csv"):
        first = (outs[0] / name).read_bytes()
        for other in outs[1:]:
            assert (other / name).read_bytes() == first, name
