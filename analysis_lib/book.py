"""Helpers for the book's chapters: pages that need real data build without them.

A chapter that reads a real dataset calls :func:`require_data` in its first code cell::

    # %% tags=["remove-input"]
    from analysis_lib.book import require_data

    require_data("alice")  # without the data: a box, and the page's later cells are skipped

When the data are found (an extra data root or the data home), it returns True and
does nothing else. When they are missing, it

- shows a warning box on the page saying which data are missing, where they were
  searched, and the one command that fetches them
  (``python -m analysis_lib fetch alice``);
- skips every later code cell of the page (an IPython input transformer turns them into
  no-ops), so the page builds instead of failing at the first read; pass
  ``skip_rest=False`` to handle it in the chapter instead;
- returns False.

The book's Sphinx extension (``book/_ext/analysis_lib_book.py``) finds these boxes,
lists the chapters built without their data at the end of the build log, and
re-executes them once the data are present (their cached outputs are dropped).
"""

from __future__ import annotations

import html
import sys

__all__ = ["MARKER", "missing_box", "require_data"]

#: HTML attribute that marks a missing-data box (the book extension looks for it).
MARKER = "data-analysis-lib-missing-data"


def _skip_cell(lines: list[str]) -> list[str]:
    """IPython input transformer: a chapter without its data runs no further code."""
    return []


def _set_skipping(on: bool) -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return
    shell = get_ipython()
    if shell is None:
        return
    transformers = shell.input_transformers_cleanup
    while _skip_cell in transformers:
        transformers.remove(_skip_cell)
    if on:
        transformers.append(_skip_cell)


def missing_box(name: str, missing: list[str]) -> dict[str, str]:
    """The mime bundle of the box shown when a dataset is missing.

    Parameters
    ----------
    name : {"alice", "partly-cloudy"}
    missing : list of str
        Paths (relative to a data root) that were not found.

    Returns
    -------
    dict
        ``text/html`` (an admonition carrying :data:`MARKER`) and ``text/plain``.
    """
    from .datasets.fetch import SOURCES, fetch_command
    from .paths import EXTRA_ENV, search_roots

    source = SOURCES[name]
    command = fetch_command(name)
    roots = ", ".join(str(r) for r in search_roots())
    title = f"Data not available: {name}"
    lines = [
        f"This chapter reads real data, the {source.description}, which are not on this "
        f"machine: no data root searched ({roots}) holds its folder {source.local} in full "
        f"(missing e.g. {missing[0]}).",
        f"Fetch them (public, checked against pinned hashes) with: {command}",
        "then build the book again (make book). The rest of this page was not executed; "
        f"data kept elsewhere can be added to {EXTRA_ENV}.",
    ]
    esc = html.escape
    body = (
        f'<div class="admonition warning" {MARKER}="{esc(name)}">'
        f'<p class="admonition-title">{esc(title)}</p>'
        f"<p>{esc(lines[0])}</p>"
        f"<p>Fetch them (public, checked against pinned hashes) with:</p>"
        f'<div class="highlight"><pre>{esc(command)}</pre></div>'
        f"<p>{esc(lines[2])}</p></div>"
    )
    return {"text/html": body, "text/plain": "\n".join([title, *lines])}


def require_data(name: str, *, skip_rest: bool = True) -> bool:
    """Check that a chapter's real dataset is present; show how to get it if not.

    Parameters
    ----------
    name : {"alice", "partly-cloudy"}
        Dataset the chapter reads (see :mod:`analysis_lib.datasets.fetch`).
    skip_rest : bool
        When the data are missing and this runs in IPython, skip the page's later code
        cells (they would fail on the first read).

    Returns
    -------
    bool
        True when the data are found (run the chapter), False when they are missing.

    Raises
    ------
    ValueError
        When ``name`` is not a fetchable dataset.
    """
    from .datasets.fetch import missing

    absent = missing(name)
    if not absent:
        _set_skipping(False)
        return True
    bundle = missing_box(name, absent)
    shell = None
    try:
        from IPython import get_ipython
        from IPython.display import display

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        pass
    if shell is not None:
        display(bundle, raw=True)
    else:
        print(bundle["text/plain"], file=sys.stderr)
    if skip_rest:
        _set_skipping(True)
    return False
