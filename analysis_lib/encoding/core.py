"""Per-subject voxel-wise encoding: atoms as fixed regressors of every voxel's BOLD."""

from __future__ import annotations

import math

import numpy as np
import torch
import xarray as xr

from ..io import provenance, sha256_array
from . import glm, nulls
from .design import build_design
from .inputs import (
    VoxelValidity,
    as_atoms,
    as_bold,
    as_confounds,
    check_time_axes,
    infer_tr,
    voxel_validity,
)
from .ridge_cv import cross_validated_ridge

NOISE_MODELS = ("ols", "ar1")


def _voxel_chunks(valid_idx: np.ndarray, chunk: int) -> list[np.ndarray]:
    return [valid_idx[s : s + chunk] for s in range(0, valid_idx.size, chunk)]


def _auto_chunk(n_time: int, n_atoms: int, n_perm: int, memory_gb: float) -> int:
    """Voxels per chunk so that the null computation stays within ``memory_gb``."""
    per_voxel = 8 * n_time * 6 + 4 * n_atoms * (3 * n_time + n_perm + 3 * 64)
    return int(max(64, min(65536, memory_gb * 2**30 / per_voxel)))


def fit_encoding(
    atoms,
    bold,
    confounds=None,
    *,
    n_perm: int = 1000,
    cv: int | None = 5,
    seed: int = 0,
    device: str = "cpu",
    null: str = "shift",
    min_shift: int = 1,
    noise_model: str = "ols",
    ar1_bins: int = 100,
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
    tr: float | None = None,
    gap: int | None = None,
    inner_cv: int = 3,
    alphas: np.ndarray | None = None,
    chunk_size: int | None = None,
    memory_gb: float = 1.0,
    perm_batch: int = 64,
    progress: bool = True,
) -> xr.Dataset:
    """Fit the atoms to every voxel and test each coefficient against autocorrelated nulls.

    Parameters
    ----------
    atoms : DataArray (time, atom), Dataset with ``atoms``, or array (n_time, n_atoms)
        Regressors of interest (already on the BOLD time grid, e.g. HRF-convolved).
    bold : DataArray (time, voxel), Dataset with ``bold``, or array (n_time, n_voxels)
        Every voxel coordinate (grayordinate, structure, i/j/k, x/y/z, roi, ...) is kept.
    confounds : array (n_time, n_conf), DataFrame, DataArray, path, list of these, optional
        Nuisance regressors (e.g. motion). Cosine drift and an intercept are added.
    n_perm : int
        Number of null surrogates (0 skips the permutation test).
    cv : int or None
        Outer blocked folds of the cross-validated ridge prediction; ``None`` skips it.
    seed : int
        Seed of the null surrogates (same seed and inputs give identical results).
    device : str
        Torch device (``"cpu"``, ``"cuda"``, ...).
    null : {"shift", "phase"}
        Circular shifts of the atoms (default) or phase randomization.
    min_shift : int
        Smallest circular shift in volumes.
    noise_model : {"ols", "ar1"}
        ``"ar1"`` prewhitens with a per-voxel AR(1) coefficient, as nilearn's ``run_glm``.
    ar1_bins : int
        AR(1) coefficients are truncated to ``1 / ar1_bins`` steps (nilearn's default 100).
        Each distinct value is one whitened design, and with ``n_perm`` its own set of
        surrogate Gram matrices (a few seconds per value at T = 900, P = 1000): fewer bins
        make AR(1) permutation runs cheaper.
    drift_model : {"cosine", "polynomial", None}
        Drift regressors from nilearn (``None``: intercept only).
    high_pass : float
        Cut-off of the cosine drift in Hz.
    tr : float, optional
        Repetition time in s when neither input carries one.
    gap : int, optional
        Volumes left out between train and test blocks (default ``ceil(12 s / TR)``, 6 if
        the TR is unknown).
    inner_cv : int
        Inner blocked folds choosing the ridge penalty.
    alphas : array, optional
        Candidate ridge penalties.
    chunk_size : int, optional
        Voxels per chunk (default from ``memory_gb``).
    memory_gb : float
        Target working memory of one chunk.
    perm_batch : int
        Surrogates per batched GEMM.
    progress : bool
        Show progress bars.

    Returns
    -------
    xarray.Dataset
        ``beta``, ``tstat``, ``pvalue_param``, ``pvalue_perm``, ``pvalue_fwe``, ``qvalue``
        (atom, voxel); ``r2``, ``r_cv``, ``r2_cv``, ``alpha_cv``, ``valid`` (voxel), and
        ``ar1_rho`` (voxel) for ``noise_model="ar1"``. Excluded voxels (NaN or constant)
        hold NaN; their counts are in attrs ``n_voxels_nan`` and ``n_voxels_constant``
        (constant includes voxels with no variance left after the confound model).

    Raises
    ------
    ValueError
        Different numbers of volumes (message gives both and the TR), mismatched time
        axes, fewer volumes than regressors, a rank-deficient design, bad options.
    """
    from tqdm.auto import tqdm

    if noise_model not in NOISE_MODELS:
        raise ValueError(f"unknown noise_model {noise_model!r}; choose one of {NOISE_MODELS}")
    if null not in nulls.NULLS:
        raise ValueError(f"unknown null {null!r}; choose one of {nulls.NULLS}")
    atoms_da = as_atoms(atoms)
    bold_da = as_bold(bold, tr=tr)
    tr = infer_tr(bold_da, atoms_da, tr=tr)
    check_time_axes(atoms_da, bold_da, tr)
    n_time, n_atoms = atoms_da.shape
    n_vox = bold_da.sizes["voxel"]
    conf = as_confounds(confounds, n_time)
    if "time" in bold_da.coords:
        frame_times = np.asarray(bold_da["time"], float)
    elif "time" in atoms_da.coords:
        frame_times = np.asarray(atoms_da["time"], float)
    elif tr is not None:
        frame_times = tr * np.arange(n_time)
    else:
        frame_times = None
    atom_names = [f"atom_{a}" for a in atoms_da["atom"].values]
    design = build_design(
        atoms_da.values,
        atom_names,
        conf,
        frame_times,
        drift_model=drift_model,
        high_pass=high_pass,
    )
    values = bold_da.values
    validity = voxel_validity(values)
    valid_idx = np.nonzero(validity.valid)[0]
    chunk = chunk_size or _auto_chunk(n_time, n_atoms, max(n_perm, 1), memory_gb)
    chunks = _voxel_chunks(valid_idx, chunk)
    dev = torch.device(device)
    f64 = dict(dtype=torch.float64, device=dev)
    X = torch.as_tensor(design.matrix, **f64)
    A = torch.as_tensor(design.atoms, **f64)
    N = torch.as_tensor(design.nuisance, **f64)

    beta = np.full((n_atoms, n_vox), np.nan)
    tstat = np.full((n_atoms, n_vox), np.nan)
    r2 = np.full(n_vox, np.nan)
    rho = np.full(n_vox, np.nan)
    q_nuis, _ = torch.linalg.qr(N, mode="reduced")
    degenerate = np.zeros(n_vox, bool)
    for idx in tqdm(chunks, desc="GLM", disable=None if progress else True):
        Y = torch.as_tensor(np.asarray(values[:, idx], np.float64), device=dev)
        fit = glm.ols(X, Y)
        y0 = Y - q_nuis @ (q_nuis.T @ Y)
        rss0 = (y0 * y0).sum(0)
        # nothing left after confounds/drift/intercept: constant for this model
        degenerate[idx] = (rss0 <= 1e-20 * (Y * Y).sum(0)).cpu().numpy()
        r2[idx] = (1.0 - fit.rss / rss0).cpu().numpy()
        if noise_model == "ols":
            beta[:, idx] = fit.beta[:n_atoms].cpu().numpy()
            tstat[:, idx] = fit.tstat(n_atoms).cpu().numpy()
        else:
            rho[idx] = glm.ar1_coefficients(glm.residuals(X, fit, Y), ar1_bins).cpu().numpy()
    if degenerate.any():
        validity = VoxelValidity(
            validity.valid & ~degenerate,
            validity.n_nan,
            validity.n_constant + int(degenerate.sum()),
        )
        valid_idx = np.nonzero(validity.valid)[0]
        for arr in (beta, tstat):
            arr[:, degenerate] = np.nan
        r2[degenerate] = rho[degenerate] = np.nan
    if noise_model == "ar1" and valid_idx.size:
        for value, members in glm.ar1_groups(rho[valid_idx]):
            Xw = glm.ar1_whiten(X, value)
            for idx in _voxel_chunks(valid_idx[members], chunk):
                Y = torch.as_tensor(np.asarray(values[:, idx], np.float64), device=dev)
                wfit = glm.ols(Xw, glm.ar1_whiten(Y, value))
                beta[:, idx] = wfit.beta[:n_atoms].cpu().numpy()
                tstat[:, idx] = wfit.tstat(n_atoms).cpu().numpy()
    pvalue_param = glm.two_sided_pvalue(tstat, design.dof)

    pvalue_perm = np.full((n_atoms, n_vox), np.nan)
    pvalue_fwe = np.full((n_atoms, n_vox), np.nan)
    n_perm_eff = 0
    spec = None
    if n_perm and valid_idx.size:
        spec = nulls.draw_null(null, n_time, n_perm, seed, min_shift=min_shift)
        n_perm_eff = spec.n_perm
        acc = nulls.NullAccumulator(np.abs(tstat[:, valid_idx]), n_perm_eff)
        position = np.full(n_vox, -1)
        position[valid_idx] = np.arange(valid_idx.size)
        if noise_model == "ols":
            groups = [(None, valid_idx)]
        else:
            groups = [(v, valid_idx[m]) for v, m in glm.ar1_groups(rho[valid_idx])]
        total = sum(math.ceil(g.size / chunk) for _, g in groups)
        bar = tqdm(
            total=total, desc=f"{null} null ({n_perm_eff})", disable=None if progress else True
        )
        for value, members in groups:
            ctx = nulls.build_context(A, N, spec, rho=value, batch=perm_batch)
            for idx in _voxel_chunks(members, chunk):
                Y = torch.as_tensor(np.asarray(values[:, idx], np.float64), device=dev)
                for perms, abs_t in nulls.null_abs_tstats(ctx, spec, Y, batch=perm_batch):
                    acc.update(position[idx], perms, abs_t)
                bar.update()
            del ctx
        bar.close()
        pvalue_perm[:, valid_idx] = acc.pvalues()
        pvalue_fwe[:, valid_idx] = acc.pvalues_fwe()
    qvalue = nulls.fdr_bh(pvalue_perm if n_perm else pvalue_param, axis=1)

    r_cv = np.full(n_vox, np.nan)
    r2_cv = np.full(n_vox, np.nan)
    alpha_cv = np.full(n_vox, np.nan)
    if gap is None:
        gap = math.ceil(12.0 / tr) if tr else 6
    if cv and valid_idx.size:
        res = cross_validated_ridge(
            design.atoms,
            values[:, valid_idx],
            design.nuisance,
            n_folds=int(cv),
            gap=gap,
            inner_folds=inner_cv,
            alphas=alphas,
            device=device,
            progress=progress,
        )
        r_cv[valid_idx], r2_cv[valid_idx], alpha_cv[valid_idx] = res.r, res.r2, res.alpha

    params = dict(
        n_perm=n_perm,
        n_perm_effective=n_perm_eff,
        cv=cv,
        seed=seed,
        null=null,
        min_shift=min_shift,
        noise_model=noise_model,
        ar1_bins=ar1_bins,
        drift_model=drift_model,
        high_pass=high_pass,
        tr=tr,
        gap=gap,
        inner_cv=inner_cv,
        alphas=None if alphas is None else list(np.asarray(alphas, float)),
    )
    return _assemble(
        atoms_da,
        bold_da,
        design,
        locals_=dict(
            beta=beta,
            tstat=tstat,
            pvalue_param=pvalue_param,
            pvalue_perm=pvalue_perm,
            pvalue_fwe=pvalue_fwe,
            qvalue=qvalue,
            r2=r2,
            r_cv=r_cv,
            r2_cv=r2_cv,
            alpha_cv=alpha_cv,
            rho=rho,
            valid=validity.valid,
        ),
        validity=validity,
        params=params,
        spec=spec,
    )


_ATTRS = {
    "beta": ("regression coefficient of the atom", "BOLD units per atom unit"),
    "tstat": ("t statistic of the atom coefficient", "1"),
    "pvalue_param": ("two-sided parametric p value (Student t, dof = T - p)", "1"),
    "pvalue_perm": ("two-sided permutation p value, uncorrected", "1"),
    "pvalue_fwe": ("max-statistic family-wise corrected p value within the atom map", "1"),
    "qvalue": ("Benjamini-Hochberg q value within the atom map", "1"),
    "r2": ("in-sample partial R2 of all atoms after the nuisance model (OLS)", "1"),
    "r_cv": ("cross-validated correlation of ridge predictions with held-out BOLD", "1"),
    "r2_cv": ("cross-validated coefficient of determination of held-out BOLD", "1"),
    "alpha_cv": ("ridge penalty chosen by inner CV (geometric mean over folds)", "1"),
    "ar1_rho": ("binned AR(1) coefficient of the OLS residuals", "1"),
    "valid": ("voxel fitted (finite and non-constant)", "1"),
}


def _assemble(atoms_da, bold_da, design, *, locals_, validity, params, spec) -> xr.Dataset:
    voxel_coords = {name: c for name, c in bold_da.coords.items() if c.dims == ("voxel",)}
    atom_coords = {name: c for name, c in atoms_da.coords.items() if c.dims == ("atom",)}
    coords = {**voxel_coords, **atom_coords}
    av = ("atom", "voxel")
    data = {
        "beta": (av, locals_["beta"]),
        "tstat": (av, locals_["tstat"]),
        "pvalue_param": (av, locals_["pvalue_param"]),
        "pvalue_perm": (av, locals_["pvalue_perm"]),
        "pvalue_fwe": (av, locals_["pvalue_fwe"]),
        "qvalue": (av, locals_["qvalue"]),
        "r2": ("voxel", locals_["r2"]),
        "r_cv": ("voxel", locals_["r_cv"]),
        "r2_cv": ("voxel", locals_["r2_cv"]),
        "alpha_cv": ("voxel", locals_["alpha_cv"]),
        "valid": ("voxel", locals_["valid"]),
    }
    if params["noise_model"] == "ar1":
        data["ar1_rho"] = ("voxel", locals_["rho"])
    ds = xr.Dataset(data, coords=coords)
    space_attrs = {k: bold_da.attrs[k] for k in ("space", "affine", "shape") if k in bold_da.attrs}
    for name, (long_name, units) in _ATTRS.items():
        if name in ds:
            ds[name].attrs.update(long_name=long_name, units=units, **space_attrs)
    ds.attrs.update(
        {
            k: v
            for k, v in bold_da.attrs.items()
            if k in ("space", "subject", "dataset", "tr", "affine", "shape")
        }
    )
    ds.attrs.update(
        title="voxel-wise encoding of atoms",
        n_voxels=int(bold_da.sizes["voxel"]),
        n_voxels_fitted=int(validity.valid.sum()),
        n_voxels_nan=validity.n_nan,
        n_voxels_constant=validity.n_constant,
        n_time=int(atoms_da.sizes["time"]),
        dof=int(design.dof),
        design_columns=list(design.names),
        fwe_family="each atom map: max |t| over fitted voxels",
        **provenance(
            params,
            atoms=sha256_array(atoms_da.values),
            bold=sha256_array(np.asarray(bold_da.values)),
        ),
    )
    if spec is not None and spec.kind == "shift":
        ds.attrs["null_shifts"] = [int(s) for s in spec.shifts]
    return ds
