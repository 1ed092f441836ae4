"""xarray packing of a fitted :class:`~analysis_lib.decomposition.SparseDictionary`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .estimator import SparseDictionary


def decomposition_dataset(
    model: SparseDictionary, da: Any, params: dict, input_sha256: str
) -> Any:
    """Labeled Dataset of a fitted :class:`SparseDictionary`.

    Parameters
    ----------
    model : SparseDictionary
        Fitted on ``da``.
    da : xarray.DataArray, shape (n_time, n_neuron)
        Dims ``(time, neuron)``: the responses it was fitted on; every ``time`` and
        ``neuron`` coordinate is kept.
    params : dict
        The estimator's parameters (stored as JSON in the provenance attributes).
    input_sha256 : str
        Digest of the input responses (file or array).

    Returns
    -------
    xarray.Dataset
        ``atoms`` (time, atom), shape (n_time, K); ``loadings`` (atom, neuron), shape
        (K, n_neuron); ``r2`` (neuron,); ``subgroup_size`` and ``explained_energy``
        (atom,); ``objective`` (iteration,), shape (n_iter + 1,); with CF attributes,
        the provenance of ``params`` and the ``solver`` that ran.
    """
    import xarray as xr

    from ..io import provenance

    K = model.atoms_.shape[1]
    neuron_coords = {
        name: coord.variable for name, coord in da.coords.items() if coord.dims == ("neuron",)
    }
    time_coords = {
        name: coord.variable for name, coord in da.coords.items() if coord.dims == ("time",)
    }
    atom = np.arange(K)
    n_trace = model.objective_.size
    ds = xr.Dataset(
        {
            "atoms": (
                ("time", "atom"),
                model.atoms_,
                {"long_name": "temporal atom (unit L2 norm)", "units": "1"},
            ),
            "loadings": (
                ("atom", "neuron"),
                model.loadings_,
                {
                    "long_name": "sparse loading of neuron on atom",
                    "units": f"normalized response ({params['normalize']})",
                },
            ),
            "r2": (
                ("neuron",),
                model.r2_,
                {"long_name": "reconstruction R^2 of the normalized neuron", "units": "1"},
            ),
            "subgroup_size": (
                ("atom",),
                np.count_nonzero(model.loadings_, axis=1),
                {"long_name": "number of neurons with a non-zero loading", "units": "1"},
            ),
            "explained_energy": (
                ("atom",),
                model.explained_energy_,
                {"long_name": "sum of squares of the atom's rank-one term", "units": "1"},
            ),
            "objective": (
                ("iteration",),
                model.objective_,
                {
                    "long_name": "objective 0.5 ||X - D A||^2 + alpha ||A||_1 (trace per pass:"
                    " epochs, then L-BFGS evaluations; last entry exact final)",
                    "units": "1",
                },
            ),
        },
        coords={
            **time_coords,
            **neuron_coords,
            "atom": ("atom", atom),
            "iteration": ("iteration", np.arange(1, n_trace + 1)),
        },
    )
    ds.attrs.update(
        provenance(params, responses=input_sha256),
        n_constant_neurons=int(model.n_constant_),
        n_iter=int(model.n_iter_),
        n_refine=int(getattr(model, "n_refine_", 0)),
        solver=model.solver_,
        fit_time_s=float(model.fit_time_),
        atom_order="descending explained energy ||d_k||^2 ||a_k||^2",
        sign_convention="each atom's loadings sum to a positive number",
        title="sparse dictionary of AN temporal responses",
    )
    return ds
