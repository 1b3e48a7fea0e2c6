"""``stygig learn``: type-aware compatibility embeddings trained on looks (torch, learn time only).

What is learned is :class:`~stygig.recommend.compat.learned.LearnedCompatibility` (read its
docstring for the model). Why this model: a few thousand looks over a catalog whose items already
have image vectors is too little to fine-tune an image tower and plenty for a small network over
those vectors; the type-aware form (one embedding, a mask per pair of garment groups) is the
Polyvore Outfits baseline the field compares with, it scores pairs independently (so a
candidate's score with the rest of an outfit is the mean of its pairs, as the engine composes
outfits), and its embeddings can be computed once per catalog item at learn time so that serving
costs a table look-up and a masked product per candidate, in numpy.

Training data: every ordered pair of pieces of a training look (anchor, positive), each with
:data:`NEGATIVES` negatives drawn uniformly from the items of the positive's category that appear
in the training looks (items of held-out or test looks are never shown, not even as negatives).
Loss: softmax cross-entropy of the positive among its negatives (fill in the blank, pair by
pair) plus binary cross-entropy of every pair (so the learned score is a probability). Adam,
fixed epochs, seeded: the same looks and artifact give the same model on the same machine.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from stygig.errors import StygigError
from stygig.recommend.compat.heuristic import HeuristicCompatibility
from stygig.recommend.compat.learned import TABLE_FILE, WEIGHT_FILES, LearnedCompatibility, features
from stygig.taxonomy import Taxonomy

NEGATIVES = 7
DIM = 64
HIDDEN = 256
BATCH = 512
EPOCHS = 12
LR = 2e-3
WEIGHT_DECAY = 1e-4
DROPOUT = 0.1
#: fewest training looks learn accepts
MIN_LOOKS = 50
MODEL = "type-aware-mlp"


@dataclass
class Trained:
    model: LearnedCompatibility
    files: dict[str, np.ndarray]  # relative path under compat/ -> array
    spec: dict[str, Any]
    seconds: float
    losses: list[float]


def _torch():
    try:
        import torch
    except ModuleNotFoundError:
        raise StygigError("stygig learn needs torch, which is not installed: pip install 'stygig[export]'") from None
    return torch


def training_pairs(looks: Sequence[np.ndarray]) -> np.ndarray:
    """(n, 2) anchor and positive rows: every ordered pair of distinct pieces of every look."""
    out = []
    for rows in looks:
        rows = np.asarray(rows, dtype=np.int64)
        a, b = np.meshgrid(rows, rows, indexing="ij")
        off = ~np.eye(len(rows), dtype=bool)
        out.append(np.stack([a[off], b[off]], axis=1))
    return np.concatenate(out) if out else np.zeros((0, 2), np.int64)


def train(
    *,
    vectors: np.ndarray,
    colours: np.ndarray,
    category_codes: np.ndarray,
    gender_codes: np.ndarray,
    taxonomy: Taxonomy,
    looks: Sequence[np.ndarray],
    heuristic: HeuristicCompatibility,
    seed: int = 0,
    epochs: int = EPOCHS,
    dim: int = DIM,
    hidden: int = HIDDEN,
    negatives: int = NEGATIVES,
    show_progress: bool = True,
) -> Trained:
    """Train on ``looks`` (arrays of artifact rows) and return the model, ready to serve."""
    torch = _torch()
    t0 = time.perf_counter()
    threads_before = torch.get_num_threads()
    # one thread: the matrices are small, and on a shared 2-core machine OpenMP's spinning
    # threads made training ten times slower (34 s with one thread, 397 s with two, same looks)
    torch.set_num_threads(1)
    try:
        return _train(torch, t0, vectors=vectors, colours=colours, category_codes=category_codes,
                      gender_codes=gender_codes, taxonomy=taxonomy,
                      looks=looks, heuristic=heuristic, seed=seed, epochs=epochs, dim=dim, hidden=hidden,
                      negatives=negatives, show_progress=show_progress)
    finally:
        torch.set_num_threads(threads_before)


def _train(torch, t0, *, vectors, colours, category_codes, gender_codes, taxonomy, looks, heuristic, seed, epochs, dim, hidden,
           negatives, show_progress) -> Trained:
    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 4])
    codes = np.asarray(category_codes, dtype=np.int64)
    groups = list(dict.fromkeys(taxonomy.group_of(c) for c in taxonomy.categories))
    cat_group = np.array([groups.index(taxonomy.group_of(c)) for c in taxonomy.categories], dtype=np.int64)

    pairs = training_pairs(looks)
    used = np.unique(pairs)
    # negatives: the training looks' own items of the positive's category
    pools = [used[codes[used] == c] for c in range(len(taxonomy.categories))]
    genders = np.asarray(gender_codes, dtype=np.int64)
    n_cat = len(taxonomy.categories)
    x_all = features(np.asarray(vectors[used], dtype=np.float32), np.asarray(colours[used], dtype=np.float32),
                     codes[used], genders[used], n_cat)
    mean = x_all.mean(axis=0)
    std = x_all.std(axis=0) + 1e-3
    local = np.full(int(codes.shape[0]), -1, dtype=np.int64)
    local[used] = np.arange(len(used))

    net = _Net(torch, x_all.shape[1], hidden, dim, len(groups))
    opt = torch.optim.Adam(net.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    x_t = torch.from_numpy((x_all - mean) / std)
    group_t = torch.from_numpy(cat_group[codes[used]])
    steps_per_epoch = max(1, math.ceil(len(pairs) / BATCH))
    total_steps = epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=total_steps, pct_start=0.15)
    bar = None
    if show_progress:
        from tqdm import tqdm

        bar = tqdm(total=total_steps, desc="learn", unit="step", file=sys.stderr, dynamic_ncols=True, leave=False)
    losses = []
    net.train()
    for epoch in range(epochs):
        order = rng.permutation(len(pairs))
        epoch_loss = 0.0
        for s in range(steps_per_epoch):
            batch = pairs[order[s * BATCH : (s + 1) * BATCH]]
            pos = batch[:, 1]
            negs = _draw_negatives(rng, pools, codes[pos], negatives)
            # local indices: anchor, positive, negatives
            idx = local[np.concatenate([batch[:, :1], batch[:, 1:], negs], axis=1)]
            uniq, inverse = np.unique(idx, return_inverse=True)
            inverse = torch.from_numpy(inverse.reshape(idx.shape))
            emb = net.embed(x_t[torch.from_numpy(uniq)])
            grp = group_t[torch.from_numpy(uniq)]
            e = emb[inverse]  # (B, 2 + K, d)
            g = grp[inverse]
            masks = net.masks()[g[:, :1], g[:, 1:]]  # (B, 1 + K, d)
            s_ = (masks * e[:, :1] * e[:, 1:]).sum(-1)  # (B, 1 + K)
            z = net.scale * s_ + net.bias
            same = torch.from_numpy(idx[:, 2:] == idx[:, 1:2])
            z_rank = torch.cat([z[:, :1], z[:, 1:].masked_fill(same, -1e4)], dim=1)
            ce = torch.nn.functional.cross_entropy(z_rank, torch.zeros(len(batch), dtype=torch.long))
            labels = torch.zeros_like(z)
            labels[:, 0] = 1.0
            weight = torch.ones_like(z)
            weight[:, 1:] = (~same).float() / negatives
            bce = torch.nn.functional.binary_cross_entropy_with_logits(z, labels, weight=weight, reduction="sum") / len(batch) / 2
            loss = ce + bce
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            epoch_loss += float(loss.detach()) * len(batch)
            if bar is not None:
                bar.update(1)
        losses.append(epoch_loss / len(pairs))
        if bar is not None:
            bar.set_postfix(epoch=epoch + 1, loss=f"{losses[-1]:.3f}")
    if bar is not None:
        bar.close()
    net.eval()
    weights = net.export(torch, mean, std)
    # every catalog item's embedding, once
    table = np.empty((len(codes), dim), dtype=np.float32)
    proto = LearnedCompatibility(taxonomy, weights, table, scale=float(net.scale.detach()), bias=float(net.bias.detach()),
                                 groups=groups, heuristic=heuristic)
    for s in range(0, len(codes), 8192):
        part = slice(s, s + 8192)
        table[part] = proto.embed_features(features(
            np.asarray(vectors[part], dtype=np.float32), np.asarray(colours[part], dtype=np.float32),
            codes[part], genders[part], n_cat))
    seconds = time.perf_counter() - t0
    files = {f"compat/{k}.npy": v for k, v in weights.items()}
    files[f"compat/{TABLE_FILE}.npy"] = table
    spec = {
        "kind": LearnedCompatibility.kind,
        "model": MODEL,
        "files": {k: f"compat/{k}.npy" for k in (*WEIGHT_FILES, TABLE_FILE)},
        "groups": groups,
        "dim": dim,
        "hidden": hidden,
        "scale": round(float(net.scale.detach()), 6),
        "bias": round(float(net.bias.detach()), 6),
        "heuristic_weights": dict(heuristic.weights),
        "training": {"looks": len(looks), "pairs": int(len(pairs)), "items": int(len(used)), "epochs": epochs,
                     "negatives": negatives, "seed": seed, "final_loss": round(losses[-1], 4) if losses else None},
    }
    model = LearnedCompatibility(taxonomy, weights, table, scale=spec["scale"], bias=spec["bias"], groups=groups,
                                 heuristic=heuristic, spec=spec)
    return Trained(model, files, spec, seconds, losses)


def _draw_negatives(rng: np.random.Generator, pools: Sequence[np.ndarray], cats: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((len(cats), k), dtype=np.int64)
    for c in np.unique(cats):
        where = np.flatnonzero(cats == c)
        pool = pools[int(c)]
        out[where] = pool[rng.integers(len(pool), size=(len(where), k))]
    return out


class _Net:
    """The embedding network, the group-pair masks and the calibration, in torch."""

    def __init__(self, torch, n_in: int, hidden: int, dim: int, n_groups: int):
        nn = torch.nn
        self.torch = torch
        self.body = nn.Sequential(nn.Dropout(DROPOUT), nn.Linear(n_in, hidden), nn.ReLU(), nn.Dropout(DROPOUT),
                                  nn.Linear(hidden, dim))
        self.mask_logits = nn.Parameter(torch.full((n_groups, n_groups, dim), 1.0))
        self.scale_p = nn.Parameter(torch.tensor(8.0))
        self.bias_p = nn.Parameter(torch.tensor(-2.0))

    def parameters(self):
        return [*self.body.parameters(), self.mask_logits, self.scale_p, self.bias_p]

    def train(self):
        self.body.train()

    def eval(self):
        self.body.eval()

    @property
    def scale(self):
        return self.scale_p

    @property
    def bias(self):
        return self.bias_p

    def embed(self, x):
        return self.torch.nn.functional.normalize(self.body(x), dim=-1)

    def masks(self):
        m = self.mask_logits
        return self.torch.sigmoid((m + m.transpose(0, 1)) / 2)

    def export(self, torch, mean: np.ndarray, std: np.ndarray) -> dict[str, np.ndarray]:
        lin1, lin2 = self.body[1], self.body[4]
        with torch.no_grad():
            return {
                "mean": mean.astype(np.float32),
                "std": std.astype(np.float32),
                "w1": lin1.weight.T.contiguous().numpy().astype(np.float32),
                "b1": lin1.bias.numpy().astype(np.float32),
                "w2": lin2.weight.T.contiguous().numpy().astype(np.float32),
                "b2": lin2.bias.numpy().astype(np.float32),
                "masks": self.masks().numpy().astype(np.float32),
            }

