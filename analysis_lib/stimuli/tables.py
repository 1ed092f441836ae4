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

    Parameters
    ----------
    path : path-like
        The file.
    delimiter : str
        Field separator (``,`` or a tab).

    Returns
    -------
    list of (int, list of str)
        1-based line number and the fields of each non-blank line.

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
    """Parse one finite float, or raise ``ValueError`` naming file, line and column.

    Parameters
    ----------
    path : pathlib.Path
        The file, named in the error.
    line : int
        Line number, named in the error.
    column : str
        Column name, named in the error.
    value : str
        The text to parse.

    Returns
    -------
    float
        The finite number.
    """
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
    """Map required column names to positions in ``header`` or raise naming the missing ones.

    Parameters
    ----------
    path : pathlib.Path
        The file, named in the error.
    line : int
        Line number of the header.
    header : sequence of str
        The header's fields.
    required : sequence of str
        Column names that must be present.

    Returns
    -------
    dict of str to int
        Position of each required column.
    """
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise ValueError(
            f"{path}:{line}: header {header!r} lacks column(s) {missing}; "
            f"expected {list(required)}"
        )
    return {c: names.index(c) for c in required}
