"""Line-aware readers of small delimited text tables (TSV, CSV).

Every error names the file and the 1-based line, so that a user can fix the input.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path


def read_rows(path: str | os.PathLike[str], delimiter: str) -> list[tuple[int, list[str]]]:
    """Read a delimited file into ``(line_number, fields)`` pairs, skipping blank lines.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is not text or has an unterminated quote (message names file and line).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text table ({exc})") from exc
    rows = []
    reader = csv.reader(text.splitlines(), delimiter=delimiter, strict=True)
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((reader.line_num, fields))
    except csv.Error as exc:
        raise ValueError(f"{path}:{reader.line_num}: cannot parse ({exc})") from exc
    return rows


def parse_float(path: Path, line: int, column: str, value: str) -> float:
    """Parse one finite float, or raise ``ValueError`` naming file, line and column."""
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{path}:{line}: {column} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{path}:{line}: {column} {value!r} is not finite")
    return number


def header_index(
    path: Path, line: int, header: Sequence[str], required: Sequence[str]
) -> dict[str, int]:
    """Map required column names to positions in ``header`` or raise naming the missing ones."""
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ValueError(
            f"{path}:{line}: header {header!r} lacks column(s) {missing}; "
            f"expected {list(required)}"
        )
    return {c: names.index(c) for c in required}
