"""Comparison tables of metrics across models."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import xarray as xr


def compare_models(results: Mapping[str, xr.Dataset | xr.DataArray]) -> xr.Dataset:
    """Stack one metric result per model along a new ``model`` dim.

    Results with different coords (e.g. different networks or layer counts) are aligned
    with an outer join; missing entries are NaN.

    Parameters
    ----------
    results : mapping model name -> Dataset or DataArray

    Returns
    -------
    Dataset with dim ``model`` (coord: the names, in the given order).
    """
    if not results:
        raise ValueError("compare_models needs at least one model")
    items = []
    for res in results.values():
        ds = res.to_dataset(name=res.name or "value") if isinstance(res, xr.DataArray) else res
        items.append(ds.drop_attrs() if hasattr(ds, "drop_attrs") else ds)
    out = xr.concat(
        items,
        dim=pd.Index([str(k) for k in results], name="model"),
        join="outer",
        coords="minimal",
        compat="override",
    )
    return out


def comparison_table(results: Mapping[str, xr.Dataset]) -> pd.DataFrame:
    """A (model x metric) table of the scalar variables of each model's summary."""
    ds = compare_models(results)
    scalars = [v for v in ds.data_vars if ds[v].dims == ("model",)]
    return ds[scalars].to_dataframe()[scalars]
