"""Picture quality from decoded frames (runs in the probe child: OpenCV lives only there).

Every metric is computed on a grey copy scaled down to at most ANALYSIS_WIDTH pixels wide,
so the thresholds in the config mean the same for a 720p and a 4K camera and a Pi keeps
up (on a 1080p frame the full-size metrics cost 2-4 ms on a desktop, several times that
on a Pi). The Laplacian is taken in CV_32F: CV_64F is about 3x slower for no gain here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

ANALYSIS_WIDTH = 640


def grey_small(frame: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
    height, width = grey.shape[:2]
    if width > ANALYSIS_WIDTH:
        scale = ANALYSIS_WIDTH / width
        grey = cv2.resize(grey, (ANALYSIS_WIDTH, max(1, round(height * scale))),
                          interpolation=cv2.INTER_AREA)
    return grey


def luma(grey: np.ndarray) -> float:
    """Mean brightness, 0 (black) to 255 (white)."""
    return float(cv2.mean(grey)[0])


def contrast(grey: np.ndarray) -> float:
    """Spread of brightness: the 95th minus the 5th percentile (0 for a flat picture).

    A night scene is dark but has shapes in it; a covered lens is flat. Percentiles, not
    the standard deviation, so the camera's white date/time overlay (1-3 % of the
    pixels) does not make a covered lens look like a scene.
    """
    hist = cv2.calcHist([grey], [0], None, [256], [0, 256]).ravel().cumsum()
    total = hist[-1]
    low = int(np.searchsorted(hist, total * 0.05))
    high = int(np.searchsorted(hist, total * 0.95))
    return float(high - low)


def difference(grey: np.ndarray, previous: np.ndarray) -> float:
    """Mean absolute change per pixel between two frames (0 = identical)."""
    if previous.shape != grey.shape:
        return 255.0
    return float(cv2.norm(grey, previous, cv2.NORM_L1)) / grey.size


def sharpness(grey: np.ndarray, spread: float | None = None) -> float:
    """Variance of the Laplacian: low for a blurred or defocused picture.

    Edges are as strong as the picture's contrast, so a dark, low-contrast night scene
    would read as blurred: below half the full range the score is scaled up as if the
    picture were stretched to it (sensor noise gets stretched too, which errs towards
    "not blurred" where focus cannot be judged well anyway).
    """
    _, std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))
    score = float(std[0][0]) ** 2
    if spread is not None and 0 < spread < 128:
        score *= (128 / max(spread, 8.0)) ** 2
    return score


@dataclass
class FrameStats:
    """Running totals over the frames analysed in the sampling window."""

    frames: int = 0
    lumas: list[float] = field(default_factory=list)
    contrasts: list[float] = field(default_factory=list)
    diffs: list[float] = field(default_factory=list)
    blurs: list[float] = field(default_factory=list)
    previous: np.ndarray | None = None

    def add(self, frame: np.ndarray) -> None:
        grey = grey_small(frame)
        self.frames += 1
        spread = contrast(grey)
        self.lumas.append(luma(grey))
        self.contrasts.append(spread)
        self.blurs.append(sharpness(grey, spread))
        if self.previous is not None:
            self.diffs.append(difference(grey, self.previous))
        self.previous = grey

    def summary(self) -> dict:
        def mean(values):
            return round(sum(values) / len(values), 3) if values else None

        return {"luma": mean(self.lumas), "contrast": mean(self.contrasts),
                "frozen_score": mean(self.diffs),
                "blur_score": mean(self.blurs), "analysed_frames": self.frames}
