"""The live overlay (issue 14.5): STYGIG_OVERLAY re-read while serving, validated, swapped in whole.

The format's checks and the swap against the real Recommender; then the real server (`serve`,
two workers) with a local overlay file changed under it while a bounded loop of requests runs,
a bad overlay refused with one log line per worker, GET /model's age and rows; an s3:// overlay
on moto's server (its ETag) and the allow-list that covers it.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from aws_conftest import BUCKET, aws, moto_server, s3_url  # noqa: F401 - fixtures
from stygig.artifact.overlay import OverlayError, apply_overlay
from stygig.recommend import filters as F
from stygig.recommend.engine import Recommender
from stygig.recommend.query import Query
from stygig.schema import Options
from stygig.serving.child import stop
from stygig.serving.overlay import OverlayWatcher
from test_serving_server import start_server, wait_for, wait_workers_ready


@pytest.fixture(scope="module")
def rec(lite_artifact) -> Recommender:
    return Recommender.load(lite_artifact, verify=False)


def lines(*rows: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def rows_passing(rec: Recommender, f: dict, state=None) -> set[int]:
    allowed = rec.allowed(F.parse(f), state)
    return set(np.flatnonzero(allowed.mask).tolist())


# ---- the format --------------------------------------------------------------------------------
def test_overlay_replaces_values_and_keeps_the_rest(rec):
    ids = [it["id"] for it in rec.items]
    first, second = rec.items[0], rec.items[1]
    over = apply_overlay(lines(
        {"id": first["id"], "price": 1.5, "in_stock": not first["attributes"]["in_stock"], "brand": "Brand-New",
         "sizes": ["XXS", "M"]},
        {"id": second["id"], "price": None},
    ), "o.jsonl", rec.items.ids, rec.attributes)
    assert over.rows == 2 and over.attributes == ("brand", "in_stock", "price", "sizes") and over.added == {}
    cols = over.columns
    assert cols["price"].values[0] == 1.5 and np.isnan(cols["price"].values[1])
    assert np.array_equal(np.asarray(cols["price"].values)[2:], np.asarray(rec.attributes["price"].values)[2:])
    assert cols["in_stock"].values[0] == int(not first["attributes"]["in_stock"])
    # a new brand joins the vocabulary; every other item keeps its own brand
    vocab = np.asarray(cols["brand"].vocabulary)
    assert vocab[cols["brand"].values[0]] == b"Brand-New"
    for row in (1, len(ids) - 1):
        assert vocab[cols["brand"].values[row]].decode() == rec.items[row]["attributes"]["brand"]
    # lists: the overlaid row's new list, the others' unchanged
    s = cols["sizes"]
    sv, so = np.asarray(s.vocabulary), np.asarray(s.offsets)
    def sizes(row):
        return [sv[c].decode() for c in np.asarray(s.values)[so[row]:so[row + 1]]]
    assert sizes(0) == ["XXS", "M"]
    for row in (1, 7, len(ids) - 1):
        assert sizes(row) == rec.items[row]["attributes"]["sizes"]
    # the artifact's own columns are untouched
    assert rec.attributes["price"].values[0] == first["attributes"]["price"]


@pytest.mark.parametrize("body, message", [
    (b'{"id": "nope-0001", "price": 3}\n', "line 1: unknown item id 'nope-0001'"),
    (b'\n{"id": "%(a)s", "price": "cheap"}\n', "line 2: attribute 'price' is a string here but a number in the artifact"),
    (b'{"id": "%(a)s", "in_stock": 1}\n', "line 1: attribute 'in_stock' is a number here but a boolean"),
    (b'{"id": "%(a)s", "brand": "%(long)s"}\n', "attribute 'brand' is a long string here but a string"),
    (b'{"id": "%(a)s"}\n{"id": "%(a)s", "price": 2}\n', "line 2: item '%(a)s' is already on line 1"),
    (b'{"id": "%(a)s", "price": 2\n', "line 1: not JSON"),
    (b'[1, 2]\n', "line 1: must be a JSON object"),
    (b'{"price": 2}\n', "line 1: needs an \"id\" string"),
    (b'{"id": "%(a)s", "sale": true}\n{"id": "%(b)s", "sale": "yes"}\n',
     "line 2: attribute 'sale' is a string here but a boolean on line 1"),
])
def test_bad_overlays_name_the_line(rec, body, message):
    subst = {"a": rec.items[0]["id"], "b": rec.items[1]["id"], "long": "x" * 200}
    with pytest.raises(OverlayError) as e:
        apply_overlay(body % {k.encode(): v.encode() for k, v in subst.items()}, "o.jsonl", rec.items.ids, rec.attributes)
    assert "overlay o.jsonl " in e.value.message
    assert (message % subst) in e.value.message, e.value.message


def test_a_new_attribute_is_typed_and_filterable(rec):
    a, b = rec.items[0]["id"], rec.items[3]["id"]
    over = apply_overlay(lines({"id": a, "sale": True, "rating": 7}, {"id": b, "sale": False, "rating": 2.5}),
                         "o.jsonl", rec.items.ids, rec.attributes)
    assert over.added == {"rating": "number", "sale": "boolean"}
    from stygig.recommend.attribute_state import AttributeState

    state = AttributeState(over.columns, values=over.values)
    assert rows_passing(rec, {"sale": True}, state) == {0}
    assert rows_passing(rec, {"rating": {"gte": 2}}, state) == {0, 3}
    with pytest.raises(Exception, match="unknown attribute 'sale'"):
        rec.allowed(F.parse({"sale": True}))  # the artifact's own state does not have it


# ---- the swap, in process ----------------------------------------------------------------------
def test_swap_changes_filters_and_responses_and_keeps_the_artifact_as_base(rec, tmp_path):
    shirt = next(it for it in rec.items if it["category"] == "shirt")
    query = Query(item_id=shirt["id"])
    opts = Options.from_dict({"filters": {"in_stock": True}, "top_k": 5}, rec.taxonomy)
    before = rec.recommend(query, opts)
    chosen = [r["item_id"] for r in before["recommendations"]]
    base = rec.attribute_state
    path = tmp_path / "overlay.jsonl"
    path.write_bytes(lines(*({"id": i, "in_stock": False, "price": 0.5} for i in chosen[1:]),
                           {"id": chosen[0], "price": 0.25, "brand": "Overlaid"}))
    watcher = OverlayWatcher(rec, str(path), 3600, frozenset())
    try:
        assert watcher.check() is True
        after = rec.recommend(query, opts)
        got = {r["item_id"]: r for r in after["recommendations"]}
        assert not set(chosen[1:]) & set(got), "items the overlay put out of stock still pass in_stock=true"
        assert got[chosen[0]]["attributes"]["price"] == 0.25 and got[chosen[0]]["attributes"]["brand"] == "Overlaid"
        assert rec.describe()["attributes"] == {n: c.type for n, c in base.columns.items()}
        assert watcher.check() is False  # unchanged: not read again
        # a bad overlay is refused; the last good one stays
        write_atomically(path, b'{"id": "no-such-item", "price": 1}\n')
        assert watcher.check() is False
        assert "unknown item id 'no-such-item'" in watcher.refused["message"]
        assert rec.recommend(query, opts)["recommendations"] == after["recommendations"]
        # the next overlay applies over the artifact, not over the previous overlay
        write_atomically(path, lines({"id": chosen[0], "price": 9.75}))
        assert watcher.check() is True
        again = rec.recommend(query, opts)
        assert [r["item_id"] for r in again["recommendations"]] == chosen
        first = again["recommendations"][0]["attributes"]
        assert first["price"] == 9.75 and first["brand"] == shirt_brand(rec, chosen[0])
        assert watcher.describe()["rows"] == 1 and watcher.describe()["refused"] is None
    finally:
        rec.swap_attributes(base)


def shirt_brand(rec: Recommender, item_id: str) -> str:
    return rec.item(item_id)["attributes"]["brand"]


def test_recent_filters_are_built_before_the_swap(rec, tmp_path):
    base = rec.attribute_state
    try:
        rec.allowed(F.parse({"price": {"lte": 50}}))
        path = tmp_path / "o.jsonl"
        path.write_bytes(lines({"id": rec.items[0]["id"], "price": 10.0}))
        watcher = OverlayWatcher(rec, str(path), 3600, frozenset())
        watcher.check()
        assert F.parse({"price": {"lte": 50}}) in rec.attribute_state.cache.filters()
        assert 0 in rows_passing(rec, {"price": {"lte": 50}})
    finally:
        rec.swap_attributes(base)


# ---- the real server ---------------------------------------------------------------------------
def _ask(url: str, item_id: str) -> httpx.Response:
    return httpx.post(url + "/invocations", json={"item_id": item_id, "top_k": 6, "filters": {"in_stock": True}},
                      timeout=30)


def _until(predicate, timeout: float, what: str):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def test_server_applies_a_changed_overlay_without_a_restart_and_no_request_fails(lite_artifact, rec, tmp_path):
    shirt = next(it for it in rec.items if it["category"] == "shirt")
    path = tmp_path / "overlay.jsonl"
    first = _ask_engine(rec, shirt["id"])
    path.write_bytes(lines({"id": first[0], "price": 1.25}))
    srv = start_server(lite_artifact, tmp_path, workers=2,
                       env={"STYGIG_OVERLAY": str(path), "STYGIG_OVERLAY_SECONDS": "1"})
    try:
        wait_for(srv)
        wait_workers_ready(srv, 2)
        # the overlay applied before /ping said 200, in every worker
        applied = [l for l in srv.log_lines() if l.get("event") == "overlay_applied"]
        assert len({l["pid"] for l in applied}) == 2 and all(l["rows"] == 1 for l in applied)
        out = _ask(srv.url, shirt["id"]).json()
        by_id = {r["item_id"]: r for r in out["recommendations"]}
        assert by_id[first[0]]["attributes"]["price"] == 1.25
        model = httpx.get(srv.url + "/model", timeout=10).json()
        assert model["overlay"]["rows"] == 1 and model["overlay"]["source"] == str(path)
        assert 0 <= model["overlay"]["age_seconds"] < 120 and model["overlay"]["every_seconds"] == 1

        # requests run while the overlay changes: none fails, and the answers change
        statuses: list = []
        seen: list[list[str]] = []
        stop_at = time.monotonic() + 30

        def load() -> None:
            with httpx.Client(timeout=30) as client:
                while time.monotonic() < stop_at and len(statuses) < 400:
                    try:
                        r = client.post(srv.url + "/invocations",
                                        json={"item_id": shirt["id"], "top_k": 6, "filters": {"in_stock": True}})
                        statuses.append(r.status_code)
                        if r.status_code == 200:
                            seen.append([x["item_id"] for x in r.json()["recommendations"]])
                    except httpx.HTTPError as e:  # pragma: no cover - reported by the assertion
                        statuses.append(type(e).__name__)

        threads = [threading.Thread(target=load) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        gone = first[:3]
        t_change = time.monotonic()
        write_atomically(path, lines(*({"id": i, "in_stock": False} for i in gone)))
        # both workers answer without the items the overlay took out of stock (within the interval)
        _until(lambda: len(seen) > 10 and all(not set(gone) & set(s) for s in seen[-10:]), 15, "answers change")
        assert time.monotonic() - t_change < 10
        stop_at = 0
        for t in threads:
            t.join()
        assert statuses and all(s == 200 for s in statuses), sorted(set(map(str, statuses)))
        assert any(set(gone) & set(s) for s in seen), "no request ran before the swap"
        pids = {l["pid"] for l in srv.log_lines() if l.get("event") == "overlay_applied"}
        assert len(pids) == 2

        # a bad overlay: one log line per worker, the last good one stays
        write_atomically(path, b'{"id": "no-such-item", "in_stock": true}\n')
        refused = _until(lambda: (lambda r: r if len({l["pid"] for l in r}) == 2 else None)(
            [l for l in srv.log_lines() if l.get("event") == "overlay_refused"]), 15, "both workers refuse")
        time.sleep(2.5)  # more looks at the same bad file log nothing more
        refused = [l for l in srv.log_lines() if l.get("event") == "overlay_refused"]
        assert len(refused) == 2 and all("line 1: unknown item id 'no-such-item'" in l["message"] for l in refused)
        for _ in range(6):
            ids = [x["item_id"] for x in _ask(srv.url, shirt["id"]).json()["recommendations"]]
            assert not set(gone) & set(ids)
        model = httpx.get(srv.url + "/model", timeout=10).json()
        assert model["overlay"]["rows"] == 3 and "no-such-item" in model["overlay"]["refused"]["message"]
    finally:
        assert stop(srv.proc) == 0


def _ask_engine(rec: Recommender, item_id: str) -> list[str]:
    opts = Options.from_dict({"filters": {"in_stock": True}, "top_k": 6}, rec.taxonomy)
    return [r["item_id"] for r in rec.recommend(Query(item_id=item_id), opts)["recommendations"]]


# ---- S3 ----------------------------------------------------------------------------------------
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def test_s3_overlay_follows_its_etag_within_the_allow_list(lite_artifact, rec, tmp_path, s3_url):
    import boto3

    s3 = boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket="shop-data")
    shirt = next(it for it in rec.items if it["category"] == "shirt")
    first = _ask_engine(rec, shirt["id"])
    s3.put_object(Bucket="shop-data", Key="live/overlay.jsonl", Body=lines({"id": first[0], "price": 2.5}))
    env = dict(CREDS, AWS_ENDPOINT_URL_S3=s3_url, STYGIG_OVERLAY="s3://shop-data/live/overlay.jsonl",
               STYGIG_OVERLAY_SECONDS="1", STYGIG_ALLOWED_S3_BUCKETS="shop-data")
    srv = start_server(lite_artifact, tmp_path, workers=1, env=env)
    try:
        wait_for(srv)
        by_id = {r["item_id"]: r for r in _ask(srv.url, shirt["id"]).json()["recommendations"]}
        assert by_id[first[0]]["attributes"]["price"] == 2.5
        model = httpx.get(srv.url + "/model", timeout=10).json()["overlay"]
        assert model["rows"] == 1 and model["version"].strip('"') and model["age_seconds"] is not None
        s3.put_object(Bucket="shop-data", Key="live/overlay.jsonl", Body=lines({"id": first[0], "in_stock": False}))
        _until(lambda: first[0] not in [r["item_id"] for r in _ask(srv.url, shirt["id"]).json()["recommendations"]],
               15, "the new object applies")
    finally:
        assert stop(srv.proc) == 0
    # an overlay in a bucket outside the allow-list stops serve at start, in one line
    env["STYGIG_ALLOWED_S3_BUCKETS"] = "other-bucket"
    srv = start_server(lite_artifact, tmp_path, workers=1, env=env)
    code = srv.proc.wait(60)
    text = srv.log.read_text()
    assert code == 2, text
    assert "STYGIG_OVERLAY s3://shop-data/live/overlay.jsonl: bucket 'shop-data' is not in STYGIG_ALLOWED_S3_BUCKETS" in text
    assert len(text.strip().splitlines()) == 1, text


# ---- AWS: deploy --overlay, the config file's key, doctor (moto's server) ----------------------


def _archive(aws) -> str:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("manifest.json")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"{}"))
    aws.client("s3").put_object(Bucket=BUCKET, Key="models/m/model.tar.gz", Body=buf.getvalue())
    return f"s3://{BUCKET}/models/m/model.tar.gz"


def _model_env(aws, endpoint: str) -> dict:
    sm = aws.client("sagemaker")
    ec = sm.describe_endpoint_config(EndpointConfigName=sm.describe_endpoint(EndpointName=endpoint)["EndpointConfigName"])
    return sm.describe_model(ModelName=ec["ProductionVariants"][0]["ModelName"])["PrimaryContainer"]["Environment"]


def test_deploy_overlay_reaches_the_model_and_doctor_shows_its_rows_and_age(aws, tmp_path, capsys):
    from stygig.cli import main

    uri = _archive(aws)
    overlay = f"s3://{BUCKET}/live/overlay.jsonl"
    aws.client("s3").put_object(Bucket=BUCKET, Key="live/overlay.jsonl",
                                Body=lines({"id": "a", "price": 1}, {"id": "b", "in_stock": False}, {"id": "c"}))
    rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "shop", "--overlay", overlay,
               "--overlay-seconds", "10", "--allowed-s3-bucket", "catalog-images", *aws.base_args()])
    assert rc == 0, capsys.readouterr()
    env = _model_env(aws, "shop")
    assert env["STYGIG_OVERLAY"] == overlay and env["STYGIG_OVERLAY_SECONDS"] == "10"
    assert env["STYGIG_ALLOWED_S3_BUCKETS"] == f"catalog-images,{BUCKET}"  # the allow-list covers the overlay
    capsys.readouterr()
    rc = main(["aws", "doctor", "shop", "--region", "us-east-1"])
    out = capsys.readouterr().out
    assert rc == 0, out
    (line,) = [l for l in out.splitlines() if l.startswith("overlay ")]
    assert " ok " in line and f"{overlay}: 3 rows, " in line and " s old (looked at every 10 s)" in line, line
    # an overlay not (yet) written: a warning, the endpoint serves the artifact's attributes
    aws.client("s3").delete_object(Bucket=BUCKET, Key="live/overlay.jsonl")
    rc = main(["aws", "doctor", "shop", "--region", "us-east-1"])
    out = capsys.readouterr().out
    (line,) = [l for l in out.splitlines() if l.startswith("overlay ")]
    assert rc == 0 and " warn " in line and "not found" in line, line


def test_config_file_carries_the_overlay_and_bad_ones_are_refused(aws, tmp_path, capsys):
    from stygig.aws.config import load_config
    from stygig.cli import main

    cfg_file = tmp_path / "stygig.toml"
    cfg_file.write_text(f'[endpoint]\noverlay = "s3://{BUCKET}/live/o.jsonl"\noverlay_seconds = 45\n', encoding="utf-8")
    cfg = load_config(cfg_file, environ={})
    env = cfg.container_environment()
    assert env["STYGIG_OVERLAY"] == f"s3://{BUCKET}/live/o.jsonl" and env["STYGIG_OVERLAY_SECONDS"] == "45"
    assert env["STYGIG_ALLOWED_S3_BUCKETS"] == BUCKET
    assert cfg.sources["endpoint.overlay"] == f"file {cfg_file}"
    rc = main(["aws", "doctor", "--config", str(cfg_file)])
    out = capsys.readouterr().out
    assert any(l.startswith("overlay ") and f"s3://{BUCKET}/live/o.jsonl (looked at every 45 s" in l
               for l in out.splitlines()), out
    uri = _archive(aws)
    for extra, message in (
        (["--overlay", "/data/overlay.jsonl"], "endpoint.overlay must be an s3:// URI of a JSON Lines object"),
        (["--overlay", f"s3://{BUCKET}/live/"], "names no object"),
        (["--overlay", f"s3://{BUCKET}/o.jsonl", "--network-isolation"], "endpoint.overlay needs the network"),
        (["--overlay", f"s3://{BUCKET}/o.jsonl", "--overlay-seconds", "0"], "endpoint.overlay_seconds must be between 1"),
    ):
        rc = main(["aws", "deploy", "--model-uri", uri, "--endpoint-name", "bad", *extra, *aws.base_args()])
        err = capsys.readouterr().err
        assert rc == 2 and message in err and err.count("\n") == 1, err
    assert not aws.client("sagemaker").list_models()["Models"]


def test_overlay_settings_are_checked_at_start(tmp_path):
    from stygig.errors import StygigError
    from stygig.serving.config import ServingConfig

    with pytest.raises(StygigError, match="STYGIG_OVERLAY_SECONDS must be between 1 and 86400, got 0"):
        ServingConfig.from_env({"STYGIG_OVERLAY": "o.jsonl", "STYGIG_OVERLAY_SECONDS": "0"})
    with pytest.raises(StygigError, match="STYGIG_OVERLAY s3://b-1/ names no object"):
        ServingConfig.from_env({"STYGIG_OVERLAY": "s3://b-1/", "STYGIG_ALLOWED_S3_BUCKETS": "b-1"})
    config = ServingConfig.from_env({"STYGIG_OVERLAY": "s3://b-1/o.jsonl", "STYGIG_ALLOWED_S3_BUCKETS": "b-1"})
    assert (config.overlay, config.overlay_seconds) == ("s3://b-1/o.jsonl", 30)
    assert ServingConfig.from_env(config.to_env()).overlay == "s3://b-1/o.jsonl"


def test_a_missing_file_is_one_line_and_applies_when_it_appears(rec, tmp_path, caplog):
    import logging

    base = rec.attribute_state
    path = tmp_path / "later.jsonl"
    watcher = OverlayWatcher(rec, str(path), 3600, frozenset())
    try:
        with caplog.at_level(logging.WARNING, logger="stygig.serving"):
            assert watcher.check() is False and watcher.check() is False
        refused = [r for r in caplog.records if getattr(r, "fields", {}).get("event") == "overlay_refused"]
        assert len(refused) == 1 and "no such file" in refused[0].getMessage()
        assert rec.attribute_state is base
        path.write_bytes(lines({"id": rec.items[2]["id"], "price": 4.0}))
        assert watcher.check() is True and rec.attributes["price"].values[2] == 4.0
    finally:
        rec.swap_attributes(base)


def test_dlc_model_fn_applies_and_watches_the_overlay(lite_artifact, rec, tmp_path, monkeypatch):
    from stygig.serving.handler import input_fn, model_fn, predict_fn

    shirt = next(it for it in rec.items if it["category"] == "shirt")
    first = _ask_engine(rec, shirt["id"])
    path = tmp_path / "dlc-overlay.jsonl"
    path.write_bytes(lines({"id": first[0], "price": 3.5}))
    monkeypatch.setenv("STYGIG_OVERLAY", str(path))
    monkeypatch.setenv("STYGIG_OVERLAY_SECONDS", "1")
    model = model_fn(str(lite_artifact))
    body = json.dumps({"item_id": shirt["id"], "top_k": 6, "filters": {"in_stock": True}})

    def answer() -> dict:
        return {r["item_id"]: r for r in predict_fn(input_fn(body, "application/json"), model)["recommendations"]}

    assert answer()[first[0]]["attributes"]["price"] == 3.5
    write_atomically(path, lines({"id": first[0], "in_stock": False}))
    _until(lambda: first[0] not in answer(), 10, "the DLC worker applies the changed overlay")


def test_boosts_rank_by_the_overlay_and_are_built_ahead(rec, tmp_path):
    from stygig.recommend import boost as B

    base = rec.attribute_state
    shirt = next(it for it in rec.items if it["category"] == "shirt")
    query = Query(item_id=shirt["id"])
    opts = Options.from_dict({"boost": {"popularity": 0.5}, "top_k": 8}, rec.taxonomy)
    try:
        plain = rec.recommend(query, Options.from_dict({"top_k": 8}, rec.taxonomy))
        last = plain["recommendations"][-1]["item_id"]
        rec.recommend(query, opts)  # the boost's ranks of the artifact's popularity, cached
        path = tmp_path / "o.jsonl"
        path.write_bytes(lines({"id": last, "popularity": 10 ** 9}))
        watcher = OverlayWatcher(rec, str(path), 3600, frozenset())
        assert watcher.check() is True
        state = rec.attribute_state
        assert "popularity" in state.quantiles  # built before the swap
        assert state.quantiles["popularity"][rec.items.row_of(last)] == 1.0
        assert np.array_equal(state.quantiles["popularity"], B.quantiles(state.columns["popularity"].values))
        out = rec.recommend(query, opts)
        top = {r["item_id"]: r for r in out["recommendations"]}
        assert top[last]["boost_score"] == 1.0 and top[last]["attributes"]["popularity"] == 10 ** 9
    finally:
        rec.swap_attributes(base)


def _decoded(col, row: int):
    """One row's value of a column, as the catalog wrote it (None: missing)."""
    v = np.asarray(col.values)
    if col.type == "number":
        return None if np.isnan(v[row]) else float(v[row])
    if col.type == "boolean":
        return None if v[row] < 0 else bool(v[row])
    vocab = np.asarray(col.vocabulary)
    if col.type == "string":
        return None if v[row] < 0 else vocab[v[row]].decode()
    off = np.asarray(col.offsets)
    got = [vocab[c].decode() for c in v[off[row]:off[row + 1]]]
    return got or None


def test_overlay_columns_hold_what_a_build_of_the_merged_catalog_holds(rec, tmp_path):
    """Random overlays (fixed seed) over every typed attribute: each row of every new column reads
    as the column a build writes from the catalog with the overlay's values merged in."""
    from stygig.artifact.attributes import AttributeCollector, load_columns

    rng = np.random.default_rng(3)
    n = rec.n_items
    stored = [dict(rec.items[r].get("attributes") or {}) for r in range(n)]
    brands = sorted({a["brand"] for a in stored if "brand" in a}) + ["Zeta-New", "Aaa-New"]
    for trial in range(3):
        rows = sorted(rng.choice(n, size=n // 3, replace=False).tolist())
        overlay = []
        for r in rows:
            line: dict = {"id": rec.items[r]["id"]}
            for name, make in (("price", lambda: round(float(rng.uniform(1, 500)), 2)),
                               ("in_stock", lambda: bool(rng.random() < 0.5)),
                               ("brand", lambda: brands[int(rng.integers(len(brands)))]),
                               ("sizes", lambda: sorted({str(s) for s in rng.choice(["XS", "S", "M", "L", "XXL", "3XL"],
                                                                                     size=int(rng.integers(0, 4)))}))):
                pick = rng.random()
                if pick < 0.5:
                    line[name] = make()
                elif pick < 0.6:
                    line[name] = None
            overlay.append(line)
        over = apply_overlay(lines(*overlay), "o.jsonl", rec.items.ids, rec.attributes)
        merged = [dict(a) for a in stored]
        for line in overlay:
            r = rec.items.row_of(line["id"])
            for k, v in line.items():
                if k != "id":
                    if v is None or v == []:
                        merged[r].pop(k, None)
                    else:
                        merged[r][k] = v
        collector = AttributeCollector(n)
        for r in range(n):
            collector.add(r, rec.items[r]["id"], merged[r])
        art = tmp_path / f"built-{trial}"
        built = load_columns(art, {"attributes": collector.write(art)}, n)
        for name in ("price", "in_stock", "brand", "sizes"):
            for r in range(n):
                assert _decoded(over.columns[name], r) == _decoded(built[name], r), (trial, name, r)
            # and filters read both alike
        for f in ({"brand": {"in": ["Zeta-New", brands[0]]}}, {"sizes": {"contains": "M"}}, {"in_stock": False},
                  {"price": {"lte": 100}}, {"not": {"brand": "Aaa-New"}}):
            assert np.array_equal(F.compile_mask(F.parse(f), over.columns, n), F.compile_mask(F.parse(f), built, n)), f
