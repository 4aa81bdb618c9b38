"""Audience exports: normalisation and hashing checked against vectors computed in the test."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from lifevalue.errors import ConfigError, InputError
from lifevalue.segments.audience import (
    country_to_region,
    export_audience,
    normalize_email,
    normalize_phone,
    segment_mask,
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_email_normalisation() -> None:
    assert normalize_email("  Test@Example.COM ") == "test@example.com"
    assert normalize_email("test@example.com") == "test@example.com"
    for bad in (
        "",
        "   ",
        "no-at-sign",
        "a@b",
        "@example.com",
        "a@@example.com",
        "a b@x.com",
        None,
    ):
        assert normalize_email(bad) is None


def test_known_sha256_vector() -> None:
    # published SHA-256 of "test@example.com", written out so a change of hashing is caught
    assert sha("test@example.com") == (
        "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    )


def test_phone_normalisation() -> None:
    assert normalize_phone("+44 20 7946 0958") == "+442079460958"
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    assert normalize_phone("(020) 7946-0958", "GB") == "+442079460958"
    assert normalize_phone("020 7946 0958") is None  # no region, no international prefix
    assert normalize_phone("+44 20 7946 0958", "US") == "+442079460958"  # prefix wins
    assert normalize_phone("(650) 253-0000", "US") == "+16502530000"
    assert normalize_phone("12", "GB") is None
    assert normalize_phone("call me", "GB") is None
    assert normalize_phone(None, "GB") is None


def test_country_to_region() -> None:
    assert country_to_region("United Kingdom") == "GB"
    assert country_to_region("EIRE") == "IE"
    assert country_to_region("gb") == "GB"
    assert country_to_region("UK") == "GB"
    assert country_to_region("Unspecified") is None
    assert country_to_region(None) is None


def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "email": ["  Test@Example.COM ", "x@shop.co.uk", None, "broken", "x@shop.co.uk", None],
            "phone": ["020 7946 0958", None, "+44 20 7946 0958", "020 7946 0959", None, "bad"],
            "country": ["United Kingdom", "France", None, "Unspecified", "GB", None],
            "segments": ["at_risk", "at_risk;vip", "at_risk", "at_risk", "at_risk", "at_risk"],
            "rfm_group": ["lost", "champions", "lost", "lost", "at_risk", "lost"],
        }
    )


def test_google_hashed() -> None:
    out = export_audience(customers(), "at_risk", platform="google", format="hashed")
    rows = out.frame.to_dict("records")
    e164 = "+442079460958"
    assert list(out.frame.columns) == ["Email", "Phone"]
    assert rows == [
        {"Email": sha("test@example.com"), "Phone": sha(e164)},  # region from country
        {"Email": sha("x@shop.co.uk"), "Phone": None},  # b and e give the same row
        {"Email": None, "Phone": sha(e164)},  # international prefix, no country
    ]
    # d: e-mail broken, phone without a usable region; f: nothing usable
    assert (out.customers, out.emails, out.phones, out.skipped) == (6, 3, 2, 2)


def test_meta_hashes_digits_without_plus_and_uses_default_region() -> None:
    out = export_audience(customers(), "at_risk", platform="meta", default_region="GB")
    assert list(out.frame.columns) == ["email", "phone"]
    phones = set(out.frame["phone"].dropna())
    assert phones == {sha("442079460958"), sha("442079460959")}  # d read in GB now
    assert sha("+442079460958") not in phones


def test_plain_format() -> None:
    out = export_audience(customers(), "at_risk", platform="google", format="plain")
    assert out.frame.iloc[0].tolist() == ["test@example.com", "+442079460958"]
    out = export_audience(customers(), "at_risk", platform="meta", format="plain")
    assert out.frame.iloc[0].tolist() == ["test@example.com", "442079460958"]


def test_segment_selection() -> None:
    df = customers()
    assert segment_mask(df, "vip").tolist() == [False, True, False, False, False, False]
    # a plain RFM group name nobody has as a behavioural segment selects the RFM group
    assert segment_mask(df, "champions").tolist() == [False, True, False, False, False, False]
    # at_risk is both: plain means behavioural, rfm: means the RFM group
    assert segment_mask(df, "at_risk").all()
    assert segment_mask(df, "rfm:at_risk").tolist() == [False, False, False, False, True, False]
    assert not segment_mask(df, "no_such_segment").any()
    with pytest.raises(ConfigError, match="not an RFM group"):
        segment_mask(df, "rfm:vip")


def test_errors() -> None:
    with pytest.raises(ConfigError, match="--platform"):
        export_audience(customers(), "vip", platform="tiktok")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="--format"):
        export_audience(customers(), "vip", format="md5")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="--region"):
        export_audience(customers(), "vip", default_region="Atlantis")
    with pytest.raises(InputError, match="neither"):
        export_audience(customers().drop(columns=["email", "phone"]), "vip")


def test_write_csv(tmp_path: Path) -> None:
    out = export_audience(customers(), "vip", platform="google")
    path = out.write_csv(tmp_path / "sub" / "vip.csv")
    assert path.read_text().splitlines() == ["Email,Phone", sha("x@shop.co.uk") + ","]
