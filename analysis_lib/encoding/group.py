"""Group level: one-sample t maps across subjects with sign-flip permutation inference.

Under the null hypothesis that an atom's coefficient has zero mean across subjects (and a
distribution symmetric about zero), the sign of each subject's map is exchangeable. Each
sign-flip vector flips whole subject maps, so spatial dependence is kept; the null of the
maximum ``|t|`` over the voxels of an atom map gives family-wise error control. With
``2**n_subjects <= n_perm + 1`` all sign vectors are enumerated (exact test), otherwise
``n_perm`` random ones are drawn.

Reliability of each atom map across subjects is the mean Pearson correlation of all
pairs of subject maps over voxels valid in every subject (``reliability``), and the
Spearman-Brown prediction of the reliability of the group-mean map,
``n r / (1 + (n - 1) r)`` (``reliability_mean_map``).
"""

from __future__ import annotations

import itertools
import os

import numpy as np
import torch
import xarray as xr

from ..io import provenance, read_netcdf, sha256_array
from .glm import two_sided_pvalue
from .nulls import NullAccumulator, fdr_bh


def _load(item, i: int) -> tuple[str, xr.Dataset]:
    if isinstance(item, (str, os.PathLike)):
        ds = read_netcdf(item)
        return str(item), ds
    name = str(item.attrs.get("subject", f"result {i}"))
    return name, item


def _check_compatible(named: list[tuple[str, xr.Dataset]], variable: str) -> None:
    ref_name, ref = named[0]
    for name, ds in named:
        if variable not in ds:
            raise ValueError(f"{name}: has no variable {variable!r}")
        if set(ds[variable].dims) != {"atom", "voxel"}:
            raise ValueError(f"{name}: {variable} must have dims (atom, voxel)")
    for name, ds in named[1:]:
        sa, sb = ref.attrs.get("space"), ds.attrs.get("space")
        if sa != sb:
            raise ValueError(f"space mismatch: {ref_name} is in {sa!r} but {name} is in {sb!r}")
        if ds.sizes["voxel"] != ref.sizes["voxel"]:
            raise ValueError(
                f"voxel mismatch: {ref_name} has {ref.sizes['voxel']} voxels but {name} "
                f"has {ds.sizes['voxel']}"
            )
        for coord in ref.coords:
            if ref[coord].dims == ("voxel",) and coord in ds.coords:
                if not np.array_equal(ref[coord].values, ds[coord].values):
                    raise ValueError(
                        f"voxel coordinate {coord!r} differs between {ref_name} and {name}"
                    )
        if not np.array_equal(ref["atom"].values, ds["atom"].values):
            raise ValueError(f"atoms differ between {ref_name} and {name}")


def _stack(named: list[tuple[str, xr.Dataset]], variable: str, dtype) -> np.ndarray:
    """(subject, atom, voxel) array of ``variable`` from compatible results."""
    return np.stack(
        [ds[variable].transpose("atom", "voxel").values.astype(dtype) for _, ds in named]
    )


def subject_maps(results, *, variable: str = "beta") -> xr.DataArray:
    """Stack per-subject encoding maps, checked for compatibility as in :func:`group_encoding`.

    Parameters
    ----------
    results : list of Dataset or paths
        Outputs of :func:`~analysis_lib.encoding.fit_encoding`.
    variable : str
        Per-subject map (``"beta"`` by default).

    Returns
    -------
    xarray.DataArray, shape (subject, atom, voxel)
        With the atom and voxel coordinates of the first result; float32.
    """
    named = [_load(item, i) for i, item in enumerate(results)]
    if len(named) < 2:
        raise ValueError(f"subject_maps needs at least 2 subjects, got {len(named)}")
    _check_compatible(named, variable)
    ref = named[0][1]
    coords = {n: c for n, c in ref.coords.items() if c.dims in (("voxel",), ("atom",))}
    out = xr.DataArray(
        _stack(named, variable, np.float32),
        dims=("subject", "atom", "voxel"),
        coords={**coords, "subject": [name for name, _ in named]},
        name=f"subject_{variable}",
    )
    out.attrs.update(
        long_name=f"per-subject {variable}",
        units=ref[variable].attrs.get("units", "1"),
        **{k: ref.attrs[k] for k in ("space",) if k in ref.attrs},
    )
    return out


def sign_flips(n_subjects: int, n_perm: int, seed: int) -> np.ndarray:
    """Sign vectors (P, S): all non-identity ones if few enough, else random draws.

    Parameters
    ----------
    n_subjects : int
        Number of subjects S.
    n_perm : int
        Number of permutations wanted.
    seed : int
        Seed of the random draws.

    Returns
    -------
    ndarray, shape (P, S)
        Sign vectors of +1 / -1: every non-identity one (P = 2**S - 1) when there are at most
        ``n_perm``, else ``n_perm`` random draws.
    """
    if 2**n_subjects <= n_perm + 1:
        all_signs = np.array(list(itertools.product([1.0, -1.0], repeat=n_subjects)))
        return all_signs[1:]
    rng = np.random.default_rng(seed)
    return rng.choice([-1.0, 1.0], size=(n_perm, n_subjects))


def _one_sample_t(x: torch.Tensor, signs: torch.Tensor | None = None) -> torch.Tensor:
    """t of the mean over dim 0 of x (S, ...); with signs (P, S) returns (P, ...)."""
    n = x.shape[0]
    sumsq = (x * x).sum(0)
    if signs is None:
        mean = x.mean(0)
    else:
        mean = (signs @ x.reshape(n, -1)).reshape(signs.shape[0], *x.shape[1:]) / n
    var = (sumsq - n * mean * mean) / (n - 1)
    return mean / torch.sqrt(torch.clamp(var, min=1e-30) / n)


def _reliability(maps: np.ndarray) -> np.ndarray:
    """Mean pairwise Pearson r across subjects per atom; maps (S, K, V) without NaN."""
    n_sub, n_atoms, _ = maps.shape
    out = np.full(n_atoms, np.nan)
    for k in range(n_atoms):
        r = np.corrcoef(maps[:, k, :])
        out[k] = r[np.triu_indices(n_sub, 1)].mean()
    return out


def group_encoding(
    results,
    *,
    variable: str = "beta",
    n_perm: int = 1000,
    seed: int = 0,
    device: str = "cpu",
    chunk_size: int = 8192,
    progress: bool = True,
) -> xr.Dataset:
    """Combine per-subject encoding results into group maps.

    Parameters
    ----------
    results : list of Dataset or paths
        Outputs of :func:`~analysis_lib.encoding.fit_encoding`, same atoms, space and voxels.
    variable : str
        Per-subject map to combine (``"beta"``, or e.g. ``"tstat"``).
    n_perm : int
        Sign-flip permutations (all ``2**S - 1`` when that is not more).
    seed : int
    device : str
    chunk_size : int
        Voxels per chunk.
    progress : bool

    Returns
    -------
    xarray.Dataset
        ``mean_beta``, ``tstat``, ``pvalue_param``, ``pvalue_perm``, ``pvalue_fwe``,
        ``qvalue`` (atom, voxel); ``reliability``, ``reliability_mean_map`` (atom);
        ``n_subjects_valid`` (voxel). Voxels invalid (NaN) in any subject hold NaN.
    """
    from tqdm.auto import tqdm

    named = [_load(item, i) for i, item in enumerate(results)]
    if len(named) < 2:
        raise ValueError(f"group_encoding needs at least 2 subjects, got {len(named)}")
    _check_compatible(named, variable)
    ref = named[0][1]
    maps = _stack(named, variable, np.float64)
    n_sub, n_atoms, n_vox = maps.shape
    finite = np.isfinite(maps)
    valid = finite.all(axis=(0, 1))
    valid_idx = np.nonzero(valid)[0]
    mean = np.full((n_atoms, n_vox), np.nan)
    tstat = np.full((n_atoms, n_vox), np.nan)
    mean[:, valid] = maps[:, :, valid].mean(0)
    dev = torch.device(device)
    x_valid = torch.as_tensor(maps[:, :, valid], dtype=torch.float64, device=dev)
    tstat[:, valid] = _one_sample_t(x_valid).cpu().numpy()
    pvalue_param = two_sided_pvalue(tstat, n_sub - 1)
    signs = sign_flips(n_sub, n_perm, seed)
    acc = NullAccumulator(np.abs(tstat[:, valid]), signs.shape[0])
    sg = torch.as_tensor(signs, dtype=torch.float64, device=dev)
    batch = 128
    starts = range(0, valid_idx.size, chunk_size)
    for s in tqdm(starts, desc="sign flips", disable=None if progress else True):
        block = x_valid[:, :, s : s + chunk_size]
        vox = np.arange(s, s + block.shape[-1])
        for b in range(0, sg.shape[0], batch):
            t_null = _one_sample_t(block, sg[b : b + batch]).abs()
            acc.update(vox, np.arange(b, b + t_null.shape[0]), t_null)
    pvalue_perm = np.full((n_atoms, n_vox), np.nan)
    pvalue_fwe = np.full((n_atoms, n_vox), np.nan)
    pvalue_perm[:, valid] = acc.pvalues()
    pvalue_fwe[:, valid] = acc.pvalues_fwe()
    qvalue = fdr_bh(pvalue_perm, axis=1)
    rel = _reliability(maps[:, :, valid])
    rel_mean = n_sub * rel / (1.0 + (n_sub - 1) * rel)

    coords = {n: c for n, c in ref.coords.items() if c.dims in (("voxel",), ("atom",))}
    av = ("atom", "voxel")
    ds = xr.Dataset(
        {
            "mean_beta": (av, mean),
            "tstat": (av, tstat),
            "pvalue_param": (av, pvalue_param),
            "pvalue_perm": (av, pvalue_perm),
            "pvalue_fwe": (av, pvalue_fwe),
            "qvalue": (av, qvalue),
            "reliability": ("atom", rel),
            "reliability_mean_map": ("atom", rel_mean),
            "n_subjects_valid": ("voxel", finite.all(axis=1).sum(0)),
        },
        coords={**coords, "subject": [name for name, _ in named]},
    )
    attrs = {
        "mean_beta": (f"mean over subjects of {variable}", ref[variable].attrs.get("units", "1")),
        "tstat": ("one-sample t across subjects", "1"),
        "pvalue_param": ("two-sided parametric p value (t, dof = n_subjects - 1)", "1"),
        "pvalue_perm": ("two-sided sign-flip permutation p value, uncorrected", "1"),
        "pvalue_fwe": ("sign-flip max-statistic FWE p value within the atom map", "1"),
        "qvalue": ("Benjamini-Hochberg q value of pvalue_perm within the atom map", "1"),
        "reliability": ("mean pairwise Pearson r of subject maps", "1"),
        "reliability_mean_map": ("Spearman-Brown reliability of the group-mean map", "1"),
        "n_subjects_valid": ("subjects with a finite map at the voxel", "1"),
    }
    space_attrs = {k: ref.attrs[k] for k in ("space", "affine", "shape") if k in ref.attrs}
    for name, (long_name, units) in attrs.items():
        ds[name].attrs.update(long_name=long_name, units=units, **space_attrs)
    ds.attrs.update(
        {k: v for k, v in ref.attrs.items() if k in ("space", "affine", "shape", "dataset")}
    )
    ds.attrs.update(
        title="group encoding maps",
        n_subjects=n_sub,
        n_voxels_excluded=int((~valid).sum()),
        n_signflips=int(signs.shape[0]),
        **provenance(dict(variable=variable, n_perm=n_perm, seed=seed), maps=sha256_array(maps)),
    )
    return ds
