"""The probe: one stream check in a child process (``python -m survey_node.streamcheck.probe``).

The parent writes one JSON request line on stdin (the URL travels there, never on the
command line where `ps` would show its password) and reads JSON event lines on stdout:
``{"event": "opened", ...}``, ``{"event": "first_frame", ...}``, ``{"event": "sampling",
"progress": p}`` and finally ``{"event": "result", ...}``. The parent kills this process
group with SIGKILL at its hard deadline; the plan below finishes before it.

The stream is read with PyAV (FFmpeg's libraries, hevc included): it hands over packets
with their timestamps, sizes and keyframe flags without decoding them, so the frame rate
and bitrate are the camera's (not this node's decode speed), and only the frames the
picture checks need are decoded. OpenCV measures the decoded pictures (metrics.py).

Times are absolute CLOCK_MONOTONIC values, which parent and child share on Linux.
connect_ms is how long the successful open took; first_frame_ms runs from the start of that
open to the first decoded frame, which includes waiting for the camera's next keyframe
(nothing decodes before one; a camera may send one only every 4 s). Process start-up
shows only in the parent's elapsed_ms.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import time
from urllib.parse import urlsplit

from .classify import classify_open_failure, last_line, reason
from .timing import PacketStats
from .urls import mask_text, protocol_whitelist, scheme_of

PROBE_VERSION = "2"
# Decoding is what costs CPU (a 4 MP H.265 frame is tens of ms on a Pi), so only what the
# picture checks need is decoded: a run of RUN_S seconds of frames from a keyframe (P-frames
# need every frame since their keyframe), a new run at most every RUN_EVERY_S, and of the
# decoded frames at most ANALYSE_FPS a second are measured. Everything else is only
# demuxed (timestamps and sizes), which is enough for the frame rate and bitrate.
RUN_S = 0.5
RUN_EVERY_S = 1.0
ANALYSE_FPS = 8.0
# Intra-only codecs (MJPEG): every frame decodes on its own.
INTRA_CODECS = {"mjpeg", "jpeg2000", "jpegls", "mjpegb", "rawvideo"}
# A container that holds one picture (an HTTP snapshot URL such as Hikvision's
# /ISAPI/Streaming/channels/101/picture).
IMAGE_FORMATS = ("jpeg_pipe", "image2", "png_pipe", "bmp_pipe", "webp_pipe")
# Demuxers that make timestamps up (a fixed 25 fps): their frames are timed by arrival.
UNTIMED_FORMATS = ("mpjpeg", "mjpeg", *IMAGE_FORMATS)
# With an earlier snapshot to compare with, sampling ends this much sooner: the view-change
# score is computed after the result is sent, and must fit before the parent's SIGKILL.
VIEW_RESERVE_S = 0.5


def open_options(url: str, transport: str, fast: bool, socket_timeout_s: float) -> dict:
    """FFmpeg options for the open.

    allowed_media_types=video: only the video track is set up, so an audio track (G.711 or
    AAC, as most Hikvision and Dahua cameras send) neither hides the picture from the
    fast probe nor costs bandwidth. analyzeduration 0 + probesize 32 cut a local RTSP
    first frame from ~2 s to ~0.3 s; the codec and size come from the SDP.
    """
    options = {"protocol_whitelist": protocol_whitelist(url),
               "timeout": str(max(100_000, int(socket_timeout_s * 1_000_000)))}
    if scheme_of(url).startswith("rtsp"):
        options.update(rtsp_transport=transport, allowed_media_types="video")
    if fast:
        options.update(analyzeduration="0", probesize="32")
    return options


class Probe:
    def __init__(self, request: dict, emit) -> None:
        self.url = request["url"]
        self.transport = request.get("transport", "tcp")
        self.start = request["start"]
        self.connect_deadline = request["connect_deadline"]
        self.deadline = request["deadline"]
        self.read_timeout = float(request["read_timeout_s"])
        self.sample_s = float(request["sample_s"])
        self.ffprobe = request.get("ffprobe") or "ffprobe"
        self.jpeg_quality = int(request.get("jpeg_quality", 85))
        self.reference = request.get("reference_path") or None
        self.last_grey = None  # the snapshot's picture in grey, for the view-change score
        self.emit = emit
        self.opened_at = self.start

    def run(self) -> dict:
        host = urlsplit(self.url).hostname or ""
        try:
            socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError) as exc:
            return {"verdict": "dns", "error": f"host not found: {exc.strerror or exc}"}
        import av

        container, failure = self.open(av, fast=True)
        if container is None and failure.get("retry"):
            container, failure = self.open(av, fast=False)  # probe the stream fully
        if container is None:
            return failure
        try:
            return self.sample(av, container)
        finally:
            container.close()

    def open(self, av, *, fast: bool):
        """(container with a video stream, None) or (None, failure dict)."""
        budget = self.connect_deadline - time.monotonic()
        if budget <= 0.05:
            return None, {"verdict": "timeout", "error": "no answer before the connect deadline"}
        began = time.monotonic()
        try:
            container = av.open(self.url, options=open_options(
                self.url, self.transport, fast, min(budget, self.read_timeout)),
                timeout=(budget, self.read_timeout))
        except av.error.FFmpegError as exc:
            return None, self.explain_failure(exc, fast)
        except OSError as exc:
            return None, self.explain_failure(exc, fast)
        took = time.monotonic() - began
        if not container.streams.video:
            container.close()
            return None, {"verdict": "no_frames", "error": "the stream has no video track"}
        ctx = container.streams.video[0].codec_context
        self.opened_at = began
        self.emit(event="opened", connect_ms=round(took * 1000), codec=ctx.name,
                  width=ctx.width or None, height=ctx.height or None)
        return container, None

    def explain_failure(self, exc: Exception, fast: bool) -> dict:
        """The verdict from FFmpeg's own error: one connection, so a camera that locks an
        account after a few failed logins is not asked twice."""
        if time.monotonic() >= self.connect_deadline - 0.05:
            return {"verdict": "timeout", "error": "no answer before the connect deadline"}
        message = f"{getattr(exc, 'strerror', None) or exc}"
        found = reason(message, self.url)
        if found == "unsupported" and fast:
            return {"verdict": "unsupported", "retry": True}
        if found == "unsupported":  # FFmpeg's word is vague: ask ffprobe for a better one
            remaining = min(self.connect_deadline, self.deadline) - time.monotonic()
            if remaining > 0.5:
                probed = classify_open_failure(self.url, ffprobe=self.ffprobe,
                                               transport=self.transport, budget_s=remaining)
                if probed["verdict"] is not None:
                    return {"verdict": probed["verdict"], "error": probed["error"]}
        return {"verdict": found, "error": last_line(message, self.url)}

    def sample(self, av, container) -> dict:
        from .metrics import FrameStats

        stream = container.streams.video[0]
        ctx = stream.codec_context
        intra = ctx.name in INTRA_CODECS
        is_image = container.format.name in IMAGE_FORMATS
        timed = container.format.name not in UNTIMED_FORMATS
        packets, stats = PacketStats(), FrameStats()
        last_frame = None
        first = None  # monotonic time of the first decoded frame
        run_until = run_started = last_analysed = -1e9  # stream times (s)
        end = self.deadline - min(self.read_timeout, 0.5) - 0.2 - (
            VIEW_RESERVE_S if self.reference else 0.0)
        stall_after = self.read_timeout * 0.75
        stalled, ended, next_report = False, False, 0.0
        last_arrival = time.monotonic()
        running, clock = False, None
        if intra:  # each chosen frame decodes alone: no frame-thread delay wanted
            ctx.thread_count = 1
        shown: dict = {}

        def take(frames, clock: float) -> None:
            nonlocal first, last_frame, last_analysed
            for frame in frames:
                fclock = clock if frame.pts is None else float(frame.pts * frame.time_base)
                if first is None:
                    first = time.monotonic()
                    shown.update(width=frame.width, height=frame.height)
                    self.emit(event="first_frame",
                              first_frame_ms=round((first - self.opened_at) * 1000), **shown)
                elif fclock - last_analysed < 1.0 / ANALYSE_FPS:
                    continue
                stats.add(frame.reformat(format="gray").to_ndarray())
                last_frame, last_analysed = frame, fclock

        try:
            for packet in container.demux(stream):
                now = time.monotonic()
                if packet.size == 0:  # the demuxer's end-of-stream marker
                    ended = True
                    break
                if now - last_arrival >= stall_after:
                    stalled = True
                    break
                pts = (float(packet.pts * packet.time_base) if timed and packet.pts is not None
                       and packet.time_base else None)
                key = bool(packet.is_keyframe) or intra
                packets.add(pts, packet.size, key, now)
                # Stream time decides what to decode; a packet without a timestamp moves
                # it on by the time since the last packet.
                clock = pts if pts is not None else (
                    0.0 if clock is None else clock + now - last_arrival)
                last_arrival = now
                if intra or is_image:
                    if clock - last_analysed >= 1.0 / ANALYSE_FPS:
                        take(_decode(av, ctx, packet), clock)
                elif key and clock - run_started >= RUN_EVERY_S:
                    if running:
                        take(_decode(av, ctx, None), clock)
                    ctx.flush_buffers()  # frames were skipped since the last run
                    run_started, run_until, running = clock, clock + RUN_S, True
                    take(_decode(av, ctx, packet), clock)
                elif running and run_started <= clock < run_until:
                    take(_decode(av, ctx, packet), clock)
                elif running:  # the run is over: the decoder's threads still hold frames
                    take(_decode(av, ctx, None), clock)
                    running = False
                now = time.monotonic()
                if now >= end:
                    break
                if first is not None:
                    if now >= first + self.sample_s and self._enough_keyframes(packets, intra):
                        break
                    if now >= next_report:
                        share = min(1.0, (now - first) / self.sample_s)
                        self.emit(event="sampling", progress=round(share, 2))
                        next_report = now + 0.5
        except (av.error.FFmpegError, OSError):  # the read timed out or the stream broke
            stalled = True
        if first is None:
            if packets.count:
                return {"verdict": "no_frames", "frames": packets.count,
                        "error": f"{packets.count} frame(s) came but no keyframe to start"
                                 f" decoding from in {now - self.opened_at:.1f} s"}
            return {"verdict": "no_frames", "error": "the stream opened but sent no picture"}
        timing = packets.summary()
        if is_image or (ended and packets.count == 1):
            timing = {"fps": None, "bitrate_kbps": None, "keyframe_interval_s": None}
            stalled = False  # a snapshot URL sends one picture and ends: that is its nature
        elif intra and timing["fps"]:
            timing["keyframe_interval_s"] = round(1 / timing["fps"], 3)
        bgr = last_frame.to_ndarray(format="bgr24")
        import cv2

        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if self.reference:
            self.last_grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        return {
            "verdict": None,  # the parent decides, with the thresholds from the config
            "error": (f"the stream stalled after {packets.count} frame(s)" if stalled
                      else None if stats.frames > 1 or packets.count == 1
                      else "the deadline left no time to sample: motion not judged"),
            "stalled": stalled, "frames": packets.count, **timing,
            **shown,
            "snapshot_jpeg": base64.b64encode(jpeg.tobytes()).decode("ascii") if ok else None,
            **stats.summary(),
        }

    def _enough_keyframes(self, packets: PacketStats, intra: bool) -> bool:
        """The keyframe interval needs two keyframes: wait for the second one (cameras
        send one every 1-4 s) as long as the deadline allows."""
        return intra or len(packets.keyframes) >= 2


def _decode(av, ctx, packet) -> list:
    """Decoded frames of `packet` (None drains the decoder); a damaged packet (a lost UDP
    datagram) gives no frame rather than ending the check."""
    try:
        return ctx.decode(packet)
    except (av.error.InvalidDataError, av.error.EOFError):
        return []


def main() -> int:
    def emit(**event) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    # PyAV and OpenCV are imported before the request arrives: a probe started ahead of
    # time (the web server keeps one waiting) has them ready when the check begins.
    import av  # noqa: F401
    import cv2  # noqa: F401

    line = sys.stdin.readline()
    if not line.strip():  # the parent went away before it needed this probe
        return 0
    request = json.loads(line)
    probe = Probe(request, emit)
    try:
        result = probe.run()
    except Exception as exc:  # noqa: BLE001 - reported to the parent as the check's error
        result = {"verdict": "unsupported",
                  "error": mask_text(f"probe failed: {type(exc).__name__}: {exc}",
                                     request.get("url", ""))[:200]}
    emit(event="result", probe_version=PROBE_VERSION, **result)
    if probe.last_grey is not None:
        # After the result: if this overruns the deadline, only the score is lost.
        from .viewchange import compare_with_reference

        emit(event="view", **compare_with_reference(probe.reference, probe.last_grey))
    return 0


if __name__ == "__main__":
    sys.exit(main())
