"""Execute parameterized notebooks with papermill.

Notebooks live in ``notebooks/`` as py:percent text files (jupytext). Each has one
cell tagged ``parameters``. :func:`execute_notebook` reads the text file with jupytext
into a :class:`nbformat.NotebookNode`, hands it to papermill, which injects the given
parameters after the ``parameters`` cell, executes it and writes the executed
``.ipynb`` atomically.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .io import atomic_path

PARAMETERS_TAG = "parameters"


def read_notebook(path: str | os.PathLike[str]):
    """Read a py:percent (or ``.ipynb``) notebook into a NotebookNode.

    Raises
    ------
    FileNotFoundError
        When ``path`` does not exist.
    ValueError
        When the notebook has no cell tagged ``parameters``.
    """
    import jupytext

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such notebook")
    nb = jupytext.read(path, fmt="py:percent" if path.suffix == ".py" else None)
    for cell in nb.cells:  # papermill expects every cell to carry a tags list
        cell.metadata.setdefault("tags", [])
    tagged = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(
            f"{path}: needs exactly one cell tagged {PARAMETERS_TAG!r}, found {len(tagged)}"
        )
    nb.metadata.setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"}
    )
    return nb


def notebook_parameters(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Return the default parameters declared in a notebook's ``parameters`` cell.

    Raises
    ------
    ValueError
        When papermill cannot read a name the cell assigns (its parser skips such lines
        with a log message only, e.g. some comments with parentheses, so the parameter
        would be silently ignored); the message names the file and the line.
    """
    import ast

    from papermill.inspection import _infer_parameters

    nb = read_notebook(path)
    found = {p.name: p.default for p in _infer_parameters(nb)}
    cell = next(c for c in nb.cells if PARAMETERS_TAG in c.metadata.get("tags", []))
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise ValueError(f"{path}: the parameters cell is not valid Python ({exc})") from exc
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            if isinstance(target, ast.Name) and target.id not in found:
                line = cell.source.splitlines()[node.lineno - 1]
                raise ValueError(
                    f"{path}: papermill cannot parse line {node.lineno} of the parameters "
                    f"cell ({line.strip()!r}); simplify its comment or value"
                )
    return found


def execute_notebook(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    parameters: Mapping[str, Any] | None = None,
    *,
    kernel_name: str = "python3",
    cwd: str | os.PathLike[str] | None = None,
    progress_bar: bool = True,
    timeout: int | None = 1800,
    title_suffix: str | None = None,
) -> Path:
    """Execute a notebook with papermill and write the executed ``.ipynb`` atomically.

    Parameters
    ----------
    path : path-like
        py:percent (``.py``) or ``.ipynb`` notebook with a ``parameters`` cell.
    output : path-like
        Where the executed notebook is written (``.ipynb``).
    parameters : mapping, optional
        Values injected after the ``parameters`` cell. Unknown names raise.
    kernel_name : str
        Jupyter kernel to run.
    cwd : path-like, optional
        Working directory of the kernel (default: the notebook's folder).
    progress_bar : bool
        Show papermill's per-cell progress bar (only when stderr is a terminal).
    timeout : int, optional
        Per-cell timeout in seconds.
    title_suffix : str, optional
        Appended to the notebook's first level-1 heading (e.g. the run's parameters), so
        executed runs of one notebook have distinct titles in the book.

    Returns
    -------
    pathlib.Path
        ``output``.

    Raises
    ------
    ValueError
        When a parameter is not declared in the notebook's ``parameters`` cell.
    papermill.PapermillExecutionError
        When a cell fails; nothing is written at ``output``.
    """
    import papermill as pm

    path = Path(path)
    nb = read_notebook(path)
    parameters = dict(parameters or {})
    declared = notebook_parameters(path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ValueError(
            f"{path}: unknown parameter(s) {unknown}; the notebook declares {sorted(declared)}"
        )
    if title_suffix:
        _suffix_title(nb, title_suffix)
    output = Path(output)
    with atomic_path(output.with_suffix(".ipynb")) as tmp:
        pm.execute_notebook(
            nb,
            str(tmp),
            parameters=parameters,
            kernel_name=kernel_name,
            cwd=str(cwd or path.parent),
            progress_bar=bool(progress_bar and sys.stderr.isatty()),  # no bars in logs
            execution_timeout=timeout,
            report_mode=False,
        )
    return output.with_suffix(".ipynb")


def _suffix_title(nb, suffix: str) -> None:
    """Append ``suffix`` to the first level-1 markdown heading of ``nb`` (in place)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                lines[i] = f"{line.rstrip()}: {suffix}"
                cell.source = "\n".join(lines)
                return
