"""The photo pipeline: sniff, decode, orient, bound, stamp EXIF, hash last, store, thumbnail.

Every photo (node camera or tablet upload) is decoded and re-encoded as JPEG: the EXIF
orientation is applied to the pixels, the long side is bounded (default 2048 px), the
node's EXIF is written (GPS position and quality, time, node id) and only then is the
SHA-256 taken, so the hash names exactly the bytes that are stored and synced. Anything
that is not a JPEG, PNG, WebP or HEIF-family picture (HEIC from phones and tablets, AVIF)
is refused by its content, not its name.

HEIC is decoded by libheif through pillow-heif (its wheel bundles libheif with the libde265
HEVC decoder); AVIF by Pillow's own libavif plugin. Both containers are first checked by
`heif_box`: a file cut short is refused (libheif would fill a grid photo's missing tiles
with green), and it tells whether the EXIF Orientation still has to be applied (see there).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import io
import warnings
from dataclasses import dataclass

import pillow_heif
from PIL import ExifTags, Image, TiffImagePlugin, features

from .db import audit, transaction
from .doctor import Check, check
from .db import evidence as evidence_db
from . import heif_box, jpeg_data, png_data
from .errors import BadInput
from .i18n import N_
from .evidence import EvidenceStore
from .photo_memory import DecodeBudget, decode_cost

# Only the primary image is ever stored: embedded thumbnails, depth maps and auxiliary images
# (HDR gain maps, portrait mattes) are not read at all. libheif applies irot/imir on decode
# and pillow-heif then resets the EXIF Orientation to 1 (keeping the file's value in
# info["original_orientation"]), so an iPhone photo is never turned twice.
pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
HEVC_DECODERS = ("libde265", "ffmpeg")  # libheif's plugins that decode HEIC
HEIF_FAMILY = {"image/heic": "HEIF", "image/heif": "HEIF", "image/avif": "AVIF"}
DECODE_ERRORS = (OSError, SyntaxError, ValueError, RuntimeError, EOFError)

MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
# What a refused file most likely is, for the one-line refusal (whole sentences, so that
# each translates as one).
KNOWN_OTHERS = (
    (b"%PDF", N_("%(name)s is a PDF document, not a photo (JPEG, PNG, WebP or HEIC)")),
    (b"PK\x03\x04",
     N_("%(name)s is a ZIP or Office file, not a photo (JPEG, PNG, WebP or HEIC)")),
    (b"GIF8", N_("%(name)s is a GIF animation, not a photo (JPEG, PNG, WebP or HEIC)")),
    (b"<", N_("%(name)s is a web page or XML, not a photo (JPEG, PNG, WebP or HEIC)")),
    (b"BM", N_("%(name)s is a BMP picture, not a photo (JPEG, PNG, WebP or HEIC)")),
)
try:
    VERSION = importlib.metadata.version("cctv-survey-node")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
    VERSION = "dev"
GPS = ExifTags.IFD.GPSInfo
EXIF = ExifTags.IFD.Exif
TAG_BODY_SERIAL = 0xA431      # the node id: "which device took this"
TAG_OFFSET_ORIGINAL = 0x9011
TAG_GPS_H_ERROR = 0x001F      # GPSHPositioningError (EXIF 2.31)
ORIENTATION = 0x0112
DRAFT_SLACK = 0.95
# EXIF orientation -> the transpose that makes the pixels upright (as ImageOps.exif_transpose).
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass
class Photo:
    data: bytes
    sha256: str
    width: int
    height: int
    mime: str = "image/jpeg"
    source_mime: str = ""
    source_sha256: str = ""
    thumbnail: bytes = b""


def sniff(data: bytes, name: str = "") -> str:
    """The picture type by its first bytes; a clear refusal for anything else."""
    for magic, mime in MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    label = name or "The file"
    heif_mime = heif_box.mime_of(data)
    if heif_mime == "image/avif" and not features.check("avif"):
        raise BadInput("%(name)s is an AVIF picture, which this node cannot read", name=label)
    if heif_mime:
        return heif_mime
    if not data:
        raise BadInput("%(name)s is empty", name=label)
    head = data[:4096].lstrip()  # (a slice: stripping a 25 MB upload would copy it)
    for magic, message in KNOWN_OTHERS:
        if head[:len(magic)] == magic:
            raise BadInput(message, name=label)
    raise BadInput("%(name)s is not a photo (JPEG, PNG, WebP or HEIC)", name=label)


def open_image(data: bytes, *, max_pixels: int, name: str = "",
               mime: str = "") -> Image.Image:
    """Open (header only) and refuse what is too big to decode on a Pi."""
    label = name or "The photo"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            # A HEIF-family file goes to the plugin of its codec only: both plugins claim
            # the generic `mif1` brand.
            formats = [HEIF_FAMILY[mime]] if mime in HEIF_FAMILY else None
            img = Image.open(io.BytesIO(data), formats=formats)
    except Image.DecompressionBombError:
        raise BadInput("%(name)s is too large to open", name=label) from None
    except DECODE_ERRORS:
        raise BadInput("%(name)s is damaged and cannot be read", name=label) from None
    _check_pixels(img.size, max_pixels, label)
    return img


def _check_pixels(size: tuple[int, int], max_pixels: int, label: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise BadInput("%(name)s is %(w)sx%(h)s pixels; the largest accepted is %(mp)s megapixels",
                       name=label, w=width, h=height, mp=max_pixels // 1_000_000)


def check_container(data: bytes, label: str) -> heif_box.Layout:
    try:
        return heif_box.inspect(data)
    except heif_box.ContainerError as error:
        if error.cut_short:
            raise BadInput("%(name)s is cut short (the file is incomplete): send it again",
                           name=label) from None
        raise BadInput("%(name)s is damaged and cannot be read", name=label) from None


def _orientation(img: Image.Image, layout: heif_box.Layout | None, source_mime: str) -> int:
    """The EXIF orientation still to apply to the decoded pixels."""
    if layout is not None and HEIF_FAMILY[source_mime] == "HEIF":
        # libheif has applied irot/imir; a file without them (some Android phones) records
        # how the phone was held only in its EXIF, which pillow-heif has reset to 1.
        if layout.transformed:
            return 1
        return img.info.get("original_orientation") or 1
    # JPEG, PNG, WebP; for AVIF Pillow turns irot/imir into this tag, as libavif leaves
    # the pixels as stored.
    return img.getexif().get(ORIENTATION, 1)


def process(data: bytes, *, max_long_side: int = 2048, quality: int = 88,
            max_pixels: int = 64_000_000, taken_at: dt.datetime | None = None,
            position: dict | None = None, node_id: str = "", name: str = "",
            thumb_size: int = 320, budget: DecodeBudget | None = None) -> Photo:
    """Turn any accepted picture into the stored JPEG (+ its thumbnail).

    With a `budget`, the decode first reserves its estimated memory from it (and waits for
    room, or is refused: see photo_memory); the header has been read by then, nothing else.
    """
    source_mime = sniff(data, name)
    label = name or "The photo"
    # A HEIF-family container is checked first: bytes missing at the end are refused, and
    # so is a size beyond the bound, before libheif reads anything.
    layout = None
    if source_mime in HEIF_FAMILY:
        layout = check_container(data, label)
        for declared in (layout.size, layout.canvas):
            if declared:
                _check_pixels(declared, max_pixels, label)
        if layout.size and layout.canvas and layout.size != layout.canvas:
            # libheif would decode the grid's size and only then refuse the mismatch.
            raise BadInput("%(name)s is damaged and cannot be read", name=label)
    img = open_image(data, max_pixels=max_pixels, name=name, mime=source_mime)
    # Pillow keeps what a lying or cut file lacks (black PNG rows, libjpeg's grey blocks):
    # judged from the coded data before anything is decoded.
    checker = {"image/png": png_data, "image/jpeg": jpeg_data}.get(source_mime)
    if checker is not None:
        try:
            checker.check_complete(data)
        except checker.Incomplete:
            raise BadInput("%(name)s is damaged and cannot be read", name=label) from None
    width, height = img.size
    if source_mime == "image/jpeg" and max(width, height) > max_long_side:
        # libjpeg decodes at 1/2, 1/4 or 1/8 scale almost for free; accept a scale that
        # lands within DRAFT_SLACK below the bound (4000 px -> 2000 px), which saves a
        # full-size decode and resample: the pipeline then costs less than a plain
        # decode + encode of the original.
        scale = max_long_side * DRAFT_SLACK / max(width, height)
        img.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
    reservation = contextlib.nullcontext()
    if budget is not None:
        # img.size is the size it will decode at (after the draft scale above).
        cost = decode_cost(mime=source_mime, mode=img.mode, size=img.size,
                           has_alpha="transparency" in img.info, max_long_side=max_long_side)
        reservation = budget.reserve(cost, name=label)
    with reservation:
        return _decode(img, layout, source_mime, data, max_long_side=max_long_side,
                       quality=quality, taken_at=taken_at, position=position, node_id=node_id,
                       label=label, thumb_size=thumb_size)


def _decode(img: Image.Image, layout: heif_box.Layout | None, source_mime: str, data: bytes, *,
            max_long_side: int, quality: int, taken_at: dt.datetime | None,
            position: dict | None, node_id: str, label: str, thumb_size: int) -> Photo:
    """Decode, convert, bound, orient, encode: the part that takes the memory."""
    try:
        orientation = _orientation(img, layout, source_mime)
        img.load()
    except DECODE_ERRORS:
        raise BadInput("%(name)s is damaged and cannot be read", name=label) from None
    img = _to_rgb(img)
    if max(img.size) > max_long_side:
        ratio = max_long_side / max(img.size)
        size = (max(1, round(img.width * ratio)), max(1, round(img.height * ratio)))
        img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    # Orientation last: turning a bounded image costs a quarter of turning the original.
    if orientation in TRANSPOSE:
        img = img.transpose(TRANSPOSE[orientation])
    taken_at = taken_at or dt.datetime.now(dt.timezone.utc)
    exif = build_exif(taken_at=taken_at, position=position, node_id=node_id)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality, exif=exif.tobytes())
    encoded = out.getvalue()
    return Photo(
        data=encoded, sha256=hashlib.sha256(encoded).hexdigest(),  # hash last
        width=img.width, height=img.height, source_mime=source_mime,
        source_sha256=hashlib.sha256(data).hexdigest(),
        thumbnail=thumbnail_of(img, thumb_size),
    )


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB") if img.mode != "RGB" else img


def thumbnail_of(img: Image.Image, size: int) -> bytes:
    thumb = img.copy()
    thumb.thumbnail((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    out = io.BytesIO()
    thumb.save(out, "JPEG", quality=80)
    return out.getvalue()


def thumbnail_from_bytes(data: bytes, size: int) -> bytes:
    """Rebuild a thumbnail from a stored photo (thumbnails are derived, never evidence)."""
    img = Image.open(io.BytesIO(data))
    img.draft("RGB", (size, size))
    return thumbnail_of(_to_rgb(img), size)


def _rational(value: float, denominator: int = 10000) -> TiffImagePlugin.IFDRational:
    return TiffImagePlugin.IFDRational(round(value * denominator), denominator)


def _dms(value: float) -> tuple:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    return (_rational(degrees, 1), _rational(minutes, 1), _rational(seconds, 10000))


def build_exif(*, taken_at: dt.datetime, position: dict | None, node_id: str) -> Image.Exif:
    """EXIF for a stored photo: time (UTC), node id, and the GPS fix with its quality."""
    exif = Image.Exif()
    stamp = taken_at.astimezone(dt.timezone.utc).strftime("%Y:%m:%d %H:%M:%S")
    exif[ExifTags.Base.Make] = "CCTV Survey Node"
    exif[ExifTags.Base.Software] = f"survey-node {VERSION}"
    exif[ExifTags.Base.DateTime] = stamp
    exif[ExifTags.Base.Orientation] = 1  # the pixels are already upright
    if node_id:
        exif[ExifTags.Base.ImageDescription] = f"survey node {node_id}"
    sub = exif.get_ifd(EXIF)
    sub[ExifTags.Base.DateTimeOriginal] = stamp
    sub[TAG_OFFSET_ORIGINAL] = "+00:00"
    if node_id:
        sub[TAG_BODY_SERIAL] = node_id
    if position and position.get("lat") is not None and position.get("lon") is not None:
        gps = exif.get_ifd(GPS)
        gps[ExifTags.GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        gps[ExifTags.GPS.GPSLatitudeRef] = "N" if position["lat"] >= 0 else "S"
        gps[ExifTags.GPS.GPSLatitude] = _dms(position["lat"])
        gps[ExifTags.GPS.GPSLongitudeRef] = "E" if position["lon"] >= 0 else "W"
        gps[ExifTags.GPS.GPSLongitude] = _dms(position["lon"])
        if position.get("alt") is not None:
            gps[ExifTags.GPS.GPSAltitudeRef] = b"\x00" if position["alt"] >= 0 else b"\x01"
            gps[ExifTags.GPS.GPSAltitude] = _rational(abs(position["alt"]), 100)
        mode = position.get("mode")
        if mode in (2, 3):
            gps[ExifTags.GPS.GPSMeasureMode] = str(mode)
        if position.get("hdop") is not None:
            gps[ExifTags.GPS.GPSDOP] = _rational(position["hdop"], 100)
        if position.get("sats_used") is not None:
            gps[ExifTags.GPS.GPSSatellites] = str(position["sats_used"])
        if position.get("eph") is not None:
            gps[TAG_GPS_H_ERROR] = _rational(position["eph"], 100)
        gps[ExifTags.GPS.GPSMapDatum] = "WGS-84"
        gps_time = _parse_time(position.get("time"))
        if gps_time:
            gps[ExifTags.GPS.GPSDateStamp] = gps_time.strftime("%Y:%m:%d")
            gps[ExifTags.GPS.GPSTimeStamp] = (
                _rational(gps_time.hour, 1), _rational(gps_time.minute, 1),
                _rational(gps_time.second + gps_time.microsecond / 1e6, 1000))
    return exif


def _parse_time(value) -> dt.datetime | None:
    if not value:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc)
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def read_exif(data: bytes) -> dict:
    """The fields this pipeline writes, read back (for tests, review and exports)."""
    img = Image.open(io.BytesIO(data))
    exif = img.getexif()
    sub = exif.get_ifd(EXIF)
    gps = exif.get_ifd(GPS)
    result = {"datetime_original": sub.get(ExifTags.Base.DateTimeOriginal),
              "node_id": sub.get(TAG_BODY_SERIAL), "orientation": exif.get(ExifTags.Base.Orientation),
              "software": exif.get(ExifTags.Base.Software), "lat": None, "lon": None}
    if gps.get(ExifTags.GPS.GPSLatitude):
        def deg(parts, ref):
            value = float(parts[0]) + float(parts[1]) / 60 + float(parts[2]) / 3600
            return -value if ref in ("S", "W") else value

        result["lat"] = deg(gps[ExifTags.GPS.GPSLatitude], gps.get(ExifTags.GPS.GPSLatitudeRef))
        result["lon"] = deg(gps[ExifTags.GPS.GPSLongitude], gps.get(ExifTags.GPS.GPSLongitudeRef))
        alt = gps.get(ExifTags.GPS.GPSAltitude)
        result["alt"] = float(alt) if alt is not None else None
        err = gps.get(TAG_GPS_H_ERROR)
        result["h_error_m"] = float(err) if err is not None else None
        result["gps_date"] = gps.get(ExifTags.GPS.GPSDateStamp)
        result["satellites"] = gps.get(ExifTags.GPS.GPSSatellites)
    return result


@check
def photo_formats(config) -> Check:
    """Whether this node can read phones' HEIC photos (and AVIF), besides JPEG/PNG/WebP."""
    info = pillow_heif.libheif_info()
    hevc = [name for name in info.get("decoders", {}) if name in HEVC_DECODERS]
    detail = (f"JPEG, PNG, WebP; HEIC: libheif {info.get('libheif')} with "
              f"{hevc[0] if hevc else 'no HEVC decoder'}; AVIF: "
              f"{'yes' if features.check('avif') else 'no'}")
    if not hevc:
        return Check("photo_formats", "warn", detail,
                     "HEIC photos (iPhone, iPad, many Android phones) are refused: reinstall"
                     " pillow-heif from its wheel, which bundles libheif with an HEVC decoder.",
                     "ภาพ HEIC (iPhone, iPad และโทรศัพท์ Android หลายรุ่น) จะถูกปฏิเสธ:"
                     " ติดตั้ง pillow-heif ใหม่จาก wheel ซึ่งมี libheif พร้อมตัวถอดรหัส HEVC")
    return Check("photo_formats", "ok", detail)


# -- storing -----------------------------------------------------------------------


def save_photo(db, store: EvidenceStore, photo: Photo, *, source: str, taken_at: dt.datetime,
               position: dict | None, node_id: str, actor: str | None,
               original_name: str = "") -> dict:
    """Store the bytes (atomically), the thumbnail and the record; audit a new item.

    If any step fails (a full disk most often), a photo file this call created is removed
    again: no file is left that no record names, taking the space of the next try.
    """
    was_there = store.exists(photo.sha256)
    try:
        return _save_photo(db, store, photo, source=source, taken_at=taken_at,
                           position=position, node_id=node_id, actor=actor,
                           original_name=original_name)
    except BaseException:
        if not was_there and evidence_db.get_evidence(db, photo.sha256) is None:
            store.path(photo.sha256).unlink(missing_ok=True)
            store.thumb_path(photo.sha256).unlink(missing_ok=True)
        raise


def _save_photo(db, store: EvidenceStore, photo: Photo, *, source: str, taken_at: dt.datetime,
                position: dict | None, node_id: str, actor: str | None,
                original_name: str) -> dict:
    store.put_bytes(photo.data)
    store.put_thumbnail(photo.sha256, photo.thumbnail)
    pos = position or {}
    record = {
        "sha256": photo.sha256, "kind": "photo", "mime": photo.mime, "bytes": len(photo.data),
        "width": photo.width, "height": photo.height,
        "taken_at": taken_at.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat(),
        "lat": pos.get("lat"), "lon": pos.get("lon"), "alt": pos.get("alt"),
        "h_error_m": pos.get("eph"), "fix_mode": pos.get("mode"), "gps_time": pos.get("time"),
        "source": source, "created_by": actor, "node_id": node_id,
        "original_sha256": photo.source_sha256, "original_mime": photo.source_mime,
        "original_name": original_name[:200],
    }
    with transaction(db):
        new = evidence_db.upsert_evidence(db, record)
        if new:
            audit(db, actor=actor, action="evidence.photo", entity="evidence",
                  entity_id=photo.sha256, detail={"source": source, "bytes": len(photo.data),
                                                  "original_sha256": photo.source_sha256})
    return evidence_db.get_evidence(db, photo.sha256)


def thumbnail_path(store: EvidenceStore, sha256: str, size: int):
    """The thumbnail's file, rebuilt from the stored photo when it is missing."""
    path = store.thumb_path(sha256)
    if not path.exists():
        store.put_thumbnail(sha256, thumbnail_from_bytes(store.read_bytes(sha256), size))
    return path


def rebuild_thumbnails(store: EvidenceStore, size: int, *, force: bool = False) -> int:
    """Remake thumbnails for every stored picture (all of them with `force`)."""
    made = 0
    for sha256 in store.hashes():
        if force or not store.thumb_path(sha256).exists():
            try:
                store.put_thumbnail(sha256, thumbnail_from_bytes(store.read_bytes(sha256), size))
            except (OSError, SyntaxError, ValueError):
                continue  # not a picture (a future evidence kind): no thumbnail
            made += 1
    return made
