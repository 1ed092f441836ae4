"""Versioned publishing of the built book."""

from __future__ import annotations

import hashlib
import json
import tarfile

import pytest

from analysis_lib.publish import publish


@pytest.fixture
def html(tmp_path):
    root = tmp_path / "html"
    (root / "book").mkdir(parents=True)
    (root / "index.html").write_text("<html><body>home</body></html>")
    (root / "book" / "intro.html").write_text("<html><body>intro</body></html>")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "r.nc").write_bytes(b"\x89HDF")
    (tmp_path / "CITATION.cff").write_text("cff-version: 1.2.0\n")
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n")
    return root


def test_publish_two_versions(html, tmp_path):
    site = tmp_path / "site"
    kw = {"results_dir": tmp_path / "results", "project_root": tmp_path}
    publish(html, site, version="0.1.0", **kw)
    out = publish(html, site, version="0.2.0", **kw)
    assert json.loads((site / "versions.json").read_text()) == ["latest", "0.2.0", "0.1.0"]
    assert out["pages"] == 2
    for label in ("0.1.0", "0.2.0", "latest"):
        intro = (site / label / "book" / "intro.html").read_text()
        assert f'src="../../version-switcher.js" data-version="{label}"' in intro
        assert intro.count("version-switcher.js") == 1
    assert 'src="../version-switcher.js"' in (site / "latest" / "index.html").read_text()
    release = site / "releases" / "0.2.0"
    sums = dict(
        reversed(line.split("  ")) for line in (release / "SHA256SUMS").read_text().splitlines()
    )
    assert set(sums) == {
        "analysis_lib-0.2.0-html.tar.gz",
        "analysis_lib-0.2.0-results.tar.gz",
        "CITATION.cff",
        "CHANGELOG.md",
    }
    for name, digest in sums.items():
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest
    with tarfile.open(release / "analysis_lib-0.2.0-html.tar.gz") as tar:
        assert "analysis_lib-0.2.0-html/book/intro.html" in tar.getnames()
    assert not [p for p in site.iterdir() if p.name.startswith(".")]


def test_publish_requires_a_built_book(tmp_path):
    with pytest.raises(FileNotFoundError, match="make book"):
        publish(tmp_path / "nothing", tmp_path / "site")
