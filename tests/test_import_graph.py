"""No import circles in ``analysis_lib`` (issue 13, item 4).

The graph is built from the source with :mod:`ast`: every ``import`` and ``from ...
import`` statement anywhere in a module (module level, inside functions, methods and
``if`` blocks), relative or absolute, that names a module of ``analysis_lib``. An edge
points from the importing module to the imported one; ``from package import name`` points
to the submodule ``package.name`` when that is a module, else to ``package`` (its
``__init__``). Implicit imports of parent packages are not edges (as in grimp and
import-linter), otherwise every package that re-exports its submodules would be a circle.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOT_MODELS = "analysis_lib.models"


def _modules(root: Path, package: str) -> dict[str, tuple[Path, bool]]:
    """``{dotted name: (file, is_package)}`` of every module of ``package`` under ``root``."""
    out = {}
    for file in sorted((root / package).rglob("*.py")):
        parts = list(file.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        out[".".join(parts)] = (file, is_package)
    return out


def import_graph(root: Path, package: str = "analysis_lib") -> dict[str, set[str]]:
    """``{module: modules of package it imports}``, from every import statement."""
    modules = _modules(root, package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, (file, is_package) in modules.items():
        here = name.split(".") if is_package else name.split(".")[:-1]
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    targets.append(sub if sub in modules else target)
            for target in targets:
                if target.split(".")[0] != package:
                    continue
                # `import a.b.c` of a name that is not a module (an attribute): its module
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle of ``graph`` (``[a, b, ..., a]``), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def test_analysis_lib_has_no_import_cycle():
    graph = import_graph(ROOT)
    assert len(graph) > 40  # the whole package was parsed
    # the graph holds module-level and function-level edges, relative and absolute
    assert "analysis_lib.models" in graph["analysis_lib.extraction"]  # module level
    # in a function: loading a trained model by name goes through training
    assert any(
        "analysis_lib.training" in deps for m, deps in graph.items() if m.startswith(ROOT_MODELS)
    )
    cycle = find_cycle(graph)
    assert cycle is None, "import circle: " + " -> ".join(cycle)


def test_training_imports_only_what_it_needs():
    graph = import_graph(ROOT)
    for name in ("analysis_lib.training", "analysis_lib.training.tasks"):
        used = {m for m in graph[name] if m.startswith("analysis_lib.models")}
        assert used and "analysis_lib.models" not in used  # not the package (loading)
        assert "analysis_lib.models.loading" not in used


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.parametrize(
    "files",
    [
        # a circle through a function-level, relative import into a package __init__
        {
            "analysis_lib/__init__.py": "",
            "analysis_lib/a.py": "from .b import f\n",
            "analysis_lib/b/__init__.py": "def f():\n    from .. import a\n",
        },
        # absolute `import x.y` and `from x import submodule`, three modules long
        {
            "analysis_lib/__init__.py": "",
            "analysis_lib/p/__init__.py": "",
            "analysis_lib/p/x.py": "import analysis_lib.p.y\n",
            "analysis_lib/p/y.py": "from analysis_lib.p import z\n",
            "analysis_lib/p/z.py": "class C:\n    def m(self):\n        from .x import g\n",
        },
    ],
)
def test_the_detector_finds_cycles(tmp_path, files):
    _write(tmp_path, files)
    cycle = find_cycle(import_graph(tmp_path))
    assert cycle is not None and cycle[0] == cycle[-1] and len(cycle) >= 3


def test_the_detector_accepts_a_package_reexporting_its_submodules(tmp_path):
    _write(
        tmp_path,
        {
            "analysis_lib/__init__.py": "",
            "analysis_lib/m/__init__.py": "from .r import T\nfrom .l import load\n",
            "analysis_lib/m/r.py": "T = 1\n",
            "analysis_lib/m/l.py": "from .r import T\n\ndef load():\n    from ..t import go\n",
            "analysis_lib/t.py": "from .m.r import T\n\ndef go():\n    pass\n",
            "analysis_lib/u.py": "import json\nimport analysis_lib.m\n",
        },
    )
    graph = import_graph(tmp_path)
    assert graph["analysis_lib.m.l"] == {"analysis_lib.m.r", "analysis_lib.t"}
    assert graph["analysis_lib.u"] == {"analysis_lib.m"}
    assert find_cycle(graph) is None
