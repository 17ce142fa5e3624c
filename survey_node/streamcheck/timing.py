"""Frame rate, bitrate and keyframe interval from the packets a camera sends (no decoding).

These are the camera's own numbers: the frame rate comes from the stream's timestamps
(RTP timestamps for RTSP), not from how fast this node decodes, so a Pi that decodes a
4 MP H.265 stream at 5 fps still reports the camera's 15 fps.

Why the median frame step and not (last - first): FFmpeg re-bases RTSP timestamps when
the first RTCP sender report arrives, which makes one step jump (often backwards), and a
lost packet makes one step twice as long. B-frames are sorted back into presentation order
within short runs. Steps far from the median are left out, both
from the frame rate and from the time the bitrate is spread over.

Streams without usable timestamps (HTTP MJPEG: the multipart demuxer makes up a fixed
25 fps, so the probe passes none) fall back to arrival times, which for MJPEG is the camera's rate anyway
(it has no buffer to burst from).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field


@dataclass
class PacketStats:
    """Running record of one video stream's packets in the sampling window."""

    pts: list[float] = field(default_factory=list)       # seconds, None-free, arrival order
    arrivals: list[float] = field(default_factory=list)  # monotonic seconds
    sizes: list[int] = field(default_factory=list)
    keyframes: list[int] = field(default_factory=list)   # packet indexes
    missing_pts: int = 0

    @property
    def count(self) -> int:
        return len(self.sizes)

    def add(self, pts_s: float | None, size: int, key: bool, arrival: float) -> None:
        if key:
            self.keyframes.append(len(self.sizes))
        self.sizes.append(size)
        self.arrivals.append(arrival)
        if pts_s is None:
            self.missing_pts += 1
        else:
            self.pts.append(pts_s)

    def frame_step(self) -> tuple[float | None, int, float]:
        """(median step in seconds, steps used, seconds they add up to)."""
        # FFmpeg leaves the very first RTSP packet without a timestamp; a stream where
        # most have none (MJPEG over HTTP) is timed by arrival.
        times = self.pts if self.missing_pts <= self.count // 5 else []
        steps = _steps(times)
        if not steps:  # no timestamps, or all the same: arrival times instead
            steps = _steps(self.arrivals)
        if not steps:
            return None, 0, 0.0
        median = statistics.median(steps)
        kept = [s for s in steps if median / 2 <= s <= median * 2]
        return median, len(kept), sum(kept)

    def summary(self) -> dict:
        median, used, span = self.frame_step()
        fps = round(used / span, 2) if used and span > 0 else None
        bitrate = None
        if fps and self.count > 1:
            # Bytes of all but the last packet, over the time those frames cover.
            seconds = (self.count - 1) / fps
            bitrate = round(sum(self.sizes[:-1]) * 8 / seconds / 1000)
        return {"fps": fps, "bitrate_kbps": bitrate,
                "keyframe_interval_s": self.keyframe_interval(fps)}

    def keyframe_interval(self, fps: float | None) -> float | None:
        """Frames between keyframes over the frame rate; None until two keyframes came."""
        if not fps or len(self.keyframes) < 2:
            return None
        gaps = [b - a for a, b in zip(self.keyframes, self.keyframes[1:])]
        return round(statistics.median(gaps) / fps, 2)


REORDER_WINDOW = 16  # B-frames arrive out of presentation order, a few frames at most


def _steps(times: list[float]) -> list[float]:
    """Steps between presentation times, sorted within short runs of packets."""
    steps = []
    for start in range(0, len(times), REORDER_WINDOW):
        run = sorted(times[start:start + REORDER_WINDOW + 1])  # overlap one: no step lost
        steps += [b - a for a, b in zip(run, run[1:]) if b - a > 1e-6]
    return steps
