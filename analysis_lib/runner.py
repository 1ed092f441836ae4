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
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .io import apply_umask, atomic_path

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


@dataclass(frozen=True)
class ParameterSpec:
    """What a notebook's ``parameters`` cell declares about one parameter.

    Attributes
    ----------
    name : str
        The variable name.
    default : object
        The default value (``ast.literal_eval`` of the assignment), or None when it is
        not a literal.
    source : str
        The default as written in the cell.
    kind : str or None
        The declared type: the annotation's base (``int``, ``float``, ``bool``, ``str``,
        ``list``, ``dict``) or, without one, the type of the default; None when nothing
        can be told (any value is accepted).
    item : str or None
        For lists: the type of the items (from ``list[str]`` or the default's items).
    optional : bool
        None is accepted (default None, or an annotation ``X | None`` / ``Optional[X]``).
    nonempty : bool
        For lists: the default holds items, so an empty list is refused.
    """

    name: str
    default: Any
    source: str
    kind: str | None
    item: str | None = None
    optional: bool = False
    nonempty: bool = False


_KINDS = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
_KIND_CHECKS = {
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "str": lambda v: isinstance(v, str),
    "list": lambda v: isinstance(v, (list, tuple)),
    "dict": lambda v: isinstance(v, dict),
}
_KIND_WORDS = {
    "bool": "True or False",
    "int": "an integer",
    "float": "a number",
    "str": "a string",
    "list": "a list",
    "dict": "a mapping",
}


def _kind_of_annotation(node) -> tuple[str | None, str | None, bool]:
    """(kind, item kind, optional) of an annotation AST node."""
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None, None, False
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        parts = [node.left, node.right]
        if any(isinstance(p, ast.Constant) and p.value is None for p in parts):
            other = next(p for p in parts if not (isinstance(p, ast.Constant) and p.value is None))
            kind, item, _ = _kind_of_annotation(other)
            return kind, item, True
        return None, None, False
    if isinstance(node, ast.Subscript):
        base = ast.unparse(node.value).rsplit(".", 1)[-1]
        if base == "Optional":
            kind, item, _ = _kind_of_annotation(node.slice)
            return kind, item, True
        if base in ("list", "List", "Sequence", "tuple"):
            item_kind, _, _ = _kind_of_annotation(node.slice)
            return "list", item_kind, False
        if base in ("dict", "Dict", "Mapping"):
            return "dict", None, False
        return None, None, False
    if isinstance(node, ast.Name):
        name = {"List": "list", "Dict": "dict"}.get(node.id, node.id)
        return (name if name in _KIND_CHECKS else None), None, False
    return None, None, False


def parameter_specs(path: str | os.PathLike[str]) -> dict[str, ParameterSpec]:
    """Read what a notebook's ``parameters`` cell declares: defaults and types.

    Types come from an annotation (``subjects: list[str] = ["sub-01"]``) or, without
    one, from the default's type (``n_atoms = 64`` is an integer, ``alpha = 0.1`` a
    number, ``subjects = ["sub-01"]`` a non-empty list of strings).

    Raises
    ------
    ValueError
        As :func:`notebook_parameters`.
    """
    import ast

    notebook_parameters(path)  # the same checks (papermill must see every name)
    nb = read_notebook(path)
    cell = next(c for c in nb.cells if PARAMETERS_TAG in c.metadata.get("tags", []))
    specs = {}
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign):
            targets, annotation, value = node.targets, None, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, annotation, value = [node.target], node.annotation, node.value
        else:
            continue
        try:
            default = ast.literal_eval(value)
            literal = True
        except ValueError:
            default, literal = None, False
        kind, item, optional = (None, None, False)
        if annotation is not None:
            kind, item, optional = _kind_of_annotation(annotation)
        elif literal and default is not None:
            kind = _KINDS.get(type(default))
            if isinstance(default, tuple):
                kind = "list"
        if literal and default is None:
            optional = True
        nonempty = False
        if kind == "list" and literal and isinstance(default, (list, tuple)) and default:
            nonempty = True
            item_kinds = {_KINDS.get(type(v)) for v in default}
            if item is None and len(item_kinds) == 1:
                item = item_kinds.pop()
        for target in targets:
            if isinstance(target, ast.Name):
                specs[target.id] = ParameterSpec(
                    target.id, default, ast.unparse(value), kind, item, optional, nonempty
                )
    return specs


def check_parameters(
    path: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    specs: Mapping[str, ParameterSpec] | None = None,
) -> None:
    """Check parameters against the notebook's declared names and types, before a run.

    Parameters
    ----------
    path : path-like
        The notebook (named in the messages).
    parameters : mapping
        The values to inject.
    specs : mapping, optional
        From :func:`parameter_specs` (read from ``path`` when not given).

    Raises
    ------
    ValueError
        For an undeclared name (the closest declared one is named), a value of another
        type than the declared one (``n_atoms: abc``; a string where a list is declared),
        an empty list where the default holds items, or a list item of the wrong type.
        The message names the notebook, the parameter and the declared default.
    """
    import difflib

    specs = parameter_specs(path) if specs is None else specs
    for name, value in parameters.items():
        if name not in specs:
            close = difflib.get_close_matches(name, list(specs), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"{path}: unknown parameter {name!r}{hint} (the notebook declares {sorted(specs)})"
            )
        spec = specs[name]
        where = f"{path}: parameter {name!r} (declared as {spec.name} = {spec.source})"
        if spec.kind is None or (value is None and spec.optional):
            continue
        if not _KIND_CHECKS[spec.kind](value):
            hint = ""
            if spec.kind == "list" and isinstance(value, str):
                hint = f"; write a list, e.g. [{value}]"
            raise ValueError(
                f"{where} must be {_KIND_WORDS[spec.kind]}, got {type(value).__name__} "
                f"{value!r}{hint}"
            )
        if spec.kind == "list":
            if spec.nonempty and len(value) == 0:
                raise ValueError(f"{where} must not be an empty list")
            if spec.item is not None:
                for v in value:
                    if not _KIND_CHECKS[spec.item](v):
                        raise ValueError(
                            f"{where}: every item must be {_KIND_WORDS[spec.item]}, got "
                            f"{type(v).__name__} {v!r}"
                        )


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
    failed_output: str | os.PathLike[str] | None = None,
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
    failed_output : path-like, optional
        Where the executed notebook is kept, with the error in its failing cell, when a
        cell fails (default: not kept).

    Returns
    -------
    pathlib.Path
        ``output``.

    Raises
    ------
    ValueError
        When a parameter is not declared in the notebook's ``parameters`` cell or its
        value does not have the declared type (:func:`check_parameters`); nothing runs.
    papermill.PapermillExecutionError
        When a cell fails; nothing is written at ``output`` (the executed notebook goes
        to ``failed_output`` when given).
    RuntimeError
        When no kernel became ready in :data:`KERNEL_START_ATTEMPTS` starts (each retry
        is announced by a ``RuntimeWarning``; no cell has run before a retry).
    """
    import papermill as pm

    path = Path(path)
    nb = read_notebook(path)
    parameters = dict(parameters or {})
    check_parameters(path, parameters)
    if title_suffix:
        _suffix_title(nb, title_suffix)
    output = Path(output)
    with atomic_path(output.with_suffix(".ipynb")) as tmp:
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            try:
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
                break
            except pm.PapermillExecutionError:
                if failed_output is not None and tmp.is_file() and tmp.stat().st_size:
                    failed_output = Path(failed_output)
                    failed_output.parent.mkdir(parents=True, exist_ok=True)
                    apply_umask(tmp)
                    os.replace(tmp, failed_output)
                raise
            except RuntimeError as exc:
                if not kernel_start_failed(exc) or attempt == KERNEL_START_ATTEMPTS:
                    raise
                warnings.warn(
                    f"{path}: the kernel did not start ({exc}); starting a new one "
                    f"(attempt {attempt + 1} of {KERNEL_START_ATTEMPTS})",
                    RuntimeWarning,
                    stacklevel=2,
                )
    return output.with_suffix(".ipynb")


#: Kernel starts tried before a run fails. Two kernels started at once by two grid
#: workers can pick the same free TCP port (the loser exits with "Address already in use"
#: and the client waits for it in vain): no cell has run then, so a new kernel is safe.
KERNEL_START_ATTEMPTS = 3
_KERNEL_START_ERRORS = ("Kernel didn't respond", "Kernel died before replying")


def kernel_start_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is jupyter_client's error for a kernel that never became ready."""
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in _KERNEL_START_ERRORS)


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
