"""Stage ``extract``: artificial-neuron responses of a model to a stimulus, on the fMRI clock.

:func:`extract` wraps :func:`analysis_lib.extraction.extract` (and its disk cache
:func:`analysis_lib.extraction.cached_extract`) behind one frozen parameters object,
:class:`ExtractParams`, that the CLI (``python -m analysis_lib extract``), the notebook
``notebooks/10_atoms.py`` and the book share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .params import StageParams, param, stage_provenance

#: Hook sites (:data:`analysis_lib.models.SITES`; a test keeps the two equal).
SITES = ("ffn_out", "ffn_hidden", "attn_out", "cross_attn_out")
#: HRF models (:data:`analysis_lib.hrf.HRF_MODELS`).
HRF_MODELS = ("spm", "glover", "none")
#: Sub-word pooling (:data:`analysis_lib.extraction.WORD_POOLING`).
WORD_POOLING = ("mean", "first", "last")
#: Fields that describe the stimulus' acquisition grid (passed to ``load_stimulus``).
GRID_FIELDS = ("tr", "n_volumes", "t0", "captions", "fps", "frames_per_tr")


@dataclass(frozen=True)
class ExtractParams(StageParams):
    """Parameters of the extraction stage (see :func:`analysis_lib.extraction.extract`)."""

    stage = "extract"
    model: str = param("minilm", "registered name, local folder or hub id")
    stimulus: str = param(
        "default-story", "default-story, alice, default-movie, partly-cloudy, or a file/folder"
    )
    site: str | None = param(
        None, "hook site (default: the family's: ffn_out for LMs, attn_out else)", choices=SITES
    )
    family: str | None = param(None, "architecture family for folders/hub ids")
    context: int = param(512, "tokens per window (stories)", minimum=8)
    stride: int | None = param(None, "new tokens per window (default context // 2)", minimum=1)
    word_pooling: str = param("mean", "sub-word to word pooling", choices=WORD_POOLING)
    hrf: str = param("spm", "HRF model", choices=HRF_MODELS)
    oversampling: int = param(50, "fine-grid points per TR of the convolution", minimum=1)
    zscore: bool = param(True, "z-score every neuron over time")
    batch_size: int = param(32, "sequences per pass (movies)", minimum=1)
    seed: int = param(0, "seed of tiny models' random weights")
    device: str = param("cpu", "torch device (cpu, cuda, ...)")
    allow_unsafe_weights: bool = param(
        False, "accept pickled (.bin) weights in a local folder; only for trusted sources"
    )
    tr: float | None = param(
        None,
        "repetition time in s (files; overrides for named stimuli)",
        minimum=0,
        exclusive_minimum=True,
    )
    n_volumes: int | None = param(None, "number of fMRI volumes", minimum=1)
    t0: float | None = param(None, "time of the first volume in s")
    captions: str | None = param(None, "captions TSV (movies)")
    fps: float | None = param(
        None, "frame rate of a frames folder", minimum=0, exclusive_minimum=True
    )
    frames_per_tr: int | None = param(None, "frames sampled per TR (movies)", minimum=1)

    def check(self) -> None:
        """Also check that the torch device exists (one line, before any model loads)."""
        super().check()
        check_device(self.device, self.stage)

    def stimulus_kwargs(self) -> dict[str, Any]:
        """The acquisition-grid options that are set (for ``load_stimulus``)."""
        return {k: getattr(self, k) for k in GRID_FIELDS if getattr(self, k) is not None}


def check_device(device: str, stage: str) -> None:
    """Raise ValueError when ``device`` names a torch device this machine lacks.

    Only ``cuda``/``mps`` are checked (imports torch then); ``cpu`` never imports it.
    """
    if not isinstance(device, str) or device == "cpu":
        return
    kind = device.split(":", 1)[0]
    if kind not in ("cuda", "mps"):
        return
    import torch

    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"{stage}: device {device!r} is not available (this torch build "
            f"{torch.__version__} sees no CUDA GPU); use --device cpu"
        )
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{stage}: device {device!r} is not available; use --device cpu")


def extract(params: ExtractParams, *, cache: bool = False, progress: bool = False):
    """Run the extraction stage.

    Parameters
    ----------
    params : ExtractParams
        Model, stimulus, site and extraction options.
    cache : bool, default False
        Use the disk cache in the data home (:func:`analysis_lib.extraction.cached_extract`);
        results are the same, the cache only saves the forward passes.
    progress : bool, default False
        Show progress bars (they stay off when not in a terminal).

    Returns
    -------
    xarray.Dataset
        ``responses`` (time, neuron) with the coordinates and attrs of
        :func:`analysis_lib.extraction.extract` (which keep its own detailed ``params``),
        and the stage provenance in the Dataset attrs: ``stage``, ``params`` (the
        :class:`ExtractParams`), ``input_weights_sha256`` and ``input_stimulus_sha256``.
    """
    from ..extraction import cached_extract
    from ..extraction import extract as _extract

    # options left at their defaults are not passed, so the extraction cache key of a
    # default run is the one ``cached_extract(model, stimulus, site=..., device=...)`` gives
    defaults = ExtractParams.defaults()
    options = (
        "family",
        "context",
        "stride",
        "word_pooling",
        "hrf",
        "oversampling",
        "zscore",
        "batch_size",
        "seed",
        "allow_unsafe_weights",
    )
    kwargs: dict[str, Any] = {
        k: getattr(params, k) for k in options if getattr(params, k) != defaults[k]
    }
    kwargs.update(site=params.site, device=params.device, progress=progress)
    if params.stimulus_kwargs():
        kwargs["stimulus_kwargs"] = params.stimulus_kwargs()
    run = cached_extract if cache else _extract
    responses = run(params.model, params.stimulus, **kwargs)
    ds = responses.to_dataset(name="responses")
    ds.attrs = {
        "title": "artificial-neuron responses on the fMRI clock",
        **{
            k: responses.attrs[k]
            for k in ("model", "stimulus", "tr", "t0")
            if k in responses.attrs
        },
        **stage_provenance(
            params,
            weights=str(responses.attrs.get("weights_sha256", "")),
            stimulus=str(responses.attrs.get("stimulus_sha256", "")),
        ),
    }
    return ds
