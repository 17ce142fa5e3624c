"""The registry's API rules, in process over a real registry data dir (SQLite + files)."""

import hashlib
import json
import uuid
import zipfile

import pytest

from survey_node import config as config_mod
from survey_node import db as database
from survey_node.errors import BadInput
from survey_node.evidence import EvidenceStore
from survey_node.sync import protocol
from survey_node.sync.client import build_entry, check_transport
from survey_node.registry.service import Registry
from survey_node.registry.app import create_registry_app
from tests.sync_helpers import make_node, registry_sql, registry_truth

pytestmark = pytest.mark.usefixtures("registry_backend")


@pytest.fixture
def registry_dir(tmp_path):
    root = tmp_path / "registry"
    root.mkdir()
    (root / "config.toml").write_text("[registry]\nmax_evidence_mb = 1\n", encoding="utf-8")
    return root


@pytest.fixture
def registry(registry_dir):
    return Registry(config_mod.load(registry_dir))


@pytest.fixture
def api(registry):
    return create_registry_app(registry.config, registry=registry).test_client()


@pytest.fixture
def node(tmp_path):
    return make_node(tmp_path / "node-a", "node-a", surveys=3, photos_per_survey=2)


def _manifest(node):
    """A fresh batch of all the node's surveys (not stored on the node)."""
    db = database.connect(node.db_path)
    try:
        ids = [r[0] for r in db.execute("SELECT id FROM surveys ORDER BY id")]
        entries = [build_entry(db, i) for i in ids]
    finally:
        db.close()
    return protocol.new_manifest(node.node.id, str(uuid.uuid4()), "2026-11-25", entries)


def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def _send_all(api, node, token, manifest):
    reply = api.post("/api/v1/batches", json=manifest, headers=_auth(token))
    assert reply.status_code == 200, reply.json
    store = EvidenceStore(node.evidence_dir)
    for sha in reply.json["missing"]:
        put = api.put(f"/api/v1/evidence/{sha}", data=store.read_bytes(sha), headers=_auth(token))
        assert put.status_code == 200, put.json
    commit = api.post(f"/api/v1/batches/{manifest['batch_id']}/commit", headers=_auth(token))
    assert commit.status_code == 200, commit.json
    return commit.json


def test_bad_tokens_are_refused_with_one_clear_message(api, registry, node):
    token = registry.add_token("node-a")
    token_id, secret = token.split(".")
    for header in ({}, {"Authorization": "Basic x"}, _auth("nope"), _auth(f"{token_id}.wrong"),
                   _auth(f"000000000000.{secret}")):
        reply = api.post("/api/v1/batches", json=_manifest(node), headers=header)
        assert reply.status_code == 401
        said = "Missing, unknown or revoked registry token"
        assert reply.json == {"error": "unauthorized", "message": said,
                              "translatable": {"message": said, "params": {}}}
    assert api.get("/healthz").status_code == 200
    doc = api.get("/api/v1/openapi.json").json
    assert "/api/v1/evidence/{sha256}" in doc["paths"] and doc["openapi"].startswith("3.")
    refused = [e for e in registry.history() if e["action"] == "refused"]
    assert len(refused) == 5 and "unknown or revoked" in refused[0]["error"]


def test_token_is_stored_hashed(registry, registry_dir, registry_backend):
    token = registry.add_token("node-a")
    secret = token.split(".")[1]
    stored = registry_sql(registry_dir, "SELECT * FROM node_tokens")
    assert stored and secret not in repr(stored)
    if registry_backend == "embedded":
        assert secret.encode() not in (registry_dir / "registry.db").read_bytes()
    else:
        assert not (registry_dir / "registry.db").exists()


def test_a_node_cannot_send_for_another(api, registry, node):
    other = registry.add_token("node-b")
    reply = api.post("/api/v1/batches", json=_manifest(node), headers=_auth(other))
    assert reply.status_code == 403 and "node-b, not node-a" in reply.json["message"]


def test_a_node_cannot_cite_evidence_another_node_uploaded(api, registry, node, tmp_path):
    _send_all(api, node, registry.add_token("node-a"), _manifest(node))
    other = make_node(tmp_path / "node-b", "node-b", surveys=1)
    token_b = registry.add_token("node-b")
    cited = _manifest(node)["surveys"][0]["evidence"][0]  # a photo of node-a's
    entry = dict(_manifest(other)["surveys"][0], evidence=[cited])
    entry["content_sha256"] = protocol.content_hash(entry)
    manifest = protocol.new_manifest("node-b", str(uuid.uuid4()), "2026-12-03", [entry])
    reply = api.post("/api/v1/batches", json=manifest, headers=_auth(token_b))
    # The registry has the bytes, but node-b has not shown it has them: it must send them,
    # and its answer does not tell it the photo is already there.
    assert reply.status_code == 200 and reply.json["missing"] == [cited["sha256"]]
    commit = api.post(f"/api/v1/batches/{manifest['batch_id']}/commit", headers=_auth(token_b))
    assert commit.status_code == 409 and commit.json["error"] == "evidence_missing"
    wrong = api.put(f"/api/v1/evidence/{cited['sha256']}", data=b"not the photo",
                    headers=_auth(token_b))
    assert wrong.status_code == 400
    real = EvidenceStore(node.evidence_dir).read_bytes(cited["sha256"])
    assert api.put(f"/api/v1/evidence/{cited['sha256']}", data=real,
                   headers=_auth(token_b)).status_code == 200
    commit = api.post(f"/api/v1/batches/{manifest['batch_id']}/commit", headers=_auth(token_b))
    assert commit.status_code == 200 and commit.json["surveys"][0]["result"] == "stored"


def test_replayed_batch_gets_the_same_receipt(api, registry, node, registry_dir):
    token = registry.add_token("node-a")
    manifest = _manifest(node)
    receipt = _send_all(api, node, token, manifest)
    assert [s["result"] for s in receipt["surveys"]] == ["stored"] * 3
    again = api.post("/api/v1/batches", json=manifest, headers=_auth(token))
    assert again.json["receipt"] == receipt and again.json["missing"] == []
    commit = api.post(f"/api/v1/batches/{manifest['batch_id']}/commit", headers=_auth(token))
    assert commit.json == receipt
    surveys, (rows, distinct), hashes = registry_truth(registry_dir)
    assert len(surveys) == 3 and rows == distinct == 3 and len(hashes) == 6
    # The same surveys in a new batch are a no-op.
    manifest2 = dict(manifest, batch_id="7f1f0f56-3c0e-4e53-9a59-0d0b1d5e6c11")
    receipt2 = _send_all(api, node, token, manifest2)
    assert [s["result"] for s in receipt2["surveys"]] == ["unchanged"] * 3
    # A batch id reused with other content is refused.
    changed = dict(manifest, surveys=manifest["surveys"][:1])
    reused = api.post("/api/v1/batches", json=changed, headers=_auth(token))
    assert reused.status_code == 409 and "already received with other content" in \
        reused.json["message"]


def test_same_revision_different_content_is_a_conflict_and_writes_nothing(api, registry, node,
                                                                         registry_dir):
    token = registry.add_token("node-a")
    manifest = _manifest(node)
    _send_all(api, node, token, manifest)
    first, second = (json.loads(json.dumps(s)) for s in manifest["surveys"][:2])
    first["fields"]["notes"] = "changed without a new revision"
    first["content_sha256"] = protocol.content_hash(first)
    second["revision"] = 2
    second["fields"]["notes"] = "a real second revision"
    second["content_sha256"] = protocol.content_hash(second)
    bad = protocol.new_manifest("node-a", "0b8a4f4e-1b9e-4a53-8b41-55b1f1f0c0a2", "2026-11-25",
                                [first, second])
    reply = api.post("/api/v1/batches", json=bad, headers=_auth(token))
    assert reply.status_code == 200 and reply.json["missing"] == []
    commit = api.post(f"/api/v1/batches/{bad['batch_id']}/commit", headers=_auth(token))
    assert commit.status_code == 409 and commit.json["error"] == "revision_conflict"
    assert f"Survey {first['id']} revision 1 is already held with different content" in \
        commit.json["message"]
    assert [c["id"] for c in commit.json["conflicts"]] == [first["id"]]
    surveys, _, _ = registry_truth(registry_dir)
    assert surveys[second["id"]] == 1  # the whole batch was refused
    # Without the conflicting survey, the higher revision supersedes.
    good = protocol.new_manifest("node-a", "5c7e1d0c-44c5-4f0e-9d5d-2b8f3f1c7a10", "2026-11-25",
                                 [second])
    receipt = _send_all(api, node, token, good)
    assert receipt["surveys"][0]["result"] == "stored"
    surveys, (rows, _), _ = registry_truth(registry_dir)
    assert surveys[second["id"]] == 2 and rows == 4


def test_evidence_is_verified_and_bounded(api, registry, node, registry_dir):
    token = registry.add_token("node-a")
    manifest = _manifest(node)
    reply = api.post("/api/v1/batches", json=manifest, headers=_auth(token))
    sha = reply.json["missing"][0]
    wrong = api.put(f"/api/v1/evidence/{sha}", data=b"not the photo", headers=_auth(token))
    assert wrong.status_code == 400 and "hash to" in wrong.json["message"]
    big = api.put(f"/api/v1/evidence/{sha}", data=b"x" * (1024 * 1024 + 1), headers=_auth(token))
    assert big.status_code == 413 and "at most 1048576" in big.json["message"]
    stranger = hashlib.sha256(b"unreferenced").hexdigest()
    unasked = api.put(f"/api/v1/evidence/{stranger}", data=b"unreferenced", headers=_auth(token))
    assert unasked.status_code == 409 and "not referenced" in unasked.json["message"]
    early = api.post(f"/api/v1/batches/{manifest['batch_id']}/commit", headers=_auth(token))
    assert early.status_code == 409 and early.json["error"] == "evidence_missing"
    assert len(early.json["missing"]) == 6
    assert registry_truth(registry_dir)[2] == set()
    assert not list((registry_dir / "evidence").glob("*/.tmp-*"))


def test_oversize_evidence_is_refused_at_the_manifest(api, registry, node):
    token = registry.add_token("node-a")
    manifest = _manifest(node)
    entry = manifest["surveys"][0]
    entry["evidence"][0]["bytes"] = 5 * 1024 * 1024
    entry["content_sha256"] = protocol.content_hash(entry)
    reply = api.post("/api/v1/batches", json=manifest, headers=_auth(token))
    assert reply.status_code == 413 and "accepts at most 1048576" in reply.json["message"]


def test_manifest_errors_name_the_field(api, registry, node):
    token = registry.add_token("node-a")
    manifest = _manifest(node)
    manifest["surveys"][1]["fields"]["notes"] = "edited on the way"
    reply = api.post("/api/v1/batches", json=manifest, headers=_auth(token))
    assert reply.status_code == 400
    assert reply.json["message"] == \
        "Manifest surveys[1].content_sha256 does not match its content"
    broken = api.post("/api/v1/batches", data=b"{not json", headers=_auth(token))
    assert broken.status_code == 400 and "not valid JSON" in broken.json["message"]
    # Nested past the parser's recursion limit: malformed JSON like any other, not a 500.
    for body in (b"[" * 100_000, b'{"a":' * 5_000):
        deep = api.post("/api/v1/batches", data=body, headers=_auth(token))
        assert deep.status_code == 400 and "not valid JSON" in deep.json["message"]
        deep = api.post("/api/v1/decisions", data=body, headers=_auth(token))
        assert deep.status_code == 400 and "not valid JSON" in deep.json["message"]
    bad_since = api.get("/api/v1/decisions?since=x", headers=_auth(token))
    assert bad_since.status_code == 400


def test_transport_rules():
    assert check_transport("https://registry.example.go.th/", False) == \
        "https://registry.example.go.th"
    assert check_transport("http://127.0.0.1:8443", False) == "http://127.0.0.1:8443"
    assert check_transport("http://[::1]:8443", False)
    with pytest.raises(BadInput, match="Plain http to 10.0.0.5 is refused"):
        check_transport("http://10.0.0.5:8443", False)
    assert check_transport("http://10.0.0.5:8443", True)
    with pytest.raises(BadInput, match="No registry URL"):
        check_transport("", False)
    with pytest.raises(BadInput, match="must start with https"):
        check_transport("ftp://x/", True)


def test_usb_round_trip_and_tampered_files(cli, node, registry, registry_dir, tmp_path):
    _give_token(node, registry)
    out = tmp_path / "batch.zip"
    exported = cli("batch", "export", "--out", out, "--json", "--data-dir", node.data_dir)
    assert exported.exit_code == 0, exported.output
    summary = json.loads(exported.output)
    assert summary["surveys"] == 3 and summary["evidence"] == 6

    # Tampered copies: one evidence byte changed (CRC fixed up), or a manifest field edited.
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("evidence/") and not any(
                    n.startswith("evidence/") for n in dst.namelist()):
                data = bytes([data[0] ^ 1]) + data[1:]
            dst.writestr(info.filename, data)
    refused = cli("registry", "import-batch", evil, "--data-dir", registry_dir)
    assert refused.exit_code == 2 and "damaged or altered" in refused.output
    assert "nothing was imported" in refused.output
    edited = tmp_path / "edited.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(edited, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "manifest.json":
                data = data.replace(b'"notes":""', b'"notes":"x"', 1)
            dst.writestr(info.filename, data)
    refused2 = cli("registry", "import-batch", edited, "--data-dir", registry_dir)
    assert refused2.exit_code == 2 and "content_sha256 does not match" in refused2.output
    deep = tmp_path / "deep.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(deep, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, b"[" * 100_000 if info.filename == "manifest.json"
                         else src.read(info))
    refused3 = cli("registry", "import-batch", deep, "--data-dir", registry_dir)
    assert refused3.exit_code == 2 and "is not valid JSON" in refused3.output
    assert "Traceback" not in refused3.output and len(refused3.output.splitlines()) == 1
    assert registry_truth(registry_dir)[0] == {}

    receipt_file = tmp_path / "receipt.json"
    imported = cli("registry", "import-batch", out, "--json", "--receipt-out", receipt_file,
                   "--data-dir", registry_dir)
    assert imported.exit_code == 0, imported.output
    receipt = json.loads(imported.output)
    assert len(receipt["surveys"]) == 3 and receipt["batch_id"] == summary["batch_id"]
    again = cli("registry", "import-batch", out, "--json", "--data-dir", registry_dir)
    assert json.loads(again.output) == receipt
    surveys, _, hashes = registry_truth(registry_dir)
    assert len(surveys) == 3 and len(hashes) == 6
    history = cli("registry", "history", "--json", "--data-dir", registry_dir)
    assert "import" in {e["action"] for e in json.loads(history.output)}
    # Back on the node, the receipt marks the surveys synced.
    acked = cli("batch", "import-receipt", receipt_file, "--data-dir", node.data_dir)
    assert acked.exit_code == 0 and "3 survey(s) acknowledged" in acked.output
    db = database.connect(node.db_path)
    try:
        assert {r[0] for r in db.execute("SELECT state FROM surveys")} == {"synced"}
    finally:
        db.close()
    nothing = cli("batch", "export", "--out", tmp_path / "b2.zip", "--data-dir", node.data_dir)
    assert nothing.exit_code == 2 and "No completed surveys" in nothing.output


def _give_token(node, registry) -> str:
    token = registry.add_token(node.node.id)
    (node.secrets_dir / "registry_token").write_text(token + "\n", encoding="utf-8")
    return token


def _forged_zip(path, manifest: dict, signature: dict | None = None) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", protocol.canonical_json(manifest))
        if signature is not None:
            zf.writestr("signature.json", json.dumps(signature))


def test_a_forged_batch_file_for_another_node_is_refused(cli, tmp_path, registry, registry_dir):
    from survey_node.sync import signing

    victim = make_node(tmp_path / "victim", "node-v", surveys=1)
    attacker = make_node(tmp_path / "attacker", "node-x", surveys=1)
    _give_token(victim, registry)
    attacker_token = _give_token(attacker, registry)
    # The victim's real survey goes in by USB first.
    out = tmp_path / "real.zip"
    assert cli("batch", "export", "--out", out, "--data-dir", victim.data_dir).exit_code == 0
    assert cli("registry", "import-batch", out, "--data-dir", registry_dir).exit_code == 0
    held = registry_truth(registry_dir)[0]
    # A forgery: the victim's survey id, a higher revision, new content, a recomputed hash.
    real = _manifest(victim)
    entry = dict(real["surveys"][0], revision=real["surveys"][0]["revision"] + 1,
                 evidence=[])
    entry["fields"] = dict(entry["fields"], notes="forged")
    entry["content_sha256"] = protocol.content_hash(entry)
    forged = protocol.new_manifest("node-v", str(uuid.uuid4()), "2026-12-03", [entry])
    attempts = {"unsigned": None,
                "signed by another node's token": signing.sign(
                    *signing.split_token(attacker_token), "batch",
                    protocol.canonical_json(forged)),
                "a made-up signature": {"token_id": "abc", "alg": "HMAC-SHA256",
                                        "mac": "0" * 64}}
    for why, signature in attempts.items():
        path = tmp_path / f"forged-{len(why)}.zip"
        _forged_zip(path, forged, signature)
        refused = cli("registry", "import-batch", path, "--data-dir", registry_dir)
        assert refused.exit_code == 2, why
        assert "not signed by a live registry token of node node-v" in refused.output, why
        assert len(refused.output.strip().splitlines()) == 1
    assert registry_truth(registry_dir)[0] == held  # nothing changed


def test_a_hand_made_or_altered_receipt_marks_nothing_synced(cli, node, registry, registry_dir,
                                                            tmp_path):
    _give_token(node, registry)
    out, receipt_file = tmp_path / "batch.zip", tmp_path / "receipt.json"
    summary = json.loads(cli("batch", "export", "--out", out, "--json", "--data-dir",
                             node.data_dir).output)
    db = database.connect(node.db_path)
    try:
        ids = [r[0] for r in db.execute("SELECT id FROM surveys ORDER BY id")]
        revisions = dict(db.execute("SELECT id, revision FROM surveys").fetchall())
    finally:
        db.close()
    hand_made = {"batch_id": summary["batch_id"], "node_id": "node-a",
                 "surveys": [{"id": i, "revision": revisions[i]} for i in ids]}
    receipt_file.write_text(json.dumps(hand_made), encoding="utf-8")
    refused = cli("batch", "import-receipt", receipt_file, "--data-dir", node.data_dir)
    assert refused.exit_code == 2 and "not signed by the registry" in refused.output
    # A real receipt with one survey added by hand is refused whole too.
    assert cli("registry", "import-batch", out, "--receipt-out", receipt_file,
               "--data-dir", registry_dir).exit_code == 0
    real = json.loads(receipt_file.read_text(encoding="utf-8"))
    altered = dict(real, surveys=real["surveys"][:1])
    receipt_file.write_text(json.dumps(altered), encoding="utf-8")
    refused = cli("batch", "import-receipt", receipt_file, "--data-dir", node.data_dir)
    assert refused.exit_code == 2 and "not signed by the registry" in refused.output
    db = database.connect(node.db_path)
    try:
        assert {r[0] for r in db.execute("SELECT state FROM surveys")} == {"complete"}
    finally:
        db.close()
    receipt_file.write_text(json.dumps(real), encoding="utf-8")
    acked = cli("batch", "import-receipt", receipt_file, "--data-dir", node.data_dir)
    assert acked.exit_code == 0 and "3 survey(s) acknowledged" in acked.output


def test_a_node_without_a_registry_token_cannot_export_a_batch(cli, node, tmp_path):
    exported = cli("batch", "export", "--out", tmp_path / "b.zip", "--data-dir", node.data_dir)
    assert exported.exit_code == 2 and "no registry token" in exported.output
    assert not (tmp_path / "b.zip").exists()


def test_token_add_prints_the_token_last(cli, registry_dir):
    result = cli("registry", "token", "add", "node-z", "--data-dir", registry_dir)
    assert result.exit_code == 0
    token = result.output.split()[-1]
    assert Registry(config_mod.load(registry_dir)).authenticate(f"Bearer {token}") == "node-z"
    bad = cli("registry", "token", "add", "no spaces allowed", "--data-dir", registry_dir)
    assert bad.exit_code == 2 and "node_id" in bad.output


def test_decide_needs_a_reason_and_a_known_survey(cli, registry_dir):
    missing = cli("registry", "decide", "x", "--state", "approved", "--data-dir", registry_dir)
    assert missing.exit_code == 2 and "is not in the registry" in missing.output
    no_reason = cli("registry", "decide", "x", "--state", "rejected", "--data-dir", registry_dir)
    assert no_reason.exit_code == 2 and "needs a reason" in no_reason.output


def test_doctor_reports_the_registry(cli, tmp_path, registry_dir):
    node = make_node(tmp_path / "node-d", "node-d", surveys=0,
                     registry_url="http://10.1.2.3:8443")
    result = cli("doctor", "--json", "--data-dir", node.data_dir)
    [found] = [c for c in json.loads(result.output) if c["name"] == "registry"]
    assert found["status"] == "fail" and "Plain http to 10.1.2.3" in found["detail"]
