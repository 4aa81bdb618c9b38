"""Make the small Online Retail slices in this folder from the full UCI files (not run by tests).

Usage, from the repository root::

    .venv/bin/python tests/data/make_slices.py [DATA_DIR]

``DATA_DIR`` defaults to ``../shared/data`` (the folder holding ``online_retail/`` and
``online_retail_ii/``). The output is deterministic (fixed choices, gzip mtime 0):

``online_retail_slice.csv.gz``
    From ``online_retail/online_retail.csv.gz`` (UCI "Online Retail", 2010-12 to 2011-12): every
    row of 60 customers, plus 40 rows without a CustomerID. Written like the original: Latin-1,
    CRLF line endings, minimal quoting, the original header and ``M/D/YYYY H:MM`` dates.
``online_retail_ii_slice.csv.gz``
    From ``online_retail_ii/online_retail_II_2009_2010.csv.gz`` (UCI "Online Retail II", sheet
    2009-2010): the same selection rules; UTF-8, LF line endings, ISO dates, columns ``Invoice``,
    ``Price``, ``Customer ID``.

How the 60 customers are chosen (among customers with 2 to 60 rows, by ascending id):

* 12 customers with a cancellation invoice (``C`` prefix) and a purchase;
* 2 customers with cancellations only (they have rows, but no purchase);
* 8 customers with exact duplicate rows;
* the rest (38) taken at an even stride over the remaining customers.

The 40 rows without a customer are: the first 25 such rows of the file, 5 with a negative
quantity (stock adjustments), 5 gift-voucher rows whose description holds a pound sign, and the
first 5 of the ``A`` (bad-debt) rows, or further rows without a customer when there are fewer.
Rows keep the order they have in the source file.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
N_CUSTOMERS = 60
N_NO_CUSTOMER = 40


def _read(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    with gzip.open(path, "rt", encoding=encoding, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _select(header: list[str], data: list[list[str]]) -> list[int]:
    """Indices (into ``data``) of the rows of the slice, in file order."""
    inv = header.index("InvoiceNo") if "InvoiceNo" in header else header.index("Invoice")
    cust = header.index("CustomerID") if "CustomerID" in header else header.index("Customer ID")
    qty = header.index("Quantity")
    desc = header.index("Description")
    by_customer: dict[str, list[int]] = defaultdict(list)
    no_customer: list[int] = []
    for i, row in enumerate(data):
        if row[cust].strip():
            by_customer[row[cust]].append(i)
        else:
            no_customer.append(i)

    candidates = sorted(c for c, idx in by_customer.items() if 2 <= len(idx) <= 60)

    def has_cancel(c: str) -> bool:
        return any(data[i][inv].startswith("C") for i in by_customer[c])

    def only_cancel(c: str) -> bool:
        return all(data[i][inv].startswith("C") for i in by_customer[c])

    def has_dup(c: str) -> bool:
        counts = Counter(tuple(data[i]) for i in by_customer[c])
        return any(n > 1 for n in counts.values())

    chosen: list[str] = []
    chosen += [c for c in candidates if has_cancel(c) and not only_cancel(c)][:12]
    chosen += [c for c in candidates if only_cancel(c) and c not in chosen][:2]
    chosen += [c for c in candidates if has_dup(c) and c not in chosen][:8]
    rest = [c for c in candidates if c not in chosen]
    need = N_CUSTOMERS - len(chosen)
    step = max(1, len(rest) // need)
    chosen += rest[::step][:need]

    extra: list[int] = list(no_customer[:25])
    pools = (
        [i for i in no_customer if data[i][qty].startswith("-")],
        [i for i in no_customer if "£" in data[i][desc]],
        [i for i in no_customer if data[i][inv].startswith("A")],
    )
    for pool in pools:
        extra += [i for i in pool if i not in extra][:5]
    extra += [i for i in no_customer if i not in extra][: max(0, N_NO_CUSTOMER - len(extra))]

    picked = {i for c in chosen for i in by_customer[c]} | set(extra)
    return sorted(picked)


def _write(path: Path, header: list[str], rows: list[list[str]], encoding: str, eol: str) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator=eol)
    writer.writerow(header)
    writer.writerows(rows)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(text.getvalue().encode(encoding))


def main(data_dir: Path) -> None:
    """Write both slices next to this script."""
    jobs = (
        (
            data_dir / "online_retail" / "online_retail.csv.gz",
            HERE / "online_retail_slice.csv.gz",
            "latin-1",
            "\r\n",
        ),
        (
            data_dir / "online_retail_ii" / "online_retail_II_2009_2010.csv.gz",
            HERE / "online_retail_ii_slice.csv.gz",
            "utf-8",
            "\n",
        ),
    )
    for source, target, encoding, eol in jobs:
        header, data = _read(source, encoding)
        idx = _select(header, data)
        _write(target, header, [data[i] for i in idx], encoding, eol)
        print(f"{target.name}: {len(idx)} rows from {source}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data")
