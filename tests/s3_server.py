"""S3 API servers on 127.0.0.1 for the tests.

The default is a real Ceph RADOS Gateway (Debian's radosgw as a throwaway one-node cluster,
tests/ceph_rgw.py), the S3 server the registry's operators are most likely to run
themselves. moto's S3 server (the S3 protocol over HTTP with signed requests, its objects in
the server process's memory) is the second implementation the object store's own tests
also run against, and the stand-in on a laptop without radosgw (never under CI=true).
Each test gets a bucket of its own.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import subprocess
import sys
import tempfile
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from tests.live import free_port, stop_process, wait_for_http

ACCESS_KEY, SECRET_KEY = "test-only-key", "test-only-secret-" + uuid.uuid4().hex[:12]
REGION = "us-east-1"
START_DEADLINE_S = 60.0


@dataclass
class S3Server:
    endpoint_url: str
    access_key_id: str = ACCESS_KEY
    secret_access_key: str = SECRET_KEY
    region: str = REGION
    name: str = "moto"
    # Whether the server keeps an object's SHA-256 checksum (HEAD with ChecksumMode shows
    # it): moto does; Ceph RGW before Squid takes the header and keeps nothing.
    stores_checksums: bool = True

    def client(self):
        import boto3

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint_url, region_name=self.region,
            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)

    def new_bucket(self) -> str:
        name = "evidence-" + uuid.uuid4().hex[:12]
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        """Every object in the bucket, and every multipart upload not completed or aborted."""
        client = self.client()
        objects = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
        uploads = [f"(upload) {u['Key']}" for u in
                   client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
        return sorted(objects + uploads)


KINDS = ("ceph-rgw", "moto")


def default_kind() -> str:
    """Ceph RGW where radosgw is installed; moto on a laptop without it (loudly), but
    under CI=true a missing radosgw fails the tests that need it."""
    from tests import ceph_rgw

    if ceph_rgw.available():
        return "ceph-rgw"
    if os.environ.get("CI") == "true":
        raise RuntimeError("radosgw, ceph-mon and ceph-osd are needed under CI=true"
                           " (make system-packages installs them as root)")
    warnings.warn("radosgw is not installed: the S3 tests run against moto only")
    return "moto"


@contextlib.contextmanager
def running_s3_server(kind: str | None = None):
    """An S3 server of `kind` (default: `default_kind()`) until the block ends."""
    kind = kind or default_kind()
    if kind == "ceph-rgw":
        from tests.ceph_rgw import running_ceph_rgw

        with running_ceph_rgw() as server:
            yield server
    else:
        with running_moto() as server:
            yield server


@contextlib.contextmanager
def running_moto():
    """moto's server app (behind waitress: tests/moto_waitress.py says why) on a free
    127.0.0.1 port until the block ends (then stopped)."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="moto-server-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.moto_waitress", "127.0.0.1", str(port)],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/moto-api/", deadline_s=START_DEADLINE_S,
                          process=process)
        except (TimeoutError, RuntimeError) as exc:
            tail = Path(log.name).read_text(errors="replace")[-2000:]
            raise RuntimeError(f"moto's S3 server did not start: {exc}\n{tail}") from None
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        stop_process(process)
        log.close()
        Path(log.name).unlink(missing_ok=True)


# What servers without S3's checksum support answer a request that carries the headers:
# Backblaze B2 (400, InvalidRequest) and Cloudflare R2 on a copy (501, NotImplemented);
# and what AWS answers a SHA-256 checksum the bytes do not match (moto checks none).
CHECKSUM_REFUSALS = {
    "b2": (400, "InvalidRequest",
           "Unsupported header 'x-amz-checksum-sha256' received for this API call."),
    "r2": (501, "NotImplemented",
           "Header 'x-amz-checksum-algorithm' with value 'SHA256' not implemented"),
    "mismatch": (400, "BadDigest",
                 "The SHA256 you specified did not match the calculated checksum."),
    # and what servers without conditional writes answer If-None-Match (Alibaba OSS).
    "oss": (501, "NotImplemented",
            "A header you provided implies functionality that is not implemented"),
}


def _refused(style: str | None, headers: dict, body: bytes) -> bool:
    if style is None:
        return False
    if style == "oss":
        return "if-none-match" in headers
    if style == "mismatch":
        sent = headers.get("x-amz-checksum-sha256")
        return sent is not None and sent != base64.b64encode(
            hashlib.sha256(body).digest()).decode()
    return any(k.startswith("x-amz-checksum-") or k == "x-amz-sdk-checksum-algorithm"
               for k in headers)


@contextlib.contextmanager
def checksum_refusing_proxy(upstream: str, style: str | None = "b2"):
    """An HTTP/1.1 proxy on 127.0.0.1 in front of `upstream` (an S3 server) answering as
    `style`'s server does (CHECKSUM_REFUSALS): b2 and r2 refuse every request with an
    x-amz-checksum-* or x-amz-sdk-checksum-algorithm header, mismatch refuses a SHA-256
    checksum that is not the body's, oss refuses If-None-Match, None refuses nothing (to see
    what the store sends). It passes the rest on, and
    yields (its URL, the headers of every request it passed on, with ":method", ":path" and
    ":body" (its length))."""
    import http.client
    import http.server
    import threading
    from urllib.parse import urlsplit

    target = urlsplit(upstream)
    status, code, message = CHECKSUM_REFUSALS.get(style, (0, "", ""))
    passed: list[dict] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _relay(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if _refused(style, headers, body):
                error = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
                         f"<Message>{message}</Message>"
                         + ("<Header>If-None-Match</Header>" if style == "oss" else "")
                         + "</Error>").encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)
                return
            passed.append({**headers, ":method": self.command, ":path": self.path,
                           ":body": len(body)})
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                conn.request(self.command, self.path, body=body or None, headers={
                    k: v for k, v in self.headers.items() if k.lower() != "expect"})
                answer = conn.getresponse()
                data = answer.read()
            finally:
                conn.close()
            self.send_response(answer.status)
            for k, v in answer.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection",
                                     "date", "server"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", passed
    finally:
        server.shutdown()
        server.server_close()
