"""A chapter whose real data are missing builds: a box says what is missing and how to
fetch it, its later cells are skipped, and the book extension lists it in the build log."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest
from docutils import nodes

from analysis_lib import book
from analysis_lib.datasets.fetch import missing

ROOT = Path(__file__).resolve().parents[1]


def _no_data(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", "")
    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(tmp_path / "empty-home"))


def _execute(path: Path, cwd: Path, timeout: int = 600) -> nbformat.NotebookNode:
    import jupytext
    from nbclient import NotebookClient

    nb = jupytext.read(path)
    NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def _html_outputs(nb) -> list[str]:
    return [
        str(out.get("data", {}).get("text/html", ""))
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    ]


def test_missing_box_names_the_data_and_the_command(monkeypatch, tmp_path):
    _no_data(monkeypatch, tmp_path)
    absent = missing("alice")
    assert absent
    bundle = book.missing_box("alice", absent)
    for text in bundle.values():
        assert "python -m analysis_lib fetch alice" in text
        assert "contact" not in text.lower()
    assert f'{book.MARKER}="alice"' in bundle["text/html"]
    assert book.require_data("alice") is False  # outside IPython: message on stderr


def test_alice_chapter_without_data_shows_the_box_and_skips_the_rest(monkeypatch, tmp_path):
    _no_data(monkeypatch, tmp_path)
    page = ROOT / "book" / "study_a" / "alice.py"
    nb = _execute(page, page.parent)
    html = "\n".join(_html_outputs(nb))
    assert f'{book.MARKER}="alice"' in html
    assert "python -m analysis_lib fetch alice" in html
    assert "contact" not in html.lower()
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = next(i for i, c in enumerate(code) if "require_data(" in c.source)
    assert first == 0, "require_data must be the chapter's first code cell"
    assert all(not c.get("outputs") for c in code[first + 1 :])  # skipped, not failed


def _extension():
    spec = importlib.util.spec_from_file_location(
        "analysis_lib_book", ROOT / "book" / "_ext" / "analysis_lib_book.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("analysis_lib_book", module)
    spec.loader.exec_module(module)
    return module


def test_extension_lists_chapters_without_data(monkeypatch, tmp_path, caplog):
    _no_data(monkeypatch, tmp_path)
    ext = _extension()
    env = SimpleNamespace(docname="book/study_a/alice")
    app = SimpleNamespace(env=env)
    doctree = nodes.document(None, None)
    box = book.missing_box("alice", missing("alice"))["text/html"]
    doctree += nodes.raw("", box, format="html")
    ext._doctree_read(app, doctree)
    assert env.analysis_lib_missing_data == {"book/study_a/alice": ["alice"]}
    assert ext._outdated(app, env, set(), set(), set()) == []  # still missing
    with caplog.at_level(logging.WARNING):
        ext._report(app, None)
    text = caplog.text
    assert "book/study_a/alice" in text and "python -m analysis_lib fetch alice" in text


@pytest.mark.realdata
def test_extension_reexecutes_once_the_data_are_there(tmp_path):
    if missing("alice"):
        pytest.skip("needs the Alice data in a data root")
    from jupyter_cache import get_cache

    ext = _extension()
    env = SimpleNamespace(
        docname="x", analysis_lib_missing_data={"book/study_a/alice": ["alice"], "other": []}
    )
    app = SimpleNamespace(env=env)
    # the data are present now: the page is read again
    assert "book/study_a/alice" in ext._outdated(app, env, set(), set(), set())
    # and its cached execution (with the box) is dropped; other cached pages are kept
    cache = get_cache(tmp_path / "cache")
    for name, html in (
        ("with_box", book.missing_box("alice", ["alice/x"])["text/html"]),
        ("plain", "<p>fine</p>"),
    ):
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell(f"x = {name!r}")  # the cache key is the code
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html})]
        nb.cells.append(cell)
        path = tmp_path / f"{name}.ipynb"
        nbformat.write(nb, path)
        cache.cache_notebook_file(path, check_validity=False)
    assert len(cache.list_cache_records()) == 2
    ext._drop_stale_cache(
        SimpleNamespace(config=SimpleNamespace(nb_execution_cache_path=str(tmp_path / "cache")))
    )
    assert [Path(r.uri).name for r in cache.list_cache_records()] == ["plain.ipynb"]


def test_glue_warnings_are_quiet_only_on_pages_without_data(monkeypatch, tmp_path):
    _no_data(monkeypatch, tmp_path)
    ext = _extension()
    pages = {"with": "require_data('alice')\n", "without": "print(1)\n"}
    for name, text in pages.items():
        (tmp_path / f"{name}.py").write_text(text)
    env = SimpleNamespace(doc2path=lambda doc: tmp_path / f"{doc}.py")
    ext._pages_without_data(None, env, list(pages))

    def record(doc, subtype="glue"):
        rec = logging.LogRecord("sphinx.x", logging.WARNING, "", 0, "No key 'k' found", (), None)
        rec.type, rec.subtype, rec.location = "mystnb", subtype, (doc, 3)
        return rec

    assert not ext._QUIET.filter(record("with"))
    assert ext._QUIET.filter(record("without"))  # a page with its data keeps its warnings
    assert ext._QUIET.filter(record("with", subtype="other"))
    assert len(ext._QUIET.dropped) == 1
