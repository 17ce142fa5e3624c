"""A real RTSP server for tests and benchmarks: GStreamer's gst-rtsp-server.

Run it under Debian's /usr/bin/python3 (its site-packages has `gi`), as a subprocess:

    /usr/bin/python3 tests/servers/rtsp_server.py --port 8554 [--user U --password P]

Mounts: /good (moving test card), /black, /frozen (still colour bars). It prints "READY <port>"
once it listens. With --user, RTSPAuth asks for basic credentials and there is *no* default
token: with an anonymous default token clients get 404 instead of 401, and FFmpeg only
sends credentials after a 401.
"""

import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

ENCODE = ("! video/x-raw,width=640,height=360,framerate=15/1 ! videoconvert "
          "! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bitrate=800 "
          "! rtph264pay name=pay0 pt=96 config-interval=1")
MOUNTS = {
    "/good": "videotestsrc is-live=true pattern=smpte horizontal-speed=4 " + ENCODE,
    "/black": "videotestsrc is-live=true pattern=black " + ENCODE,
    # smpte has a patch of moving snow; the 100 % bars are entirely still.
    "/frozen": "videotestsrc is-live=true pattern=smpte100 " + ENCODE,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    mounts = server.get_mount_points()
    for path, launch in MOUNTS.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(f"( {launch} )")
        factory.set_shared(True)
        if args.user:
            factory.add_role_from_structure(Gst.Structure.new_from_string(
                "user,media.factory.access=(boolean)true,media.factory.construct=(boolean)true"))
        mounts.add_factory(path, factory)
    if args.user:
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string("media.factory.role", "user")
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
