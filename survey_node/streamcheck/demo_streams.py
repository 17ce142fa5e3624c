"""Local test streams so the check can be tried (and tested) with no camera.

An HTTP MJPEG server (``multipart/x-mixed-replace``, what many IP cameras serve) on
127.0.0.1 with one path per kind of camera:

* ``/good.mjpg``    a sharp test card with a moving bar
* ``/black.mjpg``   a black picture
* ``/frozen.mjpg``  the same sharp picture over and over
* ``/blurred.mjpg`` the moving card, badly out of focus
* ``/stall.mjpg``   a few frames, then silence with the connection held open
* ``/dead.mjpg``    accepts the connection and never answers

Frames are drawn once with Pillow at start-up (OpenCV stays out of the server process)
and replayed at a fixed rate. `survey-node demo` starts it in a background thread on
``demo.streams_port``.
"""

from __future__ import annotations

import base64
import io
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw, ImageFilter

log = logging.getLogger(__name__)
KINDS = ("good", "black", "frozen", "blurred", "stall", "dead")
WIDTH, HEIGHT = 640, 360
CYCLE = 30  # distinct frames in the moving streams
STALL_AFTER = 10  # frames the stalling stream sends before it goes silent
MAX_STREAM_S = 600  # a viewer left open is cut off, so threads never pile up
BOUNDARY = b"frame"


def _card(index: int, *, moving: bool) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), (40, 40, 40))
    draw = ImageDraw.Draw(image)
    colours = [(235, 235, 235), (235, 235, 0), (0, 235, 235), (0, 235, 0), (235, 0, 235),
               (235, 0, 0), (0, 0, 235)]
    bar = WIDTH // len(colours)
    for i, colour in enumerate(colours):
        draw.rectangle([i * bar, 0, (i + 1) * bar - 1, HEIGHT * 2 // 3], fill=colour)
    for x in range(0, WIDTH, 16):  # a fine grid: edges a focused camera would show
        draw.line([x, HEIGHT * 2 // 3, x, HEIGHT], fill=(200, 200, 200))
    for y in range(HEIGHT * 2 // 3, HEIGHT, 16):
        draw.line([0, y, WIDTH, y], fill=(200, 200, 200))
    if moving:
        x = (index * WIDTH // CYCLE) % WIDTH
        draw.rectangle([x, HEIGHT // 3, x + 60, HEIGHT * 2 // 3 + 40], fill=(250, 250, 250))
    draw.text((12, HEIGHT - 30), f"DEMO STREAM {index:02d}", fill=(255, 255, 255))
    return image


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80)
    return out.getvalue()


def render_frames() -> dict[str, list[bytes]]:
    good = [_card(i, moving=True) for i in range(CYCLE)]
    still = _jpeg(_card(0, moving=False))
    return {
        "good": [_jpeg(im) for im in good],
        "black": [_jpeg(Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0)))],
        "frozen": [still],
        "blurred": [_jpeg(im.filter(ImageFilter.GaussianBlur(10))) for im in good],
        "stall": [_jpeg(im) for im in good[:STALL_AFTER]],
    }


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    timeout = 10  # a socket write to a stuck viewer fails instead of blocking forever
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):  # quiet: the demo's console is for people
        log.debug("demo stream %s: " + fmt, self.address_string(), *args)

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0]
        if path in self.server.extra:
            content_type, body = self.server.extra[path]
            return self._send(200, content_type, body)
        if self.server.credentials and not self._authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="demo camera"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        kind = path.strip("/").removesuffix(".mjpg")
        if kind not in KINDS:
            return self._send(404, "text/plain", b"no such stream\n")
        if kind == "dead":
            self.server.stopping.wait(MAX_STREAM_S)  # accept, then say nothing at all
            return None
        return self._stream(kind)

    def _authorised(self) -> bool:
        user, password = self.server.credentials
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {token}"

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, kind: str) -> None:
        frames = self.server.frames[kind]
        self.send_response(200)
        self.send_header("Content-Type",
                         f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        interval = 1.0 / self.server.fps
        began = time.monotonic()
        sent = 0
        try:
            while not self.server.stopping.is_set() and time.monotonic() - began < MAX_STREAM_S:
                if kind == "stall" and sent >= len(frames):
                    self.server.stopping.wait(MAX_STREAM_S)  # hold the connection, silent
                    return
                jpeg = frames[sent % len(frames)]
                self.wfile.write(b"--" + BOUNDARY + b"\r\nContent-Type: image/jpeg\r\n"
                                 + f"Content-Length: {len(jpeg)}\r\n\r\n".encode() + jpeg
                                 + b"\r\n")
                self.wfile.flush()
                sent += 1
                # Pace against the start time so the rate holds however long writes take.
                delay = began + sent * interval - time.monotonic()
                if delay > 0 and self.server.stopping.wait(delay):
                    return
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            return  # the viewer went away


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class DemoStreams:
    """The MJPEG test server; `start()` runs it in a daemon thread, `stop()` ends it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, fps: float = 15.0,
                 credentials: tuple[str, str] | None = None,
                 extra: dict[str, tuple[str, bytes]] | None = None) -> None:
        self.server = _Server((host, port), _Handler)
        self.server.frames = render_frames()
        self.server.fps = fps
        self.server.credentials = credentials
        self.server.extra = dict(extra or {})
        self.server.stopping = threading.Event()
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-streams",
                                       kwargs={"poll_interval": 0.2}, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, kind: str, *, user: str | None = None, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"http://{auth}127.0.0.1:{self.port}/{kind}.mjpg"

    def start(self) -> "DemoStreams":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> "DemoStreams":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def start_demo_streams(port: int, host: str = "127.0.0.1") -> DemoStreams | None:
    """Start the demo's streams, or log why not (a busy port must not stop the demo)."""
    try:
        streams = DemoStreams(host, port).start()
    except OSError as exc:
        log.warning("demo test streams not started on %s:%s: %s", host, port, exc.strerror)
        return None
    log.info("demo test streams on http://%s:%s/{good,black,frozen,dead}.mjpg", host, port)
    return streams
