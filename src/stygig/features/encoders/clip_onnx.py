"""CLIP towers exported to ONNX, run by ONNX Runtime: the ``clip-onnx`` encoder.

No torch, no open_clip, no network: pictures are preprocessed with Pillow + numpy exactly as
open_clip's own eval transform does (resize, centre crop, normalise, parameters read from the
export), text is tokenized by :mod:`stygig.features.encoders.tokenizer`, and both towers are ONNX
graphs whose outputs are already L2-normalised.

Where the files come from: ``stygig export-clip`` (:mod:`stygig.export.clip`) writes a directory
with ``export.json`` (format ``stygig-clip-export``), the towers in each precision, and the BPE
vocabulary. ``stygig build --encoder DIR`` calls :meth:`ClipOnnxEncoder.from_export`, which checks
the sha256 of every file it uses; :meth:`ClipOnnxEncoder.save` then copies only the chosen
precision's towers (plus the vocabulary and a one-precision ``export.json``) into the artifact's
``encoder/`` directory, so an artifact directory's ``encoder/`` is itself a valid export.

Default precision: **int8** (onnxruntime dynamic quantisation of MatMul/Gemm/Gather weights to
signed 8 bits per output channel; the patch-embedding convolution stays fp32 because ONNX
Runtime's ConvInteger is slow). Measured on ViT-B-32 with random weights on this 2-core machine
(``benchmarks/``): towers 3.7x smaller (image 351 -> 96 MB, text 254 -> 64 MB), the image session
opens in about 0.2 s instead of 0.5 s, an image embeds 2-3x faster (about 23 vs 80 ms of CPU),
time to the first answer from a fresh process is 0.7 s instead of 1.5 s and peak memory 200 MB
instead of 440 MB, while embeddings keep a cosine of 0.9999 (image) / 0.9993 (text) to fp32 and
the top-10 catalog neighbours overlap 95%. ``export.json`` (``parity``) records the cosines
measured at export time for the weights actually exported: check them for real weights, and
build with ``--precision fp32`` if they are not good enough for your catalog.

Sessions: intra-op threads = ``OMP_NUM_THREADS`` when set, else the CPUs this process may run on;
sequential execution, one inter-op thread, no spin-waiting between operators. The towers ship as
ONNX Runtime-optimised graphs with external weights (see :mod:`stygig.export.clip`), so opening a
session does little work. The image session opens when the encoder is created; the text session
and the tokenizer (about 0.25 s together for int8 ViT-B-32) open on first use, or ahead of time
with :meth:`ClipOnnxEncoder.prepare_text` (a server should call it before reporting healthy).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from PIL import Image

from stygig.errors import ArtifactError, StygigError
from stygig.features.encoders.base import Encoder, l2_normalise
from stygig.images import to_rgb

log = logging.getLogger(__name__)

EXPORT_FORMAT = "stygig-clip-export"
EXPORT_FORMAT_VERSION = 1
EXPORT_FILE = "export.json"
PRECISIONS = ("fp32", "int8")
#: the precision used when neither the build nor the export says otherwise (see module docstring)
DEFAULT_PRECISION = "int8"
IMAGE_INPUT = "pixel_values"
TEXT_INPUT = "input_ids"

_PIL_INTERPOLATION = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}
RESIZE_MODES = ("shortest", "longest", "squash")


# ----------------------------------------------------------------------------------------------
# preprocessing: open_clip's eval transform (torchvision on PIL images) in Pillow + numpy
# ----------------------------------------------------------------------------------------------


class ClipPreprocess:
    """``ClipPreprocess(cfg)(pil_rgb) -> float32 (3, H, W)``, identical to open_clip's transform.

    ``cfg`` is the ``preprocess`` object of ``export.json``: ``size`` ([h, w]), ``resize_mode``
    (``shortest``: resize the short side then centre-crop; ``longest``: resize the long side then
    centre-crop/pad with ``fill_color``; ``squash``: resize to exactly ``size``), ``interpolation``
    (``bicubic`` | ``bilinear``), ``mean``, ``std``.
    """

    def __init__(self, cfg: dict[str, Any]):
        size = cfg["size"]
        self.size = (int(size), int(size)) if isinstance(size, (int, float)) else (int(size[0]), int(size[1]))
        self.resize_mode = cfg.get("resize_mode", "shortest")
        if self.resize_mode not in RESIZE_MODES:
            raise ValueError(f"unsupported resize_mode {self.resize_mode!r}")
        interpolation = cfg.get("interpolation", "bicubic")
        if interpolation not in _PIL_INTERPOLATION:
            raise ValueError(f"unsupported interpolation {interpolation!r}")
        self.interpolation = interpolation
        self.fill_color = int(cfg.get("fill_color", 0))
        self.mean = np.asarray(cfg["mean"], dtype=np.float32).reshape(3, 1, 1)
        self.std = np.asarray(cfg["std"], dtype=np.float32).reshape(3, 1, 1)
        # (v / 255 - mean) / std for each 8-bit value v and channel, computed with the very float32
        # operations of the direct formula: normalising is then one table look-up per channel
        codes = np.arange(256, dtype=np.float32).reshape(1, 1, 256) / np.float32(255.0)
        self._table = ((codes - self.mean) / self.std).astype(np.float32).reshape(3, 256)

    def resize_crop(self, img: Image.Image) -> Image.Image:
        """The geometric part: a PIL image of exactly ``size``."""
        th, tw = self.size
        w, h = img.size
        resample = _PIL_INTERPOLATION[self.interpolation]
        if self.resize_mode == "squash":
            return img if (w, h) == (tw, th) else img.resize((tw, th), resample)
        if self.resize_mode == "shortest" and th == tw:
            # torchvision Resize(int): short side -> size, long side truncated (not rounded)
            short, long = (w, h) if w <= h else (h, w)
            new_short, new_long = th, int(th * long / short)
            nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
        else:
            # open_clip ResizeKeepRatio (timm): one ratio for both sides, rounded; note that the
            # non-square 'shortest' case always uses bicubic in open_clip
            if self.resize_mode == "shortest":
                resample = Image.Resampling.BICUBIC
            ratio_h, ratio_w = h / th, w / tw
            ratio = max(ratio_h, ratio_w) if self.resize_mode == "longest" else min(ratio_h, ratio_w)
            nh, nw = round(h / ratio), round(w / ratio)
        if (nw, nh) != (w, h):
            img = img.resize((nw, nh), resample)
        return _center_crop_or_pad(img, th, tw, self.fill_color)

    def __call__(self, img: Image.Image) -> np.ndarray:
        th, tw = self.size
        out = np.empty((3, th, tw), dtype=np.float32)
        self._normalise_into(img, out)
        return out

    def _normalise_into(self, img: Image.Image, out: np.ndarray) -> None:
        if img.mode != "RGB":
            img = to_rgb(img)
        arr = np.asarray(self.resize_crop(img), dtype=np.uint8)
        for c in range(3):
            np.take(self._table[c], arr[:, :, c], out=out[c])

    def batch(self, images: Sequence[Image.Image]) -> np.ndarray:
        th, tw = self.size
        out = np.empty((len(images), 3, th, tw), dtype=np.float32)
        for i, img in enumerate(images):
            self._normalise_into(img, out[i])
        return out


def _center_crop_or_pad(img: Image.Image, th: int, tw: int, fill: int) -> Image.Image:
    """torchvision ``center_crop`` / open_clip ``center_crop_or_pad`` for PIL images."""
    w, h = img.size
    if tw > w or th > h:
        left = (tw - w) // 2 if tw > w else 0
        top = (th - h) // 2 if th > h else 0
        padded = Image.new(img.mode, (max(w, tw), max(h, th)), (fill,) * len(img.getbands()))
        padded.paste(img, (left, top))
        img = padded
        w, h = img.size
        if (w, h) == (tw, th):
            return img
    top = int(round((h - th) / 2.0))
    left = int(round((w - tw) / 2.0))
    if (top, left, w, h) == (0, 0, tw, th):
        return img
    return img.crop((left, top, left + tw, top + th))


# ----------------------------------------------------------------------------------------------
# ONNX Runtime sessions
# ----------------------------------------------------------------------------------------------


def thread_count() -> int:
    """Intra-op threads: ``OMP_NUM_THREADS`` when set to a positive integer, else usable CPUs."""
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            n = 0
        if n > 0:
            return n
        log.warning("ignoring OMP_NUM_THREADS=%r (not a positive integer)", env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def make_session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = thread_count()
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Idle intra-op threads would otherwise spin, burning the cores that decoding, colour
    # extraction and the other requests need: measured on 2 cores, spinning doubled the CPU time
    # of a recommend request (49 -> 100 ms) and its p50 latency.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


# ----------------------------------------------------------------------------------------------
# export.json
# ----------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """sha256 of a file, streamed (hashlib.file_digest, Python 3.11+)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_export(directory: Path, *, error: type[StygigError] = StygigError) -> dict[str, Any]:
    """Read and check the shape of ``DIR/export.json``."""
    path = Path(directory) / EXPORT_FILE
    if not path.is_file():
        raise error(f"{directory} is not a CLIP export (no {EXPORT_FILE}); make one with 'stygig export-clip'")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"unreadable {path}: {e}") from None
    if not isinstance(spec, dict) or spec.get("format") != EXPORT_FORMAT:
        raise error(f"{path} is not a {EXPORT_FORMAT} file")
    if spec.get("format_version") != EXPORT_FORMAT_VERSION:
        raise error(
            f"{path} has format_version {spec.get('format_version')!r}; this stygig reads version "
            f"{EXPORT_FORMAT_VERSION} (re-export with this version's 'stygig export-clip')"
        )
    for key in ("model", "dim", "precisions", "preprocess", "tokenizer", "files"):
        if key not in spec:
            raise error(f"{path} lacks {key!r}")
    return spec


def precision_files(spec: dict[str, Any], precision: str) -> list[str]:
    """Every file one precision needs: its two towers (and their external weights) + the vocabulary."""
    towers = spec["precisions"][precision]
    files = list(towers.get("files") or [towers["image"], towers["text"]])
    return [*files, spec["tokenizer"]["vocab"]]


def _choose_precision(spec: dict[str, Any], precision: str | None, where: Path, error: type[StygigError]) -> str:
    available = sorted(spec["precisions"])
    if precision is None:
        precision = spec.get("default_precision") or DEFAULT_PRECISION
        if precision not in spec["precisions"]:
            precision = available[0] if len(available) == 1 else DEFAULT_PRECISION
    if precision not in PRECISIONS:
        raise error(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision not in spec["precisions"]:
        raise error(
            f"the CLIP export in {where} has no {precision} towers (it has: {', '.join(available)}); "
            f"re-export with --precision {precision}"
        )
    return precision


# ----------------------------------------------------------------------------------------------
# token rows cut to what the text tower pools
# ----------------------------------------------------------------------------------------------


def trim_tokens(ids: np.ndarray, trim: dict[str, Any]) -> np.ndarray:
    """``ids`` without the columns after the batch's last pooled position.

    An export's ``text_trim`` (see :func:`stygig.export.clip.text_trim`) says its text tower takes
    any sequence length and pools one token of a causal transformer, so nothing after that token
    changes a vector: a short query runs about 10 of CLIP's 77 positions, the same vector for less.
    """
    if ids.shape[1] == 0:
        return ids
    pooled = (ids == trim["eos_id"]).argmax(1) if trim["pool"] == "eos" else ids.argmax(1)
    return np.ascontiguousarray(ids[:, : int(pooled.max()) + 1])


def _text_trim(value: Any, directory: Path, error: type[StygigError]) -> dict[str, Any] | None:
    if value is None:
        return None  # an export with a fixed text length (before text_trim, or SigLIP's tower)
    if isinstance(value, dict) and value.get("pool") == "argmax" and set(value) == {"pool"}:
        return value
    if isinstance(value, dict) and value.get("pool") == "eos" and type(value.get("eos_id")) is int and set(value) == {"pool", "eos_id"}:
        return value
    raise error(f"bad text_trim in the CLIP export {directory}: {json.dumps(value)[:80]} (expected {{\"pool\": \"argmax\"}} or {{\"pool\": \"eos\", \"eos_id\": N}})")


# ----------------------------------------------------------------------------------------------
# the encoder
# ----------------------------------------------------------------------------------------------


class ClipOnnxEncoder(Encoder):
    kind = "clip-onnx"
    supports_text = True
    batch_size = 32
    releases_gil = True

    def __init__(self, directory: Path, spec: dict[str, Any], precision: str, *, error: type[StygigError] = ArtifactError):
        self.directory = Path(directory)
        self.spec = spec
        self.precision = precision
        towers = spec["precisions"][precision]
        self.image_path = self.directory / towers["image"]
        self.text_path = self.directory / towers["text"]
        self.vocab_path = self.directory / spec["tokenizer"]["vocab"]
        self.dim = int(spec["dim"])
        self.model = str(spec["model"])
        self.pretrained = str(spec.get("pretrained", ""))
        for p in (self.image_path, self.text_path, self.vocab_path):
            if not p.is_file():
                raise error(f"CLIP encoder file missing: {p}")
        try:
            self.preprocess = ClipPreprocess(spec["preprocess"])
        except (KeyError, TypeError, ValueError) as e:
            raise error(f"bad preprocess parameters in the CLIP export {self.directory}: {e}") from None
        self._text_trim = _text_trim(spec.get("text_trim"), self.directory, error)
        try:
            self._image_session = make_session(self.image_path)
        except Exception as e:  # onnxruntime raises its own Fail/InvalidGraph/RuntimeException types
            raise error(_session_error(self.image_path, spec, e)) from None
        self._text_session = None
        self._tokenizer = None
        self._text_lock = threading.Lock()

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_export(cls, directory: str | Path, precision: str | None = None) -> "ClipOnnxEncoder":
        """Open a ``stygig export-clip`` directory (checks the sha256 of every file used)."""
        directory = Path(directory)
        spec = read_export(directory)
        precision = _choose_precision(spec, precision, directory, StygigError)
        for name in precision_files(spec, precision):
            _check_file(directory, name, spec["files"], StygigError)
        return cls(directory, spec, precision, error=StygigError)

    @classmethod
    def load(cls, directory: Path, config: dict[str, Any]) -> "ClipOnnxEncoder":
        """Rebuild from an artifact's ``encoder/`` directory and the config :meth:`save` returned.

        The artifact's manifest already carries (and its loader checks) the sha256 of every file, so
        only presence and size are checked here: load time matters.
        """
        directory = Path(directory)
        spec = config.get("export")
        if not isinstance(spec, dict):
            spec = read_export(directory, error=ArtifactError)
        precision = config.get("precision") or spec.get("default_precision")
        if precision not in spec.get("precisions", {}):
            raise ArtifactError(f"the artifact's CLIP encoder has no {precision!r} towers")
        for name in precision_files(spec, precision):
            _check_file(directory, name, spec["files"], ArtifactError, hash_check=False)
        return cls(directory, spec, precision, error=ArtifactError)

    def save(self, directory: Path) -> dict[str, Any]:
        """Copy this precision's towers, the vocabulary and a one-precision ``export.json``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        towers = self.spec["precisions"][self.precision]
        names = precision_files(self.spec, self.precision)
        for name in names:
            dst = directory / name
            if dst.resolve() != (self.directory / name).resolve():
                shutil.copyfile(self.directory / name, dst)
        spec = dict(self.spec)
        spec["precisions"] = {self.precision: dict(towers)}
        spec["default_precision"] = self.precision
        spec["files"] = {name: self.spec["files"][name] for name in names}
        if isinstance(spec.get("quantization"), dict) and self.precision != "int8":
            spec.pop("quantization")
        (directory / EXPORT_FILE).write_text(json.dumps(spec, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return {
            "kind": self.kind,
            "dim": self.dim,
            "precision": self.precision,
            "model": self.model,
            "pretrained": self.pretrained,
            "supports_text": True,
            "export": spec,
        }

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dim": self.dim,
            "supports_text": True,
            "model": self.model,
            "pretrained": self.pretrained,
            "precision": self.precision,
        }

    # -- embedding ---------------------------------------------------------------------------

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if len(images) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start in range(0, len(images), self.batch_size):
            pixels = self.preprocess.batch(images[start : start + self.batch_size])
            out.append(self._image_session.run(None, {IMAGE_INPUT: pixels})[0])
        return _finish(np.concatenate(out), self.dim)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if isinstance(texts, str):
            texts = [texts]
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        session, tokenizer = self.prepare_text()
        out = []
        for start in range(0, len(texts), self.batch_size):
            ids = tokenizer(list(texts[start : start + self.batch_size]))
            if self._text_trim is not None:
                ids = trim_tokens(ids, self._text_trim)
            out.append(session.run(None, {TEXT_INPUT: ids})[0])
        return _finish(np.concatenate(out), self.dim)

    def prepare_text(self):
        """Open the text session and tokenizer now (idempotent, thread-safe)."""
        if self._text_session is None:
            with self._text_lock:
                if self._text_session is None:
                    from stygig.features.encoders.tokenizer import make_tokenizer

                    try:
                        self._tokenizer = make_tokenizer(self.directory, self.spec["tokenizer"])
                    except Exception as e:
                        raise ArtifactError(f"cannot open the CLIP encoder's tokenizer: {_one(e)}") from None
                    try:
                        self._text_session = make_session(self.text_path)
                    except Exception as e:
                        raise ArtifactError(_session_error(self.text_path, self.spec, e)) from None
        return self._text_session, self._tokenizer


def _session_error(path: Path, spec: dict[str, Any], e: BaseException) -> str:
    import onnxruntime

    made_with = (spec.get("ort_optimization") or {}).get("onnxruntime")
    hint = ""
    if made_with and made_with != onnxruntime.__version__:
        hint = f" (optimised by onnxruntime {made_with}, running {onnxruntime.__version__}: re-export with this version)"
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return f"ONNX Runtime cannot load {path.name}: {first[:300]}{hint}"


def _one(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:300]


def _finish(x: np.ndarray, dim: int) -> np.ndarray:
    if x.ndim != 2 or x.shape[1] != dim:
        raise ArtifactError(f"the CLIP encoder produced shape {x.shape}, expected (n, {dim})")
    if not np.isfinite(x).all():
        raise ArtifactError("the CLIP encoder produced non-finite values")
    return l2_normalise(x)


def _check_file(
    directory: Path, name: str, files: dict[str, Any], error: type[StygigError], *, hash_check: bool = True
) -> None:
    if "/" in name or "\\" in name or name in ("", ".", ".."):
        raise error(f"bad file name in the CLIP export: {name!r}")
    path = directory / name
    meta = files.get(name)
    if not isinstance(meta, dict):
        raise error(f"the CLIP export in {directory} does not describe {name}")
    if not path.is_file():
        raise error(f"CLIP encoder file missing: {path}")
    if path.stat().st_size != meta.get("bytes"):
        raise error(f"CLIP encoder file {path} has {path.stat().st_size} bytes, expected {meta.get('bytes')}")
    if hash_check and sha256_file(path) != meta.get("sha256"):
        raise error(f"CLIP encoder file {path} does not match its sha256 in {EXPORT_FILE}")
