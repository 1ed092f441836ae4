"""Atomic, provenance-carrying reads and writes of labeled results.

Every result that leaves a stage is an :mod:`xarray` object written as netCDF (HDF5
through ``h5netcdf``). Writes go to a temporary file in the destination folder and are
renamed into place, so an interrupted run never leaves a half-written result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import __version__

ENGINE = "h5netcdf"


def current_umask() -> int:
    """Return the process umask.

    Read from ``/proc/self/status`` where the kernel reports it (no change to the
    process state, safe with threads); otherwise set and restored at once.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def apply_umask(path: str | os.PathLike[str], mode: int = 0o666) -> None:
    """Give ``path`` the permissions a newly created file gets: ``mode & ~umask``.

    Temporary files (:func:`tempfile.mkstemp`, pooch downloads) are created with mode
    0600; results renamed from them must honour the user's umask like any other output.

    Parameters
    ----------
    path : path-like
        An existing file.
    mode : int
        Permissions before the umask is applied.
    """
    os.chmod(path, mode & ~current_umask())


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is left untouched. The
    result gets the permissions of a newly created file (``0666 & ~umask``), not the
    0600 of the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():
            apply_umask(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path.

    Parameters
    ----------
    path : path-like
        Destination; written to a temporary file in its folder, then renamed.
    text : str
        Content, written as UTF-8.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path.

    Parameters
    ----------
    path : path-like
        Destination; written to a temporary file in its folder, then renamed.
    data : bytes
        Content.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file, read in chunks.

    Parameters
    ----------
    path : path-like
        File to hash.
    chunk : int
        Bytes read at a time.

    Returns
    -------
    str
        The 64-character hexadecimal digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_array(array: np.ndarray) -> str:
    """Return the SHA-256 hex digest of an array's dtype, shape and bytes."""
    array = np.ascontiguousarray(array)
    digest = hashlib.sha256()
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def provenance(params: Mapping[str, Any] | None = None, **inputs: str) -> dict[str, str]:
    """Build provenance attrs: package version, parameters as JSON, input hashes.

    Parameters
    ----------
    params : mapping, optional
        Parameters of the stage; stored as sorted JSON under ``params``.
    **inputs : str
        Named input hashes, stored as ``input_<name>_sha256``.

    Returns
    -------
    dict
        Attributes ready to merge into an xarray object's ``attrs``.
    """
    attrs = {
        "analysis_lib_version": __version__,
        "params": json.dumps(dict(params or {}), sort_keys=True, default=str),
    }
    for name, digest in inputs.items():
        attrs[f"input_{name}_sha256"] = digest
    return attrs


def _netcdf_safe_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    safe = {}
    for key, value in attrs.items():
        if isinstance(value, bool):
            safe[key] = int(value)
        elif isinstance(value, (dict, list, tuple)) and not (
            isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value)
        ):
            safe[key] = json.dumps(value, sort_keys=True, default=str)
        elif value is None:
            safe[key] = "None"
        else:
            safe[key] = value
    return safe


def _prepare(obj: xr.Dataset | xr.DataArray) -> xr.Dataset:
    ds = obj.to_dataset(name=obj.name or "data") if isinstance(obj, xr.DataArray) else obj
    ds = ds.copy()
    ds.attrs = _netcdf_safe_attrs(ds.attrs)
    for name in ds.variables:
        ds[name].attrs = _netcdf_safe_attrs(ds[name].attrs)
    return ds


def write_netcdf(obj: xr.Dataset | xr.DataArray, path: str | os.PathLike[str]) -> Path:
    """Write an xarray object to netCDF atomically.

    Booleans and nested attrs are converted to netCDF-safe values (ints, JSON strings).
    A DataArray is stored as a one-variable Dataset named after it.

    Parameters
    ----------
    obj : xarray.Dataset or xarray.DataArray
        The result (any dims); a DataArray needs a name.
    path : path-like
        Destination ``.nc`` file; its folder is created.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    ds = _prepare(obj)
    with atomic_path(path) as tmp:
        ds.to_netcdf(tmp, engine=ENGINE)
    return Path(path)


def read_netcdf(path: str | os.PathLike[str], *, variable: str | None = None):
    """Read a netCDF result fully into memory.

    Parameters
    ----------
    path : path-like
        File written by :func:`write_netcdf` (or any netCDF4/HDF5 file).
    variable : str, optional
        Return only this data variable as a DataArray.

    Returns
    -------
    xarray.Dataset or xarray.DataArray
        The file's content loaded in memory (the file is closed); a DataArray when ``variable`` is
        given.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file cannot be read as netCDF or lacks ``variable``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with xr.open_dataset(path, engine=ENGINE) as ds:
            ds = ds.load()
    except Exception as exc:
        raise ValueError(f"{path}: not a readable netCDF file ({exc})") from exc
    if variable is None:
        return ds
    if variable not in ds:
        raise ValueError(f"{path}: has no variable {variable!r}; it holds {sorted(ds.data_vars)}")
    return ds[variable]


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (POSIX ``flock``) inside the block.

    The lock is released when the block ends or the process dies, so parallel processes
    (the notebooks of a grid, the pages of a parallel book build) compute a cached result
    once: the first computes it, the others wait and then read it. Without ``fcntl``
    (not POSIX) there is no lock: concurrent processes then compute identical files,
    each written atomically.

    Parameters
    ----------
    path : path-like
        The lock file (created, with its folder, when missing; never removed).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def cache_lock(path: str | os.PathLike[str]) -> contextlib.AbstractContextManager[None]:
    """:func:`file_lock` on ``.<name>.lock`` next to the cache file ``path``."""
    path = Path(path)
    return file_lock(path.with_name(f".{path.name}.lock"))


def read_cache(path: str | os.PathLike[str], *, variable: str | None = None):
    """Read a cached netCDF result, or None when it must be recomputed.

    A cache file that exists but cannot be read (truncated by a full disk, a foreign
    file) is removed with a warning naming it, so that the caller regenerates it; a
    result file is never treated this way (use :func:`read_netcdf`).

    Parameters
    ----------
    path : path-like
        Cache file written by :func:`write_netcdf`.
    variable : str, optional
        Return only this data variable as a DataArray.

    Returns
    -------
    xarray.Dataset, xarray.DataArray or None
        None when the file is absent or was unreadable (and is now removed).
    """
    import warnings

    path = Path(path)
    if not path.is_file():
        return None
    try:
        return read_netcdf(path, variable=variable)
    except ValueError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        warnings.warn(
            f"{path}: unreadable cache file ({reason}); removed, recomputing it",
            UserWarning,
            stacklevel=2,
        )
        path.unlink(missing_ok=True)
        return None
