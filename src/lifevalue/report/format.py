"""Number formatting for the report: money, counts, percentages, in plain words."""

from __future__ import annotations

import math

__all__ = ["currency_symbol", "fmt_int", "fmt_money", "fmt_num", "fmt_pct"]

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CNY": "¥"}


def currency_symbol(currency: str | None) -> tuple[str, str]:
    """Prefix and suffix used around money amounts for a currency code (``None``: plain number).

    Parameters
    ----------
    currency
        An ISO 4217 code such as ``"USD"``; unknown codes are written after the number.

    Returns
    -------
    tuple[str, str]
        ``(prefix, suffix)``, e.g. ``("$", "")`` or ``("", " CHF")``.
    """
    if not currency:
        return "", ""
    code = currency.strip().upper()
    if code in _SYMBOLS:
        return _SYMBOLS[code], ""
    return "", f" {code}"


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_num(value: float | None, digits: int = 2) -> str:
    """A number with thousands separators and ``digits`` decimals; an en dash when missing."""
    if _missing(value):
        return "–"
    assert value is not None
    return f"{value:,.{digits}f}"


def fmt_int(value: float | None) -> str:
    """A whole number with thousands separators (``12,345``); an en dash when missing."""
    if _missing(value):
        return "–"
    assert value is not None
    return f"{round(value):,d}"


def fmt_pct(value: float | None, digits: int = 0) -> str:
    """A share given as a fraction (0.47) written as a percentage (``47%``)."""
    if _missing(value):
        return "–"
    assert value is not None
    return f"{value * 100:.{digits}f}%"


def fmt_money(value: float | None, currency: str | None = None, *, compact: bool = False) -> str:
    """A money amount: ``$1,234.50``; ``compact`` writes large amounts as ``$1.2M`` / ``$45.3k``.

    Parameters
    ----------
    value
        Amount in the store currency.
    currency
        ISO code used for the symbol (see :func:`currency_symbol`).
    compact
        Abbreviate amounts of 10,000 and more.
    """
    if _missing(value):
        return "–"
    assert value is not None
    prefix, suffix = currency_symbol(currency)
    sign = "-" if value < 0 else ""
    amount = abs(value)
    if compact and amount >= 10_000:
        for limit, letter in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if amount >= limit:
                text = f"{amount / limit:,.1f}{letter}"
                break
    elif amount >= 1000 or (amount == round(amount) and amount >= 100):
        text = f"{amount:,.0f}"
    else:
        text = f"{amount:,.2f}"
    return f"{sign}{prefix}{text}{suffix}"
