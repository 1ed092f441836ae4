"""`fetch`: pinned-hash downloads of the real data, against a local HTTP server only.

The server (127.0.0.1, random port, a thread) serves ``../shared/data`` laid out as the
upstream repositories (a temporary tree of symlinks), answers HTTP range requests, and can
be told to corrupt a file or to drop the connection half-way through one.
"""

from __future__ import annotations

import http.server
import os
import stat
import threading
from pathlib import Path

import pytest

from analysis_lib.cli import main
from analysis_lib.datasets import alice
from analysis_lib.datasets import fetch as fetch_mod
from analysis_lib.paths import extra_roots


def _shared_data() -> Path | None:
    for root in extra_roots():
        if (root / "alice" / "alice_data_shared").is_dir() and (root / "registry").is_dir():
            return root
    return None


SHARED = _shared_data()


def needs_shared(func):
    """Mark a test that serves ../shared/data (skipped where it is absent)."""
    func = pytest.mark.skipif(SHARED is None, reason="needs ../shared/data")(func)
    return pytest.mark.realdata(func)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with byte ranges, a request log and injectable faults."""

    server_version = "test"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server
        rel = self.path.lstrip("/")
        srv.log.append((rel, self.headers.get("Range")))
        path = Path(srv.root) / rel
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        if rel in srv.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 0xFF])
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if rel in srv.drop:
            srv.drop.discard(rel)  # once
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    """Serve ../shared/data at the upstream paths; yields the server (``.url``)."""
    tree = tmp_path / "upstream"
    (tree / "brain-data").mkdir(parents=True)
    os.symlink(SHARED / "alice", tree / "brain-data" / "syntax-in-rnng")
    os.symlink(SHARED / "partly-cloudy", tree / "data")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.root = str(tree)
    httpd.log, httpd.corrupt, httpd.drop, httpd.ranges = [], set(), set(), True
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


SUBJECT = "s18"


def _alice_files(tmp: Path) -> dict[str, Path]:
    entries = fetch_mod.selection("alice", [SUBJECT])
    return {e.upstream_path: tmp / e.relative for e in entries}


def test_registry_is_shipped_and_pins_the_commits():
    for name, source in fetch_mod.SOURCES.items():
        entries = fetch_mod.registry(name)
        assert entries and all(e.relative.startswith(source.local) for e in entries)
    subjects = {e.subject for e in fetch_mod.registry("alice") if e.subject}
    assert len(subjects) == 28
    subjects = {e.subject for e in fetch_mod.registry("partly-cloudy") if e.subject}
    assert len(subjects) == 289
    with pytest.raises(ValueError, match="unknown subject"):
        fetch_mod.selection("alice", ["s99"])


@needs_shared
def test_fetch_alice_subject_then_loaders_find_it(server, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    monkeypatch.setenv("ANALYSIS_LIB_DATA", str(home))
    monkeypatch.setenv("ANALYSIS_LIB_EXTRA_DATA", "")
    monkeypatch.setenv(fetch_mod.BASE_URL_ENV, server.url)
    os.umask(0o022)
    assert main(["fetch", "alice", "--subjects", SUBJECT]) == 0
    assert "downloaded" in capsys.readouterr().out
    files = _alice_files(home)
    for upstream, path in files.items():
        assert path.read_bytes() == (Path(server.root) / upstream).read_bytes()
        assert stat.S_IMODE(path.stat().st_mode) == 0o644  # the umask, not 0600
    assert not list(home.rglob("*.part")) and not list(home.rglob("tmp*"))
    # the loaders find the fetched copy in the data home
    alice._scan.cache_clear()
    assert alice.subjects() == [SUBJECT]
    assert alice.load(SUBJECT).shape == (alice.N_VOLUMES, len(alice.ROIS))
    assert fetch_mod.missing("alice") == []
    # a second run downloads nothing and checks what is there
    server.log.clear()
    assert main(["fetch", "alice", "--subjects", SUBJECT]) == 0
    assert server.log == []
    assert f"0 file(s) downloaded, {len(files)} already present" in capsys.readouterr().out


@needs_shared
def test_fetch_partly_cloudy_to_dest_and_base_url_option(server, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(fetch_mod.BASE_URL_ENV, raising=False)
    dest = tmp_path / "elsewhere"
    code = main(
        [
            *("fetch", "partly-cloudy", "--dest", str(dest)),
            *("--subjects", "sub-0001", "--base-url", server.url),
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "ANALYSIS_LIB_EXTRA_DATA" in out  # dest is not searched: say how to use it
    ts = dest / "partly-cloudy/03_extract_ts_aus"
    assert [p.name for p in ts.iterdir()] == [
        "sub-0001_LTR_Z_THP001_LP012_shen268_pauli16_aan9.npy"
    ]
    assert (dest / "partly-cloudy/00_dataset_info/twin_df.csv").is_file()
    assert not any(
        p.suffix == ".npy" for p in (dest / "partly-cloudy/02_rois_masks_maps").iterdir()
    )


@needs_shared
def test_corrupted_download_is_refused_and_nothing_is_left(server, tmp_path, capsys):
    entries = fetch_mod.selection("alice", [SUBJECT])
    bad = entries[1]
    server.corrupt.add(bad.upstream_path)
    code = main(
        [
            "fetch",
            "alice",
            "--subjects",
            SUBJECT,
            "--dest",
            str(tmp_path),
            "--base-url",
            server.url,
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "does not match its pinned sha256" in err
    assert str(tmp_path / bad.relative) in err
    target = tmp_path / bad.relative
    assert not target.exists()
    assert list(target.parent.iterdir()) == []  # no temporary or partial file either
    assert (tmp_path / entries[0].relative).is_file()  # the files before it are kept


@needs_shared
def test_existing_wrong_file_is_replaced(server, tmp_path):
    entries = fetch_mod.selection("alice", [SUBJECT])
    target = tmp_path / entries[0].relative
    target.parent.mkdir(parents=True)
    target.write_text("not the data\n")
    fetch_mod.fetch("alice", tmp_path, [SUBJECT], base=server.url)
    assert fetch_mod.sha256_file(target) == entries[0].sha256


@needs_shared
def test_interrupted_download_resumes_with_a_range_request(server, tmp_path):
    entries = fetch_mod.selection("alice", [SUBJECT])
    cut = max(entries, key=lambda e: e.size)
    server.drop.add(cut.upstream_path)
    with pytest.raises(fetch_mod.FetchError, match="run the same command again to resume"):
        fetch_mod.fetch("alice", tmp_path, [SUBJECT], base=server.url)
    target = tmp_path / cut.relative
    part = target.with_name(target.name + ".part")
    assert not target.exists()
    kept = part.stat().st_size
    assert 0 < kept <= cut.size // 2  # the server sent half of the body, then dropped
    done_before = {e.upstream_path for e in entries if (tmp_path / e.relative).exists()}
    server.log.clear()
    out = fetch_mod.fetch("alice", tmp_path, [SUBJECT], base=server.url)
    requested = dict(server.log)
    assert requested[cut.upstream_path] == f"bytes={kept}-"
    assert not done_before & set(requested)  # completed files are not fetched again
    assert out["present"] == len(done_before)
    assert fetch_mod.sha256_file(target) == cut.sha256 and not part.exists()


@needs_shared
def test_temporary_files_of_a_killed_fetch_are_removed(server, tmp_path):
    entries = fetch_mod.selection("alice", [SUBJECT])
    folder = (tmp_path / entries[0].relative).parent
    folder.mkdir(parents=True)
    (folder / "tmpab_c1234").write_bytes(b"")  # what pooch leaves after kill -9
    (folder / "notes.txt").write_text("mine")  # a user's file is left alone
    fetch_mod.fetch("alice", tmp_path, [SUBJECT], base=server.url)
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt", "s18-timecourses.txt"]


@needs_shared
def test_resume_without_range_support_restarts_the_file(server, tmp_path):
    entries = fetch_mod.selection("alice", [SUBJECT])
    target = tmp_path / entries[0].relative
    target.parent.mkdir(parents=True)
    good = (Path(server.root) / entries[0].upstream_path).read_bytes()
    target.with_name(target.name + ".part").write_bytes(good[:100])
    server.ranges = False
    fetch_mod.fetch("alice", tmp_path, [SUBJECT], base=server.url)
    assert target.read_bytes() == good


def test_server_error_names_the_url(tmp_path, capsys):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.root, httpd.log, httpd.corrupt, httpd.drop = str(tmp_path), [], set(), set()
    httpd.ranges = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        code = main(["fetch", "alice", "--dest", str(tmp_path / "d"), "--base-url", url])
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = capsys.readouterr().err
    assert code == 1 and url in err and "404" in err
    assert not [p for p in (tmp_path / "d").rglob("*") if p.is_file()]


def test_fetch_command_names_the_dataset():
    assert fetch_mod.fetch_command("alice") == "python -m analysis_lib fetch alice"
    with pytest.raises(ValueError, match="unknown dataset"):
        fetch_mod.fetch_command("nope")
