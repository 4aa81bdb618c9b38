"""Where each CSV record starts, found by NumPy over the bytes, against Python's csv module."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lifevalue.io.reader as reader
from lifevalue.io.sources import detect

# fields: plain text, or quoted text holding commas, doubled quotes and newlines
PLAIN = st.text(alphabet="abc xyz019.-", max_size=6)
QUOTED = st.lists(st.sampled_from(["a", " ", ",", '""', "\n", "\r\n", "é"]), max_size=6).map(
    lambda parts: '"' + "".join(parts) + '"'
)
RECORD = st.one_of(
    st.just(""),  # a blank line
    st.lists(st.one_of(PLAIN, QUOTED), min_size=1, max_size=4).map(",".join),
)


def csv_module_starts(path: Path) -> list[int]:
    """First line of each non-blank data record, as Python's csv module reads the file."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        next(rows, None)
        prev, starts = rows.line_num, []
        for rec in rows:
            start, prev = prev + 1, rows.line_num
            if rec:
                starts.append(start)
    return starts


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(RECORD, max_size=12),
    eol=st.sampled_from(["\n", "\r\n"]),
    last=st.sampled_from(["", "\n", "\n\n"]),
    chunk=st.sampled_from([3, 7, 1 << 20]),
)
def test_record_starts_agree_with_the_csv_module(
    tmp_path_factory: pytest.TempPathFactory, records: list[str], eol: str, last: str, chunk: int
) -> None:
    path = tmp_path_factory.mktemp("rec") / "f.csv"
    path.write_bytes((eol.join(["a,b,c", *records]) + last).encode("utf-8"))
    old = reader.RECORD_SCAN_BYTES
    reader.RECORD_SCAN_BYTES = chunk  # small chunks: quotes and CRLFs across their edges
    try:
        found = reader._record_starts(detect(path), set())
    finally:
        reader.RECORD_SCAN_BYTES = old
    assert found is not None
    assert found.tolist() == csv_module_starts(path)


def test_rows_the_parser_rejected_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,"x\ny"\n2,3,4\n\n5,6\n', encoding="utf-8")
    found = reader._record_starts(detect(path), {4})  # line 4 is the row with a third field
    assert found is not None
    assert found.tolist() == [2, 6]


def test_a_file_ending_inside_quotes_is_left_to_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,"open\n2,3\n', encoding="utf-8")
    assert reader._record_starts(detect(path), set()) is None
