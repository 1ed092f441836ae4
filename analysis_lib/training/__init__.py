"""Tiny vision-language models trained on the world of ``default-movie``.

No pretrained CLIP, ViT, RoBERTa or BridgeTower weights exist offline, so the offline
book would otherwise analyse random weights only. This package trains the registry's
tiny models (same configs, tokenizer, image processing and neuron sites as their
untrained twins) on (frame, caption) pairs rendered by the generator behind
``default-movie`` -- many more scenes than the movie shows, none of them the movie's
own (see :mod:`analysis_lib.training.world` for how disjointness is guaranteed):

============================  ====================================================
``tiny-clip-trained``         contrastive image-caption loss (CLIP)
``tiny-bridgetower-trained``  image-text matching + masked language modelling
``tiny-vit-trained``          scene attribute (caption class) classification
``tiny-roberta-trained``      masked language modelling on the captions
============================  ====================================================

Each starts from exactly the weights of its untrained twin (``tiny-*`` with seed 0),
so the pair differs only by training. Objectives and evaluations are described in
:mod:`analysis_lib.training.tasks`.

Cache and reproducibility
-------------------------
Weights are written once to
``<data home>/models/trained/<name>/<params hash>/model.safetensors`` (heads in
``heads.safetensors``, parameters, metrics and timings in ``training.json``); the hash
(:meth:`TrainingParams.digest`) covers the training parameters, the tiny config and
:data:`RECIPE_VERSION`, so changing any of them trains a new model beside the old one.
Training is deterministic on CPU: ``torch.use_deterministic_algorithms(True)``, a fixed
number of threads (1 by default), seeded initialisation, data order, masks and negatives.
The same seed on the same software gives bit-identical weights.

Loading a trained model that is not cached trains it first (with a logged warning); the
book build therefore produces them offline. ``python -m analysis_lib train`` trains them
all at once and ``--report`` prints the held-out
accuracies of trained models next to their untrained twins.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..io import file_lock
from ..models.registry import TWINS, tiny_config
from ..models.tiny import load_tiny
from ..models.weights import files_sha256
from ..paths import data_home
from . import world
from .tasks import TASKS, Batch, Task

logger = logging.getLogger(__name__)

RECIPE_VERSION = 2
"""Bump when the training code changes what it produces (enters the parameter hash)."""

TRAINED: dict[str, str] = {twin.trained: twin.untrained for twin in TWINS}
"""Trained model -> its untrained twin, read from :data:`analysis_lib.models.TWINS`."""

MAIN_METRICS: dict[str, tuple[str, ...]] = {name: TASKS[name].main_metrics for name in TRAINED}
"""Trained model -> the held-out metrics :func:`report` shows (from its task)."""

__all__ = [
    "MAIN_METRICS",
    "RECIPE_VERSION",
    "TRAINED",
    "TrainingParams",
    "cache_folder",
    "deterministic",
    "evaluate",
    "is_trained",
    "load_trained",
    "report",
    "train",
    "train_all",
    "training_info",
    "world",
]


@dataclass(frozen=True)
class TrainingParams:
    """Everything that decides the trained weights.

    Attributes
    ----------
    seed : int
        Seed of the world (scenes, frames, captions), the data order, masks, negatives,
        dropout and the heads; the backbone starts from the untrained twin (seed 0).
    n_train_scenes, n_heldout_scenes : int
        Scenes (clips) rendered for training and for the held-out evaluation.
    frames_per_scene : int
        Frames drawn per scene.
    steps : dict
        Optimiser steps per trained model name.
    batch_size : int
    lr : float
        Peak learning rate of AdamW (linear warm-up, cosine decay).
    warmup : float
        Fraction of the steps used for warm-up.
    weight_decay : float
    grad_clip : float
        Maximum gradient norm.
    mask_prob : float
        Fraction of caption tokens masked for masked language modelling.
    itm_negatives : float
        Fraction of mismatched pairs for image-text matching.
    threads : int
        Torch CPU threads during training (results are bit-identical only for the same
        number of threads).
    """

    seed: int = 0
    n_train_scenes: int = 720
    n_heldout_scenes: int = 90
    frames_per_scene: int = 4
    steps: dict[str, int] = field(
        default_factory=lambda: {name: TASKS[name].default_steps for name in TRAINED}
    )
    batch_size: int = 64
    lr: float = 1e-3
    warmup: float = 0.05
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    mask_prob: float = 0.15
    itm_negatives: float = 0.5
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        """The parameters as a plain JSON-able dict.

        Returns
        -------
        dict
            Sorted keys; ``steps`` is a dict of trained model name to step count.
        """
        return json.loads(json.dumps(dataclasses.asdict(self), sort_keys=True))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainingParams:
        """Inverse of :meth:`to_dict`.

        Parameters
        ----------
        values : dict
            Field name -> value.

        Returns
        -------
        TrainingParams

        Raises
        ------
        ValueError
            For unknown keys (the message lists the valid ones).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(
                f"unknown training parameters {sorted(unknown)}; valid: {sorted(names)}"
            )
        return cls(**values)

    def digest(self, name: str) -> str:
        """SHA-256 of what decides the weights of ``name``.

        Covers the parameters that concern ``name`` (its own step count only), its
        architecture (the tiny config without the transformers version) and
        :data:`RECIPE_VERSION`.

        Parameters
        ----------
        name : str
            One of :data:`TRAINED`.

        Returns
        -------
        str
            Hex SHA-256; its first 16 characters name the cache folder.
        """
        base = _base(name)
        params = self.to_dict()
        params["steps"] = int(self.steps.get(name, 0))
        config = tiny_config(base).to_dict()
        config.pop("transformers_version", None)
        blob = json.dumps(
            {"name": name, "recipe": RECIPE_VERSION, "params": params, "config": config},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()


def _base(name: str) -> str:
    try:
        return TRAINED[name]
    except KeyError:
        raise ValueError(f"unknown trained model {name!r}; valid: {list(TRAINED)}") from None


def cache_folder(name: str, params: TrainingParams | None = None) -> Path:
    """Folder of the cached weights of a trained model (it may not exist yet).

    Parameters
    ----------
    name : str
        One of :data:`TRAINED`.
    params : TrainingParams, optional
        Default: ``TrainingParams()``.

    Returns
    -------
    pathlib.Path
        ``<data home>/models/trained/<name>/<digest[:16]>`` (see :meth:`TrainingParams.digest`).
    """
    params = params or TrainingParams()
    return data_home() / "models" / "trained" / name / params.digest(name)[:16]


def is_trained(name: str, params: TrainingParams | None = None) -> bool:
    """Whether the weights of a trained model are cached (complete).

    Parameters
    ----------
    name : str
        One of :data:`TRAINED`.
    params : TrainingParams, optional
        Default: ``TrainingParams()``.

    Returns
    -------
    bool
        ``model.safetensors`` and ``training.json`` exist in :func:`cache_folder`.
    """
    folder = cache_folder(name, params)
    return all((folder / f).is_file() for f in ("model.safetensors", "training.json"))


# --------------------------------------------------------------------------- determinism


@contextlib.contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seed torch, force deterministic algorithms and a fixed thread count; restore after.

    Parameters
    ----------
    seed : int
        Seed of torch's CPU generator inside the block (the outer state is restored).
    threads : int
        Torch CPU threads inside the block.

    Yields
    ------
    None
    """
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    old_warn = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(int(threads))
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.use_deterministic_algorithms(old_det, warn_only=old_warn)
        torch.set_num_threads(old_threads)


def _world(params: TrainingParams, progress: bool) -> tuple[world.PairSet, world.PairSet]:
    train_set = world.make_pairs(
        params.n_train_scenes, params.frames_per_scene, "train", params.seed, progress=progress
    )
    heldout = world.make_pairs(
        params.n_heldout_scenes, params.frames_per_scene, "heldout", params.seed, progress=progress
    )
    return train_set, heldout


def _task(name: str, params: TrainingParams) -> tuple[Task, Any]:
    """The untrained twin wrapped in its task, with freshly seeded heads."""
    import torch

    loaded = load_tiny(_base(name))  # the untrained twin: seed 0, eval mode
    task = TASKS[name](loaded, params)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(params.seed + 1)
        heads = task.make_heads()
    return task, heads


def _schedule(step: int, total: int, warmup: float) -> float:
    n_warm = max(1, round(warmup * total))
    if step < n_warm:
        return (step + 1) / n_warm
    progress = (step - n_warm) / max(1, total - n_warm)
    return 0.5 * (1.0 + np.cos(np.pi * progress))


def _fit(
    name: str, task: Task, heads, data: world.PairSet, params: TrainingParams, progress: bool
):
    """Run the optimiser; returns the list of losses."""
    import torch
    from tqdm.auto import tqdm

    steps = int(params.steps.get(name, 0))
    if steps < 0:
        raise ValueError(f"steps for {name} must be >= 0, got {steps}")
    module = task.module
    # dropout stays off (eval mode): faster, and the rendered world is large enough
    module.eval()
    heads.eval()
    named = list(module.named_parameters()) + [
        ("head." + k, p) for k, p in heads.named_parameters()
    ]
    decay = [p for k, p in named if p.ndim >= 2 and "embeddings" not in k]
    no_decay = [p for k, p in named if not (p.ndim >= 2 and "embeddings" not in k)]
    opt = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": params.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=params.lr,
    )
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, steps, params.warmup))
    rng = np.random.default_rng([params.seed, list(TRAINED).index(name), 2718])
    order = np.empty(0, dtype=int)
    losses = []
    bar = tqdm(range(steps), desc=f"train {name}", disable=None if progress else True)
    for _ in bar:
        if order.size < params.batch_size:
            order = np.concatenate([order, rng.permutation(len(data))])
        rows, order = order[: params.batch_size], order[params.batch_size :]
        loss = task.loss(heads, data, Batch(rows, rng))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in named], params.grad_clip)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if len(losses) % 20 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
    module.eval()
    heads.eval()
    return losses


def _state(module) -> dict:
    return {k: v.detach().cpu().contiguous().clone() for k, v in module.state_dict().items()}


def _save(folder: Path, name: str, task: Task, heads, meta: dict) -> None:
    from safetensors.torch import save_file

    from ..io import atomic_path, atomic_write_text, sha256_file

    folder.mkdir(parents=True, exist_ok=True)
    header = {"name": name, "params_sha256": meta["params_sha256"], "recipe": str(RECIPE_VERSION)}
    with atomic_path(folder / "heads.safetensors") as tmp:
        save_file(_state(heads), str(tmp), metadata=header)
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(_state(task.module), str(tmp), metadata=header)
    meta["weights_sha256"] = sha256_file(folder / "model.safetensors")
    # written last: its presence marks a complete cache entry
    atomic_write_text(folder / "training.json", json.dumps(meta, indent=2, sort_keys=True) + "\n")


def train(
    name: str,
    params: TrainingParams | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    evaluate_twin: bool = True,
) -> Path:
    """Train one model (unless cached) and return its cache folder.

    Parameters
    ----------
    name : str
        One of :data:`TRAINED`.
    params : TrainingParams, optional
        Default: ``TrainingParams()``.
    force : bool
        Retrain even when cached.
    progress : bool
        Show progress bars (in a terminal only).
    evaluate_twin : bool
        Also evaluate the untrained twin and store its metrics in ``training.json``.

    Returns
    -------
    pathlib.Path
        :func:`cache_folder`, holding ``model.safetensors``, ``heads.safetensors`` and
        ``training.json``.
    """
    params = params or TrainingParams()
    _base(name)
    folder = cache_folder(name, params)
    if is_trained(name, params) and not force:
        return folder
    with file_lock(folder.parent / f".{folder.name}.lock"):
        if is_trained(name, params) and not force:  # trained by another process meanwhile
            return folder
        _train_unlocked(name, params, folder, progress, evaluate_twin)
    return folder


def _train_unlocked(
    name: str, params: TrainingParams, folder: Path, progress: bool, evaluate_twin: bool
) -> None:
    start = time.perf_counter()
    train_set, heldout = _world(params, progress)
    render_s = time.perf_counter() - start
    with deterministic(params.seed, params.threads):
        task, heads = _task(name, params)
        twin = task.evaluate(heads, train_set, heldout) if evaluate_twin else None
        t0 = time.perf_counter()
        losses = _fit(name, task, heads, train_set, params, progress)
        fit_s = time.perf_counter() - t0
        metrics = task.evaluate(heads, train_set, heldout)
    meta = {
        "name": name,
        "untrained_twin": _base(name),
        "params": params.to_dict(),
        "params_sha256": params.digest(name),
        "recipe": RECIPE_VERSION,
        "n_train_pairs": len(train_set),
        "n_heldout_pairs": len(heldout),
        "metrics": metrics,
        "untrained_metrics": twin,
        "loss_first": float(np.mean(losses[:20])) if losses else None,
        "loss_last": float(np.mean(losses[-20:])) if losses else None,
        "seconds_fit": round(fit_s, 2),
        "seconds_render": round(render_s, 2),
        "threads": params.threads,
        "cpu_count": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    _save(folder, name, task, heads, meta)
    logger.info("trained %s in %.1f s: %s", name, fit_s, metrics)


def _plan(names: list[str], params: TrainingParams, workers: int) -> list[list[str]]:
    """Longest-first assignment of models to ``workers`` groups of similar cost."""
    groups: list[list[str]] = [[] for _ in range(max(1, workers))]
    load = [0.0] * len(groups)

    def cost(n: str) -> float:
        return TASKS[n].step_cost * params.steps.get(n, 0)

    for name in sorted(names, key=lambda n: -cost(n)):
        i = int(np.argmin(load))
        groups[i].append(name)
        load[i] += cost(name)
    return [g for g in groups if g]


def _train_group(names: list[str], params: dict, force: bool, progress: bool) -> list[str]:
    """Worker of :func:`train_all` (runs in a spawned process)."""
    p = TrainingParams.from_dict(params)
    return [str(train(n, p, force=force, progress=progress)) for n in names]


def train_all(
    names: Sequence[str] | None = None,
    params: TrainingParams | None = None,
    *,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> dict[str, Path]:
    """Train every model of ``names`` (default: all of :data:`TRAINED`) not yet cached.

    Parameters
    ----------
    names : sequence of str, optional
        Models of :data:`TRAINED` (default: all).
    params : TrainingParams, optional
        Default: ``TrainingParams()``.
    force : bool
        Retrain even when cached.
    progress : bool
        Show progress bars (in a terminal only).
    workers : int, optional
        Processes training in parallel (default: up to 2, one per CPU core); each model
        trains single-threaded and deterministically in its process, so the weights do
        not depend on ``workers``.

    Returns
    -------
    dict of str to pathlib.Path
        Cache folder of every model of ``names``.
    """
    params = params or TrainingParams()
    names = list(names or TRAINED)
    for n in names:
        _base(n)
    todo = [n for n in names if force or not is_trained(n, params)]
    workers = min(2, os.cpu_count() or 1) if workers is None else int(workers)
    groups = _plan(todo, params, workers)
    if len(groups) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        logger.info("training %s in %d processes", ", ".join(todo), len(groups))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(len(groups), mp_context=ctx) as pool:
            futures = [
                pool.submit(_train_group, g, params.to_dict(), force, progress) for g in groups
            ]
            for f in futures:
                f.result()
    else:
        for g in groups:
            for n in g:
                train(n, params, force=force, progress=progress)
    return {n: cache_folder(n, params) for n in names}


def training_info(name: str, params: TrainingParams | None = None) -> dict:
    """The ``training.json`` of a cached model.

    Parameters
    ----------
    name : str
        One of :data:`TRAINED`.
    params : TrainingParams, optional
        Default: ``TrainingParams()``.

    Returns
    -------
    dict
        Parameters, their digest, held-out ``metrics`` and ``untrained_metrics``, first and
        last losses, pair counts and timings.

    Raises
    ------
    FileNotFoundError
        When the model is not trained (the message says how to train it).
    """
    path = cache_folder(name, params) / "training.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{name} is not trained yet ({path}); run python -m analysis_lib train"
        )
    return json.loads(path.read_text())


def _load_into(task: Task, heads, folder: Path) -> None:
    from safetensors.torch import load_file

    for module, file in ((task.module, "model.safetensors"), (heads, "heads.safetensors")):
        path = folder / file
        try:
            state = load_file(str(path))
        except Exception as exc:
            raise ValueError(
                f"{path}: unreadable safetensors file ({exc}); delete the folder to retrain"
            ) from exc
        missing, unexpected = module.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise ValueError(
                f"{path}: weights do not match the {task.base} architecture (missing {missing[:3]}, "
                f"unexpected {unexpected[:3]}); delete {folder} to retrain"
            )


def load_trained(
    name: str, *, device: str = "cpu", params: TrainingParams | None = None, progress: bool = True
):
    """Load a trained model, training it first when it is not cached (logged warning).

    The module, tokenizer and image processor are those of the untrained twin; only the
    weights differ.

    Parameters
    ----------
    name : str
        One of :data:`TRAINED`.
    device : str
        Torch device.
    params : TrainingParams, optional
        Default: ``TrainingParams()``.
    progress : bool
        Show progress bars when it has to train.

    Returns
    -------
    analysis_lib.models.LoadedModel
        In eval mode; ``weights_sha256`` is the digest of ``model.safetensors`` and
        ``extra["training"]`` the ``training.json`` metadata.

    Raises
    ------
    ValueError
        When the cached weights are unreadable or do not match the architecture (the
        message names the file and says to delete the folder).
    """
    params = params or TrainingParams()
    base = _base(name)
    folder = cache_folder(name, params)
    if not is_trained(name, params):
        logger.warning(
            "%s is not cached in %s: training it now (about a minute; "
            "`python -m analysis_lib train` trains all four at once)",
            name,
            folder,
        )
        train(name, params, progress=progress)
    loaded = load_tiny(base)
    from safetensors.torch import load_file

    path = folder / "model.safetensors"
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise ValueError(
            f"{path}: unreadable safetensors file ({exc}); delete {folder} to retrain"
        ) from exc
    loaded.module.load_state_dict(state, strict=True)
    loaded.module.eval()
    loaded.module.to(device)
    loaded.name = name
    loaded.device = device
    loaded.weights_sha256 = files_sha256([path])
    loaded.extra["training"] = json.loads((folder / "training.json").read_text())
    return loaded


def evaluate(name: str, params: TrainingParams | None = None, *, trained: bool = True) -> dict:
    """Held-out metrics of a trained model or of its untrained twin.

    The untrained twin is evaluated with freshly seeded heads (the heads the trained
    model started from); the trained one with its stored heads.

    Parameters
    ----------
    name : str
        One of :data:`TRAINED`.
    params : TrainingParams, optional
        Default: ``TrainingParams()``.
    trained : bool
        Evaluate the trained model (training it if needed); False: its untrained twin.

    Returns
    -------
    dict of str to float
        As :meth:`analysis_lib.training.tasks.Task.evaluate`.
    """
    params = params or TrainingParams()
    if trained and not is_trained(name, params):
        train(name, params)
    train_set, heldout = _world(params, progress=False)
    with deterministic(params.seed, params.threads):
        task, heads = _task(name, params)
        if trained:
            _load_into(task, heads, cache_folder(name, params))
        task.module.eval()
        heads.eval()
        return task.evaluate(heads, train_set, heldout)


def report(names: Sequence[str] | None = None, params: TrainingParams | None = None):
    """Held-out metrics of trained models next to their untrained twins.

    Parameters
    ----------
    names : sequence of str, optional
        Models of :data:`TRAINED` (default: all).
    params : TrainingParams, optional
        Default: ``TrainingParams()``.

    Returns
    -------
    pandas.DataFrame
        One row per (model, metric): columns ``model``, ``twin``, ``metric``, ``trained``,
        ``untrained``, ``chance`` (``baseline`` for the unigram/majority baselines),
        ``n_heldout``, ``ratio_to_chance``.
    """
    import pandas as pd

    params = params or TrainingParams()
    rows = []
    for name in names or TRAINED:
        trained = evaluate(name, params, trained=True)
        untrained = evaluate(name, params, trained=False)
        for metric in MAIN_METRICS[name]:
            rows.append(
                {
                    "model": name,
                    "twin": TRAINED[name],
                    "metric": metric,
                    "trained": trained[metric],
                    "untrained": untrained[metric],
                    "chance": trained["chance"],
                    "baseline": trained.get("unigram_baseline", trained.get("majority")),
                    "n_heldout": params.n_heldout_scenes * params.frames_per_scene,
                    "ratio_to_chance": trained[metric] / trained["chance"],
                }
            )
    return pd.DataFrame(rows)
