"""Security: no code-executing loader anywhere in the source, tampered artifacts refused by the
server, S3 reads only from allow-listed buckets, request bodies capped while they stream, nothing
sensitive in the logs, no server path in any response.

Covered elsewhere (and checked to still exist by the last test here): the artifact's own
checksums and manifest paths that try to leave the artifact (tests/test_artifact.py), catalog
manifests whose image paths leave the catalog root (tests/test_ingest.py), the container's
non-root user and `serve` command (tests/test_aws_dockerfile.py), the thumbnail route never serving
a file outside the artifact (tests/test_serving_server.py).
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stygig.serving.child import stop
from test_serving_server import catalog_items, start_server, wait_for

REPO = Path(__file__).resolve().parents[1]
SCANNED = ("src", "benchmarks", "tests", "scripts")

# ---- no code-executing loaders ------------------------------------------------------------------
#: modules whose loading runs code from the data
FORBIDDEN_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle", "jsonpickle", "pickletools"}
#: calls that execute or unpickle whatever they are given
FORBIDDEN_CALLS = {"eval", "exec", "yaml.unsafe_load", "yaml.full_load", "read_pickle", "torch.jit.load"}
SAFE_YAML_LOADERS = {"SafeLoader", "CSafeLoader", "BaseLoader"}
#: the same in any text (code run through `python -c` or written into files lives in strings)
TEXT_PATTERNS = [
    re.compile(r"\ballow_pickle\s*=\s*True"),
    re.compile(r"\bpickle\.loads?\("),
    re.compile(r"\bjoblib\.load\("),
    re.compile(r"\bmarshal\.loads?\("),
    re.compile(r"\btorch\.load\((?![^)]*weights_only\s*=\s*True)[^)]*\)"),
]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _is_const(node: ast.AST | None, value) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


def scan_source(text: str, filename: str = "<text>") -> list[str]:
    """Every use of a code-executing loader in one Python source, as "file:line: what"."""
    found: list[str] = []
    tree = ast.parse(text, filename)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_MODULES:
                    found.append(f"{where}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{where}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if name in FORBIDDEN_CALLS or last == "read_pickle" or name.endswith(("yaml.unsafe_load", "yaml.full_load")):
                found.append(f"{where}: {name}(...)")
            elif name in ("eval", "exec", "__import__") or (name.startswith("builtins.") and last in ("eval", "exec")):
                found.append(f"{where}: {name}(...)")
            elif last == "load" and name.split(".")[0] == "torch" and not _is_const(_kw(node, "weights_only"), True):
                found.append(f"{where}: {name}(...) without weights_only=True")
            elif last == "load" and name.split(".")[0] == "yaml":
                loader = _kw(node, "Loader") or (node.args[1] if len(node.args) > 1 else None)
                if _dotted(loader).rsplit(".", 1)[-1] not in SAFE_YAML_LOADERS:
                    found.append(f"{where}: {name}(...) without a safe Loader")
            allow = _kw(node, "allow_pickle")
            if allow is not None and not _is_const(allow, False):
                found.append(f"{where}: {name}(..., allow_pickle=...)")
    for pattern in TEXT_PATTERNS:
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            entry = f"{filename}:{line}: {m.group(0)[:60]}"
            if not any(f.startswith(f"{filename}:{line}:") for f in found):
                found.append(entry)
    return found


def source_files() -> list[Path]:
    files = []
    for top in SCANNED:
        root = REPO / top
        if root.is_dir():
            files += [p for p in root.rglob("*.py") if ".venv" not in p.parts and p.resolve() != Path(__file__).resolve()]
    return sorted(files)


def test_no_code_executing_loader_anywhere_in_the_source():
    files = source_files()
    assert len(files) > 40 and any(p.name == "engine.py" for p in files)
    found = [f for p in files for f in scan_source(p.read_text(encoding="utf-8"), str(p.relative_to(REPO)))]
    assert not found, "\n".join(found)


# the snippets are assembled so that this file itself does not hold them verbatim
P = "pick" + "le"
BAD = [
    f"import {P}",
    f"import {P} as p",
    f"from {P} import loads",
    "import cP" + P[1:],
    "import dill",
    "import joblib\njoblib.load('m.joblib')",
    "from joblib import load",
    "import shelve",
    "import marshal\nmarshal.loads(b'')",
    "torch.load('w.pt')",
    "torch.load('w.pt', weights_only=False)",
    "torch.load('w.pt', map_location='cpu', weights_only=flag)",
    "np.load('a.npy', allow_pickle=" + "True)",
    "numpy.load('a.npy', allow_pickle=" + "True)",
    "np.lib.format.read_array(fh, allow_pickle=" + "True)",
    "yaml.load(text)",
    "yaml.load(text, Loader=yaml.Loader)",
    "yaml.unsafe_load(text)",
    "yaml.full_load(text)",
    "pd.read_" + P + "('x.pkl')",
    "eval(request_text)",
    "exec(code)",
    "builtins.eval(x)",
    "torch.jit.load('m.pt')",
    "subprocess.run([sys.executable, '-c', 'import numpy as np; np.load(p, allow_pickle=" + "True)'])",
]
GOOD = [
    "np.load('a.npy', allow_pickle=False)",
    "np.load('a.npy', mmap_mode='r', allow_pickle=False)",
    "np.save('a.npy', x, allow_pickle=False)",
    "torch.load('w.pt', weights_only=True)",
    "torch.load('w.pt', map_location='cpu', weights_only=True)",
    "yaml.safe_load(text)",
    "yaml.load(text, Loader=yaml.SafeLoader)",
    "json.loads(text)",
    "model.eval()",
    "clip.eval()",
    "x = 'no " + P + " here'",
    "onnx.load('model.onnx')",
    "ast.literal_eval('[1, 2]')",
]


@pytest.mark.parametrize("snippet", BAD)
def test_the_scan_catches(snippet):
    assert scan_source(snippet), snippet


@pytest.mark.parametrize("snippet", GOOD)
def test_the_scan_lets_through(snippet):
    assert scan_source(snippet) == [], snippet


# ---- the server ---------------------------------------------------------------------------------
SECRET = "AKIAMARKERSECRETabc123"
MARKER = "BODY-MARKER-9f8e7d"
LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def server(lite_artifact, tmp_path_factory):
    env = {
        "TS_MAX_REQUEST_SIZE": str(LIMIT),
        "STYGIG_ALLOWED_S3_BUCKETS": "shop-uploads",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9",  # closed: nothing leaves this machine
        "AWS_ACCESS_KEY_ID": "AKIA" + SECRET[4:12],
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_SESSION_TOKEN": SECRET + "-token",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    srv = start_server(lite_artifact, tmp_path_factory.mktemp("secsrv"), workers=1, env=env)
    wait_for(srv)
    yield srv
    assert stop(srv.proc) == 0


def test_a_streamed_body_is_cut_off_at_the_limit_not_read_whole(server):
    """A chunked upload (no Content-Length) of up to 64 MB: the server answers 413 once it has
    counted past the limit, and stops reading; the client never gets to send it all."""
    port = int(server.url.rsplit(":", 1)[1])
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n")
    response = bytearray()
    got = threading.Event()

    def read() -> None:
        try:
            while chunk := s.recv(65536):
                response.extend(chunk)
                if b"\r\n\r\n" in response:
                    got.set()
        except OSError:
            pass
        got.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    piece = b"\xff" * 65536
    frame = b"%x\r\n" % len(piece) + piece + b"\r\n"
    sent = 0
    try:
        while sent < 64 * 1024 * 1024 and not got.is_set():
            s.sendall(frame)
            sent += len(piece)
    except OSError:  # the server closed the connection: it will not read the rest
        pass
    got.wait(30)
    s.close()
    head = bytes(response).split(b"\r\n", 1)[0]
    assert head.split()[1] == b"413", bytes(response[:300])
    print(f"sent {sent / 2**20:.1f} MB before the 413")
    assert sent < 16 * 1024 * 1024, f"the client sent {sent / 2**20:.0f} MB before the server stopped it"
    assert httpx.get(server.url + "/ping").status_code == 200


def test_s3_reads_are_refused_outside_the_allow_list_before_any_connection(server):
    """Through the server: a bucket not on the list never reaches the network."""
    r = httpx.post(server.url + "/invocations", json={"image_s3_uri": "s3://another-shop/x.jpg"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "s3_bucket_not_allowed"
    # an allowed bucket does try (and, the endpoint being closed, reports S3 unreachable)
    r = httpx.post(server.url + "/invocations", json={"image_s3_uri": f"s3://shop-uploads/{MARKER}.jpg"}, timeout=60)
    assert r.status_code == 502 and r.json()["error"]["code"] == "s3_unavailable", r.text


bucket_chars = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789.-@:/%?#\\ _ABC"), min_size=0, max_size=40)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(uri=st.one_of(
    st.builds(lambda b, k: f"s3://{b}/{k}", bucket_chars, st.text(max_size=30)),
    st.builds(lambda b: f"s3://shop-uploads{b}", bucket_chars),
    st.text(max_size=60),
))
def test_any_uri_names_one_bucket_and_only_the_allowed_one_is_read(uri):
    """No URI is read from a bucket other than the one it plainly names, and no bucket outside
    the allow-list is contacted (sockets are refused while this runs)."""
    from stygig.errors import InvalidInput
    from stygig.s3io import parse_s3_uri, read_s3_bytes

    allowed = frozenset({"shop-uploads"})
    try:
        bucket, key = parse_s3_uri(uri)
    except InvalidInput as e:
        assert e.code == "invalid_s3_uri"
        return
    assert uri == f"s3://{bucket}" or uri == f"s3://{bucket}/{key}"
    if bucket in allowed:
        return
    real_connect = socket.socket.connect

    def refuse(*a, **k):
        raise AssertionError(f"{uri!r}: a connection was attempted")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    try:
        with pytest.raises(InvalidInput) as e:
            read_s3_bytes(uri, allowed_buckets=allowed, max_bytes=1000)
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
    assert e.value.code in ("s3_bucket_not_allowed", "invalid_s3_uri")


def test_no_body_header_or_credential_reaches_the_log(server, lite_artifact):
    import base64

    secrets = {
        "Authorization": f"Bearer {MARKER}-auth",
        "Cookie": f"session={MARKER}-cookie",
        "X-Amz-Security-Token": f"{MARKER}-token",
        "X-Amzn-SageMaker-Custom-Attributes": f"trace={MARKER}-attr",
        "User-Agent": f"{MARKER}-agent",
    }
    photo = Path(next(it for it in catalog_items(lite_artifact) if it["category"] == "shirt")["source"]).read_bytes()
    requests = [
        ("POST", "/invocations", {"json": {"image": base64.b64encode(MARKER.encode() * 50).decode()}}),
        ("POST", "/invocations", {"json": {"item_id": f"{MARKER}-item"}}),
        ("POST", "/invocations", {"json": {"text": f"{MARKER}-text"}}),
        ("POST", "/invocations", {"json": {"item_id": "shirt-0000", "exclude_ids": [f"{MARKER}-ex"]}}),
        ("POST", "/invocations", {"json": {"image_s3_uri": f"s3://shop-uploads/{MARKER}-key.jpg"}}),
        ("POST", "/invocations", {"content": photo + MARKER.encode(), "headers": {"Content-Type": "image/jpeg"}, "params": {"top_k": f"{MARKER}-q"}}),
        ("POST", "/invocations", {"content": MARKER.encode() * 100, "headers": {"Content-Type": "image/png"}}),
        ("POST", "/invocations", {"content": b"{" + MARKER.encode(), "headers": {"Content-Type": "application/json"}}),
        ("POST", "/endpoints/e1/invocations", {"json": {"item_id": f"{MARKER}-sm"}}),
        ("GET", "/items", {"params": {"category": f"{MARKER}-cat"}}),
        ("GET", "/%E2%80%A8%C2%85forged", {}),  # Unicode line separators in a logged path
    ]
    for method, path, kw in requests:
        headers = {**secrets, **kw.pop("headers", {})}
        r = httpx.request(method, server.url + path, headers=headers, timeout=60, **kw)
        assert r.status_code < 500 or r.status_code == 502, r.text
    time.sleep(0.3)
    log = server.log.read_text(encoding="utf-8", errors="replace")
    assert log.count('"event": "request"') >= len(requests)
    assert MARKER not in log
    # one record per line, split at newlines only (as CloudWatch does) *or* by str.splitlines
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert len(records) == len([line for line in log.split("\n") if line.startswith("{")])
    assert any(r.get("path") == "/\u2028\u0085forged" for r in records)
    assert SECRET not in log and SECRET[4:12] not in log


def test_no_response_carries_a_server_path(server, lite_artifact, sample_catalog, tmp_path_factory):
    """Item paths are catalog-relative; nothing answers with the artifact's, catalog's or
    installation's absolute directories."""
    items = catalog_items(lite_artifact)
    photo = Path(items[0]["source"]).read_bytes()
    forbidden = {str(lite_artifact.resolve()), str(sample_catalog.resolve()), str(tmp_path_factory.getbasetemp()), str(REPO), sys.prefix}
    calls = [
        ("GET", "/ping", {}),
        ("GET", "/model", {}),
        ("GET", "/items", {"params": {"limit": 1000}}),
        ("GET", f"/items/{items[0]['id']}/thumbnail", {}),
        ("GET", "/items/no-such/thumbnail", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/no/such/route", {}),
        ("DELETE", "/invocations", {}),
        ("POST", "/invocations", {"json": {"item_id": items[0]["id"], "top_k": 50, "items_per_category": 10}}),
        ("POST", "/invocations", {"json": {"item_id": items[3]["id"], "include_thumbnails": True}}),
        ("POST", "/invocations", {"content": photo, "headers": {"Content-Type": "image/jpeg"}}),
        ("POST", "/invocations", {"json": {"item_id": "../../manifest.json"}}),
        ("POST", "/invocations", {"content": b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "headers": {"Content-Type": "image/png"}}),
        ("POST", "/invocations", {"content": b"\0" * (LIMIT + 1), "headers": {"Content-Type": "image/png"}}),
        ("POST", "/endpoints/e1/invocations", {"json": {"item_id": items[0]["id"]}}),
        ("POST", "/endpoints/e1/invocations", {"json": {"text": "x"}}),
    ]
    seen_paths = 0
    for method, path, kw in calls:
        r = httpx.request(method, server.url + path, timeout=60, **kw)
        text = r.content.decode("utf-8", errors="replace") + json.dumps(dict(r.headers))
        leaks = [f for f in forbidden if f in text]
        assert not leaks, (method, path, leaks)
        if path == "/invocations" and r.status_code == 200:
            for rec in r.json()["recommendations"]:
                if "path" in rec:
                    assert not Path(rec["path"]).is_absolute() and ".." not in Path(rec["path"]).parts, rec["path"]
                    seen_paths += 1
    assert seen_paths > 0


def test_a_tampered_artifact_is_refused_by_serve(lite_artifact, tmp_path):
    """Someone rewrites an item's metadata (what the responses say) without re-signing it."""
    art = tmp_path / "tampered"
    shutil.copytree(lite_artifact, art)
    meta = art / "items" / "meta.jsonl"
    meta.write_bytes(meta.read_bytes().replace(b'"name": "', b'"name": "<script>', 1))
    manifest = json.loads((art / "manifest.json").read_text())
    assert manifest["files"]["items/meta.jsonl"] != hashlib.sha256(meta.read_bytes()).hexdigest()
    srv = start_server(art, tmp_path, workers=1)
    assert srv.proc.wait(60) == 2
    last = srv.log.read_text().strip().splitlines()[-1]
    assert last == "serve: error: artifact file items/meta.jsonl does not match its checksum (corrupted or modified)"


def test_the_checks_made_elsewhere_are_still_there():
    wanted = {
        "tests/test_artifact.py": ["test_manifest_path_escape", "test_tamper_detection", "test_wrong_format_version"],
        "tests/test_ingest.py": ["test_manifest_errors_name_the_offenders"],
        "tests/test_aws_dockerfile.py": ["test_image_runs_serve_as_a_non_root_user"],
        "tests/test_serving_server.py": [
            "test_413_from_content_length_and_from_a_stream",
            "test_one_json_log_line_per_request_without_bodies",
            "test_thumbnail_route_never_leaves_the_artifact",
        ],
        "tests/test_serving_s3.py": ["test_other_buckets_are_refused_before_any_s3_call", "test_default_allow_list_is_empty"],
        "tests/test_serving_process.py": ["test_a_corrupted_artifact_stops_serve_before_it_listens"],
    }
    for rel, names in wanted.items():
        tree = ast.parse((REPO / rel).read_text(encoding="utf-8"))
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert set(names) <= defined, (rel, set(names) - defined)
    assert "escape the catalog root" in (REPO / "tests/test_ingest.py").read_text(encoding="utf-8")
