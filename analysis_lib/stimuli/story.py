"""Spoken-story stimuli: words with onset and offset times on an fMRI acquisition grid.

Readers: Praat TextGrid (word tier, through praatio), the Narratives/Gentle ``align.csv``
and a plain TSV with columns ``word``, ``onset``, ``offset``. Times are seconds on the
stimulus clock. The acquisition grid is ``tr``, ``n_volumes`` and ``t0`` (time of the
first kept volume); the scan window is ``[scan_start, t0 + n_volumes * tr)`` where
``scan_start`` (default ``min(0, t0)``) is when acquisition began, discarded volumes
included. Words whose onset falls outside that window are dropped with a warning.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_path
from .tables import header_index, parse_float, read_rows

#: interval labels that mark silence, not words
SILENCE_LABELS = frozenset({"", "sp", "sil", "spn", "<sil>", "<sp>", "{sl}", "{lg}", "#", "pau"})
#: seconds kept after the last word when n_volumes is not given (lets the HRF return)
DEFAULT_TAIL = 16.0


@dataclass(frozen=True, eq=False)
class StoryStimulus:
    """Words of a spoken story on an acquisition grid.

    Attributes
    ----------
    name : str
        Stimulus name (``"default-story"``, ``"alice"`` or a file stem).
    words : pandas.DataFrame
        Columns ``word`` (str), ``onset`` and ``offset`` (float, s), sorted by onset.
    tr : float
        Repetition time in seconds.
    n_volumes : int
        Number of kept volumes.
    t0 : float
        Time of the first kept volume on the stimulus clock, in seconds.
    source : str
        Where the words came from (a path, or ``"builtin"``).
    """

    name: str
    words: pd.DataFrame
    tr: float
    n_volumes: int
    t0: float = 0.0
    source: str = "builtin"
    kind: str = field(default="story", init=False)

    def __post_init__(self) -> None:
        if not (self.tr > 0 and math.isfinite(self.tr)):
            raise ValueError(
                f"{self.name}: tr must be a positive number of seconds, got {self.tr}"
            )
        if int(self.n_volumes) != self.n_volumes or self.n_volumes < 2:
            raise ValueError(
                f"{self.name}: n_volumes must be an integer >= 2, got {self.n_volumes}"
            )
        if len(self.words) == 0:
            raise ValueError(f"{self.name} ({self.source}): the stimulus has no words")
        missing = {"word", "onset", "offset"} - set(self.words.columns)
        if missing:
            raise ValueError(f"{self.name}: words lacks columns {sorted(missing)}")

    @property
    def volume_times(self) -> np.ndarray:
        """Acquisition times of the kept volumes, ``t0 + tr * arange(n_volumes)`` (s)."""
        return self.t0 + self.tr * np.arange(self.n_volumes)

    @property
    def text(self) -> str:
        """The words joined by single spaces."""
        return " ".join(self.words["word"])

    @property
    def sha256(self) -> str:
        """Digest of the words, their times and the grid (for provenance)."""
        digest = hashlib.sha256()
        digest.update(f"{self.tr!r} {self.n_volumes} {self.t0!r}\n".encode())
        for w, on, off in self.words[["word", "onset", "offset"]].itertuples(index=False):
            digest.update(f"{w}\t{on!r}\t{off!r}\n".encode())
        return digest.hexdigest()

    def to_textgrid(self, path: str | os.PathLike[str], tier: str = "word") -> Path:
        """Write the words as a long-format Praat TextGrid (atomically).

        Gaps between words become empty intervals. Returns the written path.

        Parameters
        ----------
        path : path-like
            Destination ``.TextGrid``.
        tier : str
            Name of the interval tier.

        Returns
        -------
        pathlib.Path
            The written path.
        """
        from praatio import textgrid

        entries = [
            (float(on), float(off), str(w))
            for w, on, off in self.words[["word", "onset", "offset"]].itertuples(index=False)
        ]
        start = min(0.0, entries[0][0])
        end = max(entries[-1][1], float(self.volume_times[-1] + self.tr))
        grid = textgrid.Textgrid()
        grid.addTier(textgrid.IntervalTier(tier, entries, start, end))
        path = Path(path)
        with atomic_path(path) as tmp:
            grid.save(str(tmp), format="long_textgrid", includeBlankSpaces=True)
        return path

    def __repr__(self) -> str:
        return (
            f"StoryStimulus(name={self.name!r}, words={len(self.words)}, tr={self.tr}, "
            f"n_volumes={self.n_volumes}, t0={self.t0})"
        )


def make_story(
    words: pd.DataFrame | Iterable[tuple[str, float, float]],
    *,
    tr: float,
    n_volumes: int | None = None,
    t0: float = 0.0,
    scan_start: float | None = None,
    name: str = "story",
    source: str = "builtin",
) -> StoryStimulus:
    """Build a :class:`StoryStimulus`, dropping (with a warning) words outside the scan.

    Parameters
    ----------
    words : DataFrame or iterable of (word, onset, offset)
        Word table; it is sorted by onset.
    tr, n_volumes, t0
        Acquisition grid. ``n_volumes`` defaults to cover the last word's offset plus
        :data:`DEFAULT_TAIL` seconds.
    scan_start : float, optional
        Start of acquisition (default ``min(0, t0)``).
    name, source : str
        Labels kept on the stimulus and used in messages.

    Returns
    -------
    StoryStimulus
        The words kept, sorted by onset, on the acquisition grid.

    Raises
    ------
    ValueError
        When no word is left, or an offset precedes its onset.
    """
    table = (
        words.copy()
        if isinstance(words, pd.DataFrame)
        else pd.DataFrame(list(words), columns=["word", "onset", "offset"])
    )
    if len(table) == 0:
        raise ValueError(f"{source}: the stimulus has no words")
    table = table[["word", "onset", "offset"]].astype(
        {"word": str, "onset": float, "offset": float}
    )
    bad = np.flatnonzero(table["offset"].to_numpy() < table["onset"].to_numpy())
    if bad.size:
        row = table.iloc[bad[0]]
        raise ValueError(
            f"{source}: word {row['word']!r} ends ({row['offset']}) before it starts "
            f"({row['onset']})"
        )
    table = table.sort_values("onset", kind="stable").reset_index(drop=True)
    tr = float(tr)
    if n_volumes is None:
        n_volumes = math.ceil((table["offset"].iloc[-1] + DEFAULT_TAIL - t0) / tr)
    start = min(0.0, t0) if scan_start is None else float(scan_start)
    end = t0 + n_volumes * tr
    inside = (table["onset"] >= start) & (table["onset"] < end)
    n_out = int((~inside).sum())
    if n_out:
        warnings.warn(
            f"{source}: {n_out} of {len(table)} words lie outside the scan window "
            f"[{start:g}, {end:g}) s and were dropped",
            UserWarning,
            stacklevel=2,
        )
        table = table[inside].reset_index(drop=True)
    if len(table) == 0:
        raise ValueError(f"{source}: no word lies inside the scan window [{start:g}, {end:g}) s")
    return StoryStimulus(name, table, tr, int(n_volumes), float(t0), source)


# --------------------------------------------------------------------------- readers


_NUMBER_KEYS = re.compile(r"^\s*(xmin|xmax|number|size)\s*=\s*(.*?)\s*$")


def _first_bad_textgrid_line(lines: list[str]) -> tuple[int, str] | None:
    """Find the first malformed line of a long-format TextGrid (1-based), if any."""
    if not lines or "ooTextFile" not in lines[0]:
        return (1, 'missing header line File type = "ooTextFile"')
    for number, line in enumerate(lines, start=1):
        match = _NUMBER_KEYS.match(line)
        if match:
            try:
                float(match.group(2))
            except ValueError:
                return (number, f"{match.group(1)} value {match.group(2)!r} is not a number")
        stripped = line.strip()
        if stripped.startswith("text =") and stripped.count('"') % 2:
            return (number, "unbalanced quotes in text")
    return None


_TIER_HEADER = re.compile(r"^\s*item\s*\[(\d+)\]\s*:")
_DECLARED = re.compile(r"^\s*(intervals|points)\s*:\s*size\s*=\s*(\d+)")
_ENTRY = re.compile(r"^\s*(intervals|points)\s*\[(\d+)\]\s*:")
_TIER_COUNT = re.compile(r"^\s*size\s*=\s*(\d+)\s*$")


def _truncation(lines: list[str]) -> str | None:
    """Describe where a long-format TextGrid ends early, or None when it is complete.

    A TextGrid cut short (an interrupted copy or download) can still parse, holding
    fewer intervals than it declares: that would silently drop the end of the story.
    The check compares each tier's declared ``intervals: size`` (or ``points: size``)
    with the entries present and requires the last entry to be complete (``xmin``,
    ``xmax`` and ``text`` for an interval; ``number`` and ``mark`` for a point).

    Returns
    -------
    str or None
        ``"<line>: <what is missing>"`` (the last line of the file), or None.
    """
    if not lines or "ooTextFile" not in lines[0]:
        return None
    n_tiers = None
    tiers: list[dict] = []
    for line in lines:
        key = line.strip().split(" ")[0]
        if n_tiers is None and (m := _TIER_COUNT.match(line)):
            n_tiers = int(m.group(1))
        elif _TIER_HEADER.match(line):
            tiers.append({"declared": None, "entries": 0, "kind": "intervals", "fields": 0})
        elif tiers and (m := _DECLARED.match(line)):
            tiers[-1].update(declared=int(m.group(2)), kind=m.group(1))
        elif tiers and _ENTRY.match(line):
            tiers[-1]["entries"] += 1
            tiers[-1]["fields"] = 0
        elif (
            tiers
            and tiers[-1]["entries"]
            and key in {"xmin", "xmax", "text", "number", "time", "mark"}
        ):
            tiers[-1]["fields"] += 1
    end = f"{len(lines)}: file ends early (truncated?)"
    if n_tiers is None:  # the long format says "size = N" before its tiers
        long_format = any(line.strip().startswith("xmin =") for line in lines)
        return f"{end}: no tier count ('size = N')" if long_format else None
    if len(tiers) < n_tiers:
        return f"{end}: {n_tiers} tiers declared, {len(tiers)} present"
    for number, tier in enumerate(tiers, start=1):
        if tier["declared"] is None:
            return f"{end}: tier {number} has no size line"
        need = 3 if tier["kind"] == "intervals" else 2
        if tier["entries"] < tier["declared"]:
            return (
                f"{end}: tier {number} declares {tier['declared']} {tier['kind']}, "
                f"the file holds {tier['entries']}"
            )
        if tier["entries"] and tier["fields"] < need:
            return f"{end}: the last of the {tier['kind']} of tier {number} is incomplete"
    return None


def _textgrid_line_of_interval(lines: list[str], index: int) -> int | None:
    pattern = re.compile(rf"^\s*intervals\s*\[{index + 1}\]")
    for number, line in enumerate(lines, start=1):
        if pattern.match(line):
            return number
    return None


def read_textgrid(
    path: str | os.PathLike[str], tier: str | None = None, skip: Iterable[str] = SILENCE_LABELS
) -> pd.DataFrame:
    """Read the word intervals of a Praat TextGrid.

    Parameters
    ----------
    path : path-like
        A TextGrid (long or short text format).
    tier : str, optional
        Tier name; default ``"word"``, ``"words"`` or the only interval tier.
    skip : iterable of str
        Labels (case-insensitive, stripped) treated as silence and left out.

    Returns
    -------
    pandas.DataFrame
        Columns ``word``, ``onset``, ``offset``.

    Raises
    ------
    ValueError
        Unparsable file (message names the file and, when found, the line), unknown tier.
    """
    from praatio import textgrid

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        try:
            lines = path.read_text(encoding="utf-16").splitlines()
        except UnicodeError as exc:
            raise ValueError(f"{path}: not a text TextGrid ({exc})") from exc
    truncated = _truncation(lines)
    if truncated:
        raise ValueError(f"{path}:{truncated}")
    try:
        grid = textgrid.openTextgrid(str(path), includeEmptyIntervals=False)
    except Exception as exc:
        bad = _first_bad_textgrid_line(lines)
        where = f"{path}:{bad[0]}: {bad[1]}" if bad else f"{path}: not a readable TextGrid"
        raise ValueError(f"{where} (praatio: {type(exc).__name__}: {exc})") from exc
    interval_tiers = [
        n for n in grid.tierNames if type(grid.getTier(n)).__name__ == "IntervalTier"
    ]
    if tier is None:
        for candidate in ("word", "words"):
            if candidate in interval_tiers:
                tier = candidate
                break
        else:
            if len(interval_tiers) != 1:
                raise ValueError(
                    f"{path}: cannot tell which tier holds words; pass tier= one of "
                    f"{interval_tiers}"
                )
            tier = interval_tiers[0]
    if tier not in interval_tiers:
        raise ValueError(f"{path}: no interval tier {tier!r}; interval tiers: {interval_tiers}")
    skip = {s.strip().lower() for s in skip}
    rows = []
    for i, entry in enumerate(grid.getTier(tier).entries):
        label = entry.label.strip()
        if label.lower() in skip:
            continue
        if not (entry.end >= entry.start):
            line = _textgrid_line_of_interval(lines, i)
            raise ValueError(f"{path}:{line or '?'}: interval {i + 1} ends before it starts")
        rows.append((label, float(entry.start), float(entry.end)))
    return pd.DataFrame(rows, columns=["word", "onset", "offset"])


def read_gentle_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a Narratives/Gentle ``align.csv``.

    Rows are ``word, aligned_word, onset, offset`` without a header (a header row naming
    ``onset`` and ``offset`` is also accepted). Words that Gentle could not align (empty
    onset or offset) are dropped with a warning.
    """
    path = Path(path)
    rows = read_rows(path, ",")
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    cols = {"word": 0, "onset": 2, "offset": 3}
    if any(f.strip().lower() == "onset" for f in rows[0][1]):
        line, header = rows.pop(0)
        cols = header_index(path, line, header, ["word", "onset", "offset"])
    out, unaligned = [], 0
    for line, fields in rows:
        if len(fields) <= max(cols.values()) or not fields[cols["onset"]].strip():
            if len(fields) >= 1 and fields[cols["word"]].strip():
                unaligned += 1
                continue
            raise ValueError(f"{path}:{line}: expected word,aligned,onset,offset; got {fields}")
        onset = parse_float(path, line, "onset", fields[cols["onset"]])
        if not fields[cols["offset"]].strip():
            unaligned += 1
            continue
        offset = parse_float(path, line, "offset", fields[cols["offset"]])
        if offset < onset:
            raise ValueError(f"{path}:{line}: offset {offset} precedes onset {onset}")
        out.append((fields[cols["word"]].strip(), onset, offset))
    if unaligned:
        warnings.warn(
            f"{path}: {unaligned} unaligned words (no onset/offset) were dropped",
            UserWarning,
            stacklevel=2,
        )
    return pd.DataFrame(out, columns=["word", "onset", "offset"])


def read_word_tsv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a TSV with a header holding columns ``word``, ``onset``, ``offset`` (seconds)."""
    path = Path(path)
    rows = read_rows(path, "\t")
    if not rows:
        raise ValueError(f"{path}: the file is empty")
    line, header = rows.pop(0)
    cols = header_index(path, line, header, ["word", "onset", "offset"])
    out = []
    for line, fields in rows:
        if len(fields) != len(header):
            raise ValueError(
                f"{path}:{line}: expected {len(header)} tab-separated fields, got {len(fields)}"
            )
        onset = parse_float(path, line, "onset", fields[cols["onset"]])
        offset = parse_float(path, line, "offset", fields[cols["offset"]])
        if offset < onset:
            raise ValueError(f"{path}:{line}: offset {offset} precedes onset {onset}")
        out.append((fields[cols["word"]].strip(), onset, offset))
    return pd.DataFrame(out, columns=["word", "onset", "offset"])


READERS = {".textgrid": read_textgrid, ".csv": read_gentle_csv, ".tsv": read_word_tsv}


def story_from_file(
    path: str | os.PathLike[str],
    *,
    tr: float,
    n_volumes: int | None = None,
    t0: float = 0.0,
    scan_start: float | None = None,
    name: str | None = None,
    **reader_kwargs,
) -> StoryStimulus:
    """Read a story from a TextGrid, Gentle ``align.csv`` or word TSV (chosen by suffix).

    Parameters
    ----------
    path : path-like
        ``.TextGrid``, ``.csv`` (Gentle ``align.csv``) or ``.tsv`` (word, onset, offset).
    tr, n_volumes, t0, scan_start
        Acquisition grid, as in :func:`make_story`.
    name : str, optional
        Label of the stimulus (default: the file's stem).
    **reader_kwargs
        Passed to the format's reader (e.g. the TextGrid ``tier``).

    Returns
    -------
    StoryStimulus
        The story on its acquisition grid.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ValueError(
            f"{path}: unknown story format {path.suffix!r}; use one of {sorted(READERS)}"
        )
    words = reader(path, **reader_kwargs)
    return make_story(
        words,
        tr=tr,
        n_volumes=n_volumes,
        t0=t0,
        scan_start=scan_start,
        name=name or path.stem,
        source=str(path),
    )
