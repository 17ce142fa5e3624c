"""A real RTSP server for tests and benchmarks: GStreamer's gst-rtsp-server.

Run it under Debian's /usr/bin/python3 (its site-packages has `gi`), as a subprocess:

    /usr/bin/python3 tests/servers/rtsp_server.py --port 8554 [--user U --password P
        [--digest]] [--clips DIR]

Mounts: /good (moving test card), /black, /frozen (still colour bars), and streams shaped
like real cameras (CAMERA_MOUNTS): Hikvision's and Dahua's paths, an audio track beside
the video (G.711 u-law and A-law, AAC), sub-streams at 10/15/25 fps with a keyframe every
2-4 s, a dark night scene with detail, a covered lens with its date/time overlay. With
--clips, the 4 MP H.265 main streams play pre-encoded clips from DIR (tests/streams.py
makes them once): x265 cannot encode 2560x1440 live on a 2-core machine. With --scenes,
each 640x360 PNG in DIR is a still camera view at /scene/<name>, with a little moving
sensor noise over it (a real camera's picture is never frozen).

It prints "READY <port>" once it listens. With --user, RTSPAuth asks for credentials
(basic, or digest as Hikvision and Dahua do with --digest) and there is *no* default
token: with an anonymous default token clients get 404 instead of 401, and FFmpeg only
sends credentials after a 401.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def x264(gop: int, bitrate: int = 800) -> str:
    return (f"! videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast"
            f" key-int-max={gop} bitrate={bitrate} ! rtph264pay name=pay0 pt=96 config-interval=1")


def h264(width: int, height: int, fps: int, gop: int, bitrate: int = 800) -> str:
    return f"! video/x-raw,width={width},height={height},framerate={fps}/1 " + x264(gop, bitrate)


MOVING = "videotestsrc is-live=true pattern=smpte horizontal-speed=4 "
# Live audio tracks as cameras send them (8 kHz mono G.711, 16 kHz AAC).
AUDIO = {
    "pcmu": "! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay name=pay1 pt=0",
    "pcma": "! audio/x-raw,rate=8000,channels=1 ! alawenc ! rtppcmapay name=pay1 pt=8",
    "aac": ("! audio/x-raw,rate=16000,channels=1 ! voaacenc bitrate=32000"
            " ! rtpmp4gpay name=pay1 pt=97"),
}


def with_audio(video: str, codec: str) -> str:
    return (f"{video} audiotestsrc is-live=true wave=sine volume=0.2 ! audioconvert"
            f" ! audioresample {AUDIO[codec]}")


CAMERA_MOUNTS = {
    # Hikvision sub-stream: 640x360 H.264, 25 fps, keyframe every 4 s, G.711 u-law.
    "/Streaming/Channels/102": with_audio(MOVING + h264(640, 360, 25, 100, 512), "pcmu"),
    # Dahua sub-stream: D1 H.264, 15 fps, keyframe every 2 s, G.711 A-law.
    "/cam/realmonitor?channel=1&subtype=1": with_audio(MOVING + h264(704, 576, 15, 30), "pcma"),
    # Hikvision firmwares with AAC audio; 10 fps.
    "/Streaming/Channels/202": with_audio(MOVING + h264(640, 360, 10, 20), "aac"),
    # Night: the moving scene at a fifth of its contrast, dark (mean ~10) but with shapes.
    "/night": (MOVING + "! videobalance contrast=0.2 brightness=-0.1 "
               + h264(640, 360, 15, 15)),
    # A covered lens: black with a little sensor noise and the camera's white date/time.
    "/covered": ("compositor name=mix sink_1::alpha=0.03 ! video/x-raw,width=640,height=360"
                 " ! clockoverlay font-desc=\"Sans 14\" halignment=left valignment=top "
                 + x264(15) +
                 " videotestsrc is-live=true pattern=black"
                 " ! video/x-raw,width=640,height=360,framerate=15/1 ! mix."
                 " videotestsrc is-live=true pattern=snow"
                 " ! video/x-raw,width=640,height=360,framerate=15/1 ! mix."),
}
# Pre-encoded H.265 main streams (file name in --clips, audio codec); see tests/streams.py.
CLIP_MOUNTS = {
    "/Streaming/Channels/101": ("hik-main.mkv", "pcmu"),
    "/cam/realmonitor?channel=1&subtype=0": ("dahua-main.mkv", "aac"),
}


def scene_launch(path: str) -> str:
    caps = "video/x-raw,format=I420,width=640,height=360,framerate=15/1"
    return (f"compositor name=mix sink_1::alpha=0.04 ! {caps} " + x264(15) +
            f" filesrc location={path} ! pngdec ! videoconvert ! imagefreeze is-live=true"
            f" ! videoconvert ! {caps} ! mix."
            f" videotestsrc is-live=true pattern=snow ! {caps} ! mix.")


def clip_launch(path: str, audio: str) -> str:
    # Not live: the server plays the file at its own pace, from its start, for each client.
    return (f"filesrc location={path} ! matroskademux name=d d.video_0 ! queue ! h265parse"
            f" ! rtph265pay name=pay0 pt=96 config-interval=1"
            f" d.audio_0 ! queue ! audioconvert ! audioresample {AUDIO[audio]}")


ENCODE = ("! video/x-raw,width=640,height=360,framerate=15/1 ! videoconvert "
          "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=800 "
          "! rtph264pay name=pay0 pt=96 config-interval=1")
MOUNTS = {
    "/good": "videotestsrc is-live=true pattern=smpte horizontal-speed=4 " + ENCODE,
    "/black": "videotestsrc is-live=true pattern=black " + ENCODE,
    # smpte has a patch of moving snow; the 100 % bars are entirely still.
    "/frozen": "videotestsrc is-live=true pattern=smpte100 " + ENCODE,
}


class CameraMounts(GstRtspServer.RTSPMountPoints):
    """Keeps the query in the mount path: Dahua's streams differ only in it
    (/cam/realmonitor?channel=1&subtype=0 and ...subtype=1)."""

    def do_make_path(self, url):
        return f"{url.abspath}?{url.query}" if url.query else url.abspath


def absolute_control_media(base: str):
    """A media class whose SDP names absolute control URLs, as Dahua cameras do.

    gst-rtsp-server's content base is the request URL + "/": with a query, the aggregate
    PLAY to it ("...subtype=1/") would not match the session ("...subtype=1").
    """

    class AbsoluteControl(GstRtspServer.RTSPMedia):
        def do_setup_sdp(self, sdp, info):
            if not GstRtspServer.RTSPMedia.do_setup_sdp(self, sdp, info):
                return False
            sdp.add_attribute("control", base)
            for index in range(sdp.medias_len()):
                media = sdp.get_media(index)
                control = media.get_attribute_val("control")
                for at in range(media.attributes_len()):
                    if media.get_attribute(at).key == "control":
                        media.remove_attribute(at)
                        break
                media.add_attribute("control", f"{base}/{control}")
            return True

    AbsoluteControl.__name__ = AbsoluteControl.__qualname__ = f"Media{abs(hash(base))}"
    return AbsoluteControl


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--digest", action="store_true")
    parser.add_argument("--clips")
    parser.add_argument("--scenes")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_mount_points(CameraMounts())
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    mounted = [(path, launch, True) for path, launch in {**MOUNTS, **CAMERA_MOUNTS}.items()]
    if args.clips:
        mounted += [(path, clip_launch(f"{args.clips}/{name}", audio), False)
                    for path, (name, audio) in CLIP_MOUNTS.items()]
    if args.scenes:
        import pathlib

        mounted += [(f"/scene/{png.stem}", scene_launch(str(png)), True)
                    for png in sorted(pathlib.Path(args.scenes).glob("*.png"))]
    for path, launch, shared in mounted:
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( {launch} )")
        factory.set_shared(shared)
        if args.user:
            factory.add_role_from_structure(Gst.Structure.new_from_string(
                "user,media.factory.access=(boolean)true,media.factory.construct=(boolean)true"))
        if "?" in path:
            factory.set_media_gtype(absolute_control_media(
                f"rtsp://127.0.0.1:{args.port}{path}").__gtype__)
        mounts.add_factory(path, factory)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
        if args.digest:
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(args.user, args.password or "", token)
        else:
            basic = GstRtspServer.RTSPAuth.make_basic(args.user, args.password or "")
            auth.add_basic(basic, token)
        server.set_auth(auth)
    if server.attach(None) == 0:
        print("FAILED to listen", flush=True)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"READY {args.port}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
