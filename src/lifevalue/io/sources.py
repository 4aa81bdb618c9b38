"""Finding input files and sniffing what they are: format, compression, text encoding.

The heavy reading is DuckDB's; this module only looks at the first bytes of each file (and, for
text encodings, scans it once in chunks) to decide how DuckDB should read it.
"""

from __future__ import annotations

import codecs
import glob
import gzip
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, cast

from lifevalue.errors import InputError

Format = Literal["csv", "parquet", "jsonl"]
Compression = Literal["none", "gzip", "zstd"]

_CHUNK = 1 << 20
#: Encoding sniffing reads at most this much decompressed text; past it the file is assumed to
#: keep the encoding seen so far.
_SNIFF_LIMIT = 256 << 20


@dataclass(frozen=True)
class Source:
    """One input file and how to read it."""

    path: Path
    format: Format
    compression: Compression

    @property
    def name(self) -> str:
        """The file's path as the user gave it, for messages."""
        return str(self.path)


def expand_paths(paths: Sequence[str | Path]) -> list[Path]:
    """Turn paths and glob patterns into an ordered list of existing files.

    Raises
    ------
    InputError
        When a path does not exist or a pattern matches nothing.
    """
    files: list[Path] = []
    for raw in paths:
        text = str(raw)
        if any(ch in text for ch in "*?["):
            matches = sorted(glob.glob(text, recursive=True))
            matches = [m for m in matches if os.path.isfile(m)]
            if not matches:
                raise InputError("no file matches this pattern", file=text)
            files.extend(Path(m) for m in matches)
            continue
        path = Path(text)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            if not inside:
                raise InputError("the folder holds no files", file=text)
            files.extend(inside)
        elif path.is_file():
            files.append(path)
        else:
            raise InputError("no such file", file=text)
    seen: set[Path] = set()
    unique: list[Path] = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


def _open_raw(path: Path, compression: Compression) -> BinaryIO:
    if compression == "gzip":
        return cast(BinaryIO, gzip.open(path, "rb"))
    if compression == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(open(path, "rb"))
    return open(path, "rb")


def open_decompressed(source: Source) -> BinaryIO:
    """Open a file for reading its decompressed bytes."""
    return _open_raw(source.path, source.compression)


def detect(path: Path) -> Source:
    """Decide a file's format and compression from its name and first bytes.

    Raises
    ------
    InputError
        For an empty file or one that is neither text (CSV/JSON Lines) nor Parquet.
    """
    if path.stat().st_size == 0:
        raise InputError("the file is empty", file=str(path))
    with open(path, "rb") as fh:
        head = fh.read(8)
    compression: Compression = "none"
    if head.startswith(b"\x1f\x8b"):
        compression = "gzip"
    elif head.startswith(b"\x28\xb5\x2f\xfd"):
        compression = "zstd"
    if head.startswith(b"PAR1"):
        return Source(path, "parquet", "none")
    suffixes = [s.lower() for s in path.suffixes]
    core = [s for s in suffixes if s not in (".gz", ".gzip", ".zst", ".zstd")]
    ext = core[-1] if core else ""
    if ext == ".parquet":
        raise InputError("the file is named .parquet but is not a Parquet file", file=str(path))
    fmt: Format = "jsonl" if ext in (".jsonl", ".ndjson", ".json") else "csv"
    with _open_raw(path, compression) as fh:
        try:
            sample = fh.read(64 * 1024)
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot decompress the file ({exc})", file=str(path)) from None
    if not sample.strip():
        raise InputError("the file is empty", file=str(path))
    if b"\x00" in sample and not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(
            "this is not a CSV, JSON Lines or Parquet file (it holds binary data)",
            file=str(path),
            hint="export the orders as CSV, Parquet or JSON Lines",
        )
    return Source(path, fmt, compression)


def _chunks(source: Source, limit: int) -> Iterator[bytes]:
    read = 0
    with open_decompressed(source) as fh:
        while read < limit:
            chunk = fh.read(_CHUNK)
            if not chunk:
                return
            read += len(chunk)
            yield chunk


def sniff_encoding(source: Source) -> str:
    """Return ``utf-8``, ``utf-16``, ``latin-1`` or ``cp1252`` for a text file.

    The file is decoded as UTF-8 in chunks; at the first invalid byte it is taken to be a Windows
    or Latin-1 export: ``cp1252`` when bytes 0x80-0x9F (Windows' curly quotes, euro sign, dashes)
    occur, else ``latin-1``.
    """
    first = next(_chunks(source, _CHUNK), b"")
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    decoder = codecs.getincrementaldecoder("utf-8")()
    high_control = False
    valid = True
    for chunk in _chunks(source, _SNIFF_LIMIT):
        if valid:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                valid = False
        if not valid and any(0x80 <= b <= 0x9F for b in chunk.translate(None, _ASCII_AND_HIGH)):
            high_control = True
            break
    if valid:
        return "utf-8"
    return "cp1252" if high_control else "latin-1"


# bytes outside 0x80-0x9F, deleted before looking for Windows-only bytes
_ASCII_AND_HIGH = bytes(range(0x80)) + bytes(range(0xA0, 0x100))


def transcode_to_utf8(source: Source, encoding: str, workdir: str) -> Path:
    """Write a UTF-8 copy of a text file in another encoding; return its path.

    Used for encodings DuckDB cannot read itself (DuckDB reads UTF-8, UTF-16 and Latin-1).
    Bytes that are undefined in cp1252 fall back to their Latin-1 meaning rather than failing.
    """
    out = Path(tempfile.mkstemp(suffix=".csv", dir=workdir)[1])
    decoder = codecs.getincrementaldecoder(encoding)(errors="lifevalue-latin1")
    with open_decompressed(source) as fh, open(out, "wb") as dst:
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                dst.write(decoder.decode(b"", final=True).encode("utf-8"))
                break
            dst.write(decoder.decode(chunk).encode("utf-8"))
    return out


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    return bytes(bad).decode("latin-1"), exc.end


codecs.register_error("lifevalue-latin1", _latin1_fallback)


def text_head(source: Source, encoding: str, max_bytes: int = 256 * 1024) -> list[str]:
    """The first lines of a text file, decoded (for sniffing headers and layouts)."""
    with open_decompressed(source) as fh:
        raw = fh.read(max_bytes)
    text = raw.decode("utf-8-sig" if encoding == "utf-8" else encoding, errors="lifevalue-latin1")
    return io.StringIO(text).read().splitlines()[:-1] or text.splitlines()
