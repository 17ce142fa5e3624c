"""Which URLs a stream check accepts, and that credentials never show."""

import pytest

from survey_node.streamcheck.classify import ffprobe_command, last_line, reason
from survey_node.streamcheck.probe import open_options
from survey_node.streamcheck.urls import (
    InvalidStreamUrl, mask_text, mask_url, protocol_whitelist, validate_url,
)


@pytest.mark.parametrize("url", [
    "rtsp://10.1.2.3:554/Streaming/Channels/101",
    "rtsps://cam.example.org/live",
    "http://admin:1234@192.168.1.64/video.mjpg",
    "HTTPS://[2001:db8::1]:8443/stream",
])
def test_camera_urls_are_accepted(url):
    scheme, rest = url.split(":", 1)
    assert validate_url(f"  {url} ") == f"{scheme.lower()}:{rest}"  # FFmpeg wants lower case


@pytest.mark.parametrize("url", [
    "", "file:///etc/passwd", "concat:/etc/passwd|/etc/shadow", "data:text/plain,hello",
    "subfile,,start,0,end,0,,:/etc/passwd", "udp://127.0.0.1:1234", "ftp://cam/x",
    "/etc/passwd", "rtsp://", "http://exa mple.com/x", "rtsp://cam:99999/x",
    "http://cam/\nx",
])
def test_other_urls_are_invalid_before_any_connection(url):
    with pytest.raises(InvalidStreamUrl):
        validate_url(url)


def test_password_is_masked_in_userinfo_and_query():
    url = "rtsp://admin:Pa%40ss@10.0.0.9:554/ch1?user=admin&password=hunter2"
    masked = mask_url(url)
    assert masked == "rtsp://admin:***@10.0.0.9:554/ch1?user=admin&password=***"
    message = f"{url}: 401 Unauthorized (tried Pa@ss and hunter2)"
    cleaned = mask_text(message, url)
    for secret in ("Pa%40ss", "Pa@ss", "hunter2"):
        assert secret not in cleaned
    assert masked in cleaned


@pytest.mark.parametrize("url, secret, masked", [
    ("rtsp://10.0.0.5:554/user=admin&password=X9_y&channel=1&stream=0.sdp", "X9_y",
     "rtsp://10.0.0.5:554/user=admin&password=***&channel=1&stream=0.sdp"),
    ("rtsp://10.0.0.5/user=admin_password=tlJwpbo6_channel=1_stream=0.sdp?real_stream",
     "tlJwpbo6", "rtsp://10.0.0.5/user=admin_password=***_channel=1_stream=0.sdp?real_stream"),
    ("http://10.0.0.6:88/videostream.cgi?loginuse=admin&loginpas=S3cr%26t", "S3cr&t",
     "http://10.0.0.6:88/videostream.cgi?loginuse=admin&loginpas=***"),
    ("http://10.0.0.6/cgi-bin/CGIProxy.fcgi?cmd=snapPicture2&usr=admin&pwd=abc123", "abc123",
     "http://10.0.0.6/cgi-bin/CGIProxy.fcgi?cmd=snapPicture2&usr=admin&pwd=***"),
    ("RTSP://admin:Hik12345@10.0.0.7:554/Streaming/Channels/101", "Hik12345",
     "rtsp://admin:***@10.0.0.7:554/Streaming/Channels/101"),
])
def test_every_credential_shape_of_camera_urls_is_masked(url, secret, masked):
    assert mask_url(url) == masked
    assert secret not in mask_text(f"open {url} failed: bad password {secret}", url)


def test_ffmpeg_may_not_read_local_files_for_any_scheme():
    for url in ("rtsp://h/x", "rtsps://h/x", "http://h/x", "https://h/x"):
        allowed = protocol_whitelist(url).split(",")
        assert not {"file", "concat", "data", "subfile", "pipe", "crypto"} & set(allowed)
        assert open_options(url, "tcp", True, 2)["protocol_whitelist"] == protocol_whitelist(url)
        cmd = ffprobe_command("ffprobe", url, transport="tcp", timeout_s=2)
        assert cmd[cmd.index("-protocol_whitelist") + 1] == protocol_whitelist(url)


def test_rtsp_uses_tcp_unless_udp_is_chosen():
    assert open_options("rtsp://h/x", "tcp", True, 2)["rtsp_transport"] == "tcp"
    assert open_options("rtsp://h/x", "udp", False, 2)["rtsp_transport"] == "udp"
    assert "rtsp_transport" not in open_options("http://h/x", "tcp", True, 2)
    # Only the video track is set up: an audio track cannot hide the picture.
    assert open_options("rtsp://h/x", "tcp", True, 2)["allowed_media_types"] == "video"


@pytest.mark.parametrize("message,verdict", [
    ("Server returned 401 Unauthorized (authorization failed)", "auth_failed"),
    ("HTTP error 403 Forbidden", "auth_failed"),
    ("Server returned 404 Not Found", "not_found"),
    ("Connection to tcp://10.0.0.1:554?timeout=0 failed: Connection refused", "refused"),
    ("Failed to resolve hostname cam.lan: Name or service not known", "dns"),
    ("Connection to tcp://10.0.0.1:554 failed: Connection timed out", "timeout"),
    ("Protocol 'file' not on whitelist 'http,tcp'!", "unsupported"),
    ("something nobody has seen before", "unsupported"),
])
def test_ffprobe_messages_name_the_reason(message, verdict):
    url = "rtsp://u:p@cam401.lan:4040/404"  # digits in the URL must not fool the rules
    assert reason(f"{url}: {message}", url) == verdict


def test_ffprobe_message_is_kept_without_the_url():
    url = "rtsp://admin:topsecret@10.0.0.1/x"
    line = last_line(f"[rtsp @ 0x1] x\n{url}: Server returned 401 Unauthorized\n", url)
    assert line == "Server returned 401 Unauthorized"
