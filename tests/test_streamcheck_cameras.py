"""Streams shaped like real cameras (Hikvision and Dahua paths, digest auth, audio tracks,
4 MP H.265 main streams with a keyframe every 2-4 s, H.264 sub-streams), against a real
GStreamer RTSP server on 127.0.0.1 (tests/servers/rtsp_server.py)."""

import io

import pytest
from PIL import Image

from survey_node.config import StreamCheckSection
from survey_node.streamcheck import run_probe
from survey_node.streamcheck.demo_streams import DemoStreams, _card, _jpeg
from tests.streams import (  # noqa: F401 - fixtures
    RTSP_PASSWORD, RTSP_USER, camera_server, mjpeg_server,
)

# Room for a 4 s keyframe interval: the first keyframe may come 4 s in, the second 4 s
# later, and the interval needs both.
SETTINGS = StreamCheckSection(timeout_s=12.0, connect_timeout_s=3.0, read_timeout_s=1.5,
                              sample_seconds=1.0)
UDP = StreamCheckSection(**{**vars(SETTINGS), "transport": "udp"})

# path, codec, width, height, the camera's fps, its keyframe interval (s), audio track
CAMERAS = [
    ("Streaming/Channels/101", "hevc", 2560, 1440, 15, 4.0),             # G.711 u-law
    ("Streaming/Channels/102", "h264", 640, 360, 25, 4.0),               # G.711 u-law
    ("Streaming/Channels/202", "h264", 640, 360, 10, 2.0),               # AAC
    ("cam/realmonitor?channel=1&subtype=0", "hevc", 2560, 1440, 10, 2.0),  # AAC
    ("cam/realmonitor?channel=1&subtype=1", "h264", 704, 576, 15, 2.0),    # G.711 A-law
]


def check(server, path, settings=SETTINGS, *, password=RTSP_PASSWORD):
    return run_probe(server.url(path, user=RTSP_USER, password=password), settings)


def assert_camera(result, codec, width, height, fps, keyframe_s):
    assert result.verdict == "ok", result
    assert (result.codec, result.width, result.height) == (codec, width, height)
    assert fps * 0.9 <= result.fps <= fps * 1.1, result.fps
    assert keyframe_s * 0.9 <= result.keyframe_interval_s <= keyframe_s * 1.1, result
    assert result.bitrate_kbps and result.bitrate_kbps > 50
    snapshot = Image.open(io.BytesIO(result.snapshot_jpeg))
    assert snapshot.size == (width, height)


@pytest.mark.parametrize("path,codec,width,height,fps,keyframe_s", CAMERAS,
                         ids=[c[0] for c in CAMERAS])
def test_camera_stream_with_audio_track_over_tcp(camera_server, path, codec, width, height,
                                                 fps, keyframe_s):
    result = check(camera_server, path)
    assert_camera(result, codec, width, height, fps, keyframe_s)
    public = result.public()
    assert public["bitrate_kbps"] == result.bitrate_kbps
    assert public["keyframe_interval_s"] == result.keyframe_interval_s


@pytest.mark.parametrize("path,codec,width,height,fps,keyframe_s",
                         [CAMERAS[1], CAMERAS[4]], ids=["hikvision-sub", "dahua-sub"])
def test_camera_sub_stream_over_udp(camera_server, path, codec, width, height, fps,
                                    keyframe_s):
    assert_camera(check(camera_server, path, UDP), codec, width, height, fps, keyframe_s)


def test_first_picture_waits_for_the_keyframe_and_says_so(camera_server):
    # The main stream joins 1.5 s into a 4 s group of pictures: its next keyframe is 1 s
    # of stream time away, and nothing can be decoded before it.
    result = check(camera_server, "Streaming/Channels/101")
    assert result.verdict == "ok"
    assert result.first_frame_ms >= 900


def test_digest_password_wrong_or_missing(camera_server):
    wrong = check(camera_server, "Streaming/Channels/102", password="12345")
    assert wrong.verdict == "auth_failed"
    assert "12345" not in repr(wrong.public())
    missing = run_probe(camera_server.url("Streaming/Channels/102"), SETTINGS)
    assert missing.verdict == "auth_failed"


def test_wrong_dahua_subtype_is_not_found(camera_server):
    assert check(camera_server, "cam/realmonitor?channel=1&subtype=5").verdict == "not_found"


def test_dark_night_scene_is_not_black(camera_server):
    result = check(camera_server, "night")
    assert result.luma < SETTINGS.black_luma  # as dark as a black picture on average
    assert result.verdict == "ok", result


def test_covered_lens_with_time_overlay_and_noise_is_black(camera_server):
    result = check(camera_server, "covered")
    assert result.verdict == "black", result


@pytest.fixture(scope="module")
def snapshot_server():
    """An HTTP snapshot URL as Hikvision serves it (one JPEG per request)."""
    pictures = {
        "/ISAPI/Streaming/channels/101/picture": ("image/jpeg", _jpeg(_card(3, moving=True))),
        "/ISAPI/Streaming/channels/201/picture": ("image/jpeg", _jpeg(
            Image.new("RGB", (1280, 720), (2, 2, 2)))),
    }
    with DemoStreams(extra=pictures) as streams:
        yield streams


def test_http_snapshot_url_is_judged_from_its_one_picture(snapshot_server):
    base = f"http://127.0.0.1:{snapshot_server.port}/ISAPI/Streaming/channels"
    good = run_probe(f"{base}/101/picture", SETTINGS)
    assert good.verdict == "ok", good
    assert (good.codec, good.width, good.height) == ("mjpeg", 640, 360)
    assert good.fps is None and good.keyframe_interval_s is None  # a picture has no rate
    black = run_probe(f"{base}/201/picture", SETTINGS)
    assert black.verdict == "black" and (black.width, black.height) == (1280, 720)


def test_mjpeg_frame_rate_is_the_cameras(mjpeg_server):
    result = run_probe(mjpeg_server.url("good"), SETTINGS)
    assert result.verdict == "ok"
    assert 15 * 0.9 <= result.fps <= 15 * 1.1
