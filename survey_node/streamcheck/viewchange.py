"""How much a camera's view changed since an earlier picture of it (0 = the same view,
1 = another view), for the reviewer's "has this camera been moved?".

The earlier picture is often from another time of day, so the score must not see day
against night, sensor noise or JPEG blocks as change. Two measures, both on equalised
greyscale (CLAHE: the night picture's shapes are stretched back to a usable contrast):

* features: ORB keypoints matched between the pictures and a homography fitted by RANSAC.
  Many matches that agree on one homography mean the same scene; where the homography
  takes the picture's corners says whether the view itself slid, turned or zoomed (a
  camera turned on its bracket still sees some of the same street);
* structure: where the two pictures have edges in the same place and direction, on
  blurred small copies (noise and compression leave no edges there). It holds where a
  dark picture gives too few keypoints.

The view counts as unchanged when either measure says so; the score is the change both
see. Runs in the stream check's child process (OpenCV's memory never lives in the web
server), within the check's deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WORK_WIDTH = 480          # both pictures are compared at this width
STRUCTURE_WIDTH = 160     # the edge comparison's width: fine noise is gone at this size
MAX_REFERENCE_BYTES = 20 * 1024 * 1024
MAX_REFERENCE_PIXELS = 40_000_000  # a 40 MP header is not a camera's snapshot
ORB_FEATURES = 1000
MIN_INLIERS = 12          # fewer agreeing matches than this is chance, not the same scene
FULL_INLIER_SHARE = 0.12  # this share of the keypoints agreeing is the same scene for sure
FLAT_SPREAD = 4.0         # grey levels between the 5th and 95th percentile: no picture
MOVED_SHIFT = 0.08        # corners displaced by 8 % of the diagonal: the view itself moved
# Edges met in unrelated street views (straight walls, a level horizon) and in the same
# view at night, measured on tests/scenes.py's pictures: the structure scale runs between.
STRUCTURE_CHANCE, STRUCTURE_FULL = 0.45, 0.9
VERSION = 1


class UnreadablePicture(ValueError):
    """The earlier picture cannot be used (not a JPEG/PNG, too large, damaged)."""


@dataclass
class ViewChange:
    score: float            # 0 same view .. 1 another view
    features: float         # 0..1: how strongly keypoints say "the same scene"
    shift: float | None     # corner displacement / diagonal under the fitted homography
    structure: float        # 0..1: edges in the same place and direction
    inliers: int

    def public(self) -> dict:
        return {"view_change": round(self.score, 3), "view_features": round(self.features, 3),
                "view_shift": None if self.shift is None else round(self.shift, 4),
                "view_structure": round(self.structure, 3), "view_inliers": self.inliers}


def picture_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's frame header or a PNG's IHDR, before any decoding."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:2] != b"\xff\xd8":
        raise UnreadablePicture("not a JPEG or PNG picture")
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            raise UnreadablePicture("damaged JPEG: no marker where one should be")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[pos + 5:pos + 7], "big")
            width = int.from_bytes(data[pos + 7:pos + 9], "big")
            return width, height
        pos += 2 + length
    raise UnreadablePicture("damaged JPEG: no frame header")


def decode_grey(data: bytes) -> np.ndarray:
    """The picture in greyscale at most ~2x WORK_WIDTH wide, its size checked first.

    libjpeg scales by 1/2, 1/4 or 1/8 while decoding (IMREAD_REDUCED_*), so a 4 MP
    snapshot never becomes a 4 MP array here."""
    if len(data) > MAX_REFERENCE_BYTES:
        raise UnreadablePicture("the picture is larger than 20 MB")
    width, height = picture_size(data)
    if not (0 < width and 0 < height) or width * height > MAX_REFERENCE_PIXELS:
        raise UnreadablePicture(f"the picture claims {width}x{height} pixels")
    flag = cv2.IMREAD_GRAYSCALE
    if data[:2] == b"\xff\xd8":
        for factor, reduced in ((8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
                                (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
                                (2, cv2.IMREAD_REDUCED_GRAYSCALE_2)):
            if width // factor >= WORK_WIDTH:
                flag = reduced
                break
    grey = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if grey is None:
        raise UnreadablePicture("the picture does not decode")
    return grey


def _prepared(grey: np.ndarray, width: int) -> np.ndarray:
    h, w = grey.shape[:2]
    small = cv2.resize(grey, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (3, 3), 0)  # sensor noise is not structure
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(small)


def _features(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float | None, int]:
    """(same-scene strength 0..1, corner shift / diagonal or None, inliers)."""
    orb = cv2.ORB_create(nfeatures=ORB_FEATURES, fastThreshold=12)
    kp1, des1 = orb.detectAndCompute(ref, None)
    kp2, des2 = orb.detectAndCompute(cur, None)
    if des1 is None or des2 is None or len(kp1) < MIN_INLIERS or len(kp2) < MIN_INLIERS:
        return 0.0, None, 0
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(des2, des1, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < 0.8 * p[1].distance]
    if len(good) < MIN_INLIERS:
        return 0.0, None, 0
    src = np.float32([kp2[m.queryIdx].pt for m in good])
    dst = np.float32([kp1[m.trainIdx].pt for m in good])
    homography, mask = cv2.findHomography(src, dst, cv2.RANSAC, 4.0)
    if homography is None or mask is None:
        return 0.0, None, 0
    inliers = int(mask.sum())
    if inliers < MIN_INLIERS:
        return 0.0, None, inliers
    h, w = cur.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]]).reshape(-1, 1, 2)
    projected = cv2.perspectiveTransform(corners, homography)
    shift = float(np.linalg.norm(projected - corners, axis=2).mean()) / float(np.hypot(w, h))
    share = inliers / min(len(kp1), len(kp2))
    return min(1.0, share / FULL_INLIER_SHARE), shift, inliers


ORIENTATION_BINS = 8


def _edges(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Strong-edge mask and the edge direction's bin (0..ORIENTATION_BINS-1, modulo 180
    degrees: day and night may swap which side of an edge is brighter)."""
    gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = cv2.magnitude(gx, gy)
    # Each picture's own top edges: brightness and gain drop out.
    strong = magnitude >= max(float(np.percentile(magnitude, 85)), 1e-3)
    angle = np.mod(np.arctan2(gy, gx), np.pi)
    bins = np.minimum((angle / np.pi * ORIENTATION_BINS).astype(np.int32), ORIENTATION_BINS - 1)
    return strong, bins


def _met(e1: np.ndarray, b1: np.ndarray, e2: np.ndarray, b2: np.ndarray) -> float:
    """The share of e1's edges with an edge of about the same direction within a pixel."""
    kernel = np.ones((3, 3), np.uint8)
    near = [cv2.dilate((e2 & (b2 == k)).astype(np.uint8), kernel).astype(bool)
            for k in range(ORIENTATION_BINS)]
    met = np.zeros_like(e1)
    for k in range(ORIENTATION_BINS):
        here = e1 & (b1 == k)
        around = near[k] | near[(k + 1) % ORIENTATION_BINS] | near[k - 1]
        met |= here & around
    return float(met.sum()) / max(1.0, float(e1.sum()))


def _structure(ref: np.ndarray, cur: np.ndarray) -> float:
    """0..1: strong edges met by an edge of the same direction in the other picture, less
    what two unrelated street views share by chance (straight walls, a level horizon)."""
    a, b = _prepared(ref, STRUCTURE_WIDTH), _prepared(cur, STRUCTURE_WIDTH)
    if a.shape != b.shape:
        b = cv2.resize(b, (a.shape[1], a.shape[0]), interpolation=cv2.INTER_AREA)
    (ea, ba), (eb, bb) = _edges(a), _edges(b)
    if not ea.any() or not eb.any():
        return 0.0
    shared = min(_met(ea, ba, eb, bb), _met(eb, bb, ea, ba))
    return max(0.0, min(1.0, (shared - STRUCTURE_CHANCE) / (STRUCTURE_FULL - STRUCTURE_CHANCE)))


def compare_views(reference: np.ndarray, current: np.ndarray) -> ViewChange:
    """The change between two greyscale pictures of (supposedly) one camera's view."""
    ref, cur = _prepared(reference, WORK_WIDTH), _prepared(current, WORK_WIDTH)
    features, shift, inliers = _features(ref, cur)
    if shift is not None:
        features *= max(0.0, 1.0 - shift / MOVED_SHIFT)
    structure = _structure(reference, current)
    score = 1.0 - max(features, structure)
    return ViewChange(score=score, features=features, shift=shift, structure=structure,
                      inliers=inliers)


def compare_jpegs(reference: bytes, current: bytes) -> ViewChange:
    return compare_views(decode_grey(reference), decode_grey(current))


def is_flat(grey: np.ndarray) -> bool:
    """A black, covered or blank picture: it shows no view, so no change can be read from
    it (it would score as "another view" and wrongly suggest a moved camera)."""
    low, high = np.percentile(grey, (5, 95))
    return float(high - low) < FLAT_SPREAD


def compare_with_reference(path: str, current: np.ndarray) -> dict:
    """The score's columns against the picture at `path`, or {"view_error": one line}."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_REFERENCE_BYTES + 1)  # bounded before it is held
        reference = decode_grey(data)
        for name, picture in (("this", current), ("the earlier", reference)):
            if is_flat(picture):
                return {"view_error": f"{name} picture is black or blank: no view to compare"}
        return compare_views(reference, current).public()
    except UnreadablePicture as exc:
        return {"view_error": f"the earlier snapshot cannot be compared: {exc}"}
    except OSError as exc:
        return {"view_error": f"the earlier snapshot cannot be read: {exc.strerror or exc}"}
    except cv2.error:
        return {"view_error": "the earlier snapshot cannot be compared: OpenCV failed on it"}
