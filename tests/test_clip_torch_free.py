"""Serving a CLIP artifact needs ONNX Runtime, numpy and Pillow: no torch, no open_clip, no network.

The artifact is built from the shared sample catalog with a tiny CLIP export (seeded random
weights, real export code); loading and answering run in fresh subprocesses so that nothing this
test process imported (torch, for the export) can hide an import on the serving path.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from stygig.cli import main

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


@pytest.fixture(scope="module")
def clip_export(tmp_path_factory):
    d = tmp_path_factory.mktemp("clip-tf")
    out = d / "export"
    rc = main(
        [
            "export-clip", "--model", "stygig-tiny-tf", "--model-config", json.dumps(TINY_CONFIG),
            "--pretrained", "random", "--seed", "11", "-o", str(out),
        ]
    )
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def clip_artifact(clip_export, sample_catalog, tmp_path_factory):
    from stygig.build import build_artifact

    out = tmp_path_factory.mktemp("clip-artifact") / "clip"
    summary = build_artifact(sample_catalog, out, encoder=str(clip_export))
    assert summary.n_items > 0
    return out


SERVE = textwrap.dedent(
    """
    import json, socket, sys
    if {block}:
        def _refuse(*a, **k):
            raise OSError("network disabled by the test")
        class _NoSocket(socket.socket):
            def __init__(self, *a, **k):
                _refuse()
        socket.socket = _NoSocket
        socket.create_connection = _refuse
        socket.getaddrinfo = _refuse
    import numpy as np
    from stygig.images import decode_image
    from stygig.recommend.engine import Recommender
    from stygig.recommend.query import Query
    from stygig.schema import Options

    rec = Recommender.load({artifact!r})
    row = 0
    item = rec.items[row]
    picture = decode_image(item["source"])
    by_image = rec.recommend(Query(image=picture), Options(top_k=4))
    by_text = rec.recommend(Query(text="navy linen blazer"), Options(top_k=4))
    by_text_hint = rec.recommend(Query(text="navy linen blazer"), Options(top_k=4, category="pants"))
    same = float(np.dot(rec.encoder.encode_images([picture])[0], np.asarray(rec.vectors[row])))
    print(json.dumps({{
        "torch": "torch" in sys.modules,
        "open_clip": "open_clip" in sys.modules,
        "torchvision": "torchvision" in sys.modules,
        "encoder": by_image["metadata"]["encoder"],
        "n_image": len(by_image["recommendations"]),
        "n_text": len(by_text["recommendations"]),
        "text_source": by_text["query_item"]["category_source"],
        "hint": [by_text_hint["query_item"]["category"], by_text_hint["query_item"]["category_source"]],
        "same_vector_cosine": same,
        "socket_blocked": {block},
    }}))
    """
)


def _serve(artifact, *, block: bool) -> dict:
    r = subprocess.run(
        [sys.executable, "-c", SERVE.format(artifact=str(artifact), block=block)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def _check(out: dict) -> None:
    assert out["torch"] is False and out["open_clip"] is False and out["torchvision"] is False
    assert out["encoder"]["kind"] == "clip-onnx" and out["encoder"]["precision"] == "int8"
    assert out["n_image"] > 0 and out["n_text"] > 0
    assert out["text_source"] == "zero-shot+vote"
    assert out["hint"] == ["pants", "hint"]
    # the catalog vectors were built with the very encoder the server uses
    assert out["same_vector_cosine"] > 0.9999


def test_serving_imports_neither_torch_nor_open_clip(clip_artifact):
    _check(_serve(clip_artifact, block=False))


def test_serving_works_with_sockets_blocked(clip_artifact):
    out = _serve(clip_artifact, block=True)
    assert out["socket_blocked"] is True
    _check(out)


def test_encoder_alone_is_torch_free(clip_export):
    code = textwrap.dedent(
        f"""
        import json, sys
        from PIL import Image
        from stygig.features.encoders.clip_onnx import ClipOnnxEncoder
        enc = ClipOnnxEncoder.from_export({str(clip_export)!r})
        v = enc.encode_images([Image.new("RGB", (120, 80), (200, 30, 30))])
        t = enc.encode_texts(["a red shirt"])
        print(json.dumps({{"mods": sorted(m for m in ("torch", "open_clip", "torchvision") if m in sys.modules),
                          "shapes": [list(v.shape), list(t.shape)]}}))
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out == {"mods": [], "shapes": [[1, 32], [1, 32]]}


def test_artifact_bakes_one_precision(clip_artifact, clip_export, sample_catalog, tmp_path):
    from stygig.artifact import verify_artifact
    from stygig.build import build_artifact

    manifest = verify_artifact(clip_artifact)
    assert manifest["encoder"]["kind"] == "clip-onnx" and manifest["encoder"]["precision"] == "int8"
    enc_files = sorted(p.name for p in (clip_artifact / "encoder").iterdir())
    assert enc_files == [
        "bpe_simple_vocab_16e6.txt.gz", "export.json",
        "image_int8.onnx", "image_int8.onnx.data", "text_int8.onnx", "text_int8.onnx.data",
    ]
    assert manifest["category_text"] and np.load(clip_artifact / manifest["category_text"]).shape[1] == 32

    fp32 = build_artifact(sample_catalog, tmp_path / "fp32", encoder=str(clip_export), precision="fp32")
    assert fp32.encoder["precision"] == "fp32"
    assert sorted(p.name for p in (tmp_path / "fp32" / "encoder").iterdir()) == [
        "bpe_simple_vocab_16e6.txt.gz", "export.json",
        "image_fp32.onnx", "image_fp32.onnx.data", "text_fp32.onnx", "text_fp32.onnx.data",
    ]
    a = np.load(clip_artifact / "vectors.npy")
    b = np.load(tmp_path / "fp32" / "vectors.npy")
    assert a.shape == b.shape and (a * b).sum(1).mean() > 0.995
