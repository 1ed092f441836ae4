"""Publish the built book as a versioned site with a release archive.

``make publish`` (``python -m analysis_lib publish``) turns ``_build/html`` into::

    site/
      <version>/            the book of this version
      latest/               a copy of the newest version
      versions.json         every published version, newest first
      version-switcher.js   the drop-down shown on every page
      releases/<version>/   analysis_lib-<version>-html.tar.gz, -results.tar.gz, SHA256SUMS
      CITATION.cff, CHANGELOG.md

Every step writes into a temporary folder that is renamed into place, so an interrupted
publish leaves the previous site intact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

from . import __version__
from .io import atomic_path, atomic_write_text, sha256_file

SWITCHER_JS = """\
// Version switcher for the analysis_lib book (written by analysis_lib.publish).
(function () {
  var script = document.currentScript;
  var root = script.src.replace(/version-switcher\\.js.*$/, "");
  var here = script.getAttribute("data-version");
  fetch(root + "versions.json").then(function (r) { return r.json(); }).then(function (vs) {
    var select = document.createElement("select");
    select.setAttribute("aria-label", "Book version");
    select.id = "analysis-lib-version-switcher";
    vs.forEach(function (v) {
      var o = document.createElement("option");
      o.value = v; o.textContent = v; if (v === here) { o.selected = true; }
      select.appendChild(o);
    });
    select.onchange = function () {
      var rel = window.location.href.split("/" + here + "/")[1] || "index.html";
      window.location.href = root + select.value + "/" + rel;
    };
    var box = document.createElement("div");
    box.style.cssText = "position:fixed;bottom:8px;right:8px;z-index:1000;" +
      "background:#fff;border:1px solid #ccc;padding:2px 6px;font-size:0.8em";
    box.appendChild(document.createTextNode("Version "));
    box.appendChild(select);
    document.body.appendChild(box);
  }).catch(function () {});
})();
"""

_BODY_END = re.compile(r"</body>", re.IGNORECASE)


def _inject_switcher(html_root: Path, label: str) -> int:
    """Add the switcher script to every page under ``html_root``; return the page count."""
    count = 0
    for page in html_root.rglob("*.html"):
        depth = len(page.relative_to(html_root).parts)  # 1 for a top-level page
        src = "../" * depth + "version-switcher.js"
        tag = f'<script src="{src}" data-version="{label}"></script>'
        text = page.read_text(encoding="utf-8")
        if "version-switcher.js" not in text:
            text, n = _BODY_END.subn(tag + "</body>", text, count=1)
            if n:
                page.write_text(text, encoding="utf-8")
                count += 1
    return count


def _replace_dir(src: Path, dest: Path) -> None:
    """Move ``src`` onto ``dest`` (replacing it) with a rename at the end."""
    old = dest.with_name(f".{dest.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if dest.exists():
        os.replace(dest, old)
    os.replace(src, dest)
    if old.exists():
        shutil.rmtree(old)


def _copy_book(html: Path, site: Path, label: str) -> int:
    staging = Path(tempfile.mkdtemp(prefix=f".{label}.", dir=site))
    try:
        target = staging / "book"
        shutil.copytree(html, target)
        pages = _inject_switcher(target, label)
        _replace_dir(target, site / label)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return pages


def _archive(folder: Path, dest: Path, arcname: str) -> Path:
    with atomic_path(dest) as tmp, tarfile.open(tmp, "w:gz") as tar:
        tar.add(folder, arcname=arcname)
    return dest


def _version_key(v: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"[.+-]", v))


def publish(
    html_dir: str | os.PathLike[str] = "_build/html",
    site_dir: str | os.PathLike[str] = "site",
    *,
    version: str = __version__,
    results_dir: str | os.PathLike[str] | None = "results",
    project_root: str | os.PathLike[str] = ".",
) -> dict:
    """Publish the built HTML as ``site/<version>`` and ``site/latest`` with archives.

    Parameters
    ----------
    html_dir : path-like
        The built book (``_build/html``); must contain ``index.html``.
    site_dir : path-like
        The site folder to create or update.
    version : str
        Version label (default: :data:`analysis_lib.__version__`).
    results_dir : path-like, optional
        Folder of netCDF results to archive with the release (skipped when missing).
    project_root : path-like
        Where ``CITATION.cff`` and ``CHANGELOG.md`` are read from.

    Returns
    -------
    dict
        ``versions``, ``pages``, ``archives`` (name -> sha256).

    Raises
    ------
    FileNotFoundError
        When ``html_dir`` has no ``index.html`` (build the book first).
    """
    html, site, root = Path(html_dir), Path(site_dir), Path(project_root)
    if not (html / "index.html").exists():
        raise FileNotFoundError(f"{html / 'index.html'}: build the book first (make book)")
    site.mkdir(parents=True, exist_ok=True)
    pages = _copy_book(html, site, version)
    _copy_book(html, site, "latest")
    versions_file = site / "versions.json"
    versions = json.loads(versions_file.read_text()) if versions_file.exists() else []
    versions = sorted({*versions, version} - {"latest"}, key=_version_key, reverse=True)
    atomic_write_text(versions_file, json.dumps(["latest", *versions], indent=1))
    atomic_write_text(site / "version-switcher.js", SWITCHER_JS)

    release = site / "releases" / version
    release.mkdir(parents=True, exist_ok=True)
    archives = [
        _archive(
            site / version,
            release / f"analysis_lib-{version}-html.tar.gz",
            f"analysis_lib-{version}-html",
        )
    ]
    if results_dir is not None and Path(results_dir).is_dir():
        archives.append(
            _archive(
                Path(results_dir),
                release / f"analysis_lib-{version}-results.tar.gz",
                f"analysis_lib-{version}-results",
            )
        )
    for name in ("CITATION.cff", "CHANGELOG.md"):
        if (root / name).exists():
            shutil.copy2(root / name, release / name)
            shutil.copy2(root / name, site / name)
    sums = {p.name: sha256_file(p) for p in sorted(release.iterdir()) if p.name != "SHA256SUMS"}
    atomic_write_text(release / "SHA256SUMS", "".join(f"{h}  {n}\n" for n, h in sums.items()))
    return {"versions": versions, "pages": pages, "archives": sums}
