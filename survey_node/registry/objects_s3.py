"""Evidence in an S3-compatible bucket (``[registry] evidence_url = "s3://bucket/prefix"``).

Objects sit under ``<prefix>/ab/abcdef...``, the evidence folder's layout, so a registry
moved from the folder to a bucket names the same objects. Whatever an upload goes through,
a content key only ever holds bytes that hashed to its name:

* an upload of at most one part (8 MiB: every photo and snapshot) is hashed in memory
  first and only then PUT, with its SHA-256 in ``x-amz-checksum-sha256`` and its MD5 in
  ``Content-MD5`` so the server refuses bytes damaged on the way (MD5 too because Ceph RGW
  before Squid takes the checksum header and checks nothing: a wrong one is stored with
  200); a PUT is atomic, so the key shows all or nothing;
* a larger one goes as a multipart upload to ``<prefix>/tmp/<uuid>`` (each part with its own
  SHA-256 checksum), is completed only once the whole stream hashed to the name (else
  aborted: not even the temporary key appears), then copied to the content key and the
  temporary key deleted.

Any server that speaks the S3 API by endpoint URL works (AWS S3, Ceph RGW, SeaweedFS,
Garage): path-style addresses and signature v4, and botocore's default CRC checksums off,
which servers other than AWS often refuse. Some refuse the SHA-256 checksum headers too
(Backblaze B2 answers 400 "Unsupported header 'x-amz-checksum-sha256'", Cloudflare R2 501
on a copy with a checksum algorithm): the first such refusal makes the store send every
later request with Content-MD5 alone, which every S3 server checks; the bytes were
hashed against their name before any of it, so the content-key rule above holds either
way.

A new object is PUT with ``If-None-Match: *`` so an object already there is not written
again (in a versioned bucket, kept for backups, every rewrite is another version). Whether
the server honours that is asked once per process on a key of the store's own
(``tmp/conditional-probe``) rather than assumed: Ceph RGW (Pacific) honours it on a plain
bucket and ignores it on a versioned one; Alibaba OSS refuses it. Where it is not honoured,
each new object is asked for by HEAD first.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import re
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import urlsplit

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from .. import config as config_mod
from ..config import Config
from ..errors import BadInput, Busy, ConfigError, NotFound, SurveyNodeError, TooLarge

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PART_SIZE = 8 << 20  # S3 wants parts of at least 5 MiB; two of these per upload in memory
TMP = "tmp"
PROBE = "conditional-probe"  # under tmp/: the key the If-None-Match question is asked on
PROBE_BODY = b"probe"  # not empty: moto's server never answers an empty PUT
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
ATTEMPTS = 3  # the first try and two retries, each bounded by the timeouts above
# The server's answers that mean the config (bucket, keys, endpoint) is wrong, not that the
# server is down: retrying does not help, someone must fix the config.
REFUSALS = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
            "NoSuchBucket", "AuthorizationHeaderMalformed", "InvalidBucketName"}
# Answers about checksum headers that mean bytes were damaged, not that the server lacks them.
DAMAGED = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"}
log = logging.getLogger(__name__)


class S3ObjectStore:
    """The ObjectStore of store.py on a bucket: has, put_stream, open, discard, ping..."""

    def __init__(self, url: str, *, endpoint_url: str | None, region: str | None,
                 access_key_id: str | None, secret_access_key: str | None,
                 connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 read_timeout_s: float = READ_TIMEOUT_S) -> None:
        self.bucket, self.prefix = parse_url(url)
        self.endpoint_url = (endpoint_url or "").strip() or None
        self.where = self.endpoint_url or f"AWS S3 ({region or 'default region'})"
        if bool(access_key_id) != bool(secret_access_key):
            missing = "secret_access_key" if access_key_id else "access_key_id"
            raise ConfigError("The S3 key pair is half given: registry_s3_%(missing)s is"
                              " missing from the credentials", missing=missing)
        self._client = _make_client(self.endpoint_url, region, access_key_id,
                                    secret_access_key, connect_timeout_s, read_timeout_s)
        # Whether the server takes S3's SHA-256 checksum headers; False from its first
        # refusal on (for this process), then Content-MD5 is sent alone.
        self.checksums = True
        # Whether it honours If-None-Match on PUT: None until asked (_learn_conditional).
        self.conditional: bool | None = None
        self._asking = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> "S3ObjectStore":
        """The bucket of `[registry] evidence_url`; the keys from the credentials files, or
        (when there are none) boto3's own chain: AWS_ACCESS_KEY_ID..., instance roles."""
        section = config.registry
        return cls(section.evidence_url, endpoint_url=section.s3_endpoint_url,
                   region=section.s3_region.strip() or None,
                   access_key_id=config_mod.read_optional_secret(
                       config, "registry_s3_access_key_id"),
                   secret_access_key=config_mod.read_optional_secret(
                       config, "registry_s3_secret_access_key"))

    def key(self, sha256: str) -> str:
        if not SHA256_RE.match(sha256 or ""):
            raise BadInput("%(value)r is not a SHA-256 hash", value=sha256)
        return self._under(f"{sha256[:2]}/{sha256}")

    def has(self, sha256: str) -> bool:
        return self._exists(self.key(sha256))

    def _exists(self, key: str) -> bool:
        try:
            self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._failure(exc) from None
        except BotoCoreError as exc:
            raise self._failure(exc) from None
        return True

    def open(self, sha256: str) -> BinaryIO:
        """The object's bytes as a file, read from the server as they are read here."""
        key = self.key(sha256)
        try:
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in ("404", "NoSuchKey"):
                raise NotFound("Evidence %(sha)s is not in the registry", sha=sha256[:12]) \
                    from None
            raise self._failure(exc) from None
        except BotoCoreError as exc:
            raise self._failure(exc) from None
        return io.BufferedReader(_Body(answer["Body"]), buffer_size=1 << 16)

    def discard(self, sha256: str) -> None:
        """Remove an object no database row names (its row could not be written)."""
        self._call("delete_object", Key=self.key(sha256))

    def ping(self) -> None:
        """Raise a one-line ConfigError unless the bucket answers (readiness)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise ConfigError("The evidence bucket %(bucket)s at %(endpoint)s does not answer:"
                              " %(error)s", bucket=self.bucket, endpoint=self.where,
                              error=_describe(exc)) from None

    def iter_hashes(self) -> Iterator[str]:
        """Every stored object's hash, in key order (not the temporary uploads)."""
        start = self._under("")
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=start)
        try:
            for page in pages:
                for item in page.get("Contents", []):
                    fan, _, name = item["Key"][len(start):].partition("/")
                    if fan != TMP and SHA256_RE.match(name) and fan == name[:2]:
                        yield name
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc) from None

    def put_stream(self, sha256: str, chunks: Iterable[bytes], limit: int) -> int:
        """Store streamed bytes under `sha256` if they hash to it; return their size.

        At most about two parts' worth of the stream is in memory at once, whatever its
        size; past `limit` bytes it is refused and nothing is left in the bucket.
        """
        key = self.key(sha256)
        digest, size = hashlib.sha256(), 0
        pending = bytearray()
        upload = None
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge("Evidence is larger than the registry's limit of"
                                   " %(limit)s bytes", limit=limit)
                digest.update(chunk)
                pending += chunk
                while len(pending) > PART_SIZE:  # ">": a stream of one part is one PUT
                    upload = upload or _Multipart(self, self._under(f"{TMP}/{uuid.uuid4()}"))
                    upload.send(_take(pending, PART_SIZE))
            got = digest.hexdigest()
            if got != sha256:
                raise BadInput("Evidence bytes hash to %(got)s, not to %(want)s", got=got,
                               want=sha256)
            if upload is None:
                self._put_once(key, bytes(pending), digest.digest())
            else:
                upload.send(bytes(pending))
                upload.complete()
                self._promote(upload.key, sha256)
        except BaseException:
            if upload is not None:
                upload.abandon()
            raise
        return size

    def remove_temporaries(self, older_than_s: float = 0.0) -> int:
        """Startup repair: abort multipart uploads and delete temporary objects a killed
        process left under tmp/; return how many. `older_than_s` spares those another
        live registry process may still be writing."""
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than_s)
        removed = 0
        tmp = self._under(f"{TMP}/")
        try:
            for page in self._client.get_paginator("list_multipart_uploads").paginate(
                    Bucket=self.bucket, Prefix=tmp):
                for item in page.get("Uploads", []):
                    if item["Initiated"] <= cutoff:
                        self._call("abort_multipart_upload", Key=item["Key"],
                                   UploadId=item["UploadId"])
                        removed += 1
            for page in self._client.get_paginator("list_objects_v2").paginate(
                    Bucket=self.bucket, Prefix=tmp):
                for item in page.get("Contents", []):
                    if item["LastModified"] <= cutoff:
                        self._call("delete_object", Key=item["Key"])
                        removed += 1
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc) from None
        return removed

    def _put_once(self, key: str, body: bytes, sha256_raw: bytes) -> None:
        """One request for a new object: PUT only if the key is free (If-None-Match: *),
        so an object already there (another node's identical photo, a re-sent upload) is
        neither rewritten nor given a second version in a versioned bucket. Where the server
        does not honour the condition (_learn_conditional), it is asked by HEAD first."""
        integrity = _integrity(body, sha256_raw)
        if self.conditional is None:
            self._learn_conditional()
        if not self.conditional:
            if not self._exists(key):
                self._call("put_object", integrity=integrity, Key=key, Body=body)
            return
        try:
            self._checked("put_object", *integrity, Key=key, Body=body, IfNoneMatch="*")
        except ClientError as exc:
            code = _code(exc)
            if code in ("PreconditionFailed", "412"):
                return  # the key holds these bytes already (only verified bytes go there)
            if _refuses_condition(exc):  # it took the probe's, but not this one's
                log.warning("The evidence bucket %s at %s refuses conditional PUTs (%s):"
                            " asking by HEAD first instead", self.bucket, self.where,
                            _describe(exc))
                self.conditional = False
                return self._put_once(key, body, sha256_raw)
            if code not in ("ConditionalRequestConflict", "409"):
                raise self._failure(exc) from None
        except BotoCoreError as exc:
            raise self._failure(exc) from None
        else:
            return
        # 409: another conditional PUT of this key was in flight (AWS) and may yet fail;
        # put the same verified bytes without the condition rather than trust it.
        self._call("put_object", integrity=integrity, Key=key, Body=body)

    def _learn_conditional(self) -> None:
        """Ask once whether the server honours If-None-Match: * on PUT: a five-byte object
        PUT twice under tmp/ with the condition; the second must be refused (412). The
        probe is deleted after (a versioned bucket keeps its tiny versions under tmp/)."""
        with self._asking:
            if self.conditional is not None:
                return
            key = self._under(f"{TMP}/{PROBE}")
            honoured, refusal = False, None
            for _ in range(2):
                try:
                    self._client.put_object(Bucket=self.bucket, Key=key, Body=PROBE_BODY,
                                            IfNoneMatch="*", **_md5(PROBE_BODY))
                except ClientError as exc:
                    if _code(exc) in ("PreconditionFailed", "412"):
                        honoured = True
                        break
                    if not _refuses_condition(exc):
                        raise self._failure(exc) from None
                    refusal = _describe(exc)
                    break
                except BotoCoreError as exc:
                    raise self._failure(exc) from None
            if not honoured:
                log.warning("The evidence bucket %s at %s does not honour conditional PUTs"
                            " (%s): asking by HEAD before each new object instead",
                            self.bucket, self.where,
                            refusal or "it took If-None-Match: * for a key it holds")
            self.conditional = honoured
            with contextlib.suppress(SurveyNodeError):
                self._call("delete_object", Key=key)

    def _promote(self, tmp_key: str, sha256: str) -> None:
        """Copy a verified temporary object to its content key (unless another upload put
        it there first), then delete the temporary one."""
        if not self.has(sha256):
            self._call("copy_object", integrity=({"ChecksumAlgorithm": "SHA256"}, {}),
                       Key=self.key(sha256), CopySource={"Bucket": self.bucket, "Key": tmp_key})
        self._call("delete_object", Key=tmp_key)

    def _under(self, rest: str) -> str:
        return f"{self.prefix}/{rest}" if self.prefix else rest

    def _call(self, operation: str, *, integrity: tuple[dict, dict] | None = None, **params):
        """One S3 call; failures as one line. `integrity`: the parameters to add when the
        server takes S3's checksum headers, and those to add when it does not."""
        try:
            if integrity is None:
                return getattr(self._client, operation)(Bucket=self.bucket, **params)
            return self._checked(operation, *integrity, **params)
        except (ClientError, BotoCoreError) as exc:
            raise self._failure(exc) from None

    def _checked(self, operation: str, with_checksum: dict, without: dict, **params):
        """The call with S3's checksum parameters, or without them (`without`: Content-MD5)
        once the server has refused them; a refusal now is asked again the other way."""
        if self.checksums:
            try:
                return getattr(self._client, operation)(Bucket=self.bucket, **params,
                                                        **with_checksum)
            except ClientError as exc:
                if not _refuses_checksums(exc):
                    raise
                if self.checksums:
                    log.warning("The evidence bucket %s at %s refuses S3's checksum headers"
                                " (%s): sending Content-MD5 instead", self.bucket, self.where,
                                _describe(exc))
                self.checksums = False
        return getattr(self._client, operation)(Bucket=self.bucket, **params, **without)

    def _failure(self, exc: Exception) -> SurveyNodeError:
        """A refusal the config must fix (keys, bucket) or a server to try again later."""
        if isinstance(exc, NoCredentialsError) or (
                isinstance(exc, ClientError) and _code(exc) in REFUSALS):
            return ConfigError("The evidence bucket %(bucket)s at %(endpoint)s refused the"
                               " registry: %(error)s", bucket=self.bucket,
                               endpoint=self.where, error=_describe(exc))
        return Busy("The evidence bucket %(bucket)s at %(endpoint)s does not answer:"
                    " %(error)s", bucket=self.bucket, endpoint=self.where,
                    error=_describe(exc))


class _Multipart:
    """One multipart upload to a temporary key, each part sent with its SHA-256."""

    def __init__(self, store: S3ObjectStore, key: str) -> None:
        self.store, self.key = store, key
        self.upload_id = store._call("create_multipart_upload", Key=key, integrity=(
            {"ChecksumAlgorithm": "SHA256"}, {}))["UploadId"]
        # An upload begun with a checksum algorithm needs every part's checksum (AWS).
        self.checksums = store.checksums
        self.parts: list[dict] = []
        self.completed = False

    def send(self, data: bytes) -> None:
        number = len(self.parts) + 1
        with_checksum, without = _integrity(data, hashlib.sha256(data).digest())
        answer = self.store._call("upload_part", Key=self.key, UploadId=self.upload_id,
                                  PartNumber=number, Body=data,
                                  **(with_checksum if self.checksums else without))
        part = {"PartNumber": number, "ETag": answer["ETag"]}
        if self.checksums:
            part["ChecksumSHA256"] = with_checksum["ChecksumSHA256"]
        self.parts.append(part)

    def complete(self) -> None:
        self.store._call("complete_multipart_upload", Key=self.key, UploadId=self.upload_id,
                         MultipartUpload={"Parts": self.parts})
        self.completed = True

    def abandon(self) -> None:
        """Leave nothing behind: best effort, the error that got here matters more."""
        with contextlib.suppress(SurveyNodeError):
            if self.completed:
                self.store._call("delete_object", Key=self.key)
            else:
                self.store._call("abort_multipart_upload", Key=self.key,
                                 UploadId=self.upload_id)


class _Body(io.RawIOBase):
    """A GetObject body as a raw file for io.BufferedReader (send_file reads it in blocks)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._stream.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
        super().close()


def parse_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of s3://bucket/prefix, or a one-line ConfigError."""
    parts = urlsplit((url or "").strip())
    bucket, prefix = parts.netloc, parts.path.strip("/")
    if (parts.scheme != "s3" or not BUCKET_RE.match(bucket) or parts.query or parts.fragment
            or "//" in prefix or any(p in (".", "..") for p in prefix.split("/"))):
        raise ConfigError("[registry] evidence_url must be s3://bucket/prefix (a bucket name"
                          " of 3-63 lowercase letters, digits, dots or dashes), not %(url)r",
                          url=url)
    return bucket, prefix


def _make_client(endpoint_url, region, access_key_id, secret_access_key, connect_timeout_s,
                 read_timeout_s):
    if endpoint_url and urlsplit(endpoint_url).scheme not in ("http", "https"):
        raise ConfigError("[registry] s3_endpoint_url must be an http(s):// address, not"
                          " %(url)r", url=endpoint_url)
    settings = BotoConfig(
        connect_timeout=connect_timeout_s, read_timeout=read_timeout_s,
        retries={"max_attempts": ATTEMPTS, "mode": "standard"}, signature_version="s3v4",
        # Other servers than AWS: the bucket in the path, not in the host name...
        s3={"addressing_style": "path" if endpoint_url else "auto"},
        # ...and no CRC32 checksum headers unless asked; the SHA-256 ones are sent by hand.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required")
    session = boto3.session.Session()  # its own: the default session is not thread-safe
    try:
        return session.client("s3", endpoint_url=endpoint_url, region_name=region,
                              aws_access_key_id=access_key_id,
                              aws_secret_access_key=secret_access_key, config=settings)
    except (ValueError, BotoCoreError) as exc:
        raise ConfigError("The S3 settings do not work: %(error)s",
                          error=_describe(exc)) from None


def _code(exc: ClientError) -> str:
    return _error(exc, "Code")


def _error(exc: ClientError, field: str) -> str:
    """A field of the server's <Error> answer (Code, Message, Header...), "" if absent."""
    return str(exc.response.get("Error", {}).get(field, ""))


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _describe(exc: Exception) -> str:
    """One line of what the server or the network said."""
    if isinstance(exc, ClientError):
        text = _error(exc, "Message") or _code(exc)
        return " ".join(str(p) for p in (_status(exc), text) if p) or type(exc).__name__
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _take(pending: bytearray, size: int) -> bytes:
    """The first `size` bytes out of `pending`, copied once (a slice would copy twice)."""
    with memoryview(pending) as view:
        part = bytes(view[:size])
    del pending[:size]
    return part


def _refuses_checksums(exc: ClientError) -> bool:
    """The server does not take S3's checksum headers (as opposed to: the bytes were damaged
    on the way, which any retry must still be refused for)."""
    message = _error(exc, "Message").lower()
    header = _error(exc, "Header").lower()  # AWS-style NotImplemented names it
    return (_status(exc) in (400, 501) and _code(exc) not in DAMAGED and "match" not in message
            and ("checksum" in message or "checksum" in header))


def _refuses_condition(exc: ClientError) -> bool:
    """The server does not implement conditional writes (AWS's own answer before 2024, and
    Alibaba OSS's: 501 NotImplemented, "A header you provided implies functionality that is
    not implemented")."""
    header = _error(exc, "Header").lower()
    return ((_status(exc) == 501 or _code(exc) == "NotImplemented")
            and header in ("", "if-none-match"))


def _integrity(body: bytes, sha256_raw: bytes) -> tuple[dict, dict]:
    """The parameters for a request carrying `body`: (with S3's SHA-256 checksum, without
    it). Content-MD5 is in both: some servers take the checksum header and check nothing."""
    md5 = _md5(body)
    return {"ChecksumSHA256": _b64(sha256_raw), **md5}, md5


def _md5(body: bytes) -> dict:
    return {"ContentMD5": _b64(hashlib.md5(body, usedforsecurity=False).digest())}


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
