"""The registry's evidence in an S3 bucket: every test against a real Ceph RGW and against
moto's S3 server, both on 127.0.0.1 (tests/s3_server.py)."""

import base64
import hashlib
import json
import os
import random
import re
import socket
import threading
import tracemalloc

import pytest
import requests

from survey_node import config as config_mod
from survey_node.errors import BadInput, Busy, ConfigError, NotFound, TooLarge
from survey_node.evidence import EvidenceStore
from survey_node.registry.db.migrations import connect_registry
from survey_node.registry.objects_s3 import PART_SIZE, S3ObjectStore
from tests.conftest import PINS
from tests.live import free_port
from tests.s3_server import KINDS, checksum_refusing_proxy, default_kind, running_s3_server
from tests.sync_helpers import add_token, make_node, node_truth, run_sync, running_registry
from tests.test_review_registry import CSRF, add_registry_users

MiB = 1 << 20


@pytest.fixture(scope="module", params=KINDS)
def s3(request):
    """Each S3 server in turn (moto alone on a laptop without radosgw)."""
    if request.param == "ceph-rgw" and default_kind() != "ceph-rgw":
        pytest.skip("radosgw is not installed (make system-packages as root)")
    with running_s3_server(request.param) as server:
        yield server


@pytest.fixture
def bucket(s3):
    return s3.new_bucket()


def _store(s3, url, **kw):
    return S3ObjectStore(url, endpoint_url=kw.pop("endpoint_url", s3.endpoint_url),
                         region=s3.region, access_key_id=s3.access_key_id,
                         secret_access_key=s3.secret_access_key, **kw)


@pytest.fixture
def store(s3, bucket):
    return _store(s3, f"s3://{bucket}/evidence")


def _blob(size, seed=0):
    data = random.Random(seed).randbytes(size)
    return data, hashlib.sha256(data).hexdigest()


def _chunks(data, size=MiB):
    return (data[i:i + size] for i in range(0, len(data), size))


def _uploads(passed):
    """The requests with bytes a proxy passed on, but the store's If-None-Match question."""
    return [h for h in passed if h[":method"] == "PUT" and h[":body"]
            and "/tmp/conditional-probe" not in h[":path"]]


def _evidence_versions(s3, bucket):
    """The keys of every version of every object outside tmp/ (where the store asks the
    server whether it honours If-None-Match and leaves empty versions in a versioned bucket)."""
    versions = s3.client().list_object_versions(Bucket=bucket).get("Versions", [])
    return sorted(v["Key"] for v in versions if not v["Key"].startswith("evidence/tmp/"))


def test_the_same_bytes_again_add_no_version_to_a_versioned_bucket(store, s3, bucket):
    """Backups rely on bucket versioning: a re-sent upload (or another node's identical
    file) must not rewrite the object, so it does not grow a version per sender. Ceph RGW
    ignores If-None-Match on a versioned bucket: the store must find that out itself."""
    client = s3.client()
    client.put_bucket_versioning(Bucket=bucket,
                                 VersioningConfiguration={"Status": "Enabled"})
    data, sha = _blob(5000, seed=3)
    for _ in range(3):
        assert store.put_stream(sha, _chunks(data, 1000), 10 * MiB) == 5000
    assert _evidence_versions(s3, bucket) == [f"evidence/{sha[:2]}/{sha}"]
    with store.open(sha) as fh:
        assert fh.read() == data


def test_put_has_open_round_trip_under_the_prefix(store, s3, bucket):
    data, sha = _blob(3000)
    assert not store.has(sha)
    assert store.put_stream(sha, _chunks(data, 1000), 10 * MiB) == 3000
    assert store.has(sha)
    with store.open(sha) as fh:
        assert fh.read() == data
    assert store.put_stream(sha, [data], 10 * MiB) == 3000  # again: harmless
    assert s3.keys(bucket) == [f"evidence/{sha[:2]}/{sha}"]
    store.discard(sha)
    assert not store.has(sha) and s3.keys(bucket) == []
    with pytest.raises(NotFound, match=f"Evidence {sha[:12]} is not in the registry"):
        store.open(sha)


def test_a_stream_larger_than_a_part_is_verified_then_copied_with_its_sha256(store, s3, bucket):
    data, sha = _blob(2 * PART_SIZE + 12345, seed=1)
    assert store.put_stream(sha, _chunks(data), 50 * MiB) == len(data)
    with store.open(sha) as fh:
        assert fh.read() == data
    key = f"evidence/{sha[:2]}/{sha}"
    assert s3.keys(bucket) == [key]  # the temporary key and the upload are gone
    if s3.stores_checksums:
        head = s3.client().head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(sha)).decode()


def test_every_upload_carries_its_md5_beside_the_sha256(s3, bucket):
    """Ceph RGW before Squid stores an object whose x-amz-checksum-sha256 is wrong (200):
    the checksum alone would check nothing there, so every request with bytes also carries
    Content-MD5, which every S3 server checks; and the SHA-256 while the server takes it."""
    with checksum_refusing_proxy(s3.endpoint_url, None) as (endpoint, passed):
        store = _store(s3, f"s3://{bucket}/evidence", endpoint_url=endpoint)
        for data, sha in [_blob(4000, seed=30), _blob(PART_SIZE + 99, seed=31)]:
            assert store.put_stream(sha, _chunks(data), 50 * MiB) == len(data)
    uploads = _uploads(passed)
    assert len(uploads) == 3  # the small object, and the large one's two parts
    for h in uploads:
        assert h.get("content-md5") and h.get("x-amz-checksum-sha256"), sorted(h)


@pytest.mark.parametrize("style", ["b2", "r2"])
def test_a_server_refusing_checksum_headers_gets_content_md5_and_keeps_every_object(
        s3, bucket, style, caplog):
    """Backblaze B2 refuses x-amz-checksum-sha256 with a 400, R2 answers 501: every upload
    would fail (a node's sync retried for ever) if the store did not send Content-MD5 instead.
    Small objects, a multipart one (upload, complete, copy) and a re-sent one all land."""
    with checksum_refusing_proxy(s3.endpoint_url, style) as (endpoint, passed):
        store = _store(s3, f"s3://{bucket}/evidence", endpoint_url=endpoint)
        small = [_blob(3000 + n, seed=n) for n in range(3)]
        large = _blob(PART_SIZE + 4321, seed=9)
        for data, sha in [*small, large, small[0]]:
            assert store.put_stream(sha, _chunks(data), 50 * MiB) == len(data)
        for data, sha in [*small, large]:
            assert store.has(sha)
            with store.open(sha) as fh:
                assert fh.read() == data
    assert sorted(s3.keys(bucket)) == sorted(f"evidence/{sha[:2]}/{sha}"
                                             for _, sha in [*small, large])
    # Every request with a body went on with the bytes' MD5 for the server to check,
    # and the refusal was logged once, not per upload.
    uploads = _uploads(passed)
    assert len(uploads) >= len(small) + 2  # the small ones, and the large one's two parts
    for h in uploads:
        assert h.get("content-md5"), sorted(h)
    assert sum("refuses S3's checksum headers" in r.getMessage()
               for r in caplog.records) == 1
    assert store.checksums is False


def test_a_server_without_conditional_writes_is_asked_by_head_and_grows_no_versions(
        s3, bucket, caplog):
    """Alibaba OSS (and AWS before 2024) answer If-None-Match with 501: uploads must still
    land, and a re-sent object must still not add a version to a versioned bucket."""
    s3.client().put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
    with checksum_refusing_proxy(s3.endpoint_url, "oss") as (endpoint, passed):
        store = _store(s3, f"s3://{bucket}/evidence", endpoint_url=endpoint)
        blobs = [_blob(2500 + n, seed=20 + n) for n in range(3)]
        for data, sha in [*blobs, blobs[0], blobs[0]]:
            assert store.put_stream(sha, [data], MiB) == len(data)
        for data, sha in blobs:
            with store.open(sha) as fh:
                assert fh.read() == data
    assert _evidence_versions(s3, bucket) == sorted(
        f"evidence/{sha[:2]}/{sha}" for _, sha in blobs)
    assert store.conditional is False and store.checksums is True
    assert sum("does not honour conditional PUTs (501" in r.getMessage()
               for r in caplog.records) == 1


def test_a_checksum_that_does_not_match_is_not_taken_for_a_missing_feature(s3, bucket):
    """AWS's 400 for a SHA-256 the bytes do not match means damaged bytes: the upload fails
    (the node sends it again) and the store keeps sending checksums rather than fall back to
    weaker checks. The damage is made on the way: the checksum sent is another object's."""
    with checksum_refusing_proxy(s3.endpoint_url, "mismatch") as (endpoint, _passed):
        store = _store(s3, f"s3://{bucket}/evidence", endpoint_url=endpoint)
        data, sha = _blob(2000, seed=4)
        with pytest.raises(Busy, match="did not match"):
            store._put_once(store.key(sha), data, hashlib.sha256(b"other bytes").digest())
        assert store.checksums is True and s3.keys(bucket) == []
        assert store.put_stream(sha, [data], MiB) == len(data)  # undamaged: stored
    assert s3.keys(bucket) == [f"evidence/{sha[:2]}/{sha}"]


def test_memory_stays_within_a_few_parts_whatever_the_stream_size(store):
    parts = 6
    digest = hashlib.sha256()
    for n in range(parts * 8):
        digest.update(random.Random(n).randbytes(MiB))

    def chunks():  # made as they are read: only the store's own memory is traced
        for n in range(parts * 8):
            yield random.Random(n).randbytes(MiB)

    tracemalloc.start()
    try:
        assert store.put_stream(digest.hexdigest(), chunks(), 50 * MiB) == parts * PART_SIZE
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * PART_SIZE, f"{peak / MiB:.1f} MiB held for a {parts}-part stream"


@pytest.mark.parametrize("size", [5000, PART_SIZE + 5000])
def test_bytes_that_do_not_hash_to_the_name_leave_nothing(store, s3, bucket, size):
    data, _ = _blob(size, seed=2)
    _, other = _blob(10, seed=3)
    with pytest.raises(BadInput, match=f"not to {other}"):
        store.put_stream(other, _chunks(data), 50 * MiB)
    assert s3.keys(bucket) == [] and not store.has(other)


@pytest.mark.parametrize("limit", [4000, PART_SIZE + 2 * MiB])
def test_a_stream_over_the_limit_is_refused_before_the_rest_is_read(store, s3, bucket, limit):
    data, sha = _blob(PART_SIZE * 2, seed=4)
    sent = []

    def chunks():
        for chunk in _chunks(data):
            sent.append(len(chunk))
            yield chunk

    with pytest.raises(TooLarge, match=f"limit of {limit} bytes"):
        store.put_stream(sha, chunks(), limit)
    assert sum(sent) <= limit + MiB  # stopped at the chunk that crossed the limit
    assert s3.keys(bucket) == [] and not store.has(sha)


def test_iter_hashes_lists_stored_objects_only(store, s3, bucket):
    hashes = []
    for seed in range(3):
        data, sha = _blob(100, seed=10 + seed)
        store.put_stream(sha, [data], MiB)
        hashes.append(sha)
    client = s3.client()
    client.put_object(Bucket=bucket, Key=f"evidence/tmp/{hashes[0]}", Body=b"half")
    client.put_object(Bucket=bucket, Key="evidence/ab/not-a-hash", Body=b"x")
    client.put_object(Bucket=bucket, Key=f"other/{hashes[1][:2]}/{hashes[1]}", Body=b"x")
    assert list(store.iter_hashes()) == sorted(hashes)
    # A store without a prefix sees the other prefix's object only where its layout fits.
    assert list(_store(s3, f"s3://{bucket}").iter_hashes()) == []


def test_remove_temporaries_clears_what_a_killed_upload_left(store, s3, bucket):
    data, sha = _blob(100, seed=20)
    store.put_stream(sha, [data], MiB)
    client = s3.client()
    client.put_object(Bucket=bucket, Key="evidence/tmp/left-over", Body=b"half")
    client.create_multipart_upload(Bucket=bucket, Key="evidence/tmp/never-completed")
    # A young temporary may be another process's upload under way. (moto dates every
    # multipart upload 2010, so only the object shows the age rule here.)
    store.remove_temporaries(older_than_s=3600)
    assert "evidence/tmp/left-over" in s3.keys(bucket)
    assert store.remove_temporaries() >= 1
    assert s3.keys(bucket) == [f"evidence/{sha[:2]}/{sha}"]


def test_a_missing_bucket_fails_readiness_in_one_line(s3):
    missing = _store(s3, "s3://no-such-bucket/evidence")
    with pytest.raises(ConfigError) as exc:
        missing.ping()
    line = exc.value.line()
    assert "\n" not in line and "no-such-bucket" in line and s3.endpoint_url in line


def test_a_dead_endpoint_fails_within_the_deadline(s3, bucket):
    # Nothing listens on one port; the other accepts connections and never answers.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    refusing = f"http://127.0.0.1:{free_port()}"
    hanging = f"http://127.0.0.1:{silent.getsockname()[1]}"
    failures = {}

    def probe(name, endpoint, call):
        store = _store(s3, f"s3://{bucket}/evidence", endpoint_url=endpoint,
                       connect_timeout_s=1, read_timeout_s=1)
        try:
            call(store)
        except Exception as exc:  # noqa: BLE001 - the test looks at what came out
            failures[name] = exc

    _, sha = _blob(10)
    threads = [threading.Thread(target=probe, args=args, daemon=True) for args in [
        ("refused ping", refusing, lambda s: s.ping()),
        ("refused has", refusing, lambda s: s.has(sha)),
        ("hanging ping", hanging, lambda s: s.ping()),
        ("hanging has", hanging, lambda s: s.has(sha))]]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)  # far past 3 tries of 1 s: only a hang gets here
        assert not any(t.is_alive() for t in threads), "an S3 call hung"
    finally:
        silent.close()
    assert isinstance(failures["refused ping"], ConfigError)
    assert isinstance(failures["hanging ping"], ConfigError)
    assert isinstance(failures["refused has"], Busy)  # a node's upload is asked again later
    assert isinstance(failures["hanging has"], Busy)
    for name in failures:
        line = failures[name].line()
        assert "\n" not in line and bucket in line, (name, line)
    assert "Read timeout" in failures["hanging has"].line()


@pytest.mark.parametrize("url", ["http://bucket/x", "s3://", "s3://Upper/x", "s3://ab/x",
                                 "s3://bucket/../x", "s3://bucket/x?y=1", "bucket/x"])
def test_a_bad_evidence_url_is_one_config_line(s3, url):
    with pytest.raises(ConfigError) as exc:
        _store(s3, url)
    assert exc.value.line().startswith("[registry] evidence_url must be s3://bucket/prefix")
    assert "\n" not in exc.value.line() and repr(url) in exc.value.line()


def test_half_a_key_pair_is_a_config_error():
    with pytest.raises(ConfigError, match="registry_s3_secret_access_key is missing"):
        S3ObjectStore("s3://bucket/x", endpoint_url="http://127.0.0.1:9", region=None,
                      access_key_id="key", secret_access_key=None)
    with pytest.raises(ConfigError, match="s3_endpoint_url must be an http"):
        S3ObjectStore("s3://bucket/x", endpoint_url="127.0.0.1:9000", region=None,
                      access_key_id=None, secret_access_key=None)


def _write_s3_secrets(registry_dir, s3):
    secrets = registry_dir / "secrets"
    secrets.mkdir(parents=True, mode=0o700)
    for name, value in (("registry_s3_access_key_id", s3.access_key_id),
                        ("registry_s3_secret_access_key", s3.secret_access_key)):
        path = secrets / name
        path.write_text(value + "\n", encoding="utf-8")
        os.chmod(path, 0o600)


def test_a_node_syncs_into_the_bucket_and_a_supervisor_sees_the_photo(tmp_path, s3, bucket,
                                                                       monkeypatch):
    registry_dir = tmp_path / "registry"
    _write_s3_secrets(registry_dir, s3)
    # In the environment, so `registry token add` and the server see the same bucket.
    monkeypatch.setenv("SURVEY_NODE_REGISTRY__EVIDENCE_URL", f"s3://{bucket}/national")
    monkeypatch.setenv("SURVEY_NODE_REGISTRY__S3_ENDPOINT_URL", s3.endpoint_url)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CREDENTIALS_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)
    assert config_mod.load(registry_dir).registry.evidence_url == f"s3://{bucket}/national"
    with running_registry(registry_dir) as url:
        ready = requests.get(f"{url}/readyz", timeout=10).json()
        assert ready["evidence"] == "ok", ready
        cfg = make_node(tmp_path / "node-a", "node-a", surveys=2, photos_per_survey=2,
                        registry_url=url)
        add_token(registry_dir, cfg)
        synced = run_sync(cfg)
        assert synced.returncode == 0, synced.stderr
        assert json.loads(synced.stdout)["surveys_sent"] == 2
        _, hashes = node_truth(cfg)
        assert len(hashes) == 4
        assert s3.keys(bucket) == sorted(f"national/{h[:2]}/{h}" for h in hashes)
        add_registry_users(registry_dir)
        web = requests.Session()
        token = CSRF.search(web.get(f"{url}/review/login", timeout=10).text).group(1)
        web.post(f"{url}/review/login", timeout=10, data={
            "name": "supervisor", "pin": PINS["supervisor"], "csrf_token": token})
        queue = web.get(f"{url}/review/", timeout=10).text
        survey_id = re.search(r'data-survey="([0-9a-f-]{36})"', queue).group(1)
        page = web.get(f"{url}/review/{survey_id}", timeout=10).text
        sha = re.search(r'src="/review/evidence/([0-9a-f]{64})"', page).group(1)
        photo = web.get(f"{url}/review/evidence/{sha}", timeout=10)
        assert photo.status_code == 200 and photo.headers["Content-Type"] == "image/jpeg"
        assert photo.content == EvidenceStore(cfg.evidence_dir).read_bytes(sha)
        outsider = requests.get(f"{url}/review/evidence/{sha}", timeout=10,
                                allow_redirects=False)
        assert outsider.status_code in (302, 401, 403) and outsider.content != photo.content
    db = connect_registry(registry_dir / "registry.db")
    try:
        assert {r[0] for r in db.execute("SELECT sha256 FROM evidence")} == hashes
    finally:
        db.close()
    evidence_dir = registry_dir / "evidence"
    assert not evidence_dir.exists() or not [p for p in evidence_dir.rglob("*") if p.is_file()]
