"""stygig.s3io against moto's server on 127.0.0.1: parsing, allow-list, limits, listing, transfer."""

from __future__ import annotations

import socket

import pytest
from aws_conftest import BUCKET, aws, moto_server  # noqa: F401 - fixtures

from stygig import s3io
from stygig.errors import InvalidInput, StygigError


@pytest.mark.parametrize(
    "uri, expected",
    [
        ("s3://my-bucket/a/b.jpg", ("my-bucket", "a/b.jpg")),
        ("s3://my-bucket", ("my-bucket", "")),
        ("s3://my-bucket/", ("my-bucket", "")),
        ("s3://my.bucket-1/dir/", ("my.bucket-1", "dir/")),
    ],
)
def test_parse_valid(uri, expected):
    assert s3io.parse_s3_uri(uri) == expected


@pytest.mark.parametrize(
    "uri, fragment",
    [
        ("http://bucket/key", "not an s3:// URI"),
        ("s3://", "no bucket"),
        ("s3:///key", "no bucket"),
        ("s3://Bad_Bucket/key", "invalid bucket name"),
        ("s3://ab/key", "invalid bucket name"),
        ("s3://192.168.1.1/key", "invalid bucket name"),
        ("s3://bucket/key\nwith-newline", "control characters"),
        ("s3://bucket/" + "k" * 1100, "longer than 1024"),
        (None, "not an s3:// URI"),
    ],
)
def test_parse_invalid_is_422_one_line(uri, fragment):
    with pytest.raises(InvalidInput) as e:
        s3io.parse_s3_uri(uri)
    assert e.value.status == 422
    assert fragment in e.value.message
    assert "\n" not in e.value.message


def test_allowed_buckets_from_env():
    assert s3io.allowed_buckets_from_env({}) == set()
    assert s3io.allowed_buckets_from_env({"STYGIG_ALLOWED_S3_BUCKETS": ""}) == set()
    assert s3io.allowed_buckets_from_env({"STYGIG_ALLOWED_S3_BUCKETS": " a-bucket, other.bucket ,"}) == {"a-bucket", "other.bucket"}
    with pytest.raises(StygigError, match="invalid bucket names: NO"):
        s3io.allowed_buckets_from_env({"STYGIG_ALLOWED_S3_BUCKETS": "ok-bucket,NO"})


def test_read_and_allow_list(aws):
    s3 = aws.client("s3")
    s3.put_object(Bucket=BUCKET, Key="img/a.jpg", Body=b"0123456789")
    uri = f"s3://{BUCKET}/img/a.jpg"
    assert s3io.read_s3_bytes(uri, allowed_buckets=None, max_bytes=100) == b"0123456789"
    assert s3io.read_s3_bytes(uri, allowed_buckets={BUCKET}, max_bytes=10) == b"0123456789"
    with pytest.raises(s3io.S3BucketNotAllowed) as e:
        s3io.read_s3_bytes(uri, allowed_buckets={"another-bucket"}, max_bytes=100)
    assert e.value.status == 422 and "not in the allowed buckets" in e.value.message
    with pytest.raises(s3io.S3BucketNotAllowed) as e:
        s3io.read_s3_bytes(uri, allowed_buckets=set(), max_bytes=100)
    assert "STYGIG_ALLOWED_S3_BUCKETS" in e.value.message
    with pytest.raises(s3io.S3ObjectTooLarge) as e:
        s3io.read_s3_bytes(uri, allowed_buckets=None, max_bytes=9)
    assert e.value.status == 422 and "10 bytes" in e.value.message


def test_missing_object_and_bucket_are_422(aws):
    with pytest.raises(s3io.S3AccessError) as e:
        s3io.read_s3_bytes(f"s3://{BUCKET}/nope.jpg", allowed_buckets=None, max_bytes=100)
    assert e.value.status == 422 and "no such object" in e.value.message
    with pytest.raises(s3io.S3AccessError) as e:
        s3io.read_s3_bytes("s3://no-such-bucket-here/x.jpg", allowed_buckets=None, max_bytes=100)
    assert e.value.status == 422 and "no such bucket" in e.value.message
    with pytest.raises(InvalidInput, match="names no object"):
        s3io.read_s3_bytes(f"s3://{BUCKET}/folder/", allowed_buckets=None, max_bytes=100)
    assert s3io.exists(f"s3://{BUCKET}/nope.jpg") is False


def test_unreachable_s3_is_502(monkeypatch, tmp_path):
    # a port nothing listens on: the client cannot connect
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(s3io.S3Unavailable) as e:
        s3io.read_s3_bytes("s3://some-bucket/x.jpg", allowed_buckets=None, max_bytes=10)
    assert e.value.status == 502 and "cannot reach S3" in e.value.message


def test_list_download_upload_round_trip(aws, tmp_path):
    src = tmp_path / "src"
    (src / "a" / "b").mkdir(parents=True)
    (src / "top.txt").write_bytes(b"top")
    (src / "a" / "b" / "deep.bin").write_bytes(bytes(range(256)))
    uris = s3io.upload_dir(src, f"s3://{BUCKET}/tree")
    assert uris == [f"s3://{BUCKET}/tree/a/b/deep.bin", f"s3://{BUCKET}/tree/top.txt"]
    assert s3io.list_s3(f"s3://{BUCKET}/tree/") == uris
    assert s3io.list_s3(f"s3://{BUCKET}/tree/", limit=1) == uris[:1]
    out = s3io.download_prefix(f"s3://{BUCKET}/tree", tmp_path / "dst")
    assert [p.relative_to(tmp_path / "dst").as_posix() for p in out] == ["a/b/deep.bin", "top.txt"]
    assert (tmp_path / "dst" / "a" / "b" / "deep.bin").read_bytes() == bytes(range(256))
    with pytest.raises(s3io.S3ObjectTooLarge):
        s3io.download_prefix(f"s3://{BUCKET}/tree", tmp_path / "dst2", max_bytes=100)
    s3io.write_s3_bytes(f"s3://{BUCKET}/w.json", b"{}", content_type="application/json")
    assert aws.client("s3").get_object(Bucket=BUCKET, Key="w.json")["ContentType"] == "application/json"


def test_download_refuses_keys_escaping_the_folder(aws, tmp_path):
    aws.client("s3").put_object(Bucket=BUCKET, Key="evil/../../outside.txt", Body=b"x")
    with pytest.raises(InvalidInput, match="escape"):
        s3io.download_prefix(f"s3://{BUCKET}/evil/", tmp_path / "dst")
    assert not (tmp_path / "outside.txt").exists()
