"""Fail when the rendered book shows an error or a notebook page has no outputs.

Usage: python .ci/check_book.py [_build/html] [_toc.yml]

A page fails when it contains a rendered traceback or error output (myst-nb's
``output error``/``traceback`` containers, or "Traceback (most recent call last)").
Every page built from a notebook (a ``.py`` or ``.ipynb`` entry of the TOC) must carry at
least one ``cell_output``. Outside code blocks, no page may show a MyST role as text (such as
``{glue:text}`` inside backticks), which means a number or link was not rendered.
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


def main(html_dir: str = "_build/html", toc_path: str = "_toc.yml") -> int:
    html = Path(html_dir)
    root = Path(toc_path).resolve().parent
    problems = []
    for page in sorted(html.rglob("*.html")):
        text = page.read_text(encoding="utf-8", errors="replace")
        for pattern in ERROR_PATTERNS:
            if pattern.search(text):
                problems.append(f"{page}: error output ({pattern.pattern})")
                break
        role = UNRENDERED_ROLE.search(CODE_BLOCK.sub("", text))
        if role:
            problems.append(f"{page}: unrendered MyST role {role.group(0)} in the text")
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
