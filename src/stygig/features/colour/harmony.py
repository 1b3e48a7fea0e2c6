"""Colour harmony, judged in LCh (lightness, chroma, hue).

Neutrals (low chroma; dark colours such as navy count as neutral at a higher chroma) go with
anything; monochrome/analogous, complementary and triadic hue relations score well; other hue
gaps clash. :func:`pair_harmony`, :func:`harmony` and the vectorised :func:`harmony_batch` share
one implementation, so they agree exactly. Deterministic.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from stygig.features.colour.dominant import DominantColour
from stygig.features.colour.space import lab_to_lch, srgb_to_lab

__all__ = ["NO_COLOUR_SCORE", "RELATIONS", "harmony", "harmony_batch", "harmony_matrix", "harmony_pairs", "neutrality", "pair_harmony", "wheel_hue"]

#: relation codes returned by :func:`harmony_batch`; ``"none"`` means no colours to compare.
RELATIONS: tuple[str, ...] = (
    "neutral",
    "monochrome",
    "analogous",
    "complementary",
    "triadic",
    "clash",
    "none",
)
_NEUTRAL, _MONO, _ANALOGOUS, _COMPLEMENTARY, _TRIADIC, _CLASH, _NONE = range(len(RELATIONS))

#: score used when there is nothing to compare (no colours, or all weights zero)
NO_COLOUR_SCORE = 0.5

# Hue relations are judged on the artists' (red-yellow-blue) colour wheel that stylists use, where
# red-green, orange-blue and yellow-purple are complementary and red-yellow-blue is a triad: the
# LCh hue angle is mapped onto that wheel piecewise-linearly through six anchor colours.
_WHEEL_ANCHORS: tuple[tuple[str, tuple[int, int, int], float], ...] = (
    ("red", (230, 0, 0), 0.0),
    ("orange", (255, 135, 0), 60.0),
    ("yellow", (255, 235, 0), 120.0),
    ("green", (0, 160, 60), 180.0),
    ("blue", (0, 70, 230), 240.0),
    ("purple", (130, 0, 160), 300.0),
)
_WHEEL_LAB_H = lab_to_lch(srgb_to_lab(np.array([c for _, c, _ in _WHEEL_ANCHORS], dtype=np.uint8)))[:, 2]
_WHEEL_XP = np.append(_WHEEL_LAB_H, _WHEEL_LAB_H[0] + 360.0)
_WHEEL_FP = np.array([deg for _, _, deg in _WHEEL_ANCHORS] + [360.0])
assert np.all(np.diff(_WHEEL_XP) > 0), "wheel anchors must go round the hue circle in order"


def wheel_hue(h: Any) -> np.ndarray:
    """LCh hue angle (degrees) -> angle on the red-yellow-blue colour wheel (degrees, [0, 360))."""
    h = np.asarray(h, dtype=np.float64)
    x = np.mod(h - _WHEEL_XP[0], 360.0) + _WHEEL_XP[0]
    return np.mod(np.interp(x, _WHEEL_XP, _WHEEL_FP), 360.0)


# Relations as bumps over the wheel hue difference dh in [0, 180]:
# (code, centre, half-width of the flat top, gaussian fall-off beyond it, peak score)
_HUE_BUMPS = (
    (_ANALOGOUS, 0.0, 50.0, 15.0, 0.90),
    (_TRIADIC, 120.0, 15.0, 12.0, 0.78),
    (_COMPLEMENTARY, 180.0, 25.0, 12.0, 0.82),
)
_CLASH_SCORE = 0.25  # hue gaps that are none of the above
_NEUTRAL_SCORE = 0.95  # a neutral goes with anything
_MONOCHROME_MAX_DH = 12.0
# Neutrality from chroma: fully neutral below C_LO, fully chromatic above C_HI (beige, stone and
# greige sit in between). Dark colours (navy, charcoal, dark brown) read as neutral at higher
# chroma: the thresholds grow as L falls below 40.
_C_LO, _C_HI = 12.0, 30.0
_DARK_L, _DARK_RANGE = 40.0, 25.0
_DARK_C_LO, _DARK_C_HI = 13.0, 12.0
# Mild lightness-contrast term: score = (1 - _L_SHARE) * base + _L_SHARE * min(|dL| / _L_FULL, 1)
_L_SHARE, _L_FULL = 0.15, 40.0


def _neutrality(lch: np.ndarray) -> np.ndarray:
    dark = np.clip((_DARK_L - lch[..., 0]) / _DARK_RANGE, 0.0, 1.0)
    c_lo = _C_LO + _DARK_C_LO * dark
    c_hi = _C_HI + _DARK_C_HI * dark
    return np.clip((c_hi - lch[..., 1]) / (c_hi - c_lo), 0.0, 1.0)


def neutrality(lab: Any) -> np.ndarray:
    """How neutral colours are (CIELAB ``(..., 3)`` -> ``(...)`` in [0, 1]; 1 = fully neutral,
    as harmony judges them: low chroma, dark colours at a higher chroma)."""
    return _neutrality(lab_to_lch(np.asarray(lab, dtype=np.float64)))


def _pair_scores(lch1: np.ndarray, lch2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Broadcasting core: LCh arrays (..., 3) -> (score in [0, 1], relation code). Symmetric."""
    dh = np.abs(wheel_hue(lch1[..., 2]) - wheel_hue(lch2[..., 2]))
    dh = np.minimum(dh, 360.0 - dh)

    best_gain = np.zeros(dh.shape)
    best_code = np.full(dh.shape, _CLASH)
    best_strength = np.zeros(dh.shape)
    for code, centre, flat, sigma, peak in _HUE_BUMPS:
        excess = np.maximum(np.abs(dh - centre) - flat, 0.0) / sigma
        strength = np.exp(-0.5 * excess * excess)
        gain = (peak - _CLASH_SCORE) * strength
        better = gain > best_gain
        best_gain = np.where(better, gain, best_gain)
        best_code = np.where(better, code, best_code)
        best_strength = np.where(better, strength, best_strength)
    hue_score = _CLASH_SCORE + best_gain
    hue_code = np.where(best_strength >= 0.5, best_code, _CLASH)
    hue_code = np.where((hue_code == _ANALOGOUS) & (dh <= _MONOCHROME_MAX_DH), _MONO, hue_code)

    neutral = np.maximum(_neutrality(lch1), _neutrality(lch2))
    base = neutral * _NEUTRAL_SCORE + (1.0 - neutral) * hue_score
    contrast = np.minimum(np.abs(lch1[..., 0] - lch2[..., 0]) / _L_FULL, 1.0)
    score = np.clip((1.0 - _L_SHARE) * base + _L_SHARE * contrast, 0.0, 1.0)
    code = np.where(neutral >= 0.5, _NEUTRAL, hue_code)
    return score, code.astype(np.int64)


def pair_harmony(lab1: Any, lab2: Any) -> tuple[float, str]:
    """Harmony of two colours: (score in [0, 1], relation name). Symmetric."""
    lch1 = lab_to_lch(np.asarray(lab1, dtype=np.float64).reshape(3))
    lch2 = lab_to_lch(np.asarray(lab2, dtype=np.float64).reshape(3))
    score, code = _pair_scores(lch1, lch2)
    return float(score), RELATIONS[int(code)]


def harmony_batch(
    q_lab: Any, q_w: Any, c_lab: Any, c_w: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Harmony of one colour set against ``n`` candidate colour sets.

    ``q_lab (k, 3)``, ``q_w (k,)``, ``c_lab (n, K, 3)``, ``c_w (n, K)``. Returns
    ``scores (n,)`` float64 in [0, 1] and ``codes (n,)`` int64 indexing :data:`RELATIONS`.
    The score is the average of the pair scores weighted by ``w_query * w_candidate``; the
    relation is that of the pair with the largest weight product (ties: lowest score, then lowest
    code, so that swapping the two sides gives the same answer). Colours of weight 0 (padding) are
    ignored; a candidate with no weight at all gets :data:`NO_COLOUR_SCORE` and ``"none"``.
    """
    q_lab = np.asarray(q_lab, dtype=np.float64).reshape(-1, 3)
    q_w = np.asarray(q_w, dtype=np.float64).reshape(-1)
    if q_w.shape[0] != q_lab.shape[0]:
        raise ValueError(f"q_lab has {q_lab.shape[0]} colours but q_w has {q_w.shape[0]} weights")
    scores, codes = harmony_matrix(q_lab[None], q_w[None], c_lab, c_w)
    return scores[0], codes[0]


def harmony_matrix(
    a_lab: Any, a_w: Any, b_lab: Any, b_w: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Harmony of each of ``m`` colour sets against each of ``n``: :func:`harmony_batch` for
    every row at once. ``a_lab (m, k, 3)``, ``a_w (m, k)``, ``b_lab (n, K, 3)``, ``b_w (n, K)``;
    returns ``scores (m, n)`` and ``codes (m, n)`` (row ``i`` is exactly ``harmony_batch(a_lab[i],
    a_w[i], b_lab, b_w)``)."""
    a_lab, a_w, b_lab, b_w = _checked(a_lab, a_w, b_lab, b_w)
    return _set_harmony(a_lab[:, None], a_w[:, None], b_lab[None], b_w[None])


def harmony_pairs(
    a_lab: Any, a_w: Any, b_lab: Any, b_w: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Harmony of ``n`` aligned pairs of colour sets (``a[i]`` with ``b[i]``): ``a_lab (n, k, 3)``,
    ``a_w (n, k)``, ``b_lab (n, K, 3)``, ``b_w (n, K)`` -> ``scores (n,)``, ``codes (n,)``; entry
    ``i`` is :func:`harmony_batch` of ``a[i]`` against ``b[i]``. For scoring only the pairs one
    needs, where :func:`harmony_matrix` would score all ``n * n``."""
    a_lab, a_w, b_lab, b_w = _checked(a_lab, a_w, b_lab, b_w)
    if a_lab.shape[0] != b_lab.shape[0]:
        raise ValueError(f"harmony_pairs needs as many sets on each side, got {a_lab.shape[0]} and {b_lab.shape[0]}")
    return _set_harmony(a_lab, a_w, b_lab, b_w)


def _checked(a_lab: Any, a_w: Any, c_lab: Any, c_w: Any) -> tuple[np.ndarray, ...]:
    a_lab = np.asarray(a_lab, dtype=np.float64)
    a_w = np.asarray(a_w, dtype=np.float64)
    c_lab = np.asarray(c_lab, dtype=np.float64)
    c_w = np.asarray(c_w, dtype=np.float64)
    if c_lab.ndim != 3 or c_lab.shape[2] != 3 or c_w.shape != c_lab.shape[:2]:
        raise ValueError(f"expected c_lab (n, K, 3) and c_w (n, K), got {c_lab.shape} and {c_w.shape}")
    if a_lab.ndim != 3 or a_lab.shape[2] != 3 or a_w.shape != a_lab.shape[:2]:
        raise ValueError(f"expected a_lab (m, k, 3) and a_w (m, k), got {a_lab.shape} and {a_w.shape}")
    if (a_w < 0).any() or (c_w < 0).any() or not (np.isfinite(a_w).all() and np.isfinite(c_w).all()):
        raise ValueError("colour weights must be finite and non-negative")
    # padding may hold anything (even NaN); give it a harmless colour
    a_lab = np.where((a_w > 0)[..., None], a_lab, 0.0)
    c_lab = np.where((c_w > 0)[..., None], c_lab, 0.0)
    if not (np.isfinite(a_lab).all() and np.isfinite(c_lab).all()):
        raise ValueError("colours with a weight must have finite Lab values")
    return a_lab, a_w, c_lab, c_w


def _set_harmony(a_lab: np.ndarray, a_w: np.ndarray, c_lab: np.ndarray, c_w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one implementation: colour sets ``a (..., k, 3)`` against ``c (..., K, 3)`` (leading
    dimensions broadcast) -> scores and codes of shape ``(...)``."""
    lead = np.broadcast_shapes(a_lab.shape[:-2], c_lab.shape[:-2])
    if 0 in lead:
        return np.zeros(lead), np.zeros(lead, dtype=np.int64)
    # (..., k, K)
    score, code = _pair_scores(lab_to_lch(a_lab)[..., :, None, :], lab_to_lch(c_lab)[..., None, :, :])
    wp = a_w[..., :, None] * c_w[..., None, :]
    total = wp.sum(axis=(-2, -1))
    has = total > 0
    scores = np.where(has, (wp * score).sum(axis=(-2, -1)) / np.where(has, total, 1.0), NO_COLOUR_SCORE)
    scores = np.clip(scores, 0.0, 1.0)

    wp_f = wp.reshape(*lead, -1)
    s_f = np.broadcast_to(score, wp.shape).reshape(*lead, -1)
    c_f = np.broadcast_to(code, wp.shape).reshape(*lead, -1)
    top = wp_f == wp_f.max(axis=-1, keepdims=True)
    s_m = np.where(top, s_f, np.inf)
    top &= s_m == s_m.min(axis=-1, keepdims=True)
    codes = np.where(top, c_f, len(RELATIONS)).min(axis=-1)
    codes = np.where(has, codes, _NONE).astype(np.int64)
    return scores, codes


def _as_pairs(colours: Iterable[Any]) -> tuple[np.ndarray, np.ndarray]:
    labs, ws = [], []
    for item in colours:
        if isinstance(item, DominantColour):
            lab, w = item.lab, item.weight
        elif isinstance(item, dict):
            lab, w = item["lab"], item["weight"]
        else:
            lab, w = item
        labs.append(np.asarray(lab, dtype=np.float64).reshape(3))
        ws.append(float(w))
    if not labs:
        return np.zeros((0, 3)), np.zeros(0)
    return np.stack(labs), np.asarray(ws)


def harmony(a: Sequence[Any], b: Sequence[Any]) -> tuple[float, str]:
    """Harmony of two colour sets, each a sequence of ``(lab, weight)`` (or
    :class:`DominantColour`, or its ``to_dict()``): (score in [0, 1], relation of the dominant
    pair). Symmetric; agrees with :func:`harmony_batch`."""
    a_lab, a_w = _as_pairs(a)
    b_lab, b_w = _as_pairs(b)
    if len(a_w) == 0 or len(b_w) == 0:
        return NO_COLOUR_SCORE, RELATIONS[_NONE]
    scores, codes = harmony_batch(a_lab, a_w, b_lab[None], b_w[None])
    return float(scores[0]), RELATIONS[int(codes[0])]
