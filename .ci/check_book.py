"""Fail when the rendered book shows an error, noise, a machine path, or a page is too big.

Usage: python .ci/check_book.py [_build/html] [_toc.yml]

A page fails when it contains a rendered traceback or error output (myst-nb's
``output error``/``traceback`` containers, or "Traceback (most recent call last)").
Every page built from a notebook (a ``.py`` or ``.ipynb`` entry of the TOC) must carry at
least one ``cell_output``. Outside code blocks, no page may show a MyST role as text (such as
``{glue:text}`` inside backticks), which means a number or link was not rendered.

Quiet and portable pages: outside the code of input cells no page may show a Python
warning (``SomethingWarning:``), tqdm's ``IProgress`` note, nibabel's ``pixdim`` note or a
progress bar; nowhere may it show an absolute path of the build machine (``/work/``,
``/root/``, ``/tmp/``, ``/home/``, ``/Users/``). No page may weigh more than 3 MB (its HTML
plus the images it shows from ``_images``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

ERROR_PATTERNS = (
    re.compile(r'class="[^"]*\boutput\s+(?:error|traceback)\b'),
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'class="[^"]*\berror\b[^"]*\boutput\b'),
)
UNRENDERED_ROLE = re.compile(r"\{(?:glue(?::\w+)?|doc|func|mod|ref|class|meth|numref|eq)\}")
CODE_BLOCK = re.compile(r"<pre\b.*?</pre>", re.DOTALL)
# The code of an input cell (myst-nb renders it with the ipython3 lexer).
INPUT_CODE = re.compile(r'<div class="highlight-ipython3 notranslate">.*?</pre>', re.DOTALL)
NOISE_PATTERNS = (
    re.compile(r"\b[A-Z]\w*Warning: "),
    re.compile(r"IProgress not found"),
    re.compile(r"pixdim\[1,2,3\]"),
    re.compile(r"\d+%\|"),
    re.compile(r"\d+(?:\.\d+)?\s*(?:it/s|s/it)\]"),
)
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(?:work|root|tmp|home|Users)/[\w.-]")
MAX_PAGE_BYTES = 3_000_000
IMAGE_SRC = re.compile(r'<img[^>]+src="([^"]+)"')


def toc_files(toc: dict, root: Path | None = None) -> list[str]:
    """Every page of the TOC, ``glob`` entries expanded against ``root``."""
    files = [toc["root"]]
    stack = [toc]
    while stack:
        node = stack.pop()
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []) or []:
                if "file" in child:
                    files.append(child["file"])
                if "glob" in child and root is not None:
                    files += sorted(
                        str(p.relative_to(root).with_suffix(""))
                        for p in root.glob(child["glob"])
                        if p.suffix in (".py", ".ipynb", ".md") and not p.name.startswith(".")
                    )
                stack.append(child)
    return files


def _excerpt(text: str, match: re.Match) -> str:
    snippet = re.sub(r"<[^>]+>", "", text[max(0, match.start() - 60) : match.end() + 60])
    return " ".join(snippet.split())


def page_problems(page: Path, text: str) -> list[str]:
    """Noise, machine paths and weight of one rendered page.

    Parameters
    ----------
    page : pathlib.Path
        The HTML file (its images are looked up relative to it).
    text : str
        Its content.

    Returns
    -------
    list of str
        One line per problem, naming the page and quoting what was found.
    """
    problems = []
    shown = INPUT_CODE.sub("", text)
    for pattern in NOISE_PATTERNS:
        found = pattern.search(shown)
        if found:
            problems.append(f"{page}: library noise in the output: ...{_excerpt(shown, found)}...")
            break
    found = MACHINE_PATH.search(text)
    if found:
        problems.append(f"{page}: absolute machine path: ...{_excerpt(text, found)}...")
    size = len(text.encode("utf-8"))
    for src in set(IMAGE_SRC.findall(text)):
        if "_images/" in src and "://" not in src:
            image = (page.parent / src.split("?")[0]).resolve()
            if image.is_file():
                size += image.stat().st_size
    if size > MAX_PAGE_BYTES:
        problems.append(f"{page}: weighs {size / 1e6:.1f} MB (HTML and images), over 3 MB")
    return problems


def main(html_dir: str = "_build/html", toc_path: str = "_toc.yml") -> int:
    html = Path(html_dir)
    root = Path(toc_path).resolve().parent
    problems = []
    for page in sorted(html.rglob("*.html")):
        if "_modules" in page.parts:
            continue  # viewcode's highlighted library source: code text, not executed output
        text = page.read_text(encoding="utf-8", errors="replace")
        for pattern in ERROR_PATTERNS:
            if pattern.search(text):
                problems.append(f"{page}: error output ({pattern.pattern})")
                break
        role = UNRENDERED_ROLE.search(CODE_BLOCK.sub("", text))
        if role:
            problems.append(f"{page}: unrendered MyST role {role.group(0)} in the text")
        problems += page_problems(page, text)
    toc = yaml.safe_load(Path(toc_path).read_text())
    notebooks = 0
    for entry in toc_files(toc, root):
        sources = [p for p in root.glob(entry + ".*") if p.suffix in (".py", ".ipynb", ".md")]
        if not any(p.suffix in (".py", ".ipynb") for p in sources):
            continue
        notebooks += 1
        page = html / f"{entry}.html"
        if not page.exists():
            problems.append(f"{page}: notebook page was not rendered")
        elif "cell_output" not in page.read_text(encoding="utf-8", errors="replace"):
            problems.append(f"{page}: notebook page has no outputs")
    if not (html / "index.html").exists():
        problems.append(f"{html / 'index.html'}: missing")
    for line in problems:
        print(line)
    print(
        f"checked {len(list(html.rglob('*.html')))} pages, {notebooks} notebook pages: "
        f"{len(problems)} problem(s)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
