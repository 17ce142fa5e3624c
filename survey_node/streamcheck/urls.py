"""Which stream URLs a check may open, how they are shown, and what FFmpeg may touch.

A camera URL comes from a registry spreadsheet or a person typing on a tablet, so it is
untrusted: it may carry credentials (never shown, never logged) and it may try to make
FFmpeg read the node's own files (``file:``, ``concat:``, ``subfile:``, ``data:``, or an
HLS playlist whose segments are local paths). Only rtsp, rtsps, http and https are
accepted, and FFmpeg is told which protocols it may use for each, so a playlist that
points anywhere else fails to open instead of leaking a file.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from ..errors import BadInput

SCHEMES = ("rtsp", "rtsps", "http", "https")
MAX_URL_LENGTH = 2048
MASK = "***"
# Query parameters some cameras use for credentials (e.g. ?user=admin&password=1234,
# Foscam's ?loginuse=admin&loginpas=..., ?usr=admin&pwd=...).
SECRET_PARAMS = {"password", "passwd", "passwort", "pass", "pwd", "psw", "pw", "loginpas",
                 "token", "access_token", "key", "apikey", "api_key", "auth", "secret"}
# The same keys inside the path, as Xiongmai-made cameras put them:
# /user=admin&password=X&channel=1&stream=0.sdp, or with "_" between the pairs. A value
# runs to the next "key=" pair, so a password with & or _ in it is still masked whole.
_PATH_SECRET_RE = re.compile(
    r"(?i)(?<![A-Za-z0-9])(" + "|".join(sorted(SECRET_PARAMS, key=len, reverse=True))
    + r")=(.*?)(?=[&;_][A-Za-z_]+=|[/?#]|$)")
# FFmpeg protocols each scheme needs, and nothing else (no file, pipe, concat, data,
# subfile, crypto...). The RTSP demuxer opens tcp/udp/rtp/tls itself; http needs tcp/tls.
PROTOCOL_WHITELIST = {
    "rtsp": "rtsp,rtp,udp,tcp",
    "rtsps": "rtsps,rtsp,rtp,udp,tcp,tls",
    "http": "http,tcp",
    "https": "https,http,tcp,tls",
}
_HOST_RE = re.compile(r"^[A-Za-z0-9._\-]+$|^\[[0-9A-Fa-f:.]+\]$")


class InvalidStreamUrl(BadInput):
    """A URL the check refuses before any connection (verdict invalid_url)."""

    code = "invalid_url"


def validate_url(url: str) -> str:
    """Return the URL (trimmed) if a check may open it; raise InvalidStreamUrl otherwise."""
    text = (url or "").strip()
    if not text:
        raise InvalidStreamUrl("The stream URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise InvalidStreamUrl("The stream URL is longer than %(max)s characters",
                               max=MAX_URL_LENGTH)
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in text):
        raise InvalidStreamUrl("The stream URL contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidStreamUrl("The stream URL %(url)s is not a valid URL",
                               url=mask_url(text)) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise InvalidStreamUrl(
            "Stream URL scheme %(scheme)r is not allowed (use rtsp, rtsps, http or https)",
            scheme=scheme or text.split(":", 1)[0][:20])
    host = parts.hostname or ""
    if not host or not _HOST_RE.match(f"[{host}]" if ":" in host else host):
        raise InvalidStreamUrl("The stream URL %(url)s has no valid host", url=mask_url(text))
    if port is not None and not 0 < port < 65536:
        raise InvalidStreamUrl("The stream URL %(url)s has an invalid port", url=mask_url(text))
    # Schemes are case-insensitive (RFC 3986), FFmpeg's protocol names are not: a registry
    # typed in capitals ("RTSP://") must still open.
    return scheme + text[len(parts.scheme):]


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()


def protocol_whitelist(url: str) -> str:
    return PROTOCOL_WHITELIST[scheme_of(url)]


def mask_url(url: str) -> str:
    """The URL with its password (and secret-looking query values) replaced by ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _mask_userinfo_roughly(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, hostport = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, MASK if k.lower() in SECRET_PARAMS else v) for k, v in pairs],
                              safe="*")
    path = _PATH_SECRET_RE.sub(lambda m: f"{m.group(1)}={MASK}", parts.path)
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def secrets_in(url: str) -> list[str]:
    """The secret strings of a URL (password, secret query values), raw and %-encoded."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    if parts.password:
        found.append(parts.password)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in SECRET_PARAMS and value:
            found.append(value)
    found += [m.group(2) for m in _PATH_SECRET_RE.finditer(parts.path) if m.group(2)]
    found += [unquote(s) for s in found] + [quote(s, safe="") for s in found]
    return [s for s in dict.fromkeys(found) if s]


def mask_text(text: str, url: str) -> str:
    """Any text (an FFmpeg message, an exception) with the URL's secrets replaced by ***."""
    if not text:
        return text
    text = text.replace(url, mask_url(url))
    for secret in sorted(secrets_in(url), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _mask_userinfo_roughly(url: str) -> str:
    return re.sub(r"(//[^/:@]*):[^@/]*@", rf"\1:{MASK}@", url)
