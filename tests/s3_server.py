"""An S3 API server on 127.0.0.1 for the tests: moto's S3 API, in a subprocess.

No S3 server (Ceph RGW, SeaweedFS, Garage) installs from the package registries this
project reaches, so the object store is tested against moto's: the S3 protocol over HTTP
with signed requests, its objects in the server process's memory. One server per test
module; each test gets a bucket of its own.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import uuid
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


@contextlib.contextmanager
def running_s3_server():
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
