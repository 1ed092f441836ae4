"""Training objectives and held-out evaluations of the four trained tiny models.

``tiny-clip``
    Symmetric contrastive (InfoNCE) loss between image and caption embeddings, as CLIP,
    with every pair of the batch that shares a caption class counted as a positive
    (captions repeat across frames, so plain one-hot targets would punish true matches).
    Evaluated by image-to-caption retrieval: cosine similarity of each held-out frame to
    the :data:`~analysis_lib.training.world.N_CLASSES` canonical captions, top-1.
``tiny-bridgetower``
    Image-text matching (binary; half of the pairs get the caption of another class, and
    half of those negatives are hard: same scene kind, another stage or direction) on the
    concatenated cross-modal [CLS] features, plus masked language modelling on the
    matched pairs, predicted from the cross-modal text features (the METER / BridgeTower
    pre-training objectives, one forward pass each as in METER; the masked pass runs on
    the matched pairs only). Evaluated by retrieval with the matching score.
``tiny-vit``
    Scene attribute classification: the caption class (kind, stage, direction) from the
    [CLS] token. Evaluated by the head's accuracy and by a logistic-regression probe on
    frozen [CLS] features (fitted on the training frames), which also applies to the
    untrained twin. The probe is a ridge classifier on standardised features (fast and
    closed-form; a linear read-out like the usual logistic probe).
``tiny-roberta``
    Masked language modelling (BERT masking: 15 %, 80/10/10) on the captions. Evaluated
    by top-1 accuracy on masked held-out caption tokens.

Masked language modelling (RoBERTa and BridgeTower) predicts among the word pieces of the
world's captions (:func:`world_vocabulary`, a few hundred ids) rather than all 30,522
ids of the tokenizer; chance is one over that vocabulary.

The heads (classification, matching, language-model transform) are not part of the
registered model; they are stored next to it so that the evaluation can be repeated.
Language-model decoders are tied to the word embeddings, as in BERT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..models.registry import TWINS
from .world import CLASSES, KINDS, N_CLASSES, PairSet, canonical_captions, class_captions

IGNORE = -100


# --------------------------------------------------------------------------- text utilities


class TokenCache:
    """Token ids of captions (MiniLM WordPiece), computed once per distinct caption.

    Parameters
    ----------
    tokenizer : transformers tokenizer
    max_length : int
        Captions are truncated to this many tokens (special tokens included).
    """

    def __init__(self, tokenizer, max_length: int = 64):
        self.tokenizer = tokenizer
        self.max_length = max_length
        self._ids: dict[str, list[int]] = {}
        self.special = {int(i) for i in tokenizer.all_special_ids}

    def ids(self, text: str) -> list[int]:
        """Token ids of one caption.

        Parameters
        ----------
        text : str

        Returns
        -------
        list of int
            With the special tokens, at most ``max_length`` long.
        """
        if text not in self._ids:
            self._ids[text] = list(
                self.tokenizer(text, truncation=True, max_length=self.max_length)["input_ids"]
            )
        return self._ids[text]

    def batch(self, texts: list[str]):
        """Right-padded token ids of a batch of captions.

        Parameters
        ----------
        texts : list of str, length B

        Returns
        -------
        input_ids : torch.Tensor, shape (B, L), int64
            Padded with the tokenizer's pad id; L is the longest caption of the batch.
        attention_mask : torch.Tensor, shape (B, L), int64
            1 on tokens, 0 on padding.
        """
        import torch

        encoded = [self.ids(t) for t in texts]
        width = max(len(e) for e in encoded)
        ids = torch.full((len(texts), width), int(self.tokenizer.pad_token_id), dtype=torch.long)
        mask = torch.zeros(len(texts), width, dtype=torch.long)
        for row, e in enumerate(encoded):
            ids[row, : len(e)] = torch.tensor(e, dtype=torch.long)
            mask[row, : len(e)] = 1
        return ids, mask


def world_vocabulary(tokens: TokenCache) -> np.ndarray:
    """Sorted ids of the ordinary tokens of every caption of the world.

    Masked language modelling predicts among these ids only (a softmax over the world's
    few hundred word pieces instead of the 30,522 of the tokenizer): the other ids never
    occur in the data, and the restriction makes the objective much cheaper.

    Parameters
    ----------
    tokens : TokenCache

    Returns
    -------
    numpy.ndarray, shape (n_vocab,), int64
        Sorted, without special tokens.
    """
    ids = {
        i
        for index in range(N_CLASSES)
        for text in class_captions(index)
        for i in tokens.ids(text)
        if i not in tokens.special
    }
    return np.asarray(sorted(ids), dtype=np.int64)


def mask_tokens(
    ids,
    attention_mask,
    special: set[int],
    mask_id: int,
    vocab: np.ndarray,
    prob: float,
    rng,
    *,
    eval_mode: bool = False,
):
    """BERT masking: choose ``prob`` of the ordinary tokens (at least one per sequence).

    Chosen tokens become [MASK] (80 %), a random token of ``vocab`` (10 %) or stay
    (10 %); with ``eval_mode`` they always become [MASK].

    Parameters
    ----------
    ids, attention_mask : torch.Tensor, shape (B, L), int64
        As returned by :meth:`TokenCache.batch`.
    special : set of int
        Ids never masked (special tokens).
    mask_id : int
        Id of [MASK].
    vocab : numpy.ndarray, shape (n_vocab,)
        Sorted ids that can be predicted (:func:`world_vocabulary`).
    prob : float
        Fraction of ordinary tokens chosen.
    rng : numpy.random.Generator
        Draws the choice and the replacements (fixed data order).
    eval_mode : bool
        Always replace chosen tokens by [MASK].

    Returns
    -------
    masked_ids : torch.Tensor, shape (B, L), int64
    labels : torch.Tensor, shape (B, L), int64
        Positions in ``vocab`` of the chosen tokens, ``-100`` where nothing is predicted.

    Raises
    ------
    ValueError
        When a chosen token is not in ``vocab``.
    """
    import torch

    ids_np = ids.numpy().copy()
    ordinary = (attention_mask.numpy() == 1) & ~np.isin(ids_np, sorted(special))
    chosen = ordinary & (rng.random(ids_np.shape) < prob)
    for row in np.flatnonzero(ordinary.any(1) & ~chosen.any(1)):
        chosen[row, rng.choice(np.flatnonzero(ordinary[row]))] = True
    position = np.clip(np.searchsorted(vocab, ids_np), 0, len(vocab) - 1)
    if not np.all(vocab[position[chosen]] == ids_np[chosen]):
        raise ValueError("a caption token is missing from the world vocabulary")
    labels = np.where(chosen, position, IGNORE)
    if eval_mode:
        ids_np[chosen] = mask_id
    else:
        action = rng.random(ids_np.shape)
        ids_np[chosen & (action < 0.8)] = mask_id
        swap = chosen & (action >= 0.8) & (action < 0.9)
        ids_np[swap] = vocab[rng.integers(len(vocab), size=int(swap.sum()))]
    return torch.from_numpy(ids_np), torch.from_numpy(labels)


def _make_mlm_head(hidden: int, vocab: np.ndarray, eps: float):
    import torch
    from torch import nn

    class MLMHead(nn.Module):
        """Dense + GELU + LayerNorm, then the word embeddings of ``vocab`` (tied) plus a
        bias: logits over the world vocabulary."""

        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(hidden, hidden)
            self.norm = nn.LayerNorm(hidden, eps=eps)
            self.bias = nn.Parameter(torch.zeros(len(vocab)))
            self.register_buffer("vocab", torch.from_numpy(vocab), persistent=False)

        def forward(self, x, embedding_weight):
            x = self.norm(nn.functional.gelu(self.dense(x)))
            return x @ embedding_weight[self.vocab].T + self.bias

    return MLMHead()


# --------------------------------------------------------------------------- tasks


@dataclass
class Batch:
    """Rows of the training pairs plus a numpy generator for masks and negatives.

    Attributes
    ----------
    rows : numpy.ndarray, shape (batch_size,), int
        Indices into the :class:`~analysis_lib.training.world.PairSet`.
    rng : numpy.random.Generator
    """

    rows: np.ndarray
    rng: Any


class Task:
    """One model's objective: heads, loss on a batch, held-out evaluation.

    Attributes
    ----------
    base : str
        The untrained twin the task trains (a tiny model of the registry).
    default_steps : int
        Optimiser steps of the default :class:`~analysis_lib.training.TrainingParams`.
    step_cost : float
        Relative cost of one optimiser step (balances the workers of
        :func:`~analysis_lib.training.train_all`).
    main_metrics : tuple of str
        Held-out metrics reported by :func:`~analysis_lib.training.report`.

    Parameters
    ----------
    loaded : LoadedModel
        The untrained twin (:func:`analysis_lib.models.load_tiny`), trained in place.
    params : TrainingParams
    """

    base: str = ""
    default_steps: int = 0
    step_cost: float = 1.0
    main_metrics: tuple[str, ...] = ()

    def __init__(self, loaded, params):
        self.loaded = loaded
        self.params = params
        self.tokens = TokenCache(loaded.tokenizer) if loaded.tokenizer is not None else None
        self.vocab = world_vocabulary(self.tokens) if self.tokens is not None else None

    @property
    def module(self):
        """The transformers model being trained (``loaded.module``)."""
        return self.loaded.module

    def make_heads(self):
        """Freshly initialised task heads (not part of the registered model).

        Returns
        -------
        torch.nn.ModuleDict
            Empty for the base class.
        """
        from torch import nn

        return nn.ModuleDict()

    def pixels(self, frames: np.ndarray):
        """Pixel values of frames, by the model's image processor.

        Parameters
        ----------
        frames : numpy.ndarray, shape (n_frames, height, width, 3), uint8

        Returns
        -------
        torch.Tensor, shape (n_frames, 3, size, size), float32
        """
        return self.loaded.image_processor(np.asarray(frames))

    def loss(self, heads, data: PairSet, batch: Batch):
        """Training loss of one batch.

        Parameters
        ----------
        heads : torch.nn.ModuleDict
            From :meth:`make_heads`.
        data : PairSet
            The training pairs.
        batch : Batch
            Rows of ``data`` and the generator of masks and negatives.

        Returns
        -------
        torch.Tensor, shape ()
            Scalar loss, differentiable with respect to the model and the heads.
        """
        raise NotImplementedError

    def evaluate(self, heads, train: PairSet, heldout: PairSet) -> dict[str, float]:
        """Held-out metrics.

        Parameters
        ----------
        heads : torch.nn.ModuleDict
        train : PairSet
            Training pairs (fits the linear probe of :class:`VitTask`).
        heldout : PairSet
            Scenes never used for training.

        Returns
        -------
        dict of str to float
            The metrics of :attr:`main_metrics`, ``chance`` and, where defined, a
            baseline (``majority``, ``unigram_baseline``).
        """
        raise NotImplementedError


def _scores_to_metrics(scores: np.ndarray, data: PairSet) -> dict[str, float]:
    pred = scores.argmax(1)
    pred_kind = np.array([KINDS.index(CLASSES[p][0]) for p in pred])
    return {
        "retrieval_top1": float(np.mean(pred == data.labels)),
        "retrieval_kind": float(np.mean(pred_kind == data.kinds)),
        "chance": 1.0 / N_CLASSES,
    }


class ClipTask(Task):
    """Symmetric contrastive loss between images and captions; retrieval evaluation."""

    base = "tiny-clip"
    default_steps = 300
    step_cost = 1.0
    main_metrics = ("retrieval_top1", "retrieval_kind")

    def _embed(self, ids=None, mask=None, pixels=None):
        import torch.nn.functional as F

        m = self.module
        if pixels is not None:
            return F.normalize(
                m.visual_projection(m.vision_model(pixel_values=pixels).pooler_output), dim=-1
            )
        out = m.text_model(input_ids=ids, attention_mask=mask).pooler_output
        return F.normalize(m.text_projection(out), dim=-1)

    def loss(self, heads, data, batch):
        import torch

        ids, mask = self.tokens.batch([data.captions[r] for r in batch.rows])
        img = self._embed(pixels=self.pixels(data.frames[batch.rows]))
        txt = self._embed(ids, mask)
        logits = self.module.logit_scale.exp().clamp(max=100.0) * img @ txt.T
        labels = torch.from_numpy(data.labels[batch.rows])
        pos = (labels[:, None] == labels[None, :]).float()
        target = pos / pos.sum(1, keepdim=True)
        li = -(target * logits.log_softmax(1)).sum(1).mean()
        lt = -(target * logits.T.log_softmax(1)).sum(1).mean()
        return (li + lt) / 2

    def scores(self, data: PairSet, batch_size: int = 256) -> np.ndarray:
        """Cosine similarity of every frame to every canonical caption.

        Parameters
        ----------
        data : PairSet
        batch_size : int
            Frames per forward pass.

        Returns
        -------
        numpy.ndarray, shape (n_pairs, n_classes), float32
        """
        import torch

        with torch.inference_mode():
            ids, mask = self.tokens.batch(canonical_captions())
            txt = self._embed(ids, mask)
            out = []
            for b in range(0, len(data), batch_size):
                img = self._embed(pixels=self.pixels(data.frames[b : b + batch_size]))
                out.append((img @ txt.T).numpy())
        return np.concatenate(out)

    def evaluate(self, heads, train, heldout):
        return _scores_to_metrics(self.scores(heldout), heldout)


class BridgeTowerTask(Task):
    """Image-text matching plus masked language modelling; retrieval by matching score."""

    base = "tiny-bridgetower"
    default_steps = 400
    step_cost = 2.4
    main_metrics = ("retrieval_top1", "retrieval_kind")

    def make_heads(self):
        from torch import nn

        cfg = self.module.config
        return nn.ModuleDict(
            {
                "itm": nn.Linear(2 * cfg.hidden_size, 2),
                "mlm": _make_mlm_head(cfg.hidden_size, self.vocab, cfg.layer_norm_eps),
            }
        )

    def _word_embeddings(self):
        return self.module.text_model.embeddings.word_embeddings.weight

    def _negatives(self, data: PairSet) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per class: rows of other classes, and rows of the same kind but another class."""
        key = id(data)
        if getattr(self, "_neg_key", None) != key:
            other = [np.flatnonzero(data.labels != c) for c in range(N_CLASSES)]
            kind_of = np.array([KINDS.index(k) for k, _, _ in CLASSES])
            same_kind = [
                np.flatnonzero((data.kinds == kind_of[c]) & (data.labels != c))
                for c in range(N_CLASSES)
            ]
            self._neg_key, self._neg = key, (other, same_kind)
        return self._neg

    def loss(self, heads, data, batch):
        import torch
        import torch.nn.functional as F

        rows, rng = batch.rows, batch.rng
        other, same_kind = self._negatives(data)
        negative = rng.random(len(rows)) < self.params.itm_negatives
        hard = rng.random(len(rows)) < 0.5
        texts = []
        for r, neg, h in zip(rows, negative, hard, strict=True):
            label = data.labels[r]
            if neg:  # another class's caption; half of them of the same scene kind (hard)
                pool = same_kind[label] if h and same_kind[label].size else other[label]
                texts.append(data.captions[int(pool[rng.integers(pool.size)])])
            else:
                texts.append(data.captions[r])
        pixels = self.pixels(data.frames[rows])
        ids, mask = self.tokens.batch(texts)
        out = self.module(input_ids=ids, attention_mask=mask, pixel_values=pixels)
        itm = F.cross_entropy(
            heads["itm"](out.pooler_output), torch.from_numpy((~negative).astype(np.int64))
        )
        pos = torch.from_numpy(np.flatnonzero(~negative))
        if pos.numel() == 0:
            return itm
        tok = self.loaded.tokenizer
        masked, mlm_labels = mask_tokens(
            ids[pos],
            mask[pos],
            self.tokens.special,
            tok.mask_token_id,
            self.vocab,
            self.params.mask_prob,
            rng,
        )
        out = self.module(input_ids=masked, attention_mask=mask[pos], pixel_values=pixels[pos])
        sel = mlm_labels != IGNORE
        logits = heads["mlm"](out.text_features[sel], self._word_embeddings())
        return itm + F.cross_entropy(logits, mlm_labels[sel])

    def scores(self, heads, data: PairSet, batch_size: int = 512) -> np.ndarray:
        """Matching probability of every frame with every canonical caption.

        Parameters
        ----------
        heads : torch.nn.ModuleDict
            With the ``"itm"`` head.
        data : PairSet
        batch_size : int
            (frame, caption) pairs per forward pass.

        Returns
        -------
        numpy.ndarray, shape (n_pairs, n_classes), float32
        """
        import torch

        caps = canonical_captions()
        ids_c, mask_c = self.tokens.batch(caps)
        n, k = len(data), len(caps)
        out = np.zeros((n, k), np.float32)
        pairs = [(i, j) for i in range(n) for j in range(k)]
        with torch.inference_mode():
            for b in range(0, len(pairs), batch_size):
                chunk = np.asarray(pairs[b : b + batch_size])
                frames, cap = chunk[:, 0], chunk[:, 1]
                uniq, inv = np.unique(frames, return_inverse=True)
                pixels = self.pixels(data.frames[uniq])[torch.from_numpy(inv)]
                res = self.module(
                    input_ids=ids_c[cap], attention_mask=mask_c[cap], pixel_values=pixels
                )
                prob = heads["itm"](res.pooler_output).softmax(-1)[:, 1]
                out[frames, cap] = prob.numpy()
        return out

    def evaluate(self, heads, train, heldout):
        return _scores_to_metrics(self.scores(heads, heldout), heldout)


class VitTask(Task):
    """Caption-class classification from [CLS]; head and linear-probe accuracy."""

    base = "tiny-vit"
    default_steps = 300
    step_cost = 0.4
    main_metrics = ("class_accuracy", "probe_accuracy")

    def make_heads(self):
        from torch import nn

        return nn.ModuleDict({"classes": nn.Linear(self.module.config.hidden_size, N_CLASSES)})

    def features(self, frames, batch_size: int = 256) -> np.ndarray:
        """[CLS] features of frames.

        Parameters
        ----------
        frames : numpy.ndarray, shape (n_frames, height, width, 3), uint8
        batch_size : int
            Frames per forward pass.

        Returns
        -------
        numpy.ndarray, shape (n_frames, hidden), float32
        """
        import torch

        out = []
        with torch.inference_mode():
            for b in range(0, len(frames), batch_size):
                hidden = self.module(pixel_values=self.pixels(frames[b : b + batch_size]))
                out.append(hidden.last_hidden_state[:, 0].numpy())
        return np.concatenate(out)

    def loss(self, heads, data, batch):
        import torch
        import torch.nn.functional as F

        hidden = self.module(pixel_values=self.pixels(data.frames[batch.rows])).last_hidden_state
        return F.cross_entropy(
            heads["classes"](hidden[:, 0]), torch.from_numpy(data.labels[batch.rows])
        )

    def evaluate(self, heads, train, heldout):
        import torch
        from sklearn.linear_model import RidgeClassifier
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        test = self.features(heldout.frames)
        with torch.inference_mode():
            pred = heads["classes"](torch.from_numpy(test)).argmax(1).numpy()
        probe = make_pipeline(StandardScaler(), RidgeClassifier(alpha=1.0))
        probe.fit(self.features(train.frames), train.labels)
        counts = np.bincount(train.labels, minlength=N_CLASSES)
        return {
            "class_accuracy": float(np.mean(pred == heldout.labels)),
            "probe_accuracy": float(probe.score(test, heldout.labels)),
            "chance": 1.0 / N_CLASSES,
            "majority": float(np.mean(heldout.labels == counts.argmax())),
        }


class RobertaTask(Task):
    """Masked language modelling on the captions; masked-token accuracy."""

    base = "tiny-roberta"
    default_steps = 400
    step_cost = 0.4
    main_metrics = ("mlm_accuracy",)

    def make_heads(self):
        from torch import nn

        cfg = self.module.config
        return nn.ModuleDict(
            {"mlm": _make_mlm_head(cfg.hidden_size, self.vocab, cfg.layer_norm_eps)}
        )

    def _mlm(self, heads, ids, mask, labels):
        hidden = self.module(input_ids=ids, attention_mask=mask).last_hidden_state
        sel = labels != IGNORE
        weight = self.module.embeddings.word_embeddings.weight
        return heads["mlm"](hidden[sel], weight), labels[sel]

    def loss(self, heads, data, batch):
        import torch.nn.functional as F

        tok = self.loaded.tokenizer
        ids, mask = self.tokens.batch([data.captions[r] for r in batch.rows])
        masked, labels = mask_tokens(
            ids,
            mask,
            self.tokens.special,
            tok.mask_token_id,
            self.vocab,
            self.params.mask_prob,
            batch.rng,
        )
        logits, target = self._mlm(heads, masked, mask, labels)
        return F.cross_entropy(logits, target)

    def evaluate(self, heads, train, heldout):
        import torch

        tok = self.loaded.tokenizer
        rng = np.random.default_rng([self.params.seed, 31337])
        correct = total = 0
        with torch.inference_mode():
            for b in range(0, len(heldout), 256):
                ids, mask = self.tokens.batch(heldout.captions[b : b + 256])
                masked, labels = mask_tokens(
                    ids,
                    mask,
                    self.tokens.special,
                    tok.mask_token_id,
                    self.vocab,
                    self.params.mask_prob,
                    rng,
                    eval_mode=True,
                )
                logits, target = self._mlm(heads, masked, mask, labels)
                correct += int((logits.argmax(1) == target).sum())
                total += int(target.numel())
        # baseline: always predict the most frequent ordinary token of the training captions
        counts: dict[int, int] = {}
        for text in train.captions:
            for i in self.tokens.ids(text):
                if i not in self.tokens.special:
                    counts[i] = counts.get(i, 0) + 1
        top = max(counts, key=counts.get)
        hits = sum(
            i == top
            for t in heldout.captions
            for i in self.tokens.ids(t)
            if i not in self.tokens.special
        )
        n_tok = sum(
            1 for t in heldout.captions for i in self.tokens.ids(t) if i not in self.tokens.special
        )
        return {
            "mlm_accuracy": correct / max(total, 1),
            "unigram_baseline": hits / max(n_tok, 1),
            "chance": 1.0 / len(self.vocab),
        }


_BY_TWIN = {cls.base: cls for cls in (ClipTask, BridgeTowerTask, VitTask, RobertaTask)}

TASKS: dict[str, type[Task]] = {twin.trained: _BY_TWIN[twin.untrained] for twin in TWINS}
"""Trained model name -> its task, for every pair of :data:`analysis_lib.models.TWINS`."""
