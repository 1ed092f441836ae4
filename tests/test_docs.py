"""Docs next to code: numpydoc sections on every public function, an API page for every module.

Read from the source with :mod:`ast` (nothing of ``analysis_lib`` is imported), so the test is
fast and does not need torch or the data.

The rule checked by :func:`test_public_functions_document_parameters_and_returns`:

* a *public* function is a module-level function or a method of a module-level class whose
  names do not start with ``_``, in a module of ``analysis_lib`` whose own name does not start
  with ``_`` (``__init__.py`` is public); ``cli/_params.py`` is included too, since every
  command builds its options with it;
* every public function with two or more arguments (``self`` / ``cls`` not counted) has a
  numpydoc ``Parameters`` section naming each argument (``*args`` / ``**kwargs`` included);
* such a function, when it returns something other than ``None`` (a ``return <value>`` in its
  body, or a return annotation other than ``None``), also has a ``Returns`` section
  (``Yields`` for a generator);
* an override without a docstring takes that of the same method of a base class in the same
  module (as Sphinx's ``autodoc_inherit_docstrings`` renders it);
* exempt by rule: the ``add_arguments(parser)`` / ``run(args)`` pair of each CLI command in
  ``analysis_lib/cli/`` (their options are documented by ``--help`` and the CLI reference page).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "analysis_lib"
#: The API reference, split over two pages (each stays under the book check's page weight).
API_PAGES = [
    Path(__file__).resolve().parents[1] / "book" / "reference" / name
    for name in ("api.md", "api_analysis.md")
]

#: Private modules whose public functions are documented all the same.
INCLUDED_PRIVATE = {"cli/_params.py"}
#: CLI command entry points, exempt by rule (see the module docstring).
CLI_ENTRY_POINTS = {"add_arguments", "run"}

_SECTION = re.compile(
    r"^(?P<indent>[ \t]*)(?P<title>[A-Z][A-Za-z ]+)\n(?P=indent)-{3,}[ \t]*$", re.M
)


def _modules() -> list[Path]:
    """Every module of the package whose path has no private component (plus the included)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        parts = rel.split("/")
        private = any(p.startswith("_") and p != "__init__.py" for p in parts)
        if rel == "__main__.py" or (private and rel not in INCLUDED_PRIVATE):
            continue
        found.append(path)
    return found


def _sections(doc: str) -> dict[str, str]:
    """Split a numpydoc docstring into ``{title: body}`` by its underlined headings."""
    doc = doc.expandtabs()
    out: dict[str, str] = {}
    matches = list(_SECTION.finditer(doc))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(doc)
        out[m.group("title").strip()] = doc[m.end() : end]
    return out


def _documented_names(body: str) -> set[str]:
    """The parameter names listed in a ``Parameters`` section body (``a, b : int`` allowed)."""
    lines = [ln for ln in body.splitlines() if ln.strip()]
    if not lines:
        return set()
    indent = min(len(ln) - len(ln.lstrip()) for ln in lines)
    names: set[str] = set()
    for ln in lines:
        if len(ln) - len(ln.lstrip()) != indent:
            continue
        head = ln.strip().split(" : ")[0].rstrip(":")
        for name in head.split(","):
            name = name.strip().strip("`")
            if name:
                names.add(name.lstrip("*"))
    return names


def _arguments(fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[str]:
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
    if method and not static and names and names[0] in {"self", "cls", "mcs"}:
        names = names[1:]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return names


def _own_nodes(fn: ast.AST):
    """The nodes of a function's body, not descending into nested functions or classes."""
    todo = list(ast.iter_child_nodes(fn))
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))


def _returns_value(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[bool, bool]:
    """``(returns something other than None, is a generator)``."""
    nodes = list(_own_nodes(fn))
    generator = any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in nodes)
    returns = any(
        isinstance(n, ast.Return)
        and n.value is not None
        and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in nodes
    )
    ann = fn.returns
    if ann is not None and not (
        (isinstance(ann, ast.Constant) and ann.value in (None, "None"))
        or (isinstance(ann, ast.Name) and ann.id in {"None", "NoReturn", "Never"})
    ):
        returns = True
    is_property = any(
        (isinstance(d, ast.Name) and d.id in {"property", "cached_property"})
        or (isinstance(d, ast.Attribute) and d.attr in {"setter", "cached_property"})
        for d in fn.decorator_list
    )
    return returns and not is_property and not generator, generator


def _public_functions():
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        cli_command = rel.startswith("cli/") and rel not in INCLUDED_PRIVATE
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.name.startswith("_"):
                    continue
                if cli_command and node.name in CLI_ENTRY_POINTS:
                    continue
                yield rel, node.name, node, False
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        if not sub.name.startswith("_"):
                            documented = _inherited(tree, node, sub)
                            yield rel, f"{node.name}.{sub.name}", documented, True


def _inherited(tree: ast.Module, cls: ast.ClassDef, method):
    """An undocumented override takes the docstring of the same method of a base class
    defined in the module (as Sphinx's ``autodoc_inherit_docstrings`` renders it)."""
    if ast.get_docstring(method) is not None:
        return method
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    todo = [b.id for b in cls.bases if isinstance(b, ast.Name)]
    while todo:
        base = classes.get(todo.pop(0))
        if base is None:
            continue
        for sub in base.body:
            if isinstance(sub, type(method)) and sub.name == method.name:
                if ast.get_docstring(sub) is not None:
                    return sub
        todo += [b.id for b in base.bases if isinstance(b, ast.Name)]
    return method


def _problems(fn, method: bool) -> list[str]:
    doc = ast.get_docstring(fn) or ""
    sections = _sections(doc)
    problems = []
    args = _arguments(fn, method)
    if len(args) < 2:
        return problems
    if "Parameters" not in sections:
        problems.append("no Parameters section")
    else:
        missing = [a for a in args if a not in _documented_names(sections["Parameters"])]
        if missing:
            problems.append(f"Parameters misses {', '.join(missing)}")
    returns, generator = _returns_value(fn)
    if generator and "Yields" not in sections:
        problems.append("no Yields section")
    if returns and "Returns" not in sections:
        problems.append("no Returns section")
    return problems


def undocumented() -> list[str]:
    """``module:function: problem`` for every public function that breaks the rule."""
    out = []
    for rel, name, fn, method in _public_functions():
        problems = _problems(fn, method)
        if problems:
            out.append(f"analysis_lib/{rel}:{fn.lineno} {name}: {'; '.join(problems)}")
    return out


def test_public_functions_document_parameters_and_returns():
    bad = undocumented()
    assert not bad, f"{len(bad)} public functions lack numpydoc sections:\n" + "\n".join(bad)


def test_the_checker_catches_a_missing_section():
    """The checker itself fails on an undocumented function and passes a documented one."""
    src = '''
def bad(a, b):
    """Do it."""
    return a + b

def good(a, *, b=1):
    """Do it.

    Parameters
    ----------
    a, b : int
        Numbers.

    Returns
    -------
    int
    """
    return a + b

def gen(a, b):
    """Yield it.

    Parameters
    ----------
    a : int
    b : int
    """
    yield a
'''
    fns = {n.name: n for n in ast.parse(src).body}
    assert _problems(fns["bad"], False) == ["no Parameters section", "no Returns section"]
    assert _problems(fns["good"], False) == []
    assert _problems(fns["gen"], False) == ["no Yields section"]


def public_modules() -> list[str]:
    """Dotted names of analysis_lib's public modules (no component starting with ``_``)."""
    names = []
    for path in _modules():
        rel = path.relative_to(PACKAGE).with_suffix("").as_posix()
        if rel in {Path(p).with_suffix("").as_posix() for p in INCLUDED_PRIVATE}:
            continue
        parts = ["analysis_lib", *rel.split("/")]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    # The CLI's command modules are documented on book/reference/cli (generated from --help).
    return [n for n in names if n != "analysis_lib.cli" and not n.startswith("analysis_lib.cli.")]


@pytest.mark.parametrize("module", public_modules())
def test_api_reference_lists_every_public_module(module):
    text = "\n".join(p.read_text(encoding="utf-8") for p in API_PAGES)
    assert re.search(rf"^\.\. automodule:: {re.escape(module)}\s*$", text, re.M), (
        f"{module} is missing from book/reference/api.md and api_analysis.md (add an "
        "automodule entry)"
    )
