"""Group-level inference, image spaces and the encode/group CLI of analysis_lib.encoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import xarray as xr
from scipy import stats

from analysis_lib.encoding import fit_encoding, group_encoding
from analysis_lib.encoding import spaces as sp
from analysis_lib.io import read_netcdf, write_netcdf

TR = 2.0


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Small problems: one torch thread avoids stalls on a shared CPU (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def subject_maps(rng, n_sub, n_atoms, n_vox, effect):
    """Per-subject beta maps as encoding-like Datasets: effect + subject noise."""
    out = []
    for s in range(n_sub):
        beta = effect + rng.standard_normal((n_atoms, n_vox))
        out.append(
            xr.Dataset(
                {"beta": (("atom", "voxel"), beta)},
                coords={
                    "atom": np.arange(n_atoms),
                    "roi": ("voxel", [f"r{v}" for v in range(n_vox)]),
                },
                attrs={"space": "roi", "subject": f"s{s:02d}"},
            )
        )
    return out


def test_group_t_matches_scipy_and_signflips_are_calibrated(rng):
    n_sub, n_atoms, n_vox = 8, 2, 2500
    subs = subject_maps(rng, n_sub, n_atoms, n_vox, 0.0)
    g = group_encoding(subs, n_perm=1000, progress=False)
    maps = np.stack([s.beta.values for s in subs])
    ref = stats.ttest_1samp(maps, 0.0, axis=0)
    np.testing.assert_allclose(g.tstat.values, ref.statistic, rtol=1e-10)
    np.testing.assert_allclose(g.pvalue_param.values, ref.pvalue, rtol=1e-8)
    np.testing.assert_allclose(g.mean_beta.values, maps.mean(0))
    assert g.attrs["n_signflips"] == 2**n_sub - 1  # exhaustive
    rate = float((g.pvalue_perm.values <= 0.05).mean())  # 5,000 null tests, exact test
    assert 0.04 <= rate <= 0.06, rate
    assert list(g.subject.values) == [f"s{s:02d}" for s in range(n_sub)]
    assert np.array_equal(g.roi.values, subs[0].roi.values)


def test_group_planted_effect_fwe_fdr_and_reliability(rng):
    n_sub, n_atoms, n_vox = 12, 2, 400
    effect = np.zeros((n_atoms, n_vox))
    effect[0, :50] = 3.0
    effect[1] = rng.standard_normal(n_vox) * 2  # a reliable spatial pattern
    subs = subject_maps(rng, n_sub, n_atoms, n_vox, effect)
    g = group_encoding(subs, n_perm=500, seed=1, progress=False)
    assert (g.pvalue_fwe.values[0, :50] <= 0.05).mean() > 0.9
    assert (g.pvalue_fwe.values[0, 50:] <= 0.05).mean() < 0.02
    assert (g.qvalue.values[0, 50:] <= 0.05).mean() < 0.05
    maps = np.stack([s.beta.values for s in subs])
    for k in range(n_atoms):
        r = np.corrcoef(maps[:, k])[np.triu_indices(n_sub, 1)].mean()
        assert g.reliability.values[k] == pytest.approx(r)
    assert g.reliability.values[1] > 0.7 > g.reliability.values[0]
    again = group_encoding(subs, n_perm=500, seed=1, progress=False)
    xr.testing.assert_identical(g, again)


def test_group_rejects_mismatched_spaces(rng):
    a, b = subject_maps(rng, 2, 1, 10, 0.0)
    b.attrs["space"] = "fsLR32k"
    with pytest.raises(
        ValueError, match=r"space mismatch: s00 is in 'roi' but s01 is in 'fsLR32k'"
    ):
        group_encoding([a, b], progress=False)
    b.attrs["space"] = "roi"
    b = b.assign_coords(roi=("voxel", [f"x{v}" for v in range(10)]))
    with pytest.raises(ValueError, match="'roi' differs between s00 and s01"):
        group_encoding([a, b], progress=False)


# --------------------------------------------------------------------------- spaces


def test_nifti_roundtrip_and_mask_mismatch(rng, tmp_path):
    import nibabel as nib

    affine = np.diag([4.0, 4.0, 4.0, 1.0])
    affine[:3, 3] = [-10, -20, -30]
    data = rng.standard_normal((6, 5, 4, 30)).astype(np.float32)
    mask = np.zeros((6, 5, 4), np.uint8)
    mask[1:5, 1:4, 1:3] = 1
    img, mask_img = nib.Nifti1Image(data, affine), nib.Nifti1Image(mask, affine)
    bold = sp.bold_from_nifti(img, mask_img, tr=TR, space="MNI152-4mm")
    assert bold.sizes == {"time": 30, "voxel": int(mask.sum())}
    v = 5
    i, j, k = (int(bold[c][v]) for c in "ijk")
    np.testing.assert_allclose(bold.values[:, v], data[i, j, k])
    np.testing.assert_allclose(
        [bold.x[v], bold.y[v], bold.z[v]], affine[:3, :3] @ [i, j, k] + affine[:3, 3]
    )
    atoms = rng.standard_normal((30, 2))
    ds = fit_encoding(atoms, bold, n_perm=0, cv=None, progress=False)
    path = tmp_path / "enc.nc"
    write_netcdf(ds, path)
    back = read_netcdf(path)
    out = sp.map_to_nifti(back["tstat"])
    assert out.shape == (6, 5, 4, 2)
    np.testing.assert_allclose(out.get_fdata()[i, j, k, 1], ds.tstat.values[1, v], rtol=1e-6)
    assert np.isnan(out.get_fdata()[0, 0, 0, 0])
    np.testing.assert_allclose(out.affine, affine)
    shifted = affine.copy()
    shifted[0, 3] += 4
    with pytest.raises(ValueError, match=r"mask .*does not match BOLD image"):
        sp.bold_from_nifti(img, nib.Nifti1Image(mask, shifted))


def _brain_models():
    import nibabel as nib

    cortex = nib.cifti2.BrainModelAxis.from_mask(
        np.array([1, 0, 1, 1, 1, 0, 1], bool), name="CortexLeft"
    )
    vox = np.zeros((3, 3, 3), bool)
    vox[1, 1, :] = True
    sub = nib.cifti2.BrainModelAxis.from_mask(vox, name="thalamus_left", affine=np.eye(4))
    return cortex + sub


def test_cifti_and_gifti_roundtrip(rng, tmp_path):
    import nibabel as nib

    models = _brain_models()
    data = rng.standard_normal((25, len(models))).astype(np.float32)
    series = nib.cifti2.SeriesAxis(start=20.0, step=TR, size=25)
    path = tmp_path / "sub.dtseries.nii"
    nib.save(nib.Cifti2Image(data, header=(series, models)), path)
    bold = sp.bold_from_cifti(path)
    np.testing.assert_allclose(bold.values, data)
    np.testing.assert_allclose(bold.time.values, 20.0 + TR * np.arange(25))
    assert bold.structure.values[0] == "CIFTI_STRUCTURE_CORTEX_LEFT"
    assert bold.structure.values[-1] == "CIFTI_STRUCTURE_THALAMUS_LEFT"
    sub = bold.isel(voxel=[0, 2, 5])  # a subsample keeps the original indices
    ds = fit_encoding(
        rng.standard_normal((25, 2)), sub, n_perm=0, cv=None, drift_model=None, progress=False
    )
    img = sp.map_to_cifti(ds.beta, path)
    out = np.asarray(img.get_fdata())
    assert out.shape == (2, len(models))
    np.testing.assert_allclose(out[:, [0, 2, 5]], ds.beta.values, rtol=1e-6)
    assert np.isnan(out[:, 1]).all()
    nib.save(img, tmp_path / "beta.dscalar.nii")
    bad = sub.assign_coords(structure=("voxel", ["CIFTI_STRUCTURE_CORTEX_RIGHT"] * 3))
    with pytest.raises(ValueError, match="differs from template"):
        sp.map_to_cifti(bad.isel(time=0), path)

    hemis = {}
    for h, n in (("L", 6), ("R", 4)):
        arrays = [
            nib.gifti.GiftiDataArray(rng.standard_normal(n).astype(np.float32)) for _ in range(25)
        ]
        hemis[h] = tmp_path / f"{h}.func.gii"
        nib.save(nib.gifti.GiftiImage(darrays=arrays), hemis[h])
    surf = sp.bold_from_gifti(hemis, tr=TR)
    assert surf.sizes["voxel"] == 10 and list(surf.hemi.values[-4:]) == ["R"] * 4
    ds = fit_encoding(
        rng.standard_normal((25, 2)), surf, n_perm=0, cv=None, drift_model=None, progress=False
    )
    gii = sp.map_to_gifti(ds.tstat, "R")
    assert len(gii.darrays) == 2
    np.testing.assert_allclose(gii.darrays[1].data, ds.tstat.values[1, 6:], rtol=1e-6)


def test_roi_table_and_space_check(rng, tmp_path):
    path = tmp_path / "s01-timecourses.txt"
    np.savetxt(path, rng.standard_normal((40, 3)))
    bold = sp.bold_from_roi_table(path, tr=TR, t0=20.0, rois=["LATL", "RATL", "LIFG"])
    assert list(bold.roi.values) == ["LATL", "RATL", "LIFG"]
    assert bold.time.values[0] == 20.0
    other = bold.assign_attrs(space="fsLR32k")
    with pytest.raises(
        ValueError, match=r"space mismatch: atlas is in 'fsLR32k' but bold is in 'roi'"
    ):
        sp.check_same_space(other, bold, ("atlas", "bold"))


# --------------------------------------------------------------------------- CLI


def test_cli_encode_and_group(rng, tmp_path, capsys):
    from analysis_lib.cli import main

    n_time, n_vox = 80, 30
    time = 20.0 + TR * np.arange(n_time)
    atoms = xr.DataArray(
        rng.standard_normal((n_time, 2)),
        dims=("time", "atom"),
        coords={"time": time, "atom": [0, 1]},
        name="atoms",
    )
    write_netcdf(atoms.to_dataset(), tmp_path / "atoms.nc")
    outs = []
    for s in range(3):
        bold = xr.DataArray(
            atoms.values @ rng.standard_normal((2, n_vox)) + rng.standard_normal((n_time, n_vox)),
            dims=("time", "voxel"),
            coords={"time": time, "roi": ("voxel", [f"r{v}" for v in range(n_vox)])},
            attrs={"space": "roi", "tr": TR, "subject": f"s{s}"},
            name="bold",
        )
        write_netcdf(bold, tmp_path / f"bold{s}.nc")
        out = tmp_path / f"enc{s}.nc"
        rc = main(
            [
                "encode",
                "--atoms",
                str(tmp_path / "atoms.nc"),
                "--bold",
                str(tmp_path / f"bold{s}.nc"),
                "--n-perm",
                "50",
                "--cv",
                "0",
                "--quiet",
                "--out",
                str(out),
            ]
        )
        assert rc == 0
        outs.append(str(out))
    np.savetxt(tmp_path / "rp.txt", rng.standard_normal((n_time + 4, 6)))
    base = [
        "encode",
        "--atoms",
        str(tmp_path / "atoms.nc"),
        "--bold",
        str(tmp_path / "bold0.nc"),
        "--confounds",
        str(tmp_path / "rp.txt"),
        "--n-perm",
        "0",
        "--cv",
        "0",
        "--quiet",
    ]
    assert main([*base, "--confounds-drop-first", "4", "--out", str(tmp_path / "c.nc")]) == 0
    assert read_netcdf(tmp_path / "c.nc").attrs["dof"] == read_netcdf(outs[0]).attrs["dof"] - 6
    assert main([*base, "--out", str(tmp_path / "c2.nc")]) == 2
    assert "rp.txt: confounds have 84 rows but BOLD has 80" in capsys.readouterr().err
    enc = read_netcdf(outs[0])
    assert enc.pvalue_perm.dims == ("atom", "voxel") and list(enc.roi.values[:2]) == ["r0", "r1"]
    rc = main(
        [
            "group",
            "--inputs",
            *outs,
            "--n-perm",
            "100",
            "--quiet",
            "--out",
            str(tmp_path / "group.nc"),
        ]
    )
    assert rc == 0
    g = read_netcdf(tmp_path / "group.nc")
    assert set(g.data_vars) >= {
        "mean_beta",
        "tstat",
        "pvalue_perm",
        "pvalue_fwe",
        "qvalue",
        "reliability",
    }
    assert g.attrs["n_subjects"] == 3
    # bad input: a clear one-line error and no output file
    short = atoms.isel(time=slice(0, 70)).to_dataset()
    write_netcdf(short, tmp_path / "short.nc")
    rc = main(
        [
            "encode",
            "--atoms",
            str(tmp_path / "short.nc"),
            "--bold",
            str(tmp_path / "bold0.nc"),
            "--out",
            str(tmp_path / "bad.nc"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "70 time points but BOLD has 80" in err and "TR = 2 s" in err
    assert not (tmp_path / "bad.nc").exists()


def test_all_voxels_constant_gives_nan_maps(rng):
    ds = fit_encoding(
        rng.standard_normal((40, 2)), np.ones((40, 5)), tr=TR, n_perm=20, cv=3, progress=False
    )
    assert ds.attrs["n_voxels_constant"] == 5 and ds.attrs["n_voxels_fitted"] == 0
    assert np.isnan(ds.beta.values).all() and np.isnan(ds.pvalue_perm.values).all()


@pytest.mark.realdata
def test_alice_word_rate_drives_language_rois():
    """Real data (Brennan et al. 2016): the HRF-convolved word-rate predictor, used as an
    atom with motion confounds, has a positive group effect in the six language ROIs.
    Skipped when the Alice data are not in an extra data root."""
    import warnings

    from analysis_lib.datasets import alice

    if not alice.available():
        pytest.skip("Alice data not found in ANALYSIS_LIB_EXTRA_DATA")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        subjects = alice.subjects()
    atoms = alice.predictors().rename(predictor="atom")
    results = [
        fit_encoding(
            atoms, alice.load(s), alice.load_confounds(s), n_perm=100, cv=None, progress=False
        )
        for s in subjects
    ]
    assert all(r.sizes["voxel"] == 6 and "roi" in r.coords for r in results)
    g = group_encoding(results, n_perm=2000, progress=False)
    rate = g.sel(atom="rate_conv")
    assert (rate.tstat.values > 3).all(), rate.tstat.values
    assert (rate.pvalue_fwe.values <= 0.05).all(), rate.pvalue_fwe.values
    assert g.reliability.sel(atom="rate_conv") > 0.2
