"""The DLC handler: the four functions called as the AWS inference toolkit calls them, both
directly and through the toolkit's own Transformer on a `stygig package` archive."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tarfile
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

from stygig.serving import handler
from stygig.aws.package import package_artifact
from stygig.aws.vendor import DLC_SHIPS
from test_serving_server import catalog_items


@pytest.fixture(scope="module")
def model(lite_artifact):
    return handler.model_fn(str(lite_artifact))


@pytest.fixture(scope="module")
def photo(lite_artifact) -> bytes:
    items = catalog_items(lite_artifact)
    return Path(next(it for it in items if it["category"] == "shirt")["source"]).read_bytes()


def run_like_the_toolkit(model, body, content_type, accept="application/json"):
    """The toolkit's default transform: str for JSON bodies, bytes otherwise; tuple output."""
    if content_type == "application/json" and isinstance(body, bytes):
        body = body.decode("utf-8")
    data = handler.input_fn(body, content_type)
    prediction = handler.predict_fn(data, model)
    return handler.output_fn(prediction, accept)


def test_four_functions_json_and_raw(model, photo):
    body, ct = run_like_the_toolkit(model, json.dumps({"image": base64.b64encode(photo).decode(), "top_k": 3}).encode(), "application/json")
    assert ct == "application/json"
    a = json.loads(body)
    assert 1 <= len(a["recommendations"]) <= 3
    body, ct = run_like_the_toolkit(model, photo, "image/jpeg")
    b = json.loads(body)
    # one codec, one engine: the same picture gives the same outfit whichever way it came
    assert [r["item_id"] for r in a["recommendations"]] == [r["item_id"] for r in b["recommendations"]][:3]


def test_errors_carry_their_status_to_the_toolkit(model):
    from sagemaker_inference.errors import BaseInferenceToolkitError

    with pytest.raises(BaseInferenceToolkitError) as e:
        run_like_the_toolkit(model, b"not a picture", "image/jpeg")
    assert e.value.status_code == 422
    assert json.loads(e.value.message)["error"]["code"] == "invalid_image"
    with pytest.raises(BaseInferenceToolkitError) as e:
        handler.input_fn("x", "text/csv")
    assert e.value.status_code == 415
    with pytest.raises(BaseInferenceToolkitError) as e:
        run_like_the_toolkit(model, b"{}", "application/json", accept="text/csv")
    assert e.value.status_code == 422  # no query given: refused before the Accept is looked at
    with pytest.raises(BaseInferenceToolkitError) as e:
        run_like_the_toolkit(model, json.dumps({"item_id": "shirt-0000"}), "application/json", accept="text/csv")
    assert e.value.status_code == 406


def test_json_lines_one_answer_per_line_bad_lines_in_place(model):
    lines = [
        json.dumps({"item_id": "shirt-0001", "top_k": 2}),
        "{bad json",
        json.dumps({"item_id": "no-such-item"}),
        json.dumps({"item_id": "shirt-0002"}),
    ]
    body, ct = run_like_the_toolkit(model, ("\n".join(lines) + "\n").encode(), "application/jsonlines", accept="application/jsonlines")
    assert ct == "application/jsonlines"
    got = [json.loads(line) for line in body.decode().splitlines()]
    assert len(got) == 4
    single, _ = run_like_the_toolkit(model, lines[0].encode(), "application/json")
    a, b = json.loads(single), got[0]
    a["metadata"].pop("processing_time_ms"), b["metadata"].pop("processing_time_ms")
    assert a == b  # the same answer a single request gets
    assert got[1]["error"]["code"] == "bad_request" and got[2]["error"]["code"] == "unknown_item"
    assert got[3]["query_item"]["item_id"] == "shirt-0002"
    from sagemaker_inference.errors import BaseInferenceToolkitError

    with pytest.raises(BaseInferenceToolkitError) as e:
        run_like_the_toolkit(model, lines[0].encode(), "application/jsonlines", accept="text/csv")
    assert e.value.status_code == 406
    with pytest.raises(BaseInferenceToolkitError) as e:
        handler.input_fn(b"", "application/jsonl")
    assert e.value.status_code == 400


def test_model_fn_refuses_a_broken_artifact(tmp_path):
    from sagemaker_inference.errors import BaseInferenceToolkitError

    with pytest.raises(BaseInferenceToolkitError) as e:
        handler.model_fn(str(tmp_path))
    assert e.value.status_code == 500 and "manifest.json" in e.value.message


# ---- the packaged archive, driven by the toolkit's Transformer in a fresh interpreter ----------
TOOLKIT_DRIVER = textwrap.dedent(
    """
    import importlib.metadata as md, json, sys
    model_dir = sys.argv[1]
    sys.path.insert(0, model_dir + "/code")          # what the container does with code/
    from sagemaker_inference.transformer import Transformer

    class RequestProcessor:                           # the model server's per-request view
        def __init__(self, headers): self.headers = headers
        def get_request_properties(self): return self.headers

    class Context:                                    # the parts of mms.context.Context used
        def __init__(self, headers):
            self.system_properties = {"model_dir": model_dir}
            self.request_processor = [RequestProcessor(headers)]
            self.status = (200, "OK"); self.content_type = None
        def set_response_status(self, code, phrase): self.status = (code, phrase)
        def set_response_content_type(self, idx, ct): self.content_type = ct

    transformer = Transformer()
    baseline = set(sys.modules)                       # the toolkit's own imports
    results = []
    for body, headers in json.loads(sys.stdin.read()):
        body = bytes.fromhex(body)
        ctx = Context(headers)
        out = transformer.transform([{"body": body}], ctx)[0]
        results.append({"status": ctx.status[0], "content_type": ctx.content_type,
                        "body": out.decode() if isinstance(out, bytes) else out})
    import stygig
    ours = {m.split(".")[0] for m in set(sys.modules) - baseline}
    third_party = sorted(ours - set(sys.stdlib_module_names) - {"stygig", "inference", "__main__", "sagemaker_inference"})
    dists = sorted({d for m in third_party for d in md.packages_distributions().get(m, [])})
    print(json.dumps({"results": results, "stygig_file": stygig.__file__, "distributions": dists}))
    """
)

def _norm(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(names: set[str]) -> set[str]:
    import re

    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = _norm(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for r in reqs:
            if "extra ==" in r:
                continue
            todo.append(re.split(r"[ ;<>=!~\[]", r, maxsplit=1)[0])
    return seen


def test_packaged_archive_served_by_the_toolkit(lite_artifact, tmp_path, photo):
    tar_path = package_artifact(lite_artifact, tmp_path / "model.tar.gz")
    with tarfile.open(tar_path) as tf:
        names = set(tf.getnames())
        requirements = tf.extractfile("code/requirements.txt").read().decode().split()
        inference = tf.extractfile("code/inference.py").read().decode()
        model_dir = tmp_path / "opt-ml-model"
        tf.extractall(model_dir, filter="data")
    assert {"manifest.json", "vectors.npy", "items/meta.jsonl", "code/inference.py", "code/requirements.txt", "code/stygig/__init__.py"} <= names
    assert "from stygig.serving.handler import input_fn, model_fn, output_fn, predict_fn" in inference
    assert sorted(r.split("==")[0] for r in requirements) == ["faiss-cpu", "pydantic"]  # lite: no onnxruntime
    assert all("==" in r for r in requirements)
    assert not any(n.startswith("code/stygig/") and "__pycache__" in n for n in names)

    requests = [
        (photo.hex(), {"Content-Type": "image/jpeg", "Accept": "application/json"}),
        (json.dumps({"image": base64.b64encode(photo).decode(), "top_k": 2}).encode().hex(), {"Content-Type": "application/json"}),
        (json.dumps({"item_id": "shirt-0001", "top_k": 3}).encode().hex(), {"Content-Type": "application/json"}),
        (b"not an image".hex(), {"Content-Type": "image/jpeg"}),
        (b"{bad json".hex(), {"Content-Type": "application/json"}),
        (b"a,b".hex(), {"Content-Type": "text/csv"}),
        (b'{"item_id": "shirt-0001", "top_k": 2}\n{"item_id": "nope"}\n'.hex(),
         {"Content-Type": "application/jsonlines", "Accept": "application/jsonlines"}),
    ]
    proc = subprocess.run(
        [sys.executable, "-c", TOOLKIT_DRIVER, str(model_dir)],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["stygig_file"].startswith(str(model_dir / "code" / "stygig"))  # the vendored copy served
    ok_pic, ok_json_pic, ok_item, bad_pic, bad_json, bad_type, batch = report["results"]
    assert batch["status"] == 200 and batch["content_type"] == "application/jsonlines", batch
    first, second = (json.loads(line) for line in batch["body"].splitlines())
    assert len(first["recommendations"]) == 2 and second["error"]["code"] == "unknown_item"

    assert ok_pic["status"] == 200 and ok_pic["content_type"] == "application/json"
    assert 2 < len(json.loads(ok_pic["body"])["recommendations"]) <= 5  # default options
    assert ok_json_pic["status"] == 200
    assert len(json.loads(ok_json_pic["body"])["recommendations"]) == 2
    assert ok_item["status"] == 200, ok_item
    assert json.loads(ok_item["body"])["query_item"]["item_id"] == "shirt-0001"

    for result, status, code in ((bad_pic, 422, "invalid_image"), (bad_json, 400, "bad_request"), (bad_type, 415, "unsupported_media_type")):
        assert result["status"] == status, result
        first_line = result["body"].splitlines()[0]  # the toolkit appends a traceback
        assert json.loads(first_line)["error"]["code"] == code

    missing = {_norm(d) for d in report["distributions"]} - _closure({r.split("==")[0] for r in requirements}) - _closure(DLC_SHIPS)
    assert not missing, f"imported by the handler but not in code/requirements.txt: {sorted(missing)}"


def test_vendored_archive_starts_in_a_dlc_without_pip_or_network(lite_artifact, tmp_path):
    """`package` for the DLC's Python vendors faiss, pydantic, ... into code/: in a venv holding
    only what the DLC ships, with no network, the toolkit serves it; requirements.txt installs nothing."""
    from dlc_env import cut_network, make_dlc_venv, offline_env

    tag = f"py{sys.version_info.major}{sys.version_info.minor}"  # this machine's Python stands in for the DLC's
    notes: list[str] = []
    tar_path = package_artifact(lite_artifact, tmp_path / "model.tar.gz", python=tag, notes=notes.append)
    assert any(n.startswith(f"vendored into code/ for cp{tag[2:]} manylinux x86_64") and "faiss-cpu==" in n and "pydantic==" in n
               for n in notes), notes
    assert notes[-1] == f"archive {tar_path}: {tar_path.stat().st_size / 1e6:.1f} MB"
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(tar_path) as tf:
        requirements = tf.extractfile("code/requirements.txt").read().decode()
        tf.extractall(model_dir, filter="data")
    assert [l for l in requirements.splitlines() if l.strip() and not l.startswith("#")] == []  # installs nothing
    assert not (model_dir / "code" / "numpy").exists()  # the DLC's own numpy is used
    python = make_dlc_venv(tmp_path / "dlc-venv")
    bare = subprocess.run([str(python), "-c", "import faiss"], capture_output=True, text=True, env=offline_env(), timeout=60)
    assert bare.returncode != 0 and "No module named 'faiss'" in bare.stderr  # nothing leaks from this environment

    requests = [
        (json.dumps({"item_id": "shirt-0001", "top_k": 3}).encode().hex(), {"Content-Type": "application/json"}),
        (b'{"item_id": "shirt-0002"}\n{"item_id": "nope"}\n'.hex(), {"Content-Type": "application/jsonlines"}),
    ]
    code = model_dir / "code"
    proc = subprocess.run([*cut_network(), str(python), "-c", TOOLKIT_DRIVER, str(model_dir)], input=json.dumps(requests),
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=offline_env(PYTHONPATH=str(code)))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    item, batch = report["results"]
    assert item["status"] == 200 and len(json.loads(item["body"])["recommendations"]) <= 3, item
    assert batch["status"] == 200 and json.loads(batch["body"].splitlines()[1])["error"]["code"] == "unknown_item"
    vendored = {_norm(p.name.split("-")[0]) for p in code.glob("*.dist-info")}
    assert not {_norm(d) for d in report["distributions"]} - vendored - _closure(DLC_SHIPS)
    where = subprocess.run([str(python), "-c", "import faiss, pydantic_core; print(faiss.__file__); print(pydantic_core.__file__)"],
                           capture_output=True, text=True, env=offline_env(PYTHONPATH=str(code)), timeout=120)
    assert where.returncode == 0 and all(l.startswith(str(code)) for l in where.stdout.split()), where


def test_wheels_that_cannot_be_had_are_named_and_left_to_pip(lite_artifact, tmp_path):
    """faiss-cpu 1.15 has no wheel for Python 3.8: package says so in one line and keeps it in
    code/requirements.txt; for a network-isolated endpoint it refuses instead."""
    from stygig.errors import StygigError

    notes: list[str] = []
    tar_path = package_artifact(lite_artifact, tmp_path / "model.tar.gz", python="py38", notes=notes.append)
    with tarfile.open(tar_path) as tf:
        requirements = tf.extractfile("code/requirements.txt").read().decode().split()
    faiss_pin = f"faiss-cpu=={metadata.version('faiss-cpu')}"
    assert faiss_pin in requirements
    missing = [n for n in notes if n.startswith("no cp38 manylinux x86_64 wheels to be had here for ")]
    assert len(missing) == 1 and faiss_pin in missing[0] and missing[0].endswith("which needs internet"), notes
    with pytest.raises(StygigError, match="cannot package for a network-isolated endpoint: no cp38"):
        package_artifact(lite_artifact, tmp_path / "isolated.tar.gz", python="py38", require_vendored=True)
    assert not (tmp_path / "isolated.tar.gz").exists()
