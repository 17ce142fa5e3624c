"""Pictures made for the view-change score: a street-like scene, the same view at night,
and views of a camera that has moved.

A fixed roadside camera sees buildings with windows, a road in perspective with lane
marks, poles, trees and signs. Night keeps that structure but darkens it, lowers its
contrast, adds sensor noise and heavy JPEG compression, and shifts it by a pixel or two
(a pole sways, the mount settles). A moved camera sees another crop, a rotation, or
another street. Everything is drawn with OpenCV from a seed: no files in the repository.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = (640, 360)  # a camera sub-stream's size: small enough to keep the tests cheap


def street(seed: int = 1, size: tuple[int, int] = SIZE) -> np.ndarray:
    """A daytime street scene (BGR)."""
    rng = np.random.default_rng(seed)
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    horizon = int(h * rng.uniform(0.38, 0.48))
    for y in range(horizon):  # sky: a gradient
        img[y, :] = (230 - y * 60 // horizon, 200 - y * 40 // horizon, 170)
    img[horizon:, :] = (95, 100, 100)  # the ground
    x = int(rng.integers(-20, 10))
    while x < w:  # buildings along the street, each with its rows of windows
        bw, bh = int(rng.integers(60, 150)), int(rng.integers(60, horizon + 40))
        colour = tuple(int(c) for c in rng.integers(70, 210, 3))
        top = max(5, horizon + 30 - bh)
        cv2.rectangle(img, (x, top), (x + bw, horizon + 30), colour, -1)
        cv2.rectangle(img, (x, top), (x + bw, horizon + 30), (40, 40, 40), 2)
        for wy in range(top + 10, horizon + 15, 22):
            for wx in range(x + 8, x + bw - 14, 20):
                lit = rng.random() < 0.3
                cv2.rectangle(img, (wx, wy), (wx + 10, wy + 12),
                              (90, 200, 230) if lit else (60, 50, 40), -1)
        x += bw + int(rng.integers(0, 25))
    cx = w // 2 + int(rng.integers(-80, 80))  # the road's vanishing point
    road = np.array([[cx - 15, horizon + 30], [cx + 15, horizon + 30], [w + 150, h], [-150, h]])
    cv2.fillPoly(img, [road], (60, 60, 62))
    for t in np.linspace(0.08, 0.95, 9):  # dashed centre line, in perspective
        y0, y1 = horizon + 30 + t * (h - horizon - 30), horizon + 30 + (t + 0.05) * (h - horizon - 30)
        cv2.line(img, (cx, int(y0)), (cx + int((t + 0.05) * 8), int(y1)), (230, 230, 230),
                 max(1, int(6 * t)))
    for _ in range(int(rng.integers(3, 6))):  # poles, with a lamp or a sign
        px = int(rng.integers(10, w - 10))
        top = int(rng.integers(20, horizon))
        cv2.line(img, (px, top), (px, h - int(rng.integers(0, 40))), (50, 50, 55), 4)
        if rng.random() < 0.5:
            cv2.rectangle(img, (px - 22, top + 10), (px + 22, top + 40), (30, 120, 30), -1)
            cv2.putText(img, str(int(rng.integers(10, 99))), (px - 16, top + 34),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 2)
        else:
            cv2.circle(img, (px + 10, top), 6, (200, 230, 240), -1)
    for _ in range(int(rng.integers(2, 5))):  # trees
        tx, ty = int(rng.integers(0, w)), int(rng.integers(horizon - 20, horizon + 40))
        cv2.line(img, (tx, ty), (tx, ty + 60), (40, 60, 90), 6)
        cv2.circle(img, (tx, ty), int(rng.integers(18, 34)), (40, 120 + int(rng.integers(0, 60)), 40), -1)
    # Texture on walls and road, as a real picture has.
    noise = rng.normal(0, 6, img.shape)
    return np.clip(img + noise, 0, 255).astype(np.uint8)


def jpeg_round_trip(img: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def night(img: np.ndarray, seed: int = 7, shift: tuple[float, float] = (3, 2), *,
          light: float = 0.3, noise: float = 5, quality: int = 30) -> np.ndarray:
    """The same view after dark: dim, low contrast, noisy, compressed, a little shifted."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    moved = cv2.warpAffine(img, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (w, h),
                           borderMode=cv2.BORDER_REPLICATE)
    dark = moved.astype(np.float32) * light + 8  # a share of the light, a black floor
    dark[..., 0] *= 1.15  # street lights are orange, the sky blue-black: colour shifts too
    dark += rng.normal(0, noise, dark.shape)  # sensor noise at high gain
    return jpeg_round_trip(np.clip(dark, 0, 255).astype(np.uint8), quality)


def panned(img: np.ndarray, fraction: float = 0.35) -> np.ndarray:
    """The camera turned sideways: the view slides by `fraction` of its width."""
    h, w = img.shape[:2]
    wide = cv2.copyMakeBorder(img, 0, 0, 0, w, cv2.BORDER_REFLECT)
    dx = int(w * fraction)
    return jpeg_round_trip(np.ascontiguousarray(wide[:, dx:dx + w]), 80)


def rotated(img: np.ndarray, degrees: float = 12, zoom: float = 1.25) -> np.ndarray:
    """The camera knocked askew (and zoomed): another crop of the same street."""
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D((w * 0.6, h * 0.45), degrees, zoom)
    return jpeg_round_trip(cv2.warpAffine(img, matrix, (w, h), borderMode=cv2.BORDER_REFLECT), 80)


def encode_jpeg(img: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()
