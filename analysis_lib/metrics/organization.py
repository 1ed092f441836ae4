"""Study A: how the atoms (AN sub-groups) are organised over functional brain networks.

Notation: ``K`` atoms with time courses ``d_k`` (columns of ``atoms``, dims (time, atom)),
brain maps ``m_k`` (rows of ``maps``, dims (atom, voxel)), each assigned to one network
``n(k)`` or to ``"none"`` (``assignment`` from :func:`analysis_lib.networks.correspondence`);
``r(u, v)`` is the Pearson correlation.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

NONE = "none"


def _assignment(assignment: xr.DataArray | xr.Dataset) -> xr.DataArray:
    if isinstance(assignment, xr.Dataset):
        if "assignment" not in assignment:
            raise ValueError(
                f"expected a correspondence Dataset with 'assignment'; got {list(assignment)}"
            )
        return assignment["assignment"]
    return assignment


def _networks(assignment: xr.DataArray | xr.Dataset, networks: Sequence[str] | None):
    if networks is not None:
        return [str(n) for n in networks]
    if "network" in assignment.coords:
        return [str(n) for n in assignment["network"].values]
    return sorted({str(a) for a in _assignment(assignment).values if str(a) != NONE})


def atoms_per_network(
    assignment: xr.DataArray | xr.Dataset, networks: Sequence[str] | None = None
) -> xr.DataArray:
    """Number of atoms assigned to each network: ``N_n = #{k : n(k) = n}``.

    Parameters
    ----------
    assignment : DataArray (atom) of str, or a correspondence Dataset
    networks : sequence of str, optional
        Networks to report (default: the Dataset's ``network`` coord, else those seen).

    Returns
    -------
    DataArray (network) of int, attrs ``n_unassigned``.
    """
    nets = _networks(assignment, networks)
    a = np.array([str(v) for v in _assignment(assignment).values])
    counts = np.array([(a == n).sum() for n in nets], dtype=np.int64)
    return xr.DataArray(
        counts,
        dims="network",
        coords={"network": nets},
        name="atoms_per_network",
        attrs={
            "long_name": "atoms assigned to the network",
            "units": "atoms",
            "n_unassigned": int((a == NONE).sum()),
        },
    )


def mean_pairwise_correlation(x: np.ndarray) -> float:
    """Mean off-diagonal Pearson correlation of the rows of ``x``.

    ``C = 2 / (k (k - 1)) * sum_{i<j} r(x_i, x_j)``; NaN for fewer than two rows.

    Parameters
    ----------
    x : numpy.ndarray, shape (k, n)
    """
    x = np.asarray(x, float)
    if x.shape[0] < 2:
        return float("nan")
    r = np.corrcoef(x)
    iu = np.triu_indices(x.shape[0], 1)
    return float(np.nanmean(r[iu]))


def within_network_consistency(
    atoms: xr.DataArray,
    maps: xr.DataArray,
    assignment: xr.DataArray | xr.Dataset,
    networks: Sequence[str] | None = None,
) -> xr.Dataset:
    """Within-network consistency of the atoms assigned to each network.

    ``temporal_n = mean_{i<j in n} r(d_i, d_j)`` (atom time courses) and
    ``spatial_n = mean_{i<j in n} r(m_i, m_j)`` (atom maps); NaN for networks with fewer
    than two atoms.

    Parameters
    ----------
    atoms : DataArray (time, atom)
    maps : DataArray (atom, voxel)
        Atom brain maps (e.g. group t maps).
    assignment : DataArray (atom) or correspondence Dataset
    networks : sequence of str, optional
        Networks to report, in this order (default: those of the assignment).

    Returns
    -------
    Dataset with ``temporal`` and ``spatial`` (network) and ``n_atoms`` (network).
    """
    nets = _networks(assignment, networks)
    a = _assignment(assignment)
    names = np.array([str(v) for v in a.values])
    d = atoms.transpose("time", "atom").sel(atom=a["atom"].values).values.T
    m = maps.transpose("atom", "voxel").sel(atom=a["atom"].values).values
    temporal, spatial, count = [], [], []
    for n in nets:
        idx = np.flatnonzero(names == n)
        temporal.append(mean_pairwise_correlation(d[idx]))
        spatial.append(mean_pairwise_correlation(m[idx]))
        count.append(idx.size)
    return xr.Dataset(
        {
            "temporal": (
                "network",
                temporal,
                {"long_name": "mean pairwise r of atom time courses"},
            ),
            "spatial": ("network", spatial, {"long_name": "mean pairwise r of atom maps"}),
            "n_atoms": ("network", np.array(count, np.int64)),
        },
        coords={"network": nets},
    )


def consistency_baseline(
    atoms: xr.DataArray,
    assignment: xr.DataArray | xr.Dataset,
    *,
    n_perm: int = 1000,
    seed: int = 0,
) -> xr.Dataset:
    """What chance gives for the consistency: atom-network labels shuffled.

    The labels of the atoms (their assigned networks, ``"none"`` included) are permuted
    across atoms, which keeps the number of atoms per network, and the model's consistency
    (mean over networks with at least two atoms of the temporal consistency, as in
    :func:`study_a_summary`) is recomputed. Atoms per network, coverage and diversity are
    invariant under this permutation, so for them chance is the random-weight twin, not
    the shuffle.

    Parameters
    ----------
    atoms : DataArray (time, atom)
    assignment : DataArray (atom) or correspondence Dataset
    n_perm : int
        Number of permutations.
    seed : int

    Returns
    -------
    xarray.Dataset
        Scalars ``observed``, ``null_mean``, ``null_low``, ``null_high`` (2.5 and 97.5
        percentiles), ``p`` (one-sided, ``(1 + #{null >= observed}) / (1 + n_perm)``);
        NaN when no network has two atoms.
    """
    a = _assignment(assignment)
    names = np.array([str(v) for v in a.values])
    d = atoms.transpose("time", "atom").sel(atom=a["atom"].values).values.T
    corr = np.corrcoef(d) if d.shape[0] > 1 else np.ones((1, 1))

    def stat(lab: np.ndarray) -> float:
        vals = []
        for n in set(lab.tolist()) - {NONE}:
            idx = np.flatnonzero(lab == n)
            if idx.size >= 2:
                sub = corr[np.ix_(idx, idx)]
                vals.append(np.nanmean(sub[np.triu_indices(idx.size, 1)]))
        return float(np.mean(vals)) if vals else float("nan")

    obs = stat(names)
    rng = np.random.default_rng(seed)
    null = np.array([stat(rng.permutation(names)) for _ in range(n_perm)])
    if not np.isfinite(obs):
        vals = dict.fromkeys(("observed", "null_mean", "null_low", "null_high", "p"), np.nan)
    else:
        vals = {
            "observed": obs,
            "null_mean": float(np.mean(null)),
            "null_low": float(np.percentile(null, 2.5)),
            "null_high": float(np.percentile(null, 97.5)),
            "p": float((1 + np.sum(null >= obs - 1e-12)) / (1 + n_perm)),
        }
    return xr.Dataset(
        {k: ((), v) for k, v in vals.items()},
        attrs={"n_perm": n_perm, "seed": seed, "what": "atom-network labels shuffled"},
    )


def effective_number(x: np.ndarray, method: str = "entropy") -> float:
    """Effective number of independent atoms from the eigen-spectrum of their correlations.

    With ``lambda_i`` the eigenvalues of the ``K x K`` correlation matrix of the atoms
    (columns of ``x``) and ``p_i = lambda_i / sum(lambda)``:

    * ``"entropy"``: ``exp(-sum_i p_i log p_i)`` (the exponential of the spectral entropy);
    * ``"participation"``: ``(sum lambda)^2 / sum lambda^2`` (participation ratio).

    Both equal ``K`` for uncorrelated atoms and 1 for identical ones.

    Parameters
    ----------
    x : numpy.ndarray, shape (time, K)
    method : {'entropy', 'participation'}
        Which of the two definitions above.

    Returns
    -------
    float
        Between 1 and K.
    """
    x = np.asarray(x, float)
    if x.shape[1] == 1:
        return 1.0
    lam = np.clip(np.linalg.eigvalsh(np.corrcoef(x.T)), 0, None)
    p = lam / lam.sum()
    if method == "entropy":
        nz = p[p > 0]
        return float(np.exp(-(nz * np.log(nz)).sum()))
    if method == "participation":
        return float(lam.sum() ** 2 / (lam**2).sum())
    raise ValueError(f"method must be 'entropy' or 'participation', got {method!r}")


def diversity(
    atoms: xr.DataArray,
    assignment: xr.DataArray | xr.Dataset | None = None,
    *,
    method: str = "entropy",
    networks: Sequence[str] | None = None,
) -> xr.Dataset:
    """Diversity of the atoms' computational behaviours.

    ``effective_number`` = :func:`effective_number` of all atoms; ``normalized`` =
    ``(effective_number - 1) / (K - 1)`` in [0, 1]; with an assignment also
    ``networks_covered`` = number of networks with at least one atom, and the effective
    number of the atoms within each network (``effective_number_network``).

    Parameters
    ----------
    atoms : xarray.DataArray (time, atom)
        Atom time courses.
    assignment : xarray.DataArray (atom) or correspondence Dataset, optional
        Network of each atom.
    method : {'entropy', 'participation'}
        See :func:`effective_number`.
    networks : sequence of str, optional
        Networks to report (default: those of the assignment).

    Returns
    -------
    Dataset of scalars (and (network) variables with an assignment).
    """
    d = atoms.transpose("time", "atom")
    k = d.sizes["atom"]
    eff = effective_number(d.values, method)
    out = xr.Dataset(
        {
            "effective_number": ((), eff, {"long_name": f"effective number of atoms ({method})"}),
            "normalized": ((), (eff - 1) / (k - 1) if k > 1 else 0.0),
            "n_atoms": ((), k),
        }
    )
    if assignment is not None:
        nets = _networks(assignment, networks)
        a = _assignment(assignment)
        names = np.array([str(v) for v in a.values])
        per = []
        for n in nets:
            idx = a["atom"].values[names == n]
            per.append(effective_number(d.sel(atom=idx).values, method) if idx.size else 0.0)
        out["networks_covered"] = ((), int(sum(n in set(names) for n in nets)))
        out["effective_number_network"] = ("network", per)
        out = out.assign_coords(network=nets)
    return out


def balance_index(consistency: float, diversity_normalized: float) -> float:
    """Balance of consistency and diversity: the harmonic mean ``2 c d / (c + d)``.

    ``c`` is a consistency in [0, 1] (negative values are clipped to 0) and ``d`` the
    normalised diversity in [0, 1]. The index is 1 only when both are 1 and 0 when either
    is 0: a model scores high only when its atoms are consistent within networks *and*
    diverse overall.

    Parameters
    ----------
    consistency : float
        ``c``.
    diversity_normalized : float
        ``d``.

    Returns
    -------
    float
        In [0, 1].
    """
    c = float(np.clip(consistency, 0, 1))
    d = float(np.clip(diversity_normalized, 0, 1))
    return 0.0 if c + d == 0 else 2 * c * d / (c + d)


def subgroup_membership(loadings: xr.DataArray, tol: float = 0.0) -> xr.DataArray:
    """Boolean (atom, neuron): neuron ``j`` is in atom ``k``'s sub-group when ``|A_kj| > tol``.

    Parameters
    ----------
    loadings : xarray.DataArray (atom, neuron)
        Dictionary loadings ``A``.
    tol : float
        Threshold on ``|A_kj|``.

    Returns
    -------
    xarray.DataArray of bool (atom, neuron)
        Membership.
    """
    return np.abs(loadings.transpose("atom", "neuron")) > tol


def layer_distribution(
    loadings: xr.DataArray, *, weighted: bool = False, tol: float = 0.0
) -> xr.DataArray:
    """Share of each sub-group's neurons in each layer.

    ``P_kl = #{j in S_k : layer_j = l} / #S_k`` with ``S_k = {j : |A_kj| > tol}``; with
    ``weighted=True`` the counts are replaced by summed ``|A_kj|``. Rows sum to 1 (NaN for
    an empty sub-group).

    Parameters
    ----------
    loadings : DataArray (atom, neuron) with neuron coord ``layer``
    weighted : bool
        Sum ``|A_kj|`` instead of counting neurons.
    tol : float
        Threshold on ``|A_kj|`` defining the sub-groups.

    Returns
    -------
    DataArray (atom, layer)
    """
    if "layer" not in loadings.coords:
        raise ValueError("loadings need a 'layer' coord on the neuron dim")
    w = loadings.transpose("atom", "neuron")
    values = np.abs(w.values) if weighted else (np.abs(w.values) > tol).astype(float)
    layers = np.asarray(w["layer"].values)
    levels = np.unique(layers)
    sums = np.stack([values[:, layers == lev].sum(1) for lev in levels], axis=1)
    total = sums.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, sums / total, np.nan)
    return xr.DataArray(
        share,
        dims=("atom", "layer"),
        coords={"atom": w["atom"].values, "layer": levels},
        name="layer_distribution",
        attrs={
            "long_name": "share of the sub-group in each layer",
            "units": "1",
            "weighted": int(weighted),
        },
    )


def r2_distribution(
    r2: xr.DataArray, quantiles: Sequence[float] = (0.05, 0.25, 0.5, 0.75, 0.95)
) -> xr.Dataset:
    """Distribution of the reconstruction R^2 of the neurons, overall and per layer.

    ``R^2_j = 1 - ||x_j - D a_j||^2 / ||x_j - mean(x_j)||^2`` comes from the decomposition;
    this reports its quantiles and mean over all neurons and within each layer.

    Parameters
    ----------
    r2 : xarray.DataArray (neuron)
        Reconstruction R^2 per neuron (optional coord ``layer``).
    quantiles : sequence of float
        Quantiles to report, in [0, 1].

    Returns
    -------
    Dataset with ``quantile_all`` (quantile), ``mean_all``; with a ``layer`` coord also
    ``quantile_layer`` (layer, quantile) and ``mean_layer`` (layer).
    """
    v = np.asarray(r2.values, float)
    q = np.asarray(quantiles, float)
    out = xr.Dataset(
        {"quantile_all": ("quantile", np.nanquantile(v, q)), "mean_all": ((), np.nanmean(v))},
        coords={"quantile": q},
    )
    if "layer" in r2.coords:
        layers = np.asarray(r2["layer"].values)
        levels = np.unique(layers)
        out["quantile_layer"] = (
            ("layer", "quantile"),
            np.stack([np.nanquantile(v[layers == lev], q) for lev in levels]),
        )
        out["mean_layer"] = ("layer", [np.nanmean(v[layers == lev]) for lev in levels])
        out = out.assign_coords(layer=levels)
    return out


def study_a_summary(
    atoms: xr.DataArray,
    maps: xr.DataArray,
    corr: xr.Dataset,
    decomposition: xr.Dataset | None = None,
) -> xr.Dataset:
    """Scalar Study-A metrics of one model, ready for :func:`compare_models`.

    ``consistency`` is the mean of the networks' temporal consistency (networks with at
    least two atoms), ``diversity`` the normalised effective number, ``balance`` their
    :func:`balance_index`, ``networks_covered``, ``assigned_share`` (share of atoms with a
    network) and, with a decomposition, ``r2_median``.

    Parameters
    ----------
    atoms : xarray.DataArray (time, atom)
        Atom time courses.
    maps : xarray.DataArray (atom, voxel)
        Atom brain maps (group t maps).
    corr : xarray.Dataset
        From :func:`analysis_lib.networks.correspondence` (``assignment`` (atom)).
    decomposition : xarray.Dataset, optional
        From the decompose stage (for ``r2_median``).

    Returns
    -------
    xarray.Dataset
        Scalar variables named above.
    """
    cons = within_network_consistency(atoms, maps, corr)
    div = diversity(atoms, corr)
    c = float(np.nanmean(cons["temporal"].values)) if np.isfinite(cons["temporal"]).any() else 0.0
    d = float(div["normalized"])
    names = np.array([str(v) for v in corr["assignment"].values])
    out = {
        "consistency": c,
        "spatial_consistency": float(np.nanmean(cons["spatial"].values))
        if np.isfinite(cons["spatial"]).any()
        else 0.0,
        "diversity": d,
        "effective_number": float(div["effective_number"]),
        "balance": balance_index(c, d),
        "networks_covered": int(div["networks_covered"]),
        "assigned_share": float((names != NONE).mean()),
    }
    if decomposition is not None and "r2" in decomposition:
        out["r2_median"] = float(np.nanmedian(decomposition["r2"].values))
    return xr.Dataset({k: ((), v) for k, v in out.items()})
