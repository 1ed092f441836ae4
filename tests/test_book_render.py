"""The book's render-time cleaning (book/_ext) and the rendered-book check (.ci/check_book.py)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ext = _load("analysis_lib_book", ROOT / "book" / "_ext" / "analysis_lib_book.py")
check = _load("check_book", ROOT / ".ci" / "check_book.py")


def test_quiet_stderr_drops_known_noise_and_keeps_the_rest():
    text = (
        "/x/site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update\n"
        "  from .autonotebook import tqdm as notebook_tqdm\n"
        "pixdim[1,2,3] should be non-zero; setting 0 dims to 1\n"
        " 10%|#         | 1/10 [00:00<00:01, 8.1it/s]\r100%|##########| 10/10 [00:01<00:00]\n"
        "/x/page.py:3: UserWarning: something the reader must see\n"
        "  warnings.warn(...)\n"
    )
    kept = ext.quiet_stderr(text)
    assert "Tqdm" not in kept and "pixdim" not in kept and "%|" not in kept
    assert "notebook_tqdm" not in kept  # the source line of a dropped warning goes with it
    assert "UserWarning: something the reader must see" in kept
    assert "warnings.warn" in kept
    assert ext.quiet_stderr(" 50%|#####     | 5/10 [00:00<00:00, 9.1it/s]\n") == ""


def test_machine_paths_become_portable(monkeypatch, tmp_path):
    project = tmp_path / "checkout"
    home = tmp_path / "tmp.abc" / "analysis_lib_data"
    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(home))
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", str(tmp_path / "shared" / "data"))
    rewrites = ext.path_rewrites(project)
    assert ext.portable(f'results_dir = "{project}/results/a/m"', rewrites) == (
        'results_dir = "results/a/m"'
    )
    assert ext.portable(f"{home}/cache/x.nc", rewrites) == "$ANALYSIS_LIB_DATA/cache/x.nc"
    assert ext.portable(f"{tmp_path}/shared/data/alice/r.csv", rewrites) == (
        "$ANALYSIS_LIB_EXTRA_DATA/alice/r.csv"
    )
    assert ext.portable(f"root {project} here", rewrites) == "root . here"
    # A sibling folder whose name starts like the project is not the project.
    assert ext.portable(f"{project}keeping/x", rewrites) == f"{project}keeping/x"
    # Another checkout's results keep their project-relative part.
    assert ext.portable("/work/other/results/x.nc", rewrites) == "results/x.nc"


def _page(tmp_path: Path, body: str) -> tuple[Path, str]:
    page = tmp_path / "page.html"
    page.write_text(body)
    return page, body


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('<div class="output stderr"><pre>a.py:1: FutureWarning: x</pre></div>', "noise"),
        ("<pre> 40%|####      | 4/10 [00:01&lt;00:02, 3.1it/s]</pre>", "noise"),
        ("<pre>pixdim[1,2,3] should be non-zero</pre>", "noise"),
        ('<pre>results_dir = "/work/main/results/x"</pre>', "machine path"),
        ("<p>cached in /root/.cache/huggingface</p>", "machine path"),
        ("<p>" + "x" * 3_100_000 + "</p>", "MB"),
    ],
)
def test_check_book_flags(tmp_path, body, problem):
    page, text = _page(tmp_path, body)
    problems = check.page_problems(page, text)
    assert problems and problem in problems[0], problems


def test_check_book_passes_a_clean_page(tmp_path):
    body = (
        '<div class="highlight-ipython3 notranslate"><div class="highlight"><pre>'
        'warnings.filterwarnings("ignore", category=FutureWarning)  # FutureWarning: x'
        "</pre></div></div><p>results in results/study-a, data in $ANALYSIS_LIB_DATA/x; "
        "see https://example.org/work/x</p>"
    )
    page, text = _page(tmp_path, body)
    assert check.page_problems(page, text) == []


def test_check_book_counts_images(tmp_path):
    (tmp_path / "_images").mkdir()
    (tmp_path / "_images" / "big.png").write_bytes(b"\0" * 3_100_000)
    page, text = _page(tmp_path, '<img src="_images/big.png" alt="">')
    assert any("MB" in p for p in check.page_problems(page, text))


def test_viewer_references_plotly_instead_of_embedding_it():
    np = pytest.importorskip("numpy")
    from analysis_lib import plotting

    grid = np.arange(0, 59412, 12)
    values = np.random.default_rng(0).normal(size=grid.size)
    embedded = plotting.view_surface_map(values, grid, threshold=1.0)
    served = plotting.view_surface_map(
        values, grid, threshold=1.0, plotly_src="_static/nilearn-plotly-gl3d.min.js"
    )
    bundle = ext.plotly_source().read_text(encoding="utf-8").strip()
    assert bundle[:500] in embedded.html
    assert bundle[:500] not in served.html
    assert '<script src="_static/nilearn-plotly-gl3d.min.js"></script>' in served.html
    assert len(embedded.html) - len(served.html) > 0.9 * len(bundle)
    assert "surfaceMapInfo" in served.html  # the map itself is still there


def test_book_profile_records_its_command_without_the_machine_path():
    profile = _load("book_profile", ROOT / "benchmarks" / "book_profile.py")
    command = profile.portable_command(
        ["--tree", "/work/ci17", "--make-book-s", "1669", "--out", "benchmarks/results/x.json"]
    )
    assert command == (
        "python benchmarks/book_profile.py --tree CLONE --make-book-s 1669 "
        "--out benchmarks/results/x.json"
    )
    assert profile.portable_command(["--tree=/tmp/x"]).endswith("--tree=CLONE")
    # The records the benchmarks page shows pass the rendered-book check.
    records = sorted((ROOT / "benchmarks" / "results").glob("book_profile*.json"))
    assert records
    for path in records:
        assert check.MACHINE_PATH.search(path.read_text()) is None, path.name


def _book_build(monkeypatch):
    """book/_build.py imported by name (its worker processes import it the same way)."""
    import importlib

    monkeypatch.syspath_prepend(str(ROOT / "book"))
    return importlib.import_module("_build")


def _tiny_book(root: Path) -> None:
    """A two-page book: a py:percent page, a MyST notebook and a plain Markdown page."""
    (root / "_config.yml").write_text(
        "title: tiny\n"
        "execute:\n  execute_notebooks: cache\n  cache: _build/.jupyter_cache\n"
        "  timeout: 120\n"
        "sphinx:\n  config:\n    nb_custom_formats:\n      .py:\n"
        "        - jupytext.reads\n        - fmt: py:percent\n"
    )
    (root / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: page\n  - file: plain\n"
    )
    (root / "intro.md").write_text(
        "---\njupytext:\n  text_representation:\n    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  name: python3\n---\n"
        "# Intro\n\n```{code-cell} ipython3\nprint('intro ran', 6 * 7)\n```\n"
    )
    (root / "page.py").write_text(
        "# ---\n# jupyter:\n#   kernelspec:\n#     display_name: Python 3\n"
        "#     name: python3\n# ---\n\n# %% [markdown]\n# # Page\n\n# %%\n"
        "import os\nprint('page ran in', os.path.basename(os.getcwd()))\n"
    )
    (root / "plain.md").write_text("# Plain\n\nNo code.\n")


def test_pages_executed_in_parallel_are_the_ones_jupyter_book_then_renders(tmp_path, monkeypatch):
    """book/_build.py executes the two notebook pages (not the plain page) into the cache
    under the keys MyST-NB computes: the build that follows executes nothing."""
    import os
    import subprocess

    build = _book_build(monkeypatch)
    book = tmp_path / "book"
    book.mkdir()
    _tiny_book(book)
    monkeypatch.chdir(book)  # the cache path of _config.yml is relative, as for `make book`
    config = build.book_config(book)
    pages = build.notebook_pages(book, config)
    assert [p.name for p in pages] == ["intro.md", "page.py"]
    counts = build.pre_execute(book, 2)
    assert counts == {"cached": 0, "executed": 2, "failed": 0}
    step = json.loads((book / "_build" / build.PAGE_RECORD).read_text())
    assert step["jobs"] == 2 and step["executed"] == 2 and step["wall_s"] > 0
    assert build.pre_execute(book, 2) == {"cached": 2, "executed": 0, "failed": 0}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, str(ROOT / "book" / "_build.py"), "--jobs", "1", "build", str(book)],
        cwd=book,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    log = out.stdout + out.stderr
    assert "Executing notebook" not in log, log
    assert log.count("Using cached notebook") == 2, log
    html = (book / "_build" / "html" / "page.html").read_text()
    assert "page ran in book" in html  # executed in the page's folder, as MyST-NB does
    assert "intro ran 42" in (book / "_build" / "html" / "intro.html").read_text()


def test_a_page_that_fails_is_left_to_the_build(tmp_path, monkeypatch):
    build = _book_build(monkeypatch)
    book = tmp_path / "book"
    book.mkdir()
    _tiny_book(book)
    monkeypatch.chdir(book)
    page = book / "page.py"
    page.write_text(page.read_text() + "raise RuntimeError('this page fails')\n")
    assert build.pre_execute(book, 2) == {"cached": 0, "executed": 1, "failed": 1}
    with pytest.raises(SystemExit):
        build.main(["--jobs", "0", "build", str(book)])
