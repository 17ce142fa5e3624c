"""Find a camera's stream when the registry has no address (or a wrong one).

The surveyor gives the camera's address, its user and password and the maker; the node
tries that maker's known RTSP paths (brands.py) one by one. Each try is one ffprobe under
a short deadline (it names the reason: 401, 404, refused, silence) and costs no decoding;
the first address that opens with a video track gets the normal stream check, and is kept
only if that check gets a picture. The whole search has its own deadline.

Two answers end the search early, on purpose:
* a wrong password (401): Hikvision and Dahua lock the camera's account, or this node's
  address, after a handful of failed logins, so the node must not spend the surveyor's
  attempts on every path;
* nothing listening at an address and port (refused, silence, unknown host): the other
  paths on that port cannot answer either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from .classify import classify_open_failure
from .urls import InvalidStreamUrl, mask_text, mask_url, validate_url
from .verdict import PICTURE_VERDICTS

DEAD_PORT = ("refused", "timeout")
STOP_ALL = ("auth_failed", "dns")
MIN_TRY_S = 1.0  # less left than this is not worth a connection


@dataclass
class Try:
    url: str  # masked
    verdict: str
    error: str | None = None

    def public(self) -> dict:
        return {"url": self.url, "verdict": self.verdict, "error": self.error}


@dataclass
class Outcome:
    """`url` is the found (unmasked) address, None when nothing gave a picture."""

    url: str | None
    verdict: str | None
    tries: list[Try] = field(default_factory=list)
    check: object = None  # the winning (or last) full check's result, if one ran
    check_id: int | None = None
    out_of_time: bool = False
    onvif: dict | None = None  # what the camera said over ONVIF (identity, clock, URIs)

    @property
    def masked(self) -> str | None:
        return mask_url(self.url) if self.url else None


def _port_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def find_stream(settings, urls: list[str], *, check, on_try=None,
                clock=time.monotonic) -> Outcome:
    """Try `urls` in order; `check(url, timeout_s)` runs the full check of a candidate and
    returns (ProbeResult, check id). `on_try(Try)` is told each attempt as it ends."""
    deadline = clock() + settings.find_timeout_s
    outcome = Outcome(url=None, verdict=None)
    dead_ports: set[str] = set()

    def record(url: str, verdict: str, error: str | None) -> None:
        attempt = Try(mask_url(url), verdict, mask_text(error, url) if error else None)
        outcome.tries.append(attempt)
        if on_try:
            on_try(attempt)

    for url in urls:
        if _port_of(url) in dead_ports:
            continue
        left = deadline - clock()
        if left < MIN_TRY_S:
            outcome.out_of_time = True
            break
        opened = classify_open_failure(url, ffprobe=settings.ffprobe,
                                       transport=settings.transport,
                                       budget_s=min(settings.find_try_timeout_s, left))
        verdict = opened["verdict"]
        if verdict is not None:
            record(url, verdict, opened["error"])
            outcome.verdict = _worse(outcome.verdict, verdict)
            if verdict in STOP_ALL:
                break
            if verdict in DEAD_PORT:
                dead_ports.add(_port_of(url))
            continue
        left = deadline - clock()
        result, check_id = check(url, max(MIN_TRY_S, min(settings.timeout_s, left)))
        record(url, result.verdict, result.error)
        outcome.check, outcome.check_id = result, check_id
        if result.verdict in PICTURE_VERDICTS:
            outcome.url, outcome.verdict = url, result.verdict
            return outcome
        outcome.verdict = _worse(outcome.verdict, result.verdict)
    if outcome.verdict is None:  # the deadline came before any try
        outcome.verdict = "timeout"
    return outcome


# What the search says when nothing worked: the most telling reason among the tries. A
# wrong password beats "no such path" (the path may be right); "no such path" beats
# silence on another port (the camera answered, the path is wrong).
_RANK = ("auth_failed", "no_frames", "unsupported", "not_found", "dns", "refused", "timeout")


def _worse(current: str | None, new: str) -> str:
    if current is None:
        return new
    rank = {v: i for i, v in enumerate(_RANK)}
    return new if rank.get(new, len(_RANK)) < rank.get(current, len(_RANK)) else current


def find_by_onvif(settings, url: str, *, check, on_try=None) -> Outcome:
    """Ask the camera (``onvif://user:password@host:port``) for its main stream's URI,
    then run the normal check on it, with the camera's identity kept on the check."""
    from .onvif_client import ask_camera, with_credentials

    parts = urlsplit(url)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    outcome = Outcome(url=None, verdict=None)

    def record(tried: str, verdict: str, error: str | None) -> None:
        attempt = Try(mask_url(tried), verdict, mask_text(error, tried) if error else None)
        outcome.tries.append(attempt)
        if on_try:
            on_try(attempt)

    answer = ask_camera(parts.hostname, parts.port or 80, user, password,
                        timeout_s=settings.onvif_timeout_s,
                        call_timeout_s=settings.onvif_call_timeout_s)
    outcome.onvif = {k: v for k, v in answer.public().items() if k != "error"}
    for key in ("stream_uri", "snapshot_uri"):  # some cameras put credentials in them
        if outcome.onvif.get(key):
            outcome.onvif[key] = mask_url(outcome.onvif[key])
    outcome.verdict = answer.verdict
    record(url, answer.verdict if answer.verdict != "ok" or answer.stream_uri else "not_found",
           answer.error)
    if answer.verdict != "ok" or not answer.stream_uri:
        outcome.verdict = "not_found" if answer.verdict == "ok" else answer.verdict
        return outcome
    stream = with_credentials(answer.stream_uri, user, password)
    try:
        stream = validate_url(stream)
    except InvalidStreamUrl as exc:
        record(stream, "invalid_url", exc.line())
        outcome.verdict = "invalid_url"
        return outcome
    identity = {f"onvif_{k}": v for k, v in answer.identity.items()}
    identity["clock_drift_s"] = answer.clock_drift_s
    result, check_id = check(stream, settings.timeout_s, extra=identity)
    record(stream, result.verdict, result.error)
    outcome.check, outcome.check_id, outcome.verdict = result, check_id, result.verdict
    if result.verdict in PICTURE_VERDICTS:
        outcome.url = stream
    return outcome
