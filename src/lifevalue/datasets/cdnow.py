"""The CDNOW data set of Fader, Hardie & Lee (2005), bundled as package data.

The files are those shipped by ``lifetimes`` 0.11.3 (see ``data/cdnow/README.md``): the full
cohort of 23,570 customers (``CDNOW_master.txt``), the 1-in-10 sample of 2,357 customers used in
the papers (``CDNOW_sample.txt``) and that sample summarised over the 39-week calibration period.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd

__all__ = ["cdnow_master_path", "cdnow_sample_path", "load_cdnow_summary"]

_PACKAGE = "lifevalue.datasets"


def _data_file(name: str) -> Path:
    """Filesystem path of a bundled CDNOW file (the package is installed unzipped)."""
    traversable = resources.files(_PACKAGE).joinpath("data").joinpath("cdnow").joinpath(name)
    path = Path(str(traversable))
    if not path.is_file():  # pragma: no cover - only in a broken installation
        raise FileNotFoundError(f"bundled data file missing: {path}")
    return path


def cdnow_sample_path() -> Path:
    """Path of ``CDNOW_sample.txt``, the 2,357-customer sample used in the BG/NBD paper.

    Returns
    -------
    pathlib.Path
        Whitespace-separated text, no header, five columns: master customer id, sample customer
        id (``0001``-``2357``), purchase date ``YYYYMMDD``, number of CDs, amount (US dollars).
        6,919 records from 1997-01-01 to 1998-06-30.
    """
    return _data_file("CDNOW_sample.txt")


def cdnow_master_path() -> Path:
    """Path of ``CDNOW_master.txt``, every purchase of the 23,570-customer cohort.

    Returns
    -------
    pathlib.Path
        Whitespace-separated text with the header ``customer_id date number_of_cds
        dollar_value``; dates ``YYYYMMDD``, amounts in US dollars. 69,659 records from
        1997-01-01 to 1998-06-30.
    """
    return _data_file("CDNOW_master.txt")


def load_cdnow_summary(with_transactions: bool = False) -> pd.DataFrame:
    """The CDNOW sample summarised over the 39-week calibration period, one row per customer.

    Parameters
    ----------
    with_transactions
        Also return ``zbar``, the mean spend per repeat purchase day (US dollars; 0 for customers
        without a repeat purchase), for spend models such as Gamma-Gamma.

    Returns
    -------
    pandas.DataFrame
        2,357 rows with columns ``ID`` (sample customer id, 1-2357), ``frequency`` (repeat
        purchase days in calibration), ``recency`` (weeks from first to last calibration
        purchase) and ``T`` (weeks from first purchase to 1997-09-30), plus ``zbar`` (dollars)
        when ``with_transactions`` is true.
    """
    if not with_transactions:
        return pd.read_csv(_data_file("cdnow_customers_summary.csv"))
    frame = pd.read_csv(_data_file("cdnow_customers_summary_with_transactions.csv"))
    return frame.rename(columns={"x": "frequency", "t_x": "recency"})
