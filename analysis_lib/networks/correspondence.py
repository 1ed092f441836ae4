"""Atom-map to network correspondence: thresholding, Dice overlap, spatial-null p values.

For each atom map ``m`` (signed statistics over voxels) the significant voxels are

.. math:: A^+ = \\{v : p_v < \\alpha,\\ m_v > 0\\}, \\quad A^- = \\{v : p_v < \\alpha,\\ m_v < 0\\}

(or ``|m_v| > t`` for a plain statistic threshold), and with the voxels ``N`` of a network
the Dice coefficient, as in the Network Correspondence Toolbox (Kong et al. 2025), is

.. math:: D(A, N) = \\frac{2\\,|A \\cap N|}{|A| + |N|}.

With ``sign="both"`` (default) the statistic is ``D = max(D(A^+, N), D(A^-, N))`` and its
polarity is recorded; ``"positive"``, ``"negative"`` and ``"abs"`` (``A^+ \\cup A^-``) use one
set. Its p value is ``(1 + #{null >= observed}) / (1 + n_perm)`` from the same statistic
computed on spatial-null maps (:mod:`analysis_lib.networks.nulls`: spins of the cortical
grayordinates, or of MNI voxels projected to the cortical surface; optionally 3-D phase
randomisation for volumes).

The spatial null asks whether a thresholded map lines up with a network better than maps
of the same spatial structure placed at random. It cannot tell a stimulus-driven network
response from network-shaped *intrinsic* fluctuations that an atom picks up by chance in
each subject: their group mean leaves network-wide offsets that a voxel threshold can keep,
and such a map *is* aligned with the network. So when the per-subject maps are given
(``subject_maps``, see :func:`analysis_lib.encoding.subject_maps`), each pair is also
tested at the network level: the subject's map averaged over the network's voxels,
``b_sn``, enters a two-sided one-sample t test across subjects (intrinsic fluctuations are
independent across subjects, so this test holds its level under them), and the pair's p
value is the larger of the two, ``p = max(p_spatial, p_network)``: an intersection-union
test, valid at the level of each test for the null that either holds (Berger 1982). On the
simulated phantom-null, the spatial null alone rejects more pairs than the nominal rate
with a lenient voxel threshold, while the combined test stays at it (measured by
:mod:`analysis_lib.validation`; the rates are in ``benchmarks/results/validate_phantom.json``
and on the book's validation pages, not typed here).

Significant set
---------------
``p_fdr`` are Benjamini-Hochberg q values of ``p`` over all (atom, network) pairs, and the
``significant`` pairs, the one set that assignments and every metric read, follow ``rule``:

``"spatial+network"`` (the book's grid)
    ``p = max(p_spatial, p_network)`` (or ``p_spatial`` without subject maps) and
    ``p_fdr < alpha_assign``.
``"network-shift"`` (the calibrated rule of :mod:`analysis_lib.validation`)
    ``p = p_temporal``: the network-mean BOLD of every subject refitted on circularly
    shifted atoms (the stimulus, not the subject, is the random unit; see
    :mod:`analysis_lib.networks.temporal` for why the subject-level test cannot tell a
    random atom from a stimulus-related one in a shared naturalistic stimulus), BH, and
    ``|network_b| >= min_r`` (``network_b``: subject mean of the atom's standardised
    coefficient for the network-mean BOLD).
``"network"``
    ``p = p_network`` and ``p_fdr < alpha_assign`` **and** ``|network_r| >= min_r``, where
    ``network_r`` is the partial correlation of the atom with a voxel's BOLD given the
    other atoms and the nuisance regressors (``t / sqrt(t^2 + dof)`` of each subject's
    GLM, :func:`partial_r`), averaged over the network's voxels and the subjects. The
    bound asks for an effect large enough to matter, not only a reliable one: with many
    subjects, weak but consistent associations pass any test. The spatial null is still
    computed and reported (``p_spatial``, ``null_mean``: what chance Dice gives) but does
    not enter this rule.

Each atom is assigned to the network with the largest Dice among its significant pairs
(ties, such as a Dice of 0 for an atom without significant voxels, go to the larger
effect), or to ``"none"``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.stats import false_discovery_control, ttest_1samp
from tqdm.auto import tqdm

from ..io import provenance, sha256_array
from ..spaces import N_CORTEX, space_kind
from .atlases import network_table
from .nulls import PhaseRandomNull, SpinNull, cortical_projection, sphere_coordinates
from .rules import decide

SIGNS = ("both", "positive", "negative", "abs")
#: Rules that form the significant set (module docstring, "Significant set").
RULES = ("spatial+network", "network", "network-shift")


def threshold_maps(
    stat: xr.DataArray,
    pvalues: xr.DataArray | None = None,
    *,
    threshold: float = 0.05,
) -> xr.DataArray:
    """Return signed significance maps (-1, 0, +1), dims of ``stat``.

    Parameters
    ----------
    stat : DataArray (atom, voxel)
        Signed statistic (t values, betas).
    pvalues : DataArray (atom, voxel), optional
        Corrected p or q values; a voxel is significant when ``p < threshold``.
        Without them, when ``|stat| > threshold``.
    threshold : float
        The alpha level (with ``pvalues``) or the statistic threshold.

    Returns
    -------
    xarray.DataArray
        Named ``significant``, dims of ``stat`` (atom, voxel), values -1, 0 or +1.
    """
    values = np.asarray(stat.values, dtype=float)
    if pvalues is not None:
        if pvalues.shape != stat.shape:
            raise ValueError(
                f"p values have shape {pvalues.shape}, the statistic {stat.shape}; "
                "they must be the same (atom, voxel) grid"
            )
        pv = np.asarray(pvalues.transpose(*stat.dims).values, dtype=float)
        sig = np.isfinite(pv) & (pv < threshold)
    else:
        sig = np.abs(values) > threshold
    sig &= np.isfinite(values)
    out = np.where(sig, np.sign(np.where(sig, values, 0.0)), 0.0).astype(np.int8)
    return stat.copy(data=out).rename("significant")


def dice(a: np.ndarray, networks: np.ndarray) -> np.ndarray:
    """Dice coefficient of binary maps with binary network masks.

    Parameters
    ----------
    a : numpy.ndarray of bool, shape (..., n_voxel)
    networks : numpy.ndarray of bool, shape (n_voxel, n_network)

    Returns
    -------
    numpy.ndarray, shape (..., n_network)
        ``2 |A ∩ N| / (|A| + |N|)``; 0 where both are empty.
    """
    a = np.asarray(a, dtype=np.float32)
    net = np.asarray(networks, dtype=np.float32)
    inter = a @ net
    denom = a.sum(-1, keepdims=True) + net.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(denom > 0, 2 * inter / denom, 0.0)
    return out


def _statistic(ternary: np.ndarray, onehot: np.ndarray, sign: str):
    """Dice statistic and polarity for ternary maps (..., voxel)."""
    if sign == "abs":
        d = dice(ternary != 0, onehot)
        return d, np.zeros(d.shape, np.int8), d, d
    pos = dice(ternary > 0, onehot)
    neg = dice(ternary < 0, onehot)
    if sign == "positive":
        return pos, np.ones(pos.shape, np.int8), pos, neg
    if sign == "negative":
        return neg, -np.ones(neg.shape, np.int8), pos, neg
    stat = np.maximum(pos, neg)
    polarity = np.where(neg > pos, -1, 1).astype(np.int8)
    return stat, polarity, pos, neg


def _align(maps: xr.DataArray, atlas: xr.Dataset) -> np.ndarray:
    """Return the atlas label of each voxel of ``maps`` (0 = none); error if grids differ."""
    kind = space_kind(maps)
    if kind != space_kind(atlas):
        raise ValueError(
            f"maps are in {kind} space, atlas {atlas.attrs.get('atlas', '?')!r} in "
            f"{space_kind(atlas)} space"
        )
    if kind == "grayordinate":
        lut = dict(
            zip(atlas["grayordinate"].values.tolist(), atlas["label"].values.tolist(), strict=True)
        )
        return np.array([lut.get(int(g), 0) for g in maps["grayordinate"].values], np.int32)
    if kind == "volume":
        for key in ("shape", "affine"):
            a, b = np.asarray(atlas.attrs.get(key), float), np.asarray(maps.attrs.get(key), float)
            if a.shape != b.shape or not np.allclose(a, b):
                raise ValueError(
                    f"atlas grid {key} {a.tolist()} differs from the maps' {b.tolist()}: "
                    "resample explicitly with analysis_lib.networks.resample_atlas(atlas, maps) "
                    "or load_atlas(name, like=maps)"
                )
        shape = tuple(int(s) for s in maps.attrs["shape"])
        full = np.zeros(int(np.prod(shape)), np.int32)
        fa = np.ravel_multi_index([atlas[c].values.astype(int) for c in "ijk"], shape)
        full[fa] = atlas["label"].values
        fm = np.ravel_multi_index([maps[c].values.astype(int) for c in "ijk"], shape)
        return full[fm]
    raise ValueError("ROI-table maps cannot be matched to a network atlas")


CORRECTIONS = ("fdr", "fdr-param", "fwe", "uncorrected")


def maps_from_group(group: xr.Dataset, correction: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Signed statistic and the p/q values that threshold it, from a group Dataset.

    ``fdr``: the group's ``qvalue`` (BH over sign-flip permutation p values); ``fwe``: its
    ``pvalue_fwe`` (max-statistic); ``fdr-param``: BH q values computed here, per atom, from
    the parametric one-sample t p values ``pvalue_param`` (with few subjects the
    permutation p values are discrete, e.g. >= 1/128 for 8 subjects, and BH over them
    may reject nothing); ``uncorrected``: ``pvalue_param`` as it is. Voxel thresholding only
    binarises the maps, as the Network Correspondence Toolbox leaves to the user; the error
    control of the network-level claims comes from the spatial null, the network-level group
    test (when subject maps are given) and the BH correction over (atom, network) pairs.

    Parameters
    ----------
    group : xarray.Dataset
        From :func:`analysis_lib.pipeline.group` (dims atom, voxel).
    correction : {'fdr', 'fwe', 'fdr-param', 'uncorrected'}
        Which p/q values threshold the maps.

    Returns
    -------
    tuple of xarray.DataArray
        ``(tstat, p)``, each (atom, voxel).
    """
    key = {
        "fdr": "qvalue",
        "fwe": "pvalue_fwe",
        "fdr-param": "pvalue_param",
        "uncorrected": "pvalue_param",
    }.get(correction)
    if key is None:
        raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")
    for var in ("tstat", key):
        if var not in group:
            raise ValueError(
                f"group results lack {var!r} (needed for correction={correction!r}); "
                f"they hold {sorted(group.data_vars)}"
            )
    pv = group[key].transpose("atom", "voxel")
    if correction == "fdr-param":
        values = np.asarray(pv.values, float)
        q = np.full(values.shape, np.nan)
        for a in range(values.shape[0]):
            ok = np.isfinite(values[a])
            if ok.any():
                q[a, ok] = false_discovery_control(values[a, ok], method="bh")
        pv = pv.copy(data=q)
    return group["tstat"], pv


def correspondence(
    maps: xr.DataArray | xr.Dataset,
    atlas: xr.Dataset,
    *,
    threshold: float = 0.05,
    pvalues: xr.DataArray | None = None,
    correction: str = "fdr-param",
    sign: str = "both",
    n_perm: int = 1000,
    seed: int = 0,
    null: str = "auto",
    subcortex: str = "exclude",
    alpha_assign: float = 0.05,
    subject_maps: xr.DataArray | None = None,
    subject_r: xr.DataArray | None = None,
    rule: str = "spatial+network",
    min_r: float = 0.0,
    atoms: xr.DataArray | None = None,
    bold: list[xr.DataArray] | None = None,
    n_shift: int = 500,
    shift_fit: str = "marginal",
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
    progress: bool = True,
) -> xr.Dataset:
    """Dice overlap of thresholded atom maps with every network and spatial-null p values.

    Parameters
    ----------
    maps : DataArray (atom, voxel) or group Dataset
        Signed atom maps; or the output of ``group_encoding`` (``tstat`` gives the sign,
        ``pvalue_param``, ``qvalue`` or ``pvalue_fwe`` the significance, see ``correction``).
    atlas : Dataset
        From :func:`~analysis_lib.networks.load_atlas`, on the same voxel grid (resample
        explicitly otherwise).
    threshold : float
        Alpha for p values, or the ``|statistic|`` threshold when no p values are given.
    pvalues : DataArray (atom, voxel), optional
        Corrected p values for a DataArray ``maps``.
    correction : {"fdr", "fdr-param", "fwe", "uncorrected"}
        Which p values of a group Dataset threshold the maps (see :func:`maps_from_group`).
    sign : {"both", "positive", "negative", "abs"}
        Which significant voxels enter the Dice statistic (see module docstring).
    n_perm : int
        Number of spatial-null maps (0 skips the test; p is then NaN).
    seed : int
    null : {"auto", "spin", "phase"}
        ``auto`` and ``spin``: spin permutations, of the cortical grayordinates or, for MNI
        volumes, of the voxels whose centre lies within half a voxel diagonal plus 2 mm of
        the midthickness surface, projected to the sphere
        (:func:`~analysis_lib.networks.nulls.cortical_projection`); ``phase``: 3-D phase
        randomisation of the whole volume (see its caveats in :mod:`analysis_lib.networks.nulls`).
    subcortex : {"exclude", "fixed"}
        Voxels a spin cannot rotate (subcortical grayordinates; non-cortical MNI voxels):
        drop them from the test (and from Dice, coverage and counts), or keep them fixed in
        every spin.
    alpha_assign : float
        Level of ``p_fdr`` for assigning an atom to a network.
    subject_maps : DataArray (subject, atom, voxel), optional
        Per-subject maps on the same atoms and voxels (e.g. betas, from
        :func:`~analysis_lib.encoding.subject_maps`). When given, ``p`` combines the
        spatial-null p value with a network-level group test (see the module docstring).
    subject_r : DataArray (subject, atom, voxel), optional
        Per-subject partial correlations of each atom with each voxel's BOLD (see
        :func:`partial_r`); their network and subject mean is the effect size
        ``network_r`` of a pair.
    rule : {"spatial+network", "network", "network-shift"}
        Which pairs form the significant set (module docstring, "Significant set"):
        ``"spatial+network"``: ``p = max(p_spatial, p_network)``, ``p_fdr < alpha_assign``;
        ``"network"``: ``p = p_network``, ``p_fdr < alpha_assign`` and
        ``|network_r| >= min_r`` (needs ``subject_maps`` and, with ``min_r > 0``,
        ``subject_r``); ``"network-shift"``: ``p = p_temporal`` (circular shifts of the
        atoms, :mod:`analysis_lib.networks.temporal`), ``p_fdr < alpha_assign`` and
        ``|network_b| >= min_r`` (needs ``atoms`` and ``bold``).
    min_r : float
        Effect-size bound of ``rule="network"`` (on ``|network_r|``) and
        ``rule="network-shift"`` (on ``|network_b|``).
    atoms : DataArray (time, atom), optional
        The atom courses (``rule="network-shift"``).
    bold : list of DataArray (time, voxel), optional
        Each subject's BOLD on the maps' voxels (``rule="network-shift"``).
    n_shift : int
        Circular shifts of the temporal null (``rule="network-shift"``).
    shift_fit : {"marginal", "joint"}
        Statistic of the temporal null: each atom alone or all atoms in one fit
        (:func:`analysis_lib.networks.temporal.network_shift_test`).
    drift_model, high_pass
        The encoding model's drift regressors (``rule="network-shift"``).
    progress : bool
        Show a progress bar over null chunks.

    Returns
    -------
    xarray.Dataset
        ``dice``, ``dice_positive``, ``dice_negative``, ``polarity``, ``p``, ``p_fdr``,
        ``p_spatial``, ``null_mean``, ``significant`` (atom, network); with
        ``subject_maps`` also ``p_network`` and ``network_t``, with ``subject_r``
        ``network_r`` (atom, network); ``assignment`` (atom, str network name or "none"),
        ``n_significant`` (atom); ``coverage`` (network, share of network voxels in the
        significant set of at least one atom); ``network_size`` (network).
    """
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {SIGNS}, got {sign!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if rule == "network" and subject_maps is None:
        raise ValueError("rule='network' needs subject_maps (the network-level group test)")
    if rule == "network-shift" and (atoms is None or not bold):
        raise ValueError(
            "rule='network-shift' needs atoms and bold (the temporal null refits the "
            "network-mean BOLD on shifted atoms)"
        )
    if min_r > 0 and rule == "network" and subject_r is None:
        raise ValueError("min_r > 0 needs subject_r (per-subject partial correlations)")
    if subcortex not in ("exclude", "fixed"):
        raise ValueError(f"subcortex must be 'exclude' or 'fixed', got {subcortex!r}")
    if isinstance(maps, xr.Dataset):
        maps, pvalues = maps_from_group(maps, correction)
    if "atom" not in maps.dims or "voxel" not in maps.dims or maps.ndim != 2:
        raise ValueError(f"maps must have dims ('atom', 'voxel'), got {maps.dims}")
    maps = maps.transpose("atom", "voxel")
    sig = threshold_maps(maps, pvalues, threshold=threshold)
    labels = _align(maps, atlas)
    kind = space_kind(maps)
    ternary = np.asarray(sig.values, np.int8)
    if null not in ("auto", "spin", "phase"):
        raise ValueError(f"null must be 'auto', 'spin' or 'phase', got {null!r}")
    keep = np.ones(labels.size, bool)
    points = None
    if null != "phase":
        points = _spin_points(maps, kind)
        if subcortex == "exclude":
            keep = points[2]
    ternary_k, labels_k = ternary[:, keep], labels[keep]
    table = network_table(atlas)
    ids = np.array(sorted(table), dtype=np.int32)
    onehot = labels_k[:, None] == ids[None, :]
    stat, polarity, pos, neg = _statistic(ternary_k, onehot, sign)

    n_atom, n_net = stat.shape
    exceed = np.zeros((n_atom, n_net))
    null_sum = np.zeros((n_atom, n_net))
    method = null
    if n_perm > 0:
        gen, method = _null_generator(maps, keep, kind, null, subcortex, n_perm, seed, points)
        bar = tqdm(
            total=n_perm, desc="spatial null", disable=None if progress else True, leave=False
        )
        if method == "phase":
            chunks = gen.null_chunks(ternary_k, np.asarray(maps.values, float)[:, keep])
        else:
            chunks = gen.null_chunks(ternary_k)
        for block in chunks:
            s, *_ = _statistic(block, onehot, sign)  # (atom, n_rot, network)
            exceed += (s >= stat[:, None, :] - 1e-12).sum(1)
            null_sum += s.sum(1)
            bar.update(block.shape[1])
        bar.close()
        p_spatial = (1 + exceed) / (1 + n_perm)
        p_spatial[ternary_k.any(1) == 0] = 1.0
        null_mean = null_sum / n_perm
    else:
        p_spatial = null_mean = np.full(stat.shape, np.nan)
    network_vars = {}
    p = p_spatial
    r_net = None
    if subject_r is not None:
        r_net = network_mean_effect(subject_r, maps, keep, onehot)
        network_vars["network_r"] = (
            ("atom", "network"),
            r_net,
            {
                "long_name": "partial correlation of atom and BOLD, mean over the network's "
                "voxels and the subjects",
                "units": "1",
            },
        )
    effect = r_net
    if rule == "network-shift":
        shift = _temporal_test(
            atoms,
            bold,
            maps,
            keep,
            labels_k,
            ids,
            n_shift,
            seed,
            drift_model,
            high_pass,
            shift_fit,
        )
        from .temporal import shift_variables

        p, effect = shift["p"], shift["b"]
        network_vars |= shift_variables(shift, shift_fit)
    if subject_maps is not None:
        t_net, p_net = network_group_test(subject_maps, maps, keep, onehot)
        if rule == "network":
            p = p_net
        elif rule == "spatial+network":
            p = np.fmax(p_spatial, p_net) if n_perm > 0 else p_spatial
        network_vars |= {
            "p_network": (
                ("atom", "network"),
                p_net,
                {
                    "long_name": "network-level group p value (two-sided one-sample t)",
                    "units": "1",
                },
            ),
            "network_t": (
                ("atom", "network"),
                t_net,
                {
                    "long_name": "one-sample t of subject maps averaged over the network",
                    "units": "1",
                },
            ),
        }
    names = np.array([table[i] for i in ids], dtype=object)
    p_fdr, significant, assignment = decide(
        p,
        stat,
        effect,
        names,
        alpha=alpha_assign,
        min_r=min_r,
        tested=n_perm > 0 or rule != "spatial+network",
    )
    union = (ternary_k != 0).any(0)
    size = onehot.sum(0)
    coverage = np.where(size > 0, (onehot & union[:, None]).sum(0) / np.maximum(size, 1), np.nan)

    an = ("atom", "network")
    ds = xr.Dataset(
        {
            "dice": (an, stat, {"long_name": f"Dice overlap ({sign})", "units": "1"}),
            "dice_positive": (an, pos, {"long_name": "Dice of positive voxels", "units": "1"}),
            "dice_negative": (an, neg, {"long_name": "Dice of negative voxels", "units": "1"}),
            "polarity": (an, polarity, {"long_name": "sign of the overlapping voxels"}),
            "p": (
                an,
                p,
                {
                    "long_name": f"p value: spatial null ({method})"
                    + (" and network-level group test, the larger" if network_vars else ""),
                    "units": "1",
                },
            ),
            "p_spatial": (an, p_spatial, {"long_name": f"spatial-null p value ({method})"}),
            "p_fdr": (an, p_fdr, {"long_name": "BH q value over atoms x networks"}),
            "significant": (
                an,
                significant,
                {"long_name": f"in the significant set (rule {rule!r})", "units": "1"},
            ),
            "null_mean": (an, null_mean, {"long_name": "mean Dice of null maps"}),
            "assignment": ("atom", np.array(assignment, dtype=str)),
            "n_significant": ("atom", (ternary_k != 0).sum(1), {"units": "voxels"}),
            "coverage": (
                "network",
                coverage,
                {"long_name": "share of network voxels in any atom"},
            ),
            "network_size": ("network", size, {"units": "voxels"}),
            **network_vars,
        },
        coords={
            "atom": maps["atom"].values,
            "network": names.astype(str),
            "network_id": ("network", ids),
        },
    )
    ds.attrs.update(
        provenance(
            {
                "threshold": threshold,
                "correction": correction,
                "sign": sign,
                "n_perm": n_perm,
                "seed": seed,
                "null": method,
                "subcortex": subcortex,
                "alpha_assign": alpha_assign,
                "atlas": atlas.attrs.get("atlas", "?"),
                "tests": "spatial+network" if subject_maps is not None else "spatial",
                "rule": rule,
                "min_r": min_r,
                **(
                    {"n_shift": n_shift, "shift_fit": shift_fit} if rule == "network-shift" else {}
                ),
            },
            maps=sha256_array(np.asarray(maps.values)),
        )
    )
    ds.attrs["space"] = maps.attrs.get("space", atlas.attrs.get("space", ""))
    ds.attrs["atlas"] = atlas.attrs.get("atlas", "?")
    return ds


def _temporal_test(
    atoms, bold, maps, keep, labels_k, ids, n_shift, seed, drift_model, high_pass, fit
):
    """Network shift test (:mod:`analysis_lib.networks.temporal`) on the kept voxels."""
    from ..encoding.design import build_design
    from .temporal import network_courses, network_shift_test

    if isinstance(atoms, xr.Dataset):
        if "atoms" not in atoms:
            raise ValueError(f"an atoms Dataset needs an 'atoms' variable, has {list(atoms)}")
        atoms = atoms["atoms"]
    if "time" not in atoms.dims or "atom" not in atoms.dims:
        raise ValueError(f"atoms must have dims ('time', 'atom'), got {atoms.dims}")
    a = atoms.transpose("time", "atom")
    if not np.array_equal(np.asarray(a["atom"].values), np.asarray(maps["atom"].values)):
        raise ValueError("atoms and the group maps hold different atoms")
    voxel_coords = [c for c in maps.coords if maps[c].dims == ("voxel",)]
    courses = []
    for i, b in enumerate(bold):
        if "voxel" not in b.dims or "time" not in b.dims:
            raise ValueError(f"bold[{i}] must have dims ('time', 'voxel'), got {b.dims}")
        b = b.transpose("time", "voxel")
        if b.sizes["voxel"] != maps.sizes["voxel"] or any(
            c in b.coords and not np.array_equal(b[c].values, maps[c].values) for c in voxel_coords
        ):
            raise ValueError(
                f"bold[{i}] ({b.attrs.get('subject', '?')}) is not on the maps' voxels"
            )
        if b.sizes["time"] != a.sizes["time"]:
            raise ValueError(
                f"bold[{i}] has {b.sizes['time']} volumes, the atoms {a.sizes['time']}"
            )
        courses.append(network_courses(np.asarray(b.values)[:, keep], labels_k, ids))
    tr = float(bold[0].attrs.get("tr", np.nan))
    frame_times = np.asarray(bold[0]["time"].values, float) if "time" in bold[0].coords else None
    if frame_times is None and np.isfinite(tr):
        frame_times = tr * np.arange(a.sizes["time"])
    names = [str(x) for x in a["atom"].values]
    nuisance = build_design(
        np.asarray(a.values, float),
        names,
        None,
        frame_times,
        drift_model=drift_model,
        high_pass=high_pass,
    ).nuisance
    return network_shift_test(
        np.asarray(a.values, float), courses, nuisance, n_shift=n_shift, seed=seed, fit=fit
    )


def partial_r(tstat: np.ndarray, dof: float) -> np.ndarray:
    """Partial correlation from a GLM t statistic: ``t / sqrt(t^2 + dof)``.

    Parameters
    ----------
    tstat : ndarray
        t statistics of one coefficient (any shape).
    dof : float
        Residual degrees of freedom of the GLM (``dof`` attr of an encoding).

    Returns
    -------
    ndarray, same shape
        The partial correlation of the regressor with the response, given the other
        regressors (Cohen et al. 2003, eq. 3.10.7).
    """
    if not dof > 0:
        raise ValueError(f"dof must be positive, got {dof}")
    t = np.asarray(tstat, np.float64)
    return t / np.sqrt(t**2 + float(dof))


def network_mean_effect(
    subject_r: xr.DataArray, maps: xr.DataArray, keep: np.ndarray, onehot: np.ndarray
) -> np.ndarray:
    """Mean over subjects of each per-subject map averaged over each network.

    Parameters
    ----------
    subject_r : DataArray (subject, atom, voxel)
        Per-subject maps (partial correlations); same atoms and voxels as ``maps``.
    maps, keep, onehot
        As in :func:`network_group_test`.

    Returns
    -------
    ndarray, shape (n_atom, n_network)
        NaN where a network has no voxel finite in every subject.
    """
    means, n_vox = _network_means(subject_r, maps, keep, onehot)
    return np.where(n_vox > 0, means.mean(0), np.nan)


def _network_means(
    subject_maps: xr.DataArray, maps: xr.DataArray, keep: np.ndarray, onehot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject network means (subject, atom, network) and voxels per network."""
    if set(subject_maps.dims) != {"subject", "atom", "voxel"}:
        raise ValueError(
            f"subject_maps must have dims ('subject', 'atom', 'voxel'), got {subject_maps.dims}"
        )
    sm = subject_maps.transpose("subject", "atom", "voxel")
    if sm.sizes["voxel"] != maps.sizes["voxel"] or sm.sizes["atom"] != maps.sizes["atom"]:
        raise ValueError(
            f"subject_maps hold {sm.sizes['atom']} atoms x {sm.sizes['voxel']} voxels; the "
            f"group maps {maps.sizes['atom']} x {maps.sizes['voxel']}"
        )
    for coord in ("atom", *[c for c in maps.coords if maps[c].dims == ("voxel",)]):
        if coord in sm.coords and not np.array_equal(sm[coord].values, maps[coord].values):
            raise ValueError(f"subject_maps and the group maps differ in coordinate {coord!r}")
    if sm.sizes["subject"] < 2:
        raise ValueError("the network-level test needs at least 2 subjects")
    x = np.asarray(sm.values, np.float64)[:, :, keep]  # (subject, atom, kept voxel)
    finite = np.isfinite(x).all(axis=(0, 1))
    member = onehot & finite[:, None]
    n_vox = member.sum(0)
    means = np.einsum("sav,vn->san", np.where(finite, x, 0.0), member) / np.maximum(n_vox, 1)
    return means, n_vox


def network_group_test(
    subject_maps: xr.DataArray, maps: xr.DataArray, keep: np.ndarray, onehot: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided one-sample t test across subjects of each map averaged over each network.

    Parameters
    ----------
    subject_maps : DataArray (subject, atom, voxel)
        Must share the atoms and voxels of ``maps``.
    maps : DataArray (atom, voxel)
        The group maps (for the coordinate checks).
    keep : ndarray of bool, shape (n_voxel,)
        Voxels that enter the test (as in the Dice statistic).
    onehot : ndarray of bool, shape (n_kept, n_network)
        Network membership of the kept voxels.

    Returns
    -------
    t, p : ndarrays, shape (n_atom, n_network)
        NaN t and p = 1 where a network has no voxel finite in every subject.
    """
    means, n_vox = _network_means(subject_maps, maps, keep, onehot)
    t, p = ttest_1samp(means, 0.0, axis=0)
    t = np.where(n_vox > 0, t, np.nan)
    p = np.where((n_vox > 0) & np.isfinite(p), p, 1.0)
    return t, p


def _spin_points(maps: xr.DataArray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sphere coordinates, hemisphere and 'spinnable' flag of every voxel of ``maps``."""
    if kind == "grayordinate":
        g = np.asarray(maps["grayordinate"].values, int)
        cortex = g < N_CORTEX
        xyz = np.full((g.size, 3), np.nan)
        left = np.zeros(g.size, bool)
        if cortex.any():
            xyz[cortex], left[cortex] = sphere_coordinates(g[cortex])
        return xyz, left, cortex
    if kind == "volume":
        # a voxel is cortical when its centre lies within half a voxel diagonal plus 2 mm
        # (about half the cortical thickness) of the midthickness surface
        affine = np.asarray(maps.attrs.get("affine"), float).reshape(4, 4)
        size = float(np.abs(np.linalg.det(affine[:3, :3])) ** (1 / 3))
        ijk = np.column_stack([maps[c].values for c in "ijk"]).astype(float)
        mm = ijk @ affine[:3, :3].T + affine[:3, 3]
        return cortical_projection(mm, max_distance=2.0 + 0.5 * np.sqrt(3) * size)
    raise ValueError("spin nulls need grayordinate or MNI volume data")


def cortical_mask(maps: xr.DataArray, null: str = "auto") -> np.ndarray:
    """Voxels a spin null can rotate (cortical grayordinates, or ribbon voxels in MNI).

    Parameters
    ----------
    maps : xarray.DataArray
        Maps (atom, voxel) over grayordinates or MNI voxels.
    null : {'auto', 'spin', 'phase'}
        The spatial null; ``auto`` picks it from the space.

    Returns
    -------
    ndarray of bool, shape (voxel,)
        True where the null can move the map (all True for nulls that use every voxel).
    """
    kind = space_kind(maps)
    if null == "phase" or (null == "auto" and kind not in ("grayordinate", "volume")):
        return np.ones(maps.sizes["voxel"], bool)
    return _spin_points(maps, kind)[2]


def _null_generator(maps, keep, kind, null, subcortex, n_perm, seed, points=None):
    if null == "auto":
        null = "spin"
    if null == "spin":
        xyz, left, cortex = points if points is not None else _spin_points(maps, kind)
        if not cortex.any():
            raise ValueError("spin nulls need cortical voxels; the maps have none")
        idx = np.flatnonzero(cortex)
        spin = SpinNull(xyz[idx], left[idx], n_perm=n_perm, seed=seed)
        if subcortex == "exclude":
            return spin, "spin"
        return _FixedSubcortexSpin(spin, idx, cortex.size), "spin-fixed"
    if null == "phase":
        if kind != "volume":
            raise ValueError("phase-randomisation nulls need volume data (i, j, k coords)")
        ijk = np.column_stack([maps[c].values for c in "ijk"]).astype(int)[keep]
        shape = tuple(int(s) for s in maps.attrs["shape"])
        return PhaseRandomNull(ijk, shape, n_perm=n_perm, seed=seed), "phase"
    raise ValueError(f"null must be 'auto', 'spin' or 'phase', got {null!r}")


class _FixedSubcortexSpin:
    """Spin the cortical columns, keep the others fixed."""

    def __init__(self, spin: SpinNull, cortex_idx: np.ndarray, n: int):
        self.spin, self.cortex_idx, self.n = spin, cortex_idx, n

    def null_chunks(self, maps):
        for idx in self.spin.index_chunks():
            full = np.broadcast_to(np.arange(self.n), (idx.shape[0], self.n)).copy()
            full[:, self.cortex_idx] = self.cortex_idx[idx]
            yield maps[:, full]
