"""Open the built book in headless Chromium and visit every chapter.

Run with ``make test-browser`` after ``make book``. Needs Debian's ``chromium`` package
(``/usr/bin/chromium``) and the ``playwright`` Python package (the ``browser`` extra); it
does not download a browser. Each chapter of ``_toc.yml`` must load, show its figures
(every ``<img>`` decoded with a non-zero size) and raise no JavaScript error.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files, stack = [toc["root"]], [toc]
    while stack:
        node = stack.pop(0)
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key) or []:
                if "file" in child:
                    files.append(child["file"])
                stack.append(child)
    return files


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML / 'index.html'} is missing: run `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium package")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.mark.parametrize("chapter", _chapters())
def test_chapter_renders_without_js_errors(server, browser, chapter):
    page = browser.new_page()
    errors: list[str] = []
    external: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None,
    )

    def _route(route):
        if route.request.url.startswith(server):
            return route.continue_()
        external.append(route.request.url)
        return route.abort()

    page.route("**/*", _route)
    response = page.goto(f"{server}/{chapter}.html", wait_until="networkidle")
    assert response is not None and response.ok, f"{chapter}: HTTP {response and response.status}"
    assert page.locator("main, article").first.is_visible()
    images = page.eval_on_selector_all(
        "article img, main img",
        "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])",
    )
    broken = [src for src, ok in images if not ok]
    assert not broken, f"{chapter}: images that did not load: {broken}"
    errors = [e for e in errors if not any(u in e for u in external)]
    assert not errors, f"{chapter}: JavaScript errors: {errors}"
    assert not external, f"{chapter}: the offline book requested remote resources: {external}"
    page.close()


def _math_pages() -> list[str]:
    """Chapters whose built HTML carries a math element (what MathJax must typeset)."""
    pages = []
    for chapter in _chapters():
        path = HTML / f"{chapter}.html"
        if path.exists() and 'class="math' in path.read_text(encoding="utf-8", errors="replace"):
            pages.append(chapter)
    return pages


def test_the_primer_has_math():
    """The primer is written with equations: if none reach the HTML, the check below is void."""
    if not (HTML / "index.html").exists():
        pytest.fail(f"{HTML / 'index.html'} is missing: run `make book` first")
    assert "book/methods/primer" in _math_pages()


@pytest.mark.parametrize("chapter", _math_pages())
def test_equations_are_typeset(server, browser, chapter):
    """MathJax (the offline copy) typesets every equation: no raw TeX left on the page."""
    page = browser.new_page()
    page.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(server) else route.abort(),
    )
    page.goto(f"{server}/{chapter}.html", wait_until="networkidle")
    sources = page.eval_on_selector_all(
        "script[src]", "els => els.map(e => e.getAttribute('src'))"
    )
    assert any("_static/mathjax/" in s for s in sources), f"{chapter}: MathJax is not loaded"
    page.wait_for_function(
        "() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000
    )
    page.evaluate("() => MathJax.startup.promise")
    n_math, n_typeset = page.evaluate(
        "() => [document.querySelectorAll('article .math, main .math').length,"
        " document.querySelectorAll('article mjx-container, main mjx-container').length]"
    )
    assert n_math > 0 and n_typeset >= n_math, (
        f"{chapter}: {n_typeset} typeset of {n_math} math elements"
    )
    # Prose only: code cells may quote TeX-like strings.
    text = page.evaluate(
        "() => { const m = document.querySelector('main').cloneNode(true);"
        " m.querySelectorAll('pre, code, mjx-container, script').forEach(e => e.remove());"
        " return m.textContent; }"
    )
    for raw in ("\\[", "\\]", "\\(", "$$"):
        assert raw not in text, f"{chapter}: raw TeX {raw!r} visible on the page"
    page.close()


def _py_pages() -> list[str]:
    return [c for c in _chapters() if (ROOT / f"{c}.py").is_file()]


@pytest.mark.parametrize("chapter", _py_pages())
def test_page_downloads_as_a_notebook(server, browser, chapter):
    """The download menu of a py:percent page offers a .ipynb that is a valid notebook."""
    if not (HTML / f"{chapter}.html").exists():
        pytest.skip(f"{chapter} is not in this build")
    page = browser.new_page()
    page.goto(f"{server}/{chapter}.html", wait_until="domcontentloaded")
    links = page.eval_on_selector_all("a[href$='.ipynb']", "els => els.map(e => e.href)")
    assert links, f"{chapter}: no .ipynb download link"
    response = page.request.get(links[0])
    assert response.ok, f"{chapter}: {links[0]} gives HTTP {response.status}"
    notebook = response.json()
    assert notebook["nbformat"] == 4 and notebook["cells"], f"{chapter}: not a notebook"
    page.close()
