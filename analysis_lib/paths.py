"""Where analysis_lib reads and writes data.

Two environment variables control it:

``ANALYSIS_LIB_DATA``
    Writable data and cache home (default ``~/analysis_lib_data``): trained weights,
    generated phantoms, downloaded datasets.
``ANALYSIS_LIB_EXTRA_DATA``
    Read-only data roots, separated by :data:`os.pathsep`. Real datasets such as the
    Alice listening data are found here. The project never writes into these folders.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "ANALYSIS_LIB_DATA"
EXTRA_ENV = "ANALYSIS_LIB_EXTRA_DATA"


def data_home(create: bool = False) -> Path:
    """Return the writable data home.

    Parameters
    ----------
    create : bool
        Create the folder when it does not exist.

    Returns
    -------
    pathlib.Path
        ``$ANALYSIS_LIB_DATA`` or ``~/analysis_lib_data``.
    """
    path = Path(os.environ.get(DATA_ENV) or Path.home() / "analysis_lib_data").expanduser()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def extra_roots() -> list[Path]:
    """Return the read-only extra data roots, in search order.

    Empty entries are ignored; entries are returned whether or not they exist, so that
    error messages can name every place that was searched.
    """
    raw = os.environ.get(EXTRA_ENV, "")
    return [Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip()]


def search_roots() -> list[Path]:
    """Return every folder searched for data: the extra roots first, then the data home."""
    return [*extra_roots(), data_home()]


def find_data(relative: str | os.PathLike[str]) -> Path | None:
    """Find ``relative`` under the extra roots or the data home.

    Parameters
    ----------
    relative : str or path-like
        Path relative to a data root, e.g. ``"alice/alice_data_shared"``.

    Returns
    -------
    pathlib.Path or None
        The first existing match, or None when no root holds it.
    """
    for root in search_roots():
        candidate = root / relative
        if candidate.exists():
            return candidate
    return None


def require_data(relative: str | os.PathLike[str], how_to_get: str) -> Path:
    """Like :func:`find_data` but raise a clear error naming every searched place.

    Parameters
    ----------
    relative : path-like
        Path relative to a data root (:func:`search_roots`).
    how_to_get : str
        How to obtain the data, appended to the error message.

    Returns
    -------
    pathlib.Path
        The first existing ``root / relative``.

    Raises
    ------
    FileNotFoundError
        When no root holds ``relative``; the message lists the searched paths and
        ``how_to_get``.
    """
    found = find_data(relative)
    if found is not None:
        return found
    searched = "\n  ".join(str(r / relative) for r in search_roots())
    raise FileNotFoundError(
        f"Could not find {relative!s}. Searched:\n  {searched}\n{how_to_get}\n"
        f"Add the folder that holds it to {EXTRA_ENV} (separated by {os.pathsep!r})."
    )
