"""Download the public real datasets, file by file, with pinned SHA-256 hashes.

Two real datasets can be fetched from their public GitHub history:

``alice``
    Brennan et al. (2016), as kept in ``daandouwe/Thesis`` at commit
    ``ec54039b6ac5ad7bf8c81b91768108e5be5c1ce0``, folder ``brain-data/syntax-in-rnng/``
    -> ``<root>/alice/`` (28 subjects).
``partly-cloudy``
    QTAB *Partly Cloudy* time series (Schmälzle et al., 2024), ``nomcomm/partlycloudy2``
    at commit ``a79e83ddb28458d50c94a0f5a055ea1585c466d9``, folder ``data/``
    -> ``<root>/partly-cloudy/`` (289 subjects).

The registries (``sha256  size  path`` per public file, in ``analysis_lib/data/``) pin
every file. Files are downloaded with :mod:`pooch` from raw-file URLs
``<base>/<path in the repository>``; the base is
``https://raw.githubusercontent.com/{repo}/{commit}`` unless the ``--base-url`` option or
the :data:`BASE_URL_ENV` environment variable names a mirror (``{repo}`` and
``{commit}`` are filled in when present). A fetch is resumable: files already in place
with the right hash are kept, and an interrupted download continues from its partial
``.part`` file (HTTP range request) on the next run. A file whose hash does not match is
never left at its final path.

By default the files go to the data home (:func:`analysis_lib.paths.data_home`), where
the loaders look; ``dest`` puts them elsewhere (add that folder to
``ANALYSIS_LIB_EXTRA_DATA``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..io import apply_umask, sha256_file
from ..paths import data_home, find_data, search_roots

__all__ = [
    "BASE_URL_ENV",
    "SOURCES",
    "FetchError",
    "RegistryEntry",
    "Source",
    "fetch",
    "fetch_command",
    "missing",
    "registry",
    "selection",
]

#: Environment variable naming a mirror of the raw files (``{repo}``, ``{commit}`` filled).
BASE_URL_ENV = "ANALYSIS_LIB_FETCH_URL"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com/{repo}/{commit}"
CHUNK = 1 << 16


class FetchError(RuntimeError):
    """A download failed (network, missing file on the server, hash mismatch)."""


@dataclass(frozen=True)
class Source:
    """Where a real dataset comes from.

    Attributes
    ----------
    name : str
        Dataset name (``alice``, ``partly-cloudy``).
    repo, commit : str
        Public GitHub repository and the pinned commit.
    upstream : str
        Folder of the repository holding the data (ends with ``/``).
    local : str
        Folder under a data root the loaders read (ends with ``/``).
    registry : str
        File name of the registry in ``analysis_lib/data``.
    subject_pattern : str
        Regular expression whose group 1 is the subject id of a per-subject file.
    optional : tuple of str
        Regular expressions of files the loaders do not read; fetched only with
        ``everything=True``.
    description : str
    """

    name: str
    repo: str
    commit: str
    upstream: str
    local: str
    registry: str
    subject_pattern: str
    optional: tuple[str, ...]
    description: str


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            name="alice",
            repo="daandouwe/Thesis",
            commit="ec54039b6ac5ad7bf8c81b91768108e5be5c1ce0",
            upstream="brain-data/syntax-in-rnng/",
            local="alice/",
            registry="alice.sha256",
            subject_pattern=r"(?:^|/)(s\d+)-[^/]*$",
            optional=(),
            description="Brennan et al. (2016) Alice listening fMRI, ROI time courses (CC-BY 4.0)",
        ),
        Source(
            name="partly-cloudy",
            repo="nomcomm/partlycloudy2",
            commit="a79e83ddb28458d50c94a0f5a055ea1585c466d9",
            upstream="data/",
            local="partly-cloudy/",
            registry="partly-cloudy.sha256",
            subject_pattern=r"(?:^|/)(sub-\d+)_[^/]*$",
            # Not read by the loaders: the authors' intermediate tables, templates and
            # pickled dictionaries (never unpickled here).
            optional=(
                r"^03_extract_ts_aus/data\d+\.csv$",
                r"^02_rois_masks_maps/MNI152_.*$",
                r"^02_rois_masks_maps/func\.nii$",
                r"^02_rois_masks_maps/.*\.npy$",
            ),
            description="QTAB adolescents watching Partly Cloudy, 293 regions "
            "(Strike et al. 2023; Schmälzle et al. 2024)",
        ),
    )
}


@dataclass(frozen=True)
class RegistryEntry:
    """One pinned file: its hash, size, path in the repository and local path."""

    sha256: str
    size: int
    upstream_path: str
    relative: str  # path under the data root, e.g. "alice/alice_data_shared/s18-rate.txt"
    subject: str | None


def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"fetch: unknown dataset {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def registry(name: str) -> list[RegistryEntry]:
    """Read the pinned registry of a dataset (shipped in ``analysis_lib/data``).

    Parameters
    ----------
    name : {"alice", "partly-cloudy"}

    Returns
    -------
    list of RegistryEntry
        One entry per public file, in registry order.

    Raises
    ------
    ValueError
        When the registry is malformed or pins another commit than :data:`SOURCES`.
    """
    source = _source(name)
    ref = resources.files("analysis_lib.data") / source.registry
    text = ref.read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or source.commit not in lines[0]:
        raise ValueError(f"{ref}: first line must name commit {source.commit}")
    pattern = re.compile(source.subject_pattern)
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if (
            len(parts) != 3
            or not re.fullmatch(r"[0-9a-f]{64}", parts[0])
            or not parts[1].isdigit()
            or not parts[2].startswith(source.upstream)
        ):
            raise ValueError(f"{ref}, line {number}: expected 'sha256  size  {source.upstream}…'")
        inner = parts[2][len(source.upstream) :]
        match = pattern.search(inner)
        entries.append(
            RegistryEntry(
                sha256=parts[0],
                size=int(parts[1]),
                upstream_path=parts[2],
                relative=source.local + inner,
                subject=match.group(1) if match else None,
            )
        )
    return entries


def selection(
    name: str, subjects: list[str] | None = None, everything: bool = False
) -> list[RegistryEntry]:
    """The registry entries a fetch downloads.

    Parameters
    ----------
    name : {"alice", "partly-cloudy"}
    subjects : list of str, optional
        Only these subjects' files (plus the shared files); every subject when None.
    everything : bool
        Include files the loaders do not read (``Source.optional``).

    Returns
    -------
    list of RegistryEntry
        The files to download, shared files first.

    Raises
    ------
    ValueError
        When a subject is not in the registry (the message lists the known ones).
    """
    source = _source(name)
    entries = registry(name)
    if not everything:
        optional = [re.compile(p) for p in source.optional]
        entries = [
            e
            for e in entries
            if not any(p.search(e.relative[len(source.local) :]) for p in optional)
        ]
    if subjects is not None:
        known = sorted({e.subject for e in entries if e.subject}, key=_natural)
        unknown = [s for s in subjects if s not in known]
        if unknown:
            raise ValueError(
                f"fetch {name}: unknown subject(s) {', '.join(unknown)}; the registry has "
                f"{len(known)}: {', '.join(known[:6])} ... {known[-1]}"
            )
        wanted = set(subjects)
        entries = [e for e in entries if e.subject is None or e.subject in wanted]
    return entries


def _natural(text: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", text))


_DOCS = re.compile(r"(?:^|/)(?:LICENSE|README)[^/]*$")  # fetched, but no loader reads them


def missing(name: str) -> list[str]:
    """Shared (not per-subject) data files of a dataset that no data root holds.

    Licence and README files are fetched but not required here.

    An empty list also requires at least one subject file to be found; otherwise the
    first subject file is reported missing.

    Parameters
    ----------
    name : {"alice", "partly-cloudy"}

    Returns
    -------
    list of str
        Paths relative to a data root, e.g. ``["alice/alice_data_shared/README.txt"]``.
    """
    entries = [e for e in selection(name) if not _DOCS.search(e.relative)]
    out = [e.relative for e in entries if e.subject is None and find_data(e.relative) is None]
    per_subject = [e for e in entries if e.subject is not None]
    if per_subject and not any(find_data(e.relative) is not None for e in per_subject):
        out.append(per_subject[0].relative)
    return out


def fetch_command(name: str) -> str:
    """The one shell command that fetches a dataset into the data home."""
    return f"python -m analysis_lib fetch {_source(name).name}"


def base_url(name: str, base: str | None = None) -> str:
    """The URL the repository paths are appended to (option, env var, then GitHub).

    Parameters
    ----------
    name : str
        Registered dataset (:data:`SOURCES`).
    base : str, optional
        URL template with ``{repo}`` and ``{commit}`` (default: the environment variable
        :data:`BASE_URL_ENV`, then :data:`DEFAULT_BASE_URL`).

    Returns
    -------
    str
        The base URL, without a trailing slash.
    """
    source = _source(name)
    template = base or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    return template.format(repo=source.repo, commit=source.commit).rstrip("/")


class _ResumableDownloader:
    """A pooch downloader that continues a partial ``<target>.part`` with a range request."""

    def __init__(self, part: Path, size: int, timeout: float):
        self.part = part
        self.size = size
        self.timeout = timeout

    def __call__(self, url: str, output_file, pooch=None, check_only: bool = False) -> None:
        import requests

        have = self.part.stat().st_size if self.part.exists() else 0
        if have > self.size:  # not a prefix of this file: start again
            self.part.unlink()
            have = 0
        if have < self.size:
            headers = {"Range": f"bytes={have}-"} if have else {}
            with requests.get(url, headers=headers, stream=True, timeout=self.timeout) as resp:
                if resp.status_code == 416:  # nothing left to send: start again
                    self.part.unlink(missing_ok=True)
                    return self(url, output_file, pooch, check_only)
                resp.raise_for_status()
                mode = "ab" if have and resp.status_code == 206 else "wb"
                with open(self.part, mode) as fh:
                    for block in resp.iter_content(CHUNK):
                        fh.write(block)
        os.replace(self.part, output_file)


_POOCH_TMP = re.compile(r"tmp[a-z0-9_]{8}")  # tempfile names pooch downloads into


def _remove_stale_temporaries(root: Path, entries: list[RegistryEntry]) -> None:
    """Remove pooch's temporary files left by a killed fetch (never a registry file)."""
    names = {Path(e.relative).name for e in entries}
    for folder in {(root / e.relative).parent for e in entries}:
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if _POOCH_TMP.fullmatch(path.name) and path.name not in names and path.is_file():
                path.unlink()


def fetch(
    name: str,
    dest: str | os.PathLike[str] | None = None,
    subjects: list[str] | None = None,
    *,
    base: str | None = None,
    everything: bool = False,
    progress: bool | None = None,
    timeout: float = 60.0,
) -> dict[str, object]:
    """Download a real dataset's public files, checking each against its pinned hash.

    Parameters
    ----------
    name : {"alice", "partly-cloudy"}
    dest : path-like, optional
        Data root to write into (the dataset goes to ``dest/<local folder>``); the data
        home by default, which the loaders search.
    subjects : list of str, optional
        Only these subjects (e.g. ``["s18", "s22"]`` or ``["sub-0001"]``) and the shared
        files; every subject of the registry when None.
    base : str, optional
        Mirror URL (``{repo}``/``{commit}`` filled in); else :data:`BASE_URL_ENV`, else
        GitHub's raw files at the pinned commit.
    everything : bool
        Also fetch the files the loaders do not read.
    progress : bool or None
        Progress bar; None shows it only in a terminal.
    timeout : float
        Seconds to wait for the server on each request.

    Returns
    -------
    dict
        ``root`` (the dataset folder), ``downloaded`` and ``present`` (counts) and
        ``files`` (every selected path).

    Raises
    ------
    ValueError
        Unknown dataset or subject.
    FetchError
        A download failed or a file does not match its pinned SHA-256 (nothing is left
        at its final path; the error names the file and the URL).
    """
    import logging

    import pooch
    import requests
    from tqdm.auto import tqdm

    source = _source(name)
    entries = selection(name, subjects, everything)
    root = Path(dest).expanduser() if dest is not None else data_home(create=True)
    url0 = base_url(name, base)
    pooch.get_logger().setLevel(logging.WARNING)
    _remove_stale_temporaries(root, entries)
    downloaded = present = 0
    files = []
    for entry in tqdm(
        entries,
        desc=f"fetch {name}",
        unit="file",
        disable=None if progress is None else not progress,
    ):
        target = root / entry.relative
        files.append(target)
        if target.exists():
            if target.stat().st_size == entry.size and sha256_file(target) == entry.sha256:
                present += 1
                continue
            target.unlink()  # a wrong file is never kept, nor trusted
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        url = f"{url0}/{entry.upstream_path}"
        try:
            pooch.retrieve(
                url,
                known_hash=f"sha256:{entry.sha256}",
                fname=target.name,
                path=target.parent,
                downloader=_ResumableDownloader(part, entry.size, timeout),
                progressbar=False,
            )
        except requests.exceptions.HTTPError as exc:
            raise FetchError(
                f"{url}: download failed ({exc}); nothing written to {target}"
            ) from exc
        except requests.exceptions.RequestException as exc:
            raise FetchError(
                f"{url}: download interrupted ({type(exc).__name__}); run the same command "
                f"again to resume from {part.name}"
            ) from exc
        except ValueError as exc:  # pooch: hash mismatch (the temporary file is removed)
            part.unlink(missing_ok=True)
            target.unlink(missing_ok=True)
            raise FetchError(
                f"{target}: the downloaded file does not match its pinned sha256 "
                f"{entry.sha256} (from {url}); nothing was kept. The mirror or the network "
                "returned other content; try again or use another --base-url."
            ) from exc
        apply_umask(target)
        downloaded += 1
    folder = root / source.local
    return {"root": folder, "downloaded": downloaded, "present": present, "files": files}


def searched(root: Path) -> bool:
    """Whether the loaders search ``root`` (the data home or an extra data root)."""
    resolved = root.expanduser().resolve()
    return any(resolved == r.expanduser().resolve() for r in search_roots())
