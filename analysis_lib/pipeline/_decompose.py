"""Stage ``decompose``: sparse dictionary learning of AN responses, X (time, neuron) ~ D A.

:func:`decompose` fits :class:`analysis_lib.decomposition.SparseDictionary` with the
parameters of :class:`DecomposeParams` and packs the fit with
:func:`analysis_lib.decomposition.decomposition_dataset`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._extract import check_device
from .params import StageParams, param, stage_provenance

#: Solvers of :class:`~analysis_lib.decomposition.SparseDictionary` (a test keeps them equal).
SOLVERS = ("auto", "torch", "spams", "sklearn")
NORMALIZATIONS = ("unit", "zscore", "none")
REFINEMENTS = ("lbfgs", "none")


@dataclass(frozen=True)
class DecomposeParams(StageParams):
    """Parameters of the decomposition stage (see ``SparseDictionary``)."""

    stage = "decompose"
    n_atoms: int = param(64, "number of atoms K", minimum=1)
    alpha: float = param(0.1, "L1 penalty on the loadings (SPAMS lambda1)", minimum=0)
    normalize: str = param(
        "unit", "column scaling before fitting (unit: unit L2 norm)", choices=NORMALIZATIONS
    )
    seed: int = param(0, "seed of the initial atoms")
    solver: str = param(
        "auto", "torch (what auto selects); spams, sklearn: references", choices=SOLVERS
    )
    device: str = param("cpu", "torch device of the torch solver (cpu, cuda)")
    max_iter: int = param(200, "maximum passes (epochs + L-BFGS evaluations)", minimum=1)
    tol: float = param(1e-4, "relative objective change that stops the fit", minimum=0)
    refine: str = param(
        "lbfgs",
        "torch solver: L-BFGS refinement of the atoms after block coordinate descent",
        choices=REFINEMENTS,
    )

    def check(self) -> None:
        """Also check that the torch device exists."""
        super().check()
        check_device(self.device, self.stage)


def responses_array(responses, name: str = "responses"):
    """The (time, neuron) DataArray of a responses Dataset or DataArray.

    Parameters
    ----------
    responses : Dataset with one (time, neuron) variable (``responses`` preferred) or
        DataArray (time, neuron)
    name : str
        What to call the input in error messages (e.g. its file name).

    Returns
    -------
    xarray.DataArray, dims (time, neuron)
    """
    import xarray as xr

    da = responses
    if isinstance(responses, xr.Dataset):
        if "responses" in responses:
            da = responses["responses"]
        elif len(responses.data_vars) == 1:
            da = next(iter(responses.data_vars.values()))
        else:
            raise ValueError(
                f"{name}: no variable 'responses'; it holds {sorted(responses.data_vars)}"
            )
    if not isinstance(da, xr.DataArray) or set(da.dims) != {"time", "neuron"}:
        dims = getattr(da, "dims", None)
        raise ValueError(f"{name}: responses have dims {dims}, expected (time, neuron)")
    return da.transpose("time", "neuron")


def _estimator(params: DecomposeParams, progress: bool):
    from ..decomposition import SparseDictionary

    kwargs = dict(
        n_atoms=params.n_atoms,
        alpha=params.alpha,
        normalize=params.normalize,
        seed=params.seed,
        device=params.device,
        max_iter=params.max_iter,
        tol=params.tol,
        refine=params.refine,
        solver=params.solver,
        verbose=progress,
    )
    return SparseDictionary(**kwargs)


def decompose(
    params: DecomposeParams,
    responses,
    *,
    name: str = "responses",
    path: str | None = None,
    progress: bool = False,
):
    """Run the decomposition stage.

    Parameters
    ----------
    params : DecomposeParams
    responses : Dataset or DataArray (time, neuron)
        Output of the extraction stage (or any (time, neuron) array with coordinates).
    name : str
        What to call the input in error messages (e.g. its file name).
    path : str, optional
        The input file, recorded as ``input_responses_path``.
    progress : bool
        Show a progress bar over epochs.

    Returns
    -------
    xarray.Dataset
        ``atoms`` (time, atom), ``loadings`` (atom, neuron), ``r2`` (neuron),
        ``subgroup_size``, ``explained_energy`` (atom), ``objective`` (iteration) as
        :func:`~analysis_lib.decomposition.decomposition_dataset`; attrs with the stage
        provenance (``input_responses_sha256``: digest of the response values) and the
        source's ``model`` and ``stimulus``.

    Raises
    ------
    ValueError
        Input not (time, neuron), NaN/inf values, K larger than the data allow; the
        message starts with ``name``.
    """
    from ..decomposition import as_time_by_neuron, decomposition_dataset
    from ..io import sha256_array

    da = responses_array(responses, name)
    as_time_by_neuron(da, name=name)  # errors name the input
    model = _estimator(params, progress)
    try:
        model.fit(da)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc
    digest = sha256_array(da.values)
    ds = decomposition_dataset(model, da, params.as_dict(), digest)
    ds.attrs.update(stage_provenance(params, paths={"responses": path}, responses=digest))
    for key in ("model", "stimulus", "tr"):
        if key in da.attrs:
            ds.attrs[key] = da.attrs[key]
    return ds
