"""Acceptance tests of issue "Predict": the model step of `lifevalue analyze`, `predict`, and
`subscriptions`, through the command line on the raw CDNOW transaction file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lifevalue.datasets.cdnow import cdnow_sample_path
from lifevalue.models.pipeline_step import PREDICTED_COLUMNS

Cli = Callable[..., Any]
Writer = Callable[..., Path]

CDNOW = ("--preset", "cdnow", "--calibration-end", "1997-09-30", "--time-unit", "weeks")
# Fader, Hardie & Lee (2005): BG/NBD; Fader, Hardie & Lee (2005, JMR): Gamma-Gamma; Fader & Hardie
# (2005 note) / lifetimes: Pareto/NBD; CDNOW 1/10 sample, 39-week calibration, weeks
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PNBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.fixture(scope="module")
def cdnow_bgnbd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`lifevalue analyze CDNOW_sample.txt ... --model bgnbd` run once for the module."""
    import contextlib
    import io
    import sys

    from lifevalue.cli import main

    out = tmp_path_factory.mktemp("cdnow") / "out"
    argv = ["lifevalue", "analyze", str(cdnow_sample_path()), *CDNOW, "--model", "bgnbd"]
    old = sys.argv
    sys.argv = [*argv, "--out", str(out)]
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                main()
            except SystemExit as exc:  # pragma: no cover - a failure shows in the asserts
                assert not exc.code
    finally:
        sys.argv = old
    return out


def test_cdnow_bgnbd_and_gamma_gamma_through_the_whole_pipeline(cdnow_bgnbd: Path) -> None:
    model = json.loads((cdnow_bgnbd / "model.json").read_text())
    pm, sm = model["purchase_model"], model["spend_model"]
    assert pm["model"] == "bgnbd"
    for name, value in BGNBD.items():
        assert pm["params"][name] == pytest.approx(value, rel=0.01), name
    assert pm["log_likelihood"] == pytest.approx(-9582.4, abs=0.5)
    assert pm["n_customers"] == 2357
    assert set(pm["standard_errors"]) == set(BGNBD)
    assert sm["model"] == "gamma_gamma"
    for name, value in GAMMA_GAMMA.items():
        assert sm["params"][name] == pytest.approx(value, rel=0.01), name
    assert model["time_unit"] == "weeks"
    assert model["version"] == 1
    assert model["prediction"]["horizon"] == 52
    assert model["prediction"]["as_of"] == "1997-09-30"


def test_cdnow_predicted_columns(cdnow_bgnbd: Path) -> None:
    c = pd.read_parquet(cdnow_bgnbd / "customers.parquet")
    start = list(c.columns).index(PREDICTED_COLUMNS[0])  # after the summary, before segments
    assert list(c.columns[start : start + len(PREDICTED_COLUMNS)]) == list(PREDICTED_COLUMNS)
    assert c["predicted_purchases"].notna().all()
    assert ((c["probability_alive"] > 0) & (c["probability_alive"] <= 1)).all()
    # one-time buyers are alive for sure in BG/NBD; their spend is the population mean
    once = c[c["frequency"] == 0]
    assert (once["probability_alive"] == 1).all()
    assert once["predicted_spend"].nunique() == 1
    assert once["predicted_spend"].iloc[0] == pytest.approx(6.25 * 15.44 / 2.74, rel=0.02)
    assert (c["predicted_purchases_low"] <= c["predicted_purchases_high"]).all()
    assert (c["predicted_purchases_low"] == np.floor(c["predicted_purchases_low"])).all()
    # the 52-week CLV of a customer is below the undiscounted purchases x spend
    assert (c["predicted_clv"] <= c["predicted_purchases"] * c["predicted_spend"] + 1e-9).all()
    assert (c["predicted_clv"] > 0.9 * c["predicted_purchases"] * c["predicted_spend"]).all()
    nxt = pd.to_datetime(c["expected_next_order"])
    assert (nxt.dropna() > pd.Timestamp("1997-09-30")).all()
    assert nxt.isna().equals(c["probability_alive"] < 0.05)
    # the best customer buys often and recently: next order within a few weeks
    top = c.sort_values("predicted_clv").iloc[-1]
    assert pd.Timestamp(top["expected_next_order"]) < pd.Timestamp("1997-12-31")


def test_cdnow_holdout_report(cdnow_bgnbd: Path) -> None:
    model = json.loads((cdnow_bgnbd / "model.json").read_text())
    hold = model["holdout"]
    assert hold["length"] == 39
    assert hold["actual"] == 1882  # repeat purchase days after 1997-09-30 (lifetimes: 1882)
    # BG/NBD under-predicts the CDNOW holdout (the published figure: 1,654 predicted)
    assert hold["predicted"] == pytest.approx(1654, rel=0.01)
    assert 0.5 < hold["correlation"] < 1
    assert hold["mae"] < hold["rmse"]
    table = pd.read_csv(cdnow_bgnbd / "holdout.csv", dtype={"calibration_frequency": str})
    assert list(table["calibration_frequency"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == 2357
    assert table["actual_total"].sum() == 1882
    assert [r["calibration_frequency"] for r in hold["by_frequency"]][-1] == "7+"


def test_cdnow_pareto_nbd(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("analyze", cdnow_sample_path(), *CDNOW, "--model", "pnbd", "--out", out)
    assert result.exit_code == 0, result.output
    pm = json.loads((out / "model.json").read_text())["purchase_model"]
    assert pm["model"] == "pnbd"
    for name, value in PNBD.items():
        assert pm["params"][name] == pytest.approx(value, rel=0.01), name
    assert "Holdout" in result.stdout


def _cdnow_lines() -> list[str]:
    return cdnow_sample_path().read_text().splitlines()


def test_auto_chooses_inside_the_calibration_period(cli: Cli, tmp_path: Path) -> None:
    """The choice and its scorecard do not depend on the holdout: change the purchases after
    the calibration end and nothing of the choice changes (only the holdout report does)."""
    lines = _cdnow_lines()
    # CDNOW rows: master id, sample id, date (YYYYMMDD), count, amount; drop every other
    # holdout purchase and add one the next day to the others
    changed: list[str] = []
    for i, line in enumerate(lines):
        day = line.split()[2]
        if day > "19970930":
            if i % 2:
                continue
            changed.append(line.replace(day, str(int(day) + 1) if day[-2:] < "28" else day))
        changed.append(line)
    other = tmp_path / "cdnow_changed.txt"
    other.write_text("\n".join(changed) + "\n")
    runs = []
    for path in (cdnow_sample_path(), other):
        out = tmp_path / path.stem
        result = cli("analyze", path, *CDNOW, "--out", out)
        assert result.exit_code == 0, result.output
        runs.append(json.loads((out / "model.json").read_text()))
    first, second = runs
    assert first["holdout"]["actual"] != second["holdout"]["actual"]
    # equal up to the order of floating-point sums (DuckDB groups rows in any order)
    assert first["selection"] == second["selection"]
    assert len(first["scorecard"]) == len(second["scorecard"])
    for a, b in zip(first["scorecard"], second["scorecard"], strict=True):
        assert a.keys() == b.keys()
        for key, value in a.items():
            if isinstance(value, float):
                assert value == pytest.approx(b[key], rel=1e-9), key
            else:
                assert value == b[key], key
    assert first["purchase_model"]["params"] == pytest.approx(
        second["purchase_model"]["params"], rel=1e-7
    )
    val = first["selection"]["validation"]
    assert val["validation_end"] == "1997-09-30"
    assert "1997-07-01" < val["inner_calibration_end"] < "1997-08-01"
    variants = [r["variant"] for r in first["scorecard"]]
    assert variants == [
        "bgnbd",
        "bgnbd+seasonal",
        "mbgnbd",
        "mbgnbd+seasonal",
        "pnbd",
        "pnbd+seasonal",
    ]
    chosen = [r for r in first["scorecard"] if r["chosen"]]
    assert len(chosen) == 1
    assert chosen[0]["rmse"] == min(r["rmse"] for r in first["scorecard"])
    assert first["selection"]["chosen"] == chosen[0]["variant"]
    assert first["seasonality"]["factors"].keys() >= {"Jan", "Dec"}


def test_no_repeat_buyers_fall_back_with_a_message(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    rows = ["customer_id,order_id,ordered_at,amount"] + [
        f"C{i},{i},2024-0{1 + i % 9}-1{i % 10} 10:00:00,{10 + i}" for i in range(40)
    ]
    out = tmp_path / "out"
    result = cli("analyze", write_file("o.csv", "\n".join(rows) + "\n"), "--out", out)
    assert result.exit_code == 0, result.output
    assert "No purchase model" in result.stdout
    assert "only 0 of 40 customers made a repeat purchase" in result.output
    model = json.loads((out / "model.json").read_text())
    assert model["purchase_model"] is None
    assert model["fallback"]["reason"].startswith("only 0 of 40")
    c = pd.read_parquet(out / "customers.parquet")
    assert c["probability_alive"].isna().all()
    assert c["expected_next_order"].isna().all()
    # orders per year x horizon in years; spend = average order value
    assert c["predicted_purchases"].to_numpy() == pytest.approx(
        c["purchase_frequency_per_year"].to_numpy() * 365 / 365.25
    )
    assert (c["predicted_spend"] == c["average_order_value"]).all()
    ratio = c["predicted_clv"] / (c["predicted_purchases"] * c["predicted_spend"])
    assert ratio.between(0.9, 1.0).all()  # discounted at 10 % a year over one year


def test_model_none_writes_no_model(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli(
        "analyze", cdnow_sample_path(), "--preset", "cdnow", "--model", "none", "--out", out
    )
    assert result.exit_code == 0, result.output
    assert not (out / "model.json").exists()
    assert "predicted_clv" not in pd.read_parquet(out / "customers.parquet").columns


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--model", "lifetimes"), "--model must be one of auto, bgnbd, mbgnbd, pnbd, none"),
        (("--horizon", "-5"), "--horizon must be a positive number"),
        (("--discount-rate", "12"), "--discount-rate is an annual rate"),
        (("--margin", "-1"), "--margin must be >= 0"),
        (("--seasonal", "maybe"), "--seasonal must be auto, yes or no"),
    ],
)
def test_bad_model_options_exit_2(
    cli: Cli, write_file: Writer, args: tuple[str, ...], message: str
) -> None:
    log = "customer_id,order_id,ordered_at,amount\nA,1,2024-01-01,5\n"
    result = cli("analyze", write_file("o.csv", log), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_predict_with_the_saved_model_reproduces_analyze(cli: Cli, tmp_path: Path) -> None:
    fit, scored = tmp_path / "fit", tmp_path / "scored"
    args = ("--preset", "cdnow", "--time-unit", "weeks")
    result = cli("analyze", cdnow_sample_path(), *args, "--seasonal", "yes", "--out", fit)
    assert result.exit_code == 0, result.output
    saved = json.loads((fit / "model.json").read_text())
    assert saved["purchase_model"]["seasonal"]["profile"]["factors"]["Jan"] > 0
    result = cli("predict", cdnow_sample_path(), "--preset", "cdnow", "-m", fit / "model.json",
                 "--out", scored)  # fmt: skip
    assert result.exit_code == 0, result.output
    a = pd.read_parquet(fit / "customers.parquet")
    b = pd.read_parquet(scored / "customers.parquet")
    assert list(a.columns) == list(b.columns)
    for col in PREDICTED_COLUMNS:
        if col == "expected_next_order":
            assert a[col].equals(b[col])
        else:
            np.testing.assert_allclose(b[col], a[col], rtol=1e-12, atol=0, err_msg=col)
    # another horizon: fewer purchases in half a year
    half = tmp_path / "half"
    result = cli("predict", cdnow_sample_path(), "--preset", "cdnow", "-m", fit / "model.json",
                 "--horizon", "26", "--out", half)  # fmt: skip
    assert result.exit_code == 0, result.output
    h = pd.read_parquet(half / "customers.parquet")
    assert (h["predicted_purchases"] <= a["predicted_purchases"]).all()
    assert json.loads((half / "model.json").read_text())["prediction"]["horizon"] == 26


def test_predict_rejects_a_file_that_is_not_a_model(
    cli: Cli, write_file: Writer, tmp_path: Path
) -> None:
    bad = write_file("model.json", '{"hello": 1}')
    result = cli("predict", cdnow_sample_path(), "--preset", "cdnow", "-m", bad)
    assert result.exit_code == 2
    assert "not a lifevalue model.json" in result.stderr


def test_subscriptions_long_and_wide(cli: Cli, write_file: Writer, tmp_path: Path) -> None:
    # Fader & Hardie (2007) "regular" customers: 1000, 631, 468, 382, 326, 289, 262, 241
    regular = [1000, 631, 468, 382, 326, 289, 262, 241]
    wide = "cohort,0,1,2,3,4,5,6,7\nregular," + ",".join(map(str, regular)) + "\n"
    wide += "late,500,320,240,,,,,\n"
    long = (
        "cohort,period,active\n"
        + "".join(f"regular,{t},{n}\n" for t, n in enumerate(regular))
        + "".join(f"late,{t},{n}\n" for t, n in enumerate([500, 320, 240]))
    )
    outputs = []
    for name, text in (("wide.csv", wide), ("long.csv", long)):
        out = tmp_path / f"{name}.projection.csv"
        result = cli("subscriptions", write_file(name, text), "--periods", "5", "--out", out)
        assert result.exit_code == 0, result.output
        assert "sBG fitted on 2 cohorts" in result.stdout
        outputs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    curve = outputs[0]
    late = curve[curve["cohort"] == "late"]
    assert list(late["period"]) == list(range(8))  # observed to 2, projected 5 more
    proj = late["projected_active"].to_numpy()
    assert np.isnan(proj[:3]).all() and (np.diff(proj[3:]) < 0).all() and proj[3] < 240


def test_subscriptions_bad_input_exits_2(cli: Cli, write_file: Writer) -> None:
    result = cli("subscriptions", write_file("c.csv", "cohort,0,1\nA,100,abc\n"))
    assert result.exit_code == 2
    assert "c.csv:2: column '1': 'abc' is not a number" in result.stderr
    result = cli("subscriptions", write_file("d.csv", "cohort,0,1\nA,100,120\n"))
    assert result.exit_code == 2
    assert "must not increase" in result.stderr


def test_help_explains_options_with_examples(cli: Cli) -> None:
    for command, options in (
        ("analyze", ("--model", "--horizon", "--discount-rate", "--margin", "--seasonal")),
        ("predict", ("--model", "--horizon", "--discount-rate", "--margin", "--preset")),
        ("subscriptions", ("--periods", "--out")),
    ):
        result = cli(command, "--help")
        assert result.exit_code == 0
        assert "Examples" in result.stdout
        for option in options:
            assert option in result.stdout
        assert "Example: " in result.stdout
