"""Audience exports: the customers of a segment as a customer-list CSV for ad platforms.

Normalisation and hashing follow the platforms' documentation:

- **e-mail**: whitespace trimmed, lower-cased (both platforms); values without a single ``@``
  and a dot in the domain are dropped.
- **phone**: parsed with ``phonenumbers`` and formatted as E.164 (``+442079460958``). A number
  without an international prefix is read in the customer's country (the ``country`` column, an
  ISO 3166 code or an English country name) or else in ``default_region``; numbers that are not
  valid for their region are dropped.

  *Google* (Customer Match) hashes the E.164 string **with** the leading ``+``; *Meta* (custom
  audiences) wants digits only with the country code and **no** ``+`` (``442079460958``).
- **hashed** values are the lower-case hex SHA-256 of the UTF-8 normalised string; ``plain``
  writes the normalised values unhashed (the platform then hashes them on upload).

Column headers are those the platforms' upload templates use: ``Email``, ``Phone`` for Google and
``email``, ``phone`` for Meta. One row per customer with at least one usable identifier; identical
rows are written once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import phonenumbers

from lifevalue.errors import ConfigError, InputError
from lifevalue.segments.rfm import RFM_GROUPS

Platform = Literal["google", "meta"]
Format = Literal["hashed", "plain"]
PLATFORMS: Final = ("google", "meta")
FORMATS: Final = ("hashed", "plain")
_HEADERS: Final = {"google": ("Email", "Phone"), "meta": ("email", "phone")}

#: English country names (and a few common aliases) to ISO 3166 alpha-2 region codes.
COUNTRY_REGIONS: Final[dict[str, str]] = {
    "australia": "AU", "austria": "AT", "bahrain": "BH", "belgium": "BE", "brazil": "BR",
    "canada": "CA", "channel islands": "JE", "china": "CN", "cyprus": "CY",
    "czech republic": "CZ", "czechia": "CZ", "denmark": "DK", "eire": "IE", "england": "GB",
    "estonia": "EE", "finland": "FI", "france": "FR", "germany": "DE", "great britain": "GB",
    "greece": "GR", "hong kong": "HK", "hungary": "HU", "iceland": "IS", "india": "IN",
    "ireland": "IE", "israel": "IL", "italy": "IT", "japan": "JP", "latvia": "LV",
    "lebanon": "LB", "lithuania": "LT", "luxembourg": "LU", "malta": "MT", "mexico": "MX",
    "netherlands": "NL", "the netherlands": "NL", "new zealand": "NZ", "northern ireland": "GB",
    "norway": "NO", "poland": "PL", "portugal": "PT", "romania": "RO", "rsa": "ZA",
    "saudi arabia": "SA", "scotland": "GB", "singapore": "SG", "slovakia": "SK",
    "slovenia": "SI", "south africa": "ZA", "south korea": "KR", "korea": "KR", "spain": "ES",
    "sweden": "SE", "switzerland": "CH", "turkey": "TR", "türkiye": "TR", "uae": "AE",
    "united arab emirates": "AE", "uk": "GB", "united kingdom": "GB", "united states": "US",
    "united states of america": "US", "usa": "US", "wales": "GB",
}  # fmt: skip


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_email(raw: object) -> str | None:
    """Trimmed, lower-cased e-mail, or None when it does not look like an address."""
    if not isinstance(raw, str):
        return None
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or "@" in domain or "." not in domain.strip("."):
        return None
    if any(ch.isspace() for ch in email):
        return None
    return email


def country_to_region(country: object) -> str | None:
    """ISO 3166 alpha-2 region of a country code or English name, or None if unknown."""
    if not isinstance(country, str):
        return None
    text = country.strip()
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        return "GB" if code == "UK" else code
    return COUNTRY_REGIONS.get(text.lower())


def normalize_phone(raw: object, region: str | None = None) -> str | None:
    """The phone number in E.164 (``+`` and digits), or None if it is not a valid number.

    Parameters
    ----------
    raw
        The number as typed, e.g. ``"020 7946 0958"`` or ``"+44 20 7946 0958"``.
    region
        ISO 3166 alpha-2 region used to read numbers without an international prefix.
    """
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        raw = str(int(raw)) if raw == raw else None
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def segment_mask(customers: pd.DataFrame, segment: str) -> pd.Series:
    """True for the customers in ``segment``.

    ``rfm:NAME`` selects an RFM group. A plain name is a behavioural segment (the ``segments``
    column), unless no customer has it and it is an RFM group name (``champions``...).

    Raises
    ------
    ConfigError
        The needed column is missing or the name is not an RFM group after ``rfm:``.
    """
    name = segment.strip()
    use_rfm = name.startswith("rfm:")
    if use_rfm:
        name = name[4:]
        if name not in RFM_GROUPS:
            raise ConfigError(
                f"--segment rfm:{name}: not an RFM group; use one of {', '.join(RFM_GROUPS)}"
            )
    if not use_rfm and "segments" in customers.columns:
        padded = ";" + customers["segments"].astype(object).fillna("").astype(str) + ";"
        mask = padded.str.contains(f";{name};", regex=False)
        if mask.any() or name not in RFM_GROUPS:
            return mask.astype(bool)
    if name in RFM_GROUPS:
        if "rfm_group" not in customers.columns:
            raise ConfigError("the customers have no rfm_group column: segment them first")
        return (customers["rfm_group"].astype(object) == name).astype(bool)
    raise ConfigError(
        f"--segment {segment}: the customers have no 'segments' column; segment them first"
    )


@dataclass
class AudienceExport:
    """An audience file's rows and what was kept.

    Attributes
    ----------
    frame
        The rows to upload (headers per platform).
    segment, platform, format
        What was asked for.
    customers
        Customers in the segment.
    emails, phones
        Usable e-mails and phone numbers among them.
    skipped
        Customers in the segment with neither.
    """

    frame: pd.DataFrame
    segment: str
    platform: str
    format: str
    customers: int
    emails: int
    phones: int
    skipped: int

    def write_csv(self, path: str | Path) -> Path:
        """Write the rows as UTF-8 CSV with a header line; returns the path."""
        p = Path(path)
        if p.parent != Path(""):
            p.parent.mkdir(parents=True, exist_ok=True)
        self.frame.to_csv(p, index=False, lineterminator="\n")
        return p


def export_audience(
    customers: pd.DataFrame,
    segment: str,
    *,
    platform: Platform = "google",
    format: Format = "hashed",
    default_region: str | None = None,
    country_column: str = "country",
    email_column: str = "email",
    phone_column: str = "phone",
) -> AudienceExport:
    """The customers of one segment as an ad-platform customer list.

    Parameters
    ----------
    customers
        Customers with segments (from :func:`lifevalue.segments.add_segments`) and ``email``
        and/or ``phone`` columns.
    segment
        A behavioural segment (``at_risk``) or ``rfm:GROUP`` (see :func:`segment_mask`).
    platform
        ``google`` (E.164 with ``+`` before hashing, headers Email/Phone) or ``meta`` (digits
        only, headers email/phone).
    format
        ``hashed`` (SHA-256 hex of the normalised value) or ``plain`` (normalised values).
    default_region
        ISO 3166 alpha-2 region for phone numbers written without an international prefix when
        the customer's country is unknown, e.g. ``GB``.
    country_column, email_column, phone_column
        Where the customer attributes are.

    Returns
    -------
    AudienceExport

    Raises
    ------
    ConfigError
        Unknown platform, format or region, or no e-mail nor phone column.
    """
    if platform not in PLATFORMS:
        raise ConfigError(f"--platform must be one of {', '.join(PLATFORMS)}, got {platform!r}")
    if format not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    if default_region is not None:
        region = country_to_region(default_region)
        if region is None or region not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(
                f"--region {default_region!r}: not a known ISO 3166 country code (e.g. GB, US)"
            )
        default_region = region
    has_email = email_column in customers.columns
    has_phone = phone_column in customers.columns
    if not (has_email or has_phone):
        raise InputError(
            f"the customers have neither an {email_column!r} nor a {phone_column!r} column",
            hint="read orders that carry customer e-mails or phones",
        )
    members = customers.loc[segment_mask(customers, segment).to_numpy()]
    n = len(members)
    emails: list[str | None] = [None] * n
    phones: list[str | None] = [None] * n
    if has_email:
        emails = [normalize_email(e) for e in members[email_column].to_numpy(dtype=object)]
    if has_phone:
        if country_column in members.columns:
            countries = members[country_column].to_numpy(dtype=object)
        else:
            countries = np.full(n, None, dtype=object)
        cache: dict[tuple[object, str | None], str | None] = {}
        raw_phones = members[phone_column].to_numpy(dtype=object)
        for i, (raw, country) in enumerate(zip(raw_phones, countries, strict=True)):
            region = country_to_region(country) or default_region
            key = (raw, region)
            if key not in cache:
                cache[key] = normalize_phone(raw, region)
            phones[i] = cache[key]
        if platform == "meta":
            phones = [p[1:] if p else p for p in phones]
    if format == "hashed":
        emails = [sha256_hex(e) if e else e for e in emails]
        phones = [sha256_hex(p) if p else p for p in phones]
    email_header, phone_header = _HEADERS[platform]
    frame = pd.DataFrame({email_header: emails, phone_header: phones}, dtype=object)
    usable = frame.notna().any(axis=1)
    n_emails = int(frame[email_header].notna().sum())
    n_phones = int(frame[phone_header].notna().sum())
    frame = frame[usable].drop_duplicates(ignore_index=True)
    if not has_email:
        frame = frame.drop(columns=email_header)
    if not has_phone:
        frame = frame.drop(columns=phone_header)
    return AudienceExport(
        frame=frame,
        segment=segment,
        platform=platform,
        format=format,
        customers=n,
        emails=n_emails,
        phones=n_phones,
        skipped=int((~usable).sum()),
    )
