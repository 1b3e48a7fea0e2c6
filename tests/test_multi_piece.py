"""Several pieces in (issue 12.2): a query of 1..8 pieces — photos, texts, catalog item ids, mixed —
through the engine, the codec, a real server with workers and the CLI; and its bad input, each
answered with the piece's index."""

from __future__ import annotations

import base64
import io
import json

import httpx
import numpy as np
import pytest
from PIL import Image

from stygig.errors import IncompatiblePieces, InvalidInput, UnknownItem
from stygig.images import decode_image
from stygig.recommend.compat import Pieces, against_context
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Piece, Query
from stygig.schema import MAX_PIECES, Options
from test_cli import _one_line_error, stygig
from test_serving_server import assert_error, assert_outfit, post
from test_serving_server import server  # noqa: F401 (the fixture: a real `serve` with two workers)


@pytest.fixture(scope="module")
def rec(lite_artifact):
    return Recommender.load(lite_artifact)


def first(rec, category: str, n: int = 0) -> str:
    return [it["id"] for it in rec.items if it["category"] == category][n]


def jpeg_b64(rec, item_id: str) -> str:
    with Image.open(rec.item(item_id)["source"]) as im:
        buf = io.BytesIO()
        im.convert("RGB").save(buf, "JPEG", quality=90)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def without_time(resp: dict) -> dict:
    resp = json.loads(json.dumps(resp))
    resp["metadata"].pop("processing_time_ms")
    return resp


# ---- the engine ---------------------------------------------------------------------------------
def test_the_slots_the_pieces_fill_are_not_filled_again(rec):
    shirt, pants = first(rec, "shirt"), first(rec, "pants")
    resp = rec.recommend(Query(pieces=[Piece(item_id=shirt), Piece(item_id=pants)]), Options(top_k=10, items_per_category=2))
    assert "query_item" not in resp
    assert [(q["item_id"], q["category"], q["category_source"]) for q in resp["query_items"]] == [
        (shirt, "shirt", "item"), (pants, "pants", "item")]
    groups = {r["group"] for r in resp["recommendations"]}
    assert groups and not groups & {"upperwear", "bottomwear", "one-piece"}, groups
    assert {"footwear", "accessories"} <= groups
    # with the shirt alone, a bottom is the first thing it gets
    alone = rec.recommend(Query(item_id=shirt), Options(top_k=10, items_per_category=2))
    assert "bottomwear" in {r["group"] for r in alone["recommendations"]}


def test_every_candidate_is_scored_against_every_piece(rec):
    shirt, pants = first(rec, "shirt"), first(rec, "pants")
    resp = rec.recommend(Query(pieces=[Piece(item_id=shirt), Piece(item_id=pants)]), Options(top_k=8))
    rows = [rec.items.row_of(shirt), rec.items.row_of(pants)]
    cols = dict(colours=rec.colours, category_codes=np.asarray(rec.items.category_codes),
                gender_codes=np.asarray(rec.items.gender_codes), vectors=rec.vectors)
    context = Pieces.from_rows(rows, **cols)
    for r in resp["recommendations"]:
        cand = Pieces.from_rows([rec.items.row_of(r["item_id"])], **cols)
        want = against_context(rec.compatibility, context, cand)
        assert r["score"] == pytest.approx(float(want.total[0]), abs=1e-4), r["item_id"]
        # and not its score with the shirt alone
        alone = against_context(rec.compatibility, context.take([0]), cand)
        assert abs(float(want.total[0]) - float(alone.total[0])) > 1e-6


def test_photos_and_ids_mixed_and_query_items_in_order(rec):
    shirt, sneakers = first(rec, "shirt"), first(rec, "sneakers")
    photo = decode_image(rec.item(sneakers)["source"])
    resp = rec.recommend(Query(pieces=[Piece(item_id=shirt), Piece(image=photo)]), Options(top_k=10))
    q0, q1 = resp["query_items"]
    assert q0["item_id"] == shirt and q1["item_id"] is None and q1["category_source"] == "vote"
    assert q1["colors"]
    ids = {r["item_id"] for r in resp["recommendations"]}
    assert shirt not in ids and sneakers not in ids  # the query item, and the photo's own item (a near-duplicate)
    assert not {r["group"] for r in resp["recommendations"]} & {"upperwear", "one-piece", q1["group"]}


def test_one_piece_forms_answer_as_before(rec):
    shirt = first(rec, "shirt")
    single = without_time(rec.recommend(Query(item_id=shirt), Options(top_k=6)))
    assert "query_items" not in single and single["query_item"]["item_id"] == shirt
    listed = without_time(rec.recommend(Query(pieces=[Piece(item_id=shirt)]), Options(top_k=6)))
    assert listed["query_items"] == [listed["query_item"]] == [single["query_item"]]
    assert listed["recommendations"] == single["recommendations"]


def test_query_ids_and_excluded_ids_are_never_recommended(rec):
    shirt, bag = first(rec, "shirt"), first(rec, "bag")
    other_bag = first(rec, "bag", 1)
    resp = rec.recommend(Query(pieces=[Piece(item_id=shirt), Piece(item_id=bag)]),
                         Options(top_k=50, items_per_category=10, exclude_ids=(other_bag,)))
    ids = {r["item_id"] for r in resp["recommendations"]}
    assert not ids & {shirt, bag, other_bag}
    assert resp["recommendations"]


@pytest.mark.parametrize("cats, message", [
    (("shirt", "pants", "skirt"), "items[1] (pants) and items[2] (skirt) both fill the bottom slot; an outfit holds one"),
    (("dress", "skirt"), "items[0] (dress) and items[1] (skirt) cannot be worn together (a one-piece is not worn with a bottom)"),
    (("shorts", "pants"), "items[0] (shorts) and items[1] (pants) both fill the bottom slot; an outfit holds one"),
    (("jumpsuit", "tshirt"), "items[0] (jumpsuit) and items[1] (tshirt) cannot be worn together (a one-piece is not worn with a top)"),
    (("shirt", "jacket", "coat"), "items[1] (jacket) and items[2] (coat) both fill the outerwear slot; an outfit holds one"),
    (("bag", "sneakers", "heels"), "items[1] (sneakers) and items[2] (heels) both fill the footwear slot; an outfit holds one"),
])
def test_pieces_that_cannot_be_worn_together_are_named(rec, cats, message):
    pieces = [Piece(item_id=first(rec, c)) for c in cats]
    with pytest.raises(IncompatiblePieces) as e:
        rec.recommend(Query(pieces=pieces))
    assert e.value.status == 422 and e.value.code == "incompatible_pieces"
    assert e.value.message == message


def test_query_errors_name_the_piece(rec):
    bag = first(rec, "bag")
    with pytest.raises(IncompatiblePieces, match=r"items\[0\] and items\[1\] are the same item"):
        rec.recommend(Query(pieces=[Piece(item_id=bag), Piece(item_id=bag)]))
    with pytest.raises(UnknownItem, match=r"^items\[1\]: unknown item_id 'nope'") as e:
        rec.recommend(Query(pieces=[Piece(item_id=bag), Piece(item_id="nope")]))
    assert e.value.status == 404
    with pytest.raises(UnknownItem) as e:  # the one-piece form: 422 as it always was
        rec.recommend(Query(item_id="nope"))
    assert e.value.status == 422 and e.value.message == "unknown item_id 'nope'"
    with pytest.raises(InvalidInput, match="category overrides a one-piece query"):
        rec.recommend(Query(pieces=[Piece(item_id=bag), Piece(item_id=first(rec, "shirt"))]), Options(category="dress"))
    with pytest.raises(InvalidInput, match=rf"items has {MAX_PIECES + 1} pieces; the limit is {MAX_PIECES}"):
        Query(pieces=[Piece(item_id=bag)] * (MAX_PIECES + 1))
    with pytest.raises(InvalidInput, match="items is empty"):
        Query(pieces=[])
    with pytest.raises(InvalidInput, match=r"items\[0\].text must be a non-empty string"):
        Query(pieces=[Piece(text=" ", label="items[0]")])


# ---- a real server with workers -----------------------------------------------------------------
def test_server_answers_a_mixed_query(server, rec):
    shirt, sneakers = first(rec, "shirt"), first(rec, "sneakers")
    out = assert_outfit(post(server, {"items": [{"item_id": shirt}, {"image": jpeg_b64(rec, sneakers)}],
                                      "top_k": 6, "include_thumbnails": True}), top_k=6)
    assert "query_item" not in out
    assert [q["item_id"] for q in out["query_items"]] == [shirt, None]
    assert out["query_items"][0]["thumbnail_data"].startswith("data:image/")
    assert not {r["group"] for r in out["recommendations"]} & {"upperwear", "one-piece"}
    assert out["query_items"][1]["category"] not in {r["category"] for r in out["recommendations"]}
    assert all(r["thumbnail_url"].startswith("/items/") for r in out["recommendations"])


def _bad_cases(rec) -> list[tuple[str, dict, int, str, str]]:
    shirt, pants, skirt, dress = (first(rec, c) for c in ("shirt", "pants", "skirt", "dress"))
    return [
        ("nine pieces", {"items": [{"item_id": shirt}] * 9}, 422, "invalid_input",
         "items has 9 pieces; the limit is 8 (items[8] is one too many)"),
        ("empty items", {"items": []}, 422, "invalid_input", "items is empty; give 1 to 8 pieces"),
        ("two kinds in a piece", {"items": [{"item_id": shirt}, {"item_id": pants, "text": "navy"}]}, 422, "invalid_input",
         "items[1]: a piece needs exactly one of image, image_s3_uri, item_id or text (got item_id, text)"),
        ("no kind in a piece", {"items": [{"item_id": shirt}, {}]}, 422, "invalid_input",
         "items[1]: a piece needs exactly one of image, image_s3_uri, item_id or text"),
        ("unknown id in items", {"items": [{"item_id": shirt}, {"item_id": "no-such-item"}]}, 404, "unknown_item",
         "items[1]: unknown item_id 'no-such-item'"),
        ("items beside image", {"items": [{"item_id": shirt}], "image": "AAAA"}, 422, "invalid_input",
         "give the query as items or as one top-level image, image_s3_uri, item_id or text, not both (got items and image)"),
        ("items beside item_id", {"items": [{"item_id": shirt}], "item_id": shirt}, 422, "invalid_input",
         "give the query as items or as one top-level image, image_s3_uri, item_id or text, not both (got items and item_id)"),
        ("two bottoms", {"items": [{"item_id": pants}, {"item_id": skirt}]}, 422, "incompatible_pieces",
         "items[0] (pants) and items[1] (skirt) both fill the bottom slot; an outfit holds one"),
        ("a dress and a skirt", {"items": [{"item_id": dress}, {"item_id": skirt}]}, 422, "incompatible_pieces",
         "items[0] (dress) and items[1] (skirt) cannot be worn together (a one-piece is not worn with a bottom)"),
        ("the same item twice", {"items": [{"item_id": shirt}, {"item_id": shirt}]}, 422, "incompatible_pieces",
         f"items[0] and items[1] are the same item {shirt!r}"),
        ("unknown field in a piece", {"items": [{"item_id": shirt, "colour": "red"}]}, 422, "invalid_input",
         "items[0]: unknown field 'colour' (known: image, image_s3_uri, item_id, text)"),
        ("a piece that is not an object", {"items": [{"item_id": shirt}, "shirt"]}, 422, "invalid_input",
         "items[1] must be an object with one of image, image_s3_uri, item_id, text"),
        ("bad base64 in a piece", {"items": [{"item_id": shirt}, {"image": "***"}]}, 400, "bad_request",
         "items[1].image is not valid base64"),
        ("not a picture in a piece", {"items": [{"item_id": shirt}, {"image": base64.b64encode(b"not a picture").decode()}]},
         422, "invalid_image", "items[1]: not an image (unrecognised format)"),
        ("text on a lite artifact", {"items": [{"item_id": shirt}, {"text": "white sneakers"}]}, 422, "unsupported_query",
         "items[1]: text queries need a CLIP artifact"),
        ("s3 outside the allow-list", {"items": [{"image_s3_uri": "s3://elsewhere/a.jpg"}]}, 422, "s3_bucket_not_allowed",
         "items[0]: "),
    ]


def test_server_bad_items_name_the_piece(server, rec):
    for name, body, status, code, message in _bad_cases(rec):
        err = assert_error(post(server, body), status, code)
        assert err["message"].startswith(message), (name, err["message"])
    assert httpx.get(server.url + "/ping").status_code == 200


def test_openapi_documents_items(server):
    doc = httpx.get(server.url + "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    items = schemas["RecommendRequest"]["properties"]["items"]
    branch = next(b for b in items["anyOf"] if b.get("type") == "array")
    assert branch["minItems"] == 1 and branch["maxItems"] == MAX_PIECES
    assert branch["items"] == {"$ref": "#/components/schemas/QueryPiece"}
    piece = schemas["QueryPiece"]
    assert set(piece["properties"]) == {"image", "image_s3_uri", "item_id", "text"}
    assert piece["additionalProperties"] is False
    assert next(b for b in piece["properties"]["text"]["anyOf"] if b.get("type") == "string")["maxLength"] == 1000


# ---- the CLI ------------------------------------------------------------------------------------
def test_cli_several_pieces(lite_artifact, rec):
    shirt, sneakers = first(rec, "shirt"), first(rec, "sneakers")
    photo = rec.item(sneakers)["source"]
    r = stygig("recommend", lite_artifact, "--item", shirt, photo, "--json", "--top-k", "5")
    assert r.returncode == 0, r.stderr
    resp = json.loads(r.stdout)
    assert [q["item_id"] for q in resp["query_items"]] == [None, shirt]  # photos first, then --item/--text in order
    assert not {x["group"] for x in resp["recommendations"]} & {"upperwear", "one-piece"}
    r = stygig("recommend", lite_artifact, "--item", shirt, "--item", sneakers)
    assert r.returncode == 0, r.stderr
    assert shirt in r.stdout and sneakers in r.stdout.splitlines()[1]


def test_cli_bad_pieces_are_one_line(lite_artifact, rec):
    pants, skirt, shirt = first(rec, "pants"), first(rec, "skirt"), first(rec, "shirt")
    _one_line_error(stygig("recommend", lite_artifact, "--item", pants, "--item", skirt),
                    f"--item {pants} (pants) and --item {skirt} (skirt) both fill the bottom slot; an outfit holds one")
    _one_line_error(stygig("recommend", lite_artifact, *[a for _ in range(9) for a in ("--item", shirt)]),
                    "the query has 9 pieces; the limit is 8")
    _one_line_error(stygig("recommend", lite_artifact), "give 1 to 8 pieces")
    _one_line_error(stygig("recommend", lite_artifact, "--item", shirt, "--item", "nope"), "--item nope: unknown item_id 'nope'")


# ---- the DLC handler ----------------------------------------------------------------------------
def test_dlc_handler_takes_the_same_items(lite_artifact, rec):
    from sagemaker_inference.errors import BaseInferenceToolkitError

    from stygig.serving import handler
    from test_handler import run_like_the_toolkit

    model = handler.model_fn(str(lite_artifact))
    shirt, sneakers, pants, skirt = (first(rec, c) for c in ("shirt", "sneakers", "pants", "skirt"))
    body = json.dumps({"items": [{"item_id": shirt}, {"image": jpeg_b64(rec, sneakers)}], "top_k": 4}).encode()
    out, ct = run_like_the_toolkit(model, body, "application/json")
    resp = json.loads(out)
    assert ct == "application/json" and [q["item_id"] for q in resp["query_items"]] == [shirt, None]
    assert 1 <= len(resp["recommendations"]) <= 4
    for items, status, code, message in (
        ([{"item_id": pants}, {"item_id": skirt}], 422, "incompatible_pieces", "items[0] (pants) and items[1] (skirt) both fill the bottom slot"),
        ([{"item_id": shirt}, {"item_id": "nope"}], 404, "unknown_item", "items[1]: unknown item_id 'nope'"),
        ([], 422, "invalid_input", "items is empty"),
    ):
        with pytest.raises(BaseInferenceToolkitError) as e:
            run_like_the_toolkit(model, json.dumps({"items": items}).encode(), "application/json")
        assert e.value.status_code == status
        err = json.loads(e.value.message)["error"]
        assert err["code"] == code and err["message"].startswith(message), err
