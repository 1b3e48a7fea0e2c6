"""A photo query's features: the embedding and the colours come from one call, side by side, and
the colours are computed as a catalog build computes them."""

from __future__ import annotations

import io
import json
import threading

import numpy as np
from PIL import Image

from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.features import photo
from stygig.features.encoders.registry import resolve_encoder
from stygig.images import DRAFT_MIN_SIDE, decode_image


TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 64, "layers": 1, "width": 64, "patch_size": 16, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 1},
}


def _catalog_picture(catalog, category="shirt"):
    rows = [json.loads(line) for line in (catalog / "manifest.jsonl").read_text().splitlines() if line]
    row = next(r for r in rows if r["category"] == category)
    return row, catalog / row["image"]


def test_query_photo_colours_are_the_catalog_colours(sample_catalog, tmp_path):
    """A large photo of a catalog item gets exactly the colours its catalog entry was built with."""
    from stygig.build import build_artifact

    row, src = _catalog_picture(sample_catalog)
    with Image.open(src) as im:
        big = im.convert("RGB").resize((im.width * 3, im.height * 3), Image.Resampling.NEAREST)
    cat = tmp_path / "cat"
    (cat / "shirt").mkdir(parents=True)
    big.save(cat / "shirt" / "big-shirt.png")
    with Image.open(sample_catalog / _catalog_picture(sample_catalog, "pants")[0]["image"]) as im:
        (cat / "pants").mkdir()
        im.convert("RGB").save(cat / "pants" / "p1.png")
    art = tmp_path / "art"
    build_artifact(cat, art, encoder="lite")
    rec = Recommender.load(art)
    answer = rec.recommend(Query(image=decode_image(cat / "shirt" / "big-shirt.png")))
    assert answer["query_item"]["colors"] == rec.item("big-shirt")["colors"]


def test_embedding_runs_beside_the_colours(tmp_path):
    """With an encoder that releases the GIL, the tower runs in another thread while this one
    computes the colours; the results are those of the two steps run one after the other."""
    from stygig.export.clip import export_clip

    export_clip("stygig-tiny-photo", "random", tmp_path / "export", precisions=["int8"], model_config=TINY_CONFIG, seed=3)
    enc = resolve_encoder(str(tmp_path / "export"))
    assert enc.releases_gil
    img = Image.new("RGB", (300, 400), (240, 240, 240))
    img.paste((20, 40, 120), (60, 80, 240, 340))
    threads = []
    encode = enc.encode_images

    def spy(images):
        threads.append(threading.get_ident())
        return encode(images)

    enc.encode_images = spy
    vec, colours = photo.photo_features(enc, img, k=3)
    assert threads and threads[0] != threading.get_ident()
    np.testing.assert_array_equal(vec, encode([img])[0])
    assert [c.to_dict() for c in colours] == [c.to_dict() for c in photo.photo_colours(img, 3)]
    assert colours[0].name == "navy"


def test_large_jpeg_decodes_near_the_model_input():
    """A 1000 px JPEG decodes at 1/4 scale (250 px), still above CLIP's 224 px input."""
    buf = io.BytesIO()
    Image.new("RGB", (1000, 1000), (200, 30, 30)).save(buf, "JPEG", quality=90)
    img = decode_image(buf.getvalue())
    assert img.size == (250, 250)
    assert min(img.size) >= DRAFT_MIN_SIDE
