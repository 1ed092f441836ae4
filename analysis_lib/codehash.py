"""Digests of the library code a computation imports, for caches that know the code.

A cached result is only valid for the code that computed it. This module builds the
import graph of the ``analysis_lib`` package *statically* (with :mod:`ast`, without
importing anything): every ``import`` and ``from ... import`` statement, at module level
and inside functions, absolute and relative, becomes an edge. Three more kinds of edge
keep the graph conservative:

* importing ``analysis_lib.a.b`` runs ``analysis_lib/__init__.py`` and
  ``analysis_lib/a/__init__.py``, so every module depends on its parent packages;
* a string constant that names a module of the package (``"analysis_lib.datasets.hcp"``
  or ``"analysis_lib.models:availability"``, as registries pass to
  :func:`importlib.import_module`) is an import of that module;
* a string constant that names a data file of the package (``"data/default_story.txt"``)
  adds the file's bytes to the module's digest, and a call of ``pkgutil.iter_modules``
  makes a package depend on all of its submodules.

:func:`code_digest` hashes the sources of the transitive closure of some modules, so a
fix in ``encoding/core.py`` changes the digest of everything that imports it, directly
or not, and nothing else. :func:`notebook_modules` reads the modules a notebook imports,
for :class:`analysis_lib.grid.Run` digests; ``cached_extract`` keys its cache on the
closure of :mod:`analysis_lib.extraction`.

The digest is computed from the package that this module belongs to (the one the
running Python imports); notebook kernels started by the grid run in the same
environment and import the same package.

``python -m analysis_lib.codehash`` prints the digest of the whole package (the book's
build stamp uses it).
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ModuleSource",
    "code_digest",
    "dependencies",
    "import_graph",
    "notebook_code_digest",
    "notebook_modules",
    "package_digest",
    "package_dir",
]


@dataclass(frozen=True)
class ModuleSource:
    """One module of the package, as read from disk.

    Attributes
    ----------
    name : str
        Dotted module name (``analysis_lib.encoding.core``).
    path : pathlib.Path
        Its source file.
    sha256 : str
        Digest of the source bytes.
    imports : frozenset of str
        Modules of the package it imports (direct edges of the graph).
    data : tuple of (str, str)
        ``(relative path, sha256)`` of the package data files it names.
    """

    name: str
    path: Path
    sha256: str
    imports: frozenset[str]
    data: tuple[tuple[str, str], ...]


def package_dir() -> Path:
    """The folder of the ``analysis_lib`` package this module belongs to."""
    return Path(__file__).resolve().parent


def _module_name(root: Path, path: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [root.name, *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _source_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


# parsed modules, keyed by (root, path, source digest): edits are seen, unchanged
# files are not parsed again
_PARSED: dict[tuple[str, str, str], tuple[frozenset[str], tuple[str, ...], bool]] = {}


def _edges(
    tree: ast.AST, name: str, is_package: bool, modules: set[str], package: str
) -> tuple[set[str], set[str], bool]:
    """Direct imports (module names), string constants and an iter_modules flag."""
    imports: set[str] = set()
    strings: set[str] = set()
    iter_modules = False
    here = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    imports.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = here.split(".")
                if node.level - 1 >= len(parts):
                    continue  # beyond the top-level package: not ours
                base = ".".join(parts[: len(parts) - (node.level - 1)])
                if node.module:
                    base = f"{base}.{node.module}"
            else:
                base = node.module or ""
            if not (base == package or base.startswith(package + ".")):
                continue
            imports.add(base)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    imports.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if len(node.value) < 200:
                strings.add(node.value)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            iter_modules = iter_modules or called == "iter_modules"
    for text in strings:
        candidate = text.split(":", 1)[0]
        if candidate in modules:
            imports.add(candidate)
    return imports, strings, iter_modules


def _scan(root: Path) -> dict[str, ModuleSource]:
    """Read and parse every module under ``root`` (cached on the source digests)."""
    root = root.resolve()
    package = root.name
    files = _source_files(root)
    names = {_module_name(root, p): p for p in files}
    modules = set(names)
    data_files = {
        p.relative_to(root).as_posix(): p
        for p in root.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
    }
    out: dict[str, ModuleSource] = {}
    for name, path in names.items():
        source = path.read_bytes()
        sha = hashlib.sha256(source).hexdigest()
        key = (str(root), str(path), sha)
        if key not in _PARSED:
            try:
                tree = ast.parse(source, filename=str(path))
            except SyntaxError as exc:
                raise ValueError(
                    f"{path}: not valid Python ({exc.msg}, line {exc.lineno})"
                ) from None
            imports, strings, iter_modules = _edges(
                tree, name, path.name == "__init__.py", modules, package
            )
            data = tuple(sorted(s for s in strings if s in data_files))
            _PARSED[key] = (frozenset(imports), data, iter_modules)
        imports, data, iter_modules = _PARSED[key]
        if iter_modules and path.name == "__init__.py":
            imports = imports | {m for m in modules if m.rpartition(".")[0] == name}
        # every module runs its parent packages' __init__ first
        parts = name.split(".")
        parents = {".".join(parts[:i]) for i in range(1, len(parts))}
        imports = frozenset((imports | parents) - {name})
        data_digests = tuple(
            (rel, hashlib.sha256(data_files[rel].read_bytes()).hexdigest()) for rel in data
        )
        out[name] = ModuleSource(name, path, sha, imports, data_digests)
    return out


def import_graph(root: str | os.PathLike[str] | None = None) -> dict[str, frozenset[str]]:
    """The package's import graph: ``{module: modules it imports directly}``.

    Parameters
    ----------
    root : path-like, optional
        Folder of the package (default: :func:`package_dir`). Module names start with
        its folder name.

    Returns
    -------
    dict of str to frozenset of str
        Module-level and function-level imports, relative and absolute, plus the
        parent packages and registry strings (see the module docstring).
    """
    return {name: m.imports for name, m in _scan(Path(root or package_dir())).items()}


def _resolve(name: str, modules: Iterable[str]) -> str | None:
    """The longest module prefix of a dotted ``name`` (``pkg.mod.func`` -> ``pkg.mod``)."""
    modules = set(modules)
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in modules:
            return candidate
    return None


def dependencies(modules: Iterable[str], root: str | os.PathLike[str] | None = None) -> set[str]:
    """The transitive closure of ``modules`` in the import graph (themselves included).

    Parameters
    ----------
    modules : iterable of str
        Dotted module names of the package (``analysis_lib.io``); a name that is not a
        module (``analysis_lib.io.write_netcdf``) counts as its longest module prefix.
    root : path-like, optional
        Folder of the package (default: :func:`package_dir`).

    Returns
    -------
    set of str
        Dotted names of the modules ``modules`` import, directly or not, themselves included.

    Raises
    ------
    ValueError
        When a name is not in the package.
    """
    scanned = _scan(Path(root or package_dir()))
    todo = []
    for name in modules:
        resolved = _resolve(name, scanned)
        if resolved is None:
            raise ValueError(f"{name!r} is not a module of {Path(root or package_dir())}")
        todo.append(resolved)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(scanned[name].imports - seen)
    return seen


def code_digest(modules: Iterable[str], root: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 over the sources of ``modules`` and everything they import, transitively.

    Parameters
    ----------
    modules : iterable of str
        Dotted module names (see :func:`dependencies`).
    root : path-like, optional
        Folder of the package (default: :func:`package_dir`).

    Returns
    -------
    str
        Hex digest; it changes when, and only when, one of the sources in the closure
        (or a package data file one of them names) changes.
    """
    scanned = _scan(Path(root or package_dir()))
    h = hashlib.sha256()
    for name in sorted(dependencies(modules, root)):
        m = scanned[name]
        h.update(f"{name}\0{m.sha256}\n".encode())
        for rel, sha in m.data:
            h.update(f"{name}\0{rel}\0{sha}\n".encode())
    return h.hexdigest()


def package_digest(root: str | os.PathLike[str] | None = None) -> str:
    """SHA-256 over every module of the package (the closure of all of them)."""
    scanned = _scan(Path(root or package_dir()))
    return code_digest(scanned, root)


def _notebook_sources(path: Path) -> list[str]:
    """The code cells of a notebook (py:percent or ``.ipynb``), magics made Python."""
    import jupytext
    from IPython.core.inputtransformer2 import TransformerManager

    nb = jupytext.read(path, fmt="py:percent" if path.suffix == ".py" else None)
    transform = TransformerManager().transform_cell
    return [transform(c.source) for c in nb.cells if c.cell_type == "code"]


def notebook_modules(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> tuple[set[str], list[Path]]:
    """The package modules a notebook imports, and the local modules next to it.

    Parameters
    ----------
    path : path-like
        py:percent (``.py``) or ``.ipynb`` notebook.
    root : path-like, optional
        Folder of the package (default: :func:`package_dir`).

    Returns
    -------
    modules : set of str
        Modules of the package named by its ``import`` statements (any cell, any
        depth), and by strings naming a module.
    local : list of pathlib.Path
        ``.py`` files in the notebook's folder that it imports by name (helpers).

    Raises
    ------
    ValueError
        When a code cell is not valid Python; the message names the notebook.
    """
    path = Path(path).resolve()
    root = Path(root or package_dir()).resolve()
    scanned = _scan(root)
    key = (str(root), str(path), hashlib.sha256(path.read_bytes()).hexdigest())
    if key not in _NOTEBOOKS:
        _NOTEBOOKS[key] = _notebook_imports(path, root, scanned)
    modules, local = _NOTEBOOKS[key]
    return set(modules), list(local)


# notebooks' imports, keyed by (root, path, notebook digest)
_NOTEBOOKS: dict[tuple[str, str, str], tuple[frozenset[str], tuple[Path, ...]]] = {}


def _notebook_imports(
    path: Path, root: Path, scanned: dict[str, ModuleSource]
) -> tuple[frozenset[str], tuple[Path, ...]]:
    package = root.name
    modules: set[str] = set()
    local: set[Path] = set()
    for i, source in enumerate(_notebook_sources(path)):
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ValueError(
                f"{path}: code cell {i + 1} is not valid Python ({exc.msg}); cannot tell "
                "which library code it imports"
            ) from None
        imports, strings, _ = _edges(tree, "__notebook__", False, set(scanned), package)
        modules |= {m for m in (_resolve(n, scanned) for n in imports) if m}
        modules |= {m for m in (_resolve(s.split(":")[0], scanned) for s in strings) if m}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            for n in names:
                helper = path.parent / f"{n.split('.')[0]}.py"
                if n.split(".")[0] != package and helper.is_file():
                    local.add(helper.resolve())
    return frozenset(modules), tuple(sorted(local))


def notebook_code_digest(
    path: str | os.PathLike[str], root: str | os.PathLike[str] | None = None
) -> str:
    """Digest of the library code (and local helper modules) a notebook imports.

    Parameters
    ----------
    path : path-like
        py:percent (``.py``) or ``.ipynb`` notebook.
    root : path-like, optional
        Folder of the package (default: :func:`package_dir`).

    Returns
    -------
    str
        :func:`code_digest` of :func:`notebook_modules`, with the local helpers' bytes.
    """
    modules, local = notebook_modules(path, root)
    h = hashlib.sha256(code_digest(modules, root).encode())
    for helper in local:
        h.update(f"{helper.name}\0{hashlib.sha256(helper.read_bytes()).hexdigest()}".encode())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> int:
    """Print :func:`package_digest` (``python -m analysis_lib.codehash``)."""
    argv = sys.argv[1:] if argv is None else argv
    print(package_digest(argv[0] if argv else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
