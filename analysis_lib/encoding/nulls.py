"""Null distributions that respect autocorrelation, and multiple-comparison corrections.

Nulls are built by replacing the atoms with surrogates that keep their autocorrelation
and break their alignment with the BOLD signal, while confounds, drift and intercept stay
fixed (the regressors of interest are permuted, the nuisance model is not):

``"shift"``
    circular shifts ``roll(atoms, s)`` by ``s`` volumes, the same shift for every atom
    (their cross-correlations are kept). Shifts are drawn without replacement from
    ``min_shift .. T - min_shift``; when ``n_perm`` is at least the number of such shifts,
    all of them are used once (the exhaustive circular-shift test).
``"phase"``
    phase randomization: the Fourier phases of the atoms are replaced by uniform random
    phases, the same for every atom, so amplitude spectra and cross-spectra are kept.

For each surrogate the full OLS (or AR(1)-whitened) t statistic of every atom in every
voxel is recomputed exactly: with the nuisance basis ``Q`` (orthonormal, whitened), the
surrogate atoms ``A_s`` and residualized data ``Y_r = (I - QQ') Y`` the Frisch-Waugh-Lovell
theorem gives ``b_s = A_s' Y_r``, ``G_s = A_s' (I - QQ') A_s``, ``beta_s = G_s^{-1} b_s``,
``RSS_s = Y_r'Y_r - b_s' beta_s`` and ``t = beta_s / sqrt(RSS_s / dof * diag(G_s^{-1}))``,
identical to a full refit. ``b_s`` is one large GEMM over a batch of surrogates, or, for
circular shifts without prewhitening, a circular cross-correlation computed with FFTs for
all shifts at once.

Per-voxel permutation p values are ``(1 + #{|t_s| >= |t|}) / (1 + n_perm)`` (two-sided);
family-wise error is controlled with the maximum ``|t|`` over the voxels of each atom map;
false discovery rate with Benjamini-Hochberg.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

NULLS = ("shift", "phase")


@dataclass(frozen=True)
class NullSpec:
    """Which surrogates to draw.

    Attributes
    ----------
    kind : {"shift", "phase"}
    shifts : ndarray of int, shape (n_perm,), for ``"shift"``
    phases : ndarray of float, shape (n_perm, n_freq), for ``"phase"``
    """

    kind: str
    shifts: np.ndarray | None = None
    phases: np.ndarray | None = None

    @property
    def n_perm(self) -> int:
        return len(self.shifts) if self.kind == "shift" else len(self.phases)


def draw_null(kind: str, n_time: int, n_perm: int, seed: int, min_shift: int = 1) -> NullSpec:
    """Draw the surrogate parameters with a seeded generator.

    Parameters
    ----------
    kind : {"shift", "phase"}
    n_time : int
    n_perm : int
    seed : int
    min_shift : int
        Smallest circular shift (volumes) allowed, and its mirror ``T - min_shift``.

    Returns
    -------
    NullSpec
        ``shifts`` (n_perm,) or ``phases`` (n_perm, n_freq).
    """
    rng = np.random.default_rng(seed)
    if kind == "shift":
        min_shift = max(1, int(min_shift))
        allowed = np.arange(min_shift, n_time - min_shift + 1)
        if allowed.size == 0:
            raise ValueError(f"min_shift={min_shift} leaves no shift of a {n_time}-volume series")
        if n_perm >= allowed.size:
            shifts = allowed
        else:
            shifts = np.sort(rng.choice(allowed, size=n_perm, replace=False))
        return NullSpec("shift", shifts=shifts.astype(np.int64))
    if kind == "phase":
        n_freq = n_time // 2 + 1
        phases = rng.uniform(0.0, 2.0 * np.pi, size=(n_perm, n_freq))
        phases[:, 0] = 0.0
        if n_time % 2 == 0:
            phases[:, -1] = 0.0
        return NullSpec("phase", phases=phases)
    raise ValueError(f"unknown null {kind!r}; choose one of {NULLS}")


def surrogate_atoms(atoms: torch.Tensor, spec: NullSpec, index: np.ndarray) -> torch.Tensor:
    """Surrogate atoms for permutations ``index``: shape (len(index), T, K).

    Parameters
    ----------
    atoms : torch.Tensor, shape (T, K)
        Atom time courses.
    spec : NullSpec
        From :func:`draw_null`.
    index : numpy.ndarray of int, shape (B,)
        Permutations to build.

    Returns
    -------
    torch.Tensor, shape (B, T, K)
        The surrogate atoms.
    """
    n_time = atoms.shape[0]
    if spec.kind == "shift":
        shifts = torch.as_tensor(spec.shifts[index], device=atoms.device)
        rows = (torch.arange(n_time, device=atoms.device)[None, :] - shifts[:, None]) % n_time
        return atoms[rows]
    spectrum = torch.fft.rfft(atoms.T.contiguous(), dim=-1)  # (K, F)
    phases = torch.as_tensor(spec.phases[index], device=atoms.device, dtype=atoms.dtype)
    rotated = spectrum[None] * torch.exp(1j * phases)[:, None, :]  # (B, K, F)
    return torch.fft.irfft(rotated, n=n_time, dim=-1).transpose(1, 2)


def whiten_time(x: torch.Tensor, rho: float | None, dim: int = 0) -> torch.Tensor:
    """AR(1) whitening along ``dim`` (first sample unchanged); identity when ``rho`` is None.

    Parameters
    ----------
    x : torch.Tensor
        Any shape; time along ``dim``.
    rho : float or None
        AR(1) coefficient.
    dim : int
        The time axis.

    Returns
    -------
    torch.Tensor, shape of ``x``
        The whitened tensor (``x`` itself when ``rho`` is None).
    """
    if rho is None or rho == 0.0:
        return x
    x = x.movedim(dim, 0)
    out = x.clone()
    out[1:] = x[1:] - rho * x[:-1]
    return out.movedim(0, dim)


@dataclass
class NullContext:
    """Surrogate designs for one whitening (one AR(1) value, or none).

    Attributes
    ----------
    rho : float or None
    basis : Tensor (T, q) float64, orthonormal basis of the whitened nuisance columns
    proj : Tensor (P, 2K, K)
        Stacked ``[diag(G^-1)^-1/2 G^-1 ; U]`` per surrogate, with ``G^-1 = U'U``: one
        batched product with ``b`` gives the standardized coefficients and a vector whose
        squared norm is the explained sum of squares ``b' G^-1 b``.
    designs : Tensor (P, K, T) or None, whitened surrogates (GEMM path)
    atoms_hat : Tensor (K, F) complex or None, spectrum of the atoms (FFT path)
    dof : int
    """

    rho: float | None
    basis: torch.Tensor
    proj: torch.Tensor
    designs: torch.Tensor | None
    atoms_hat: torch.Tensor | None
    dof: int

    @property
    def use_fft(self) -> bool:
        return self.atoms_hat is not None


def _projections(gram: torch.Tensor) -> torch.Tensor:
    """``[D^-1/2 G^-1 ; U]`` (B, 2K, K) from Gram matrices (B, K, K), ``G^-1 = U'U``.

    The K x K algebra runs in NumPy (float64): torch's batched small-matrix LAPACK calls
    are erratic on shared CPUs, and these matrices are tiny.
    """
    g = gram.detach().cpu().numpy()
    ginv = np.linalg.inv(g)
    ginv = 0.5 * (ginv + np.swapaxes(ginv, 1, 2))
    scale = 1.0 / np.sqrt(np.diagonal(ginv, axis1=1, axis2=2))
    upper = np.swapaxes(np.linalg.cholesky(ginv), 1, 2)
    out = np.concatenate([ginv * scale[:, :, None], upper], axis=1)
    return torch.as_tensor(out, dtype=gram.dtype, device=gram.device)


def build_context(
    atoms: torch.Tensor,
    nuisance: torch.Tensor,
    spec: NullSpec,
    *,
    rho: float | None = None,
    dtype: torch.dtype = torch.float32,
    batch: int = 64,
    fft: bool | None = None,
) -> NullContext:
    """Precompute the surrogate Gram inverses (and designs) shared by all voxel chunks.

    ``atoms`` (T, K) and ``nuisance`` (T, q) are float64 tensors on the target device.
    ``fft`` defaults to True for circular shifts without whitening.

    Parameters
    ----------
    atoms : torch.Tensor, shape (T, K)
        Atom time courses, float64.
    nuisance : torch.Tensor, shape (T, q)
        Nuisance regressors, float64.
    spec : NullSpec
        From :func:`draw_null`.
    rho : float, optional
        AR(1) coefficient to whiten with (None: OLS).
    dtype : torch.dtype
        Precision of the stored projections.
    batch : int
        Permutations per batch.
    fft : bool, optional
        Use FFT correlations for circular shifts.

    Returns
    -------
    NullContext
        The precomputed projections, shared by every voxel chunk.
    """
    n_time, n_atoms = atoms.shape
    if fft is None:
        fft = spec.kind == "shift" and rho is None
    if fft and (spec.kind != "shift" or rho is not None):
        raise ValueError("the FFT path needs circular shifts without prewhitening")
    basis, _ = torch.linalg.qr(whiten_time(nuisance, rho), mode="reduced")
    proj, designs = [], []
    for start in range(0, spec.n_perm, batch):
        index = np.arange(start, min(start + batch, spec.n_perm))
        surr = whiten_time(surrogate_atoms(atoms, spec, index), rho, dim=1)  # (B, T, K)
        qa = torch.matmul(basis.T, surr)  # (B, q, K)
        gram = surr.transpose(1, 2) @ surr - qa.transpose(1, 2) @ qa  # A'(I - QQ')A
        proj.append(_projections(gram).to(dtype))
        if not fft:  # b = A_s' Y_r needs no residualized A_s: Y_r is orthogonal to Q
            designs.append(surr.transpose(1, 2).to(dtype).contiguous())
    return NullContext(
        rho=rho,
        basis=basis,
        proj=torch.cat(proj),
        designs=torch.cat(designs) if designs else None,
        atoms_hat=torch.fft.rfft(atoms.T.to(dtype).contiguous(), dim=-1) if fft else None,
        dof=n_time - n_atoms - nuisance.shape[1],
    )


def null_abs_tstats(
    ctx: NullContext, spec: NullSpec, Y: torch.Tensor, *, batch: int = 64
) -> Iterator[tuple[np.ndarray, torch.Tensor]]:
    """Yield ``(perm_index, |t|)`` with ``|t|`` of shape (B, K, V) for voxels ``Y`` (T, V).

    ``Y`` is float64 on the device; it is whitened and residualized here.

    Parameters
    ----------
    ctx : NullContext
        From :func:`build_context`.
    spec : NullSpec
        The same surrogates.
    Y : torch.Tensor, shape (T, V)
        A chunk of voxels, float64.
    batch : int
        Permutations per yielded block (B <= batch).

    Yields
    ------
    tuple of (numpy.ndarray, torch.Tensor)
        Permutation indices (B,) and ``|t|`` (B, K, V).
    """
    dtype = ctx.proj.dtype
    yw = whiten_time(Y, ctx.rho)
    yr64 = yw - ctx.basis @ (ctx.basis.T @ yw)
    yy = (yr64 * yr64).sum(0).to(dtype)
    yr = yr64.to(dtype)
    del yw, yr64
    n_time, n_atoms = Y.shape[0], ctx.proj.shape[2]
    if ctx.use_fft:
        spectrum = torch.fft.rfft(yr.T.contiguous(), dim=-1)  # (V, F)
        cross = torch.fft.irfft(
            ctx.atoms_hat.conj()[:, None, :] * spectrum[None], n=n_time, dim=-1
        )  # (K, V, T): cross[k, v, s] = roll(atoms, s)[:, k] . yr[:, v]
        del spectrum
        shifts = torch.as_tensor(spec.shifts, device=Y.device)
    floor = torch.finfo(dtype).eps * 16
    for start in range(0, spec.n_perm, batch):
        stop = min(start + batch, spec.n_perm)
        if ctx.use_fft:
            b = cross[:, :, shifts[start:stop]].permute(2, 0, 1).contiguous()
        else:
            flat = ctx.designs[start:stop].reshape(-1, n_time)
            b = (flat @ yr).reshape(stop - start, n_atoms, -1)
        zc = ctx.proj[start:stop] @ b  # (B, 2K, V)
        explained = torch.linalg.vector_norm(zc[:, n_atoms:], dim=1) ** 2
        scale = torch.rsqrt(torch.clamp(yy[None, :] - explained, min=floor) / ctx.dof)
        t = zc[:, :n_atoms].abs_()
        t *= scale[:, None, :]
        yield np.arange(start, stop), t


class NullAccumulator:
    """Running counts of ``|t_null| >= |t_obs|`` per (atom, voxel) and max ``|t|`` per map.

    Parameters
    ----------
    abs_t_obs : ndarray, shape (n_atoms, n_voxels)
    n_perm : int
    rtol : float
        Relative tolerance so that ties (up to float32 rounding) count as exceedances.
    """

    def __init__(self, abs_t_obs: np.ndarray, n_perm: int, rtol: float = 1e-5):
        self.abs_t_obs = np.asarray(abs_t_obs, np.float64)
        self.n_perm = n_perm
        self.rtol = rtol
        self.count = np.zeros(self.abs_t_obs.shape, np.int64)
        self.max_abs = np.zeros((n_perm, self.abs_t_obs.shape[0]), np.float64)

    def update(self, voxels: np.ndarray, perms: np.ndarray, abs_t: torch.Tensor) -> None:
        """Add the null ``|t|`` (B, K, len(voxels)) of permutations ``perms``.

        Parameters
        ----------
        voxels : numpy.ndarray of int, shape (V,)
            Voxel indices of the chunk.
        perms : numpy.ndarray of int, shape (B,)
            Permutation indices.
        abs_t : torch.Tensor, shape (B, K, V)
            Null ``|t|``.
        """
        thr = torch.as_tensor(
            self.abs_t_obs[:, voxels] * (1.0 - self.rtol), dtype=abs_t.dtype, device=abs_t.device
        )
        self.count[:, voxels] += (abs_t >= thr[None]).sum(0, dtype=torch.int32).cpu().numpy()
        if abs_t.shape[-1]:
            chunk_max = abs_t.amax(-1).double().cpu().numpy()
            self.max_abs[perms] = np.maximum(self.max_abs[perms], chunk_max)

    def pvalues(self) -> np.ndarray:
        """Uncorrected two-sided permutation p values, shape (n_atoms, n_voxels)."""
        return (1.0 + self.count) / (1.0 + self.n_perm)

    def pvalues_fwe(self) -> np.ndarray:
        """Max-statistic FWE-corrected p values per atom map, shape (n_atoms, n_voxels)."""
        return maxstat_pvalues(self.abs_t_obs, self.max_abs, rtol=self.rtol)


def maxstat_pvalues(abs_stat: np.ndarray, null_max: np.ndarray, rtol: float = 1e-5) -> np.ndarray:
    """FWE p values ``(1 + #{max_null >= |stat|}) / (1 + P)`` per row (map).

    Parameters
    ----------
    abs_stat : ndarray, shape (n_maps, n_voxels)
    null_max : ndarray, shape (n_perm, n_maps)
    rtol : float
        Relative tolerance of the ``>=`` comparison (ties by round-off count).

    Returns
    -------
    ndarray, shape (n_maps, n_voxels)
        FWE-corrected p values.
    """
    n_perm = null_max.shape[0]
    out = np.full(abs_stat.shape, np.nan)
    for k in range(abs_stat.shape[0]):
        srt = np.sort(null_max[:, k])
        stat = abs_stat[k]
        ok = np.isfinite(stat)
        n_ge = n_perm - np.searchsorted(srt, stat[ok] * (1.0 - rtol), side="left")
        out[k, ok] = (1.0 + n_ge) / (1.0 + n_perm)
    return out


def fdr_bh(pvalues: np.ndarray, axis: int = -1) -> np.ndarray:
    """Benjamini-Hochberg adjusted p values (q values) along ``axis``; NaNs are ignored.

    Matches :func:`scipy.stats.false_discovery_control` with ``method="bh"`` on the
    finite entries.

    Parameters
    ----------
    pvalues : ndarray
        p values, any shape; NaN entries are left NaN.
    axis : int
        Axis along which the family is corrected.

    Returns
    -------
    ndarray, shape of ``pvalues``
        The q values.
    """
    p = np.moveaxis(np.asarray(pvalues, np.float64), axis, -1)
    out = np.full(p.shape, np.nan)
    flat_p = p.reshape(-1, p.shape[-1])
    flat_out = out.reshape(-1, p.shape[-1])
    for row, res in zip(flat_p, flat_out, strict=True):
        ok = np.isfinite(row)
        vals = row[ok]
        m = vals.size
        if m == 0:
            continue
        order = np.argsort(vals)
        ranked = vals[order] * m / np.arange(1, m + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        q = np.empty(m)
        q[order] = np.clip(ranked, 0.0, 1.0)
        res[ok] = q
    return np.moveaxis(out, -1, axis)
