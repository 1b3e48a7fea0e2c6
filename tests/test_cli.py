import json
import subprocess
import sys

from PIL import Image


def stygig(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "stygig.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_recommend_json_and_visual(lite_artifact, sample_catalog, tmp_path):
    img = next((sample_catalog / "train" / "upperwear" / "shirt").glob("*.jpg"))
    r = stygig("recommend", lite_artifact, img, "--json", "--save-visual", tmp_path / "vis", "--top-k", "4")
    assert r.returncode == 0, r.stderr
    resp = json.loads(r.stdout)
    assert len(resp["recommendations"]) == 4
    with Image.open(tmp_path / "vis" / "outfit.png") as png:
        assert png.width > 600 and png.height > 300
    assert json.loads((tmp_path / "vis" / "outfit.json").read_text())["recommendations"] == resp["recommendations"]


def test_recommend_item_readable(lite_artifact):
    item = json.loads((lite_artifact / "items" / "meta.jsonl").read_text().splitlines()[0])["id"]
    r = stygig("recommend", lite_artifact, "--item", item)
    assert r.returncode == 0 and f"({item})" in r.stdout.splitlines()[0] and "score" in r.stdout


def test_recommend_item_with_a_category_hint_says_it_overrides(lite_artifact):
    # issue 18.1: --item X --category Y silently styled a pair of shorts as a jacket
    rows = [json.loads(line) for line in (lite_artifact / "items" / "meta.jsonl").read_text().splitlines()]
    shorts = next(it["id"] for it in rows if it["category"] == "shorts")
    r = stygig("recommend", lite_artifact, "--item", shorts, "--category", "jacket", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stderr.splitlines() == [
        f"note: --category jacket overrides item {shorts}'s own category (shorts); the outfit is composed for a jacket"
    ]
    assert json.loads(r.stdout)["query_item"]["category_source"] == "hint"
    same = stygig("recommend", lite_artifact, "--item", shorts, "--category", "shorts")
    assert same.returncode == 0 and same.stderr == ""


def _one_line_error(r, text):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stygig: error:") and text in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_user_errors_are_one_line(lite_artifact, tmp_path):
    _one_line_error(stygig("recommend", tmp_path / "nope", "--item", "x"), "artifact not found")
    _one_line_error(stygig("recommend", lite_artifact, "--text", "navy blazer"), "CLIP")
    _one_line_error(stygig("recommend", lite_artifact, "--item", "no-such-item"), "unknown item_id")
    _one_line_error(stygig("recommend", lite_artifact, "--item", "x", "--top-k", "0"), "top_k")
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    _one_line_error(stygig("recommend", lite_artifact, tmp_path / "bad.jpg"), "not an image")
    _one_line_error(stygig("build", tmp_path / "missing", "-o", tmp_path / "a"), "catalog not found")
    _one_line_error(stygig("build", tmp_path, "-o", tmp_path / "a", "--shard", "x"), "--shard")


def test_path_errors_name_the_path(lite_artifact, sample_catalog, tmp_path):
    # issue 18.6: recommend's picture, and the other commands' paths, named in one line
    (tmp_path / "notes.jpg").write_text("a text file renamed .jpg")
    (tmp_path / "plain").write_text("a file")
    photo = next((sample_catalog / "train").rglob("*.jpg"))
    cases = [
        (("recommend", lite_artifact, tmp_path / "missing.jpg"), f"cannot read {tmp_path / 'missing.jpg'}: No such file or directory"),
        (("recommend", lite_artifact, tmp_path / "notes.jpg"), f"{tmp_path / 'notes.jpg'}: not an image (unrecognised format)"),
        (("recommend", lite_artifact, tmp_path), f"{tmp_path} is a folder, not a picture"),
        (("recommend", lite_artifact, photo, "--save-visual", tmp_path / "plain"),
         f"--save-visual {tmp_path / 'plain'}: a file is there; give a folder to write outfit.png and outfit.json into"),
        (("build", sample_catalog, "-o", tmp_path / "plain" / "art"), f"output {tmp_path / 'plain' / 'art'}: {tmp_path / 'plain'} is a file, not a folder"),
        (("build", sample_catalog, "-o", tmp_path / "a", "--taxonomy", tmp_path), f"cannot read taxonomy file {tmp_path}: Is a directory"),
        (("build", sample_catalog, "-o", tmp_path / "a", "--tar", tmp_path),
         f"{tmp_path} is a folder; name the archive file to write (e.g. {tmp_path / 'model.tar.gz'})"),
        (("recommend", lite_artifact, photo, "--save-visual", "/proc/no-such-dir/out"), "/proc/no-such-dir: No such file or directory"),
    ]
    for args, message in cases:
        r = stygig(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.splitlines() == [f"stygig: error: {message}"], args


def test_sample_catalog_command(tmp_path):
    r = stygig("sample-catalog", tmp_path / "c", "--n", 28, "--seed", 3)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (tmp_path / "c" / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 28


def test_demo_end_to_end(tmp_path):
    r = stygig("demo", "--out", tmp_path / "demo", "--n", 56)
    assert r.returncode == 0, r.stderr
    assert "wrote:" in r.stdout and "Query:" in r.stdout
    for cat in ("shirt", "pants", "dress", "sneakers"):
        assert (tmp_path / "demo" / "outfits" / cat / "outfit.png").is_file()
    assert (tmp_path / "demo" / "model.tar.gz").is_file()


def test_a_reader_that_goes_away_is_not_an_error(lite_artifact):
    # `stygig recommend ... | head -1`: the reader closes the pipe before the answer is written
    item = json.loads((lite_artifact / "items" / "meta.jsonl").read_text().splitlines()[0])["id"]
    proc = subprocess.Popen([sys.executable, "-m", "stygig.cli", "recommend", str(lite_artifact), "--item", item, "--json",
                             "--top-k", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
