"""Typed configuration: a TOML file in the data dir, overridden by the environment.

Every setting is a field of a section dataclass with a `help` text (a test fails when one
lacks it). Unknown sections or keys are an error that names them, so a typo never passes
silently. Any key can be overridden with ``SURVEY_NODE_<SECTION>__<KEY>``, for example
``SURVEY_NODE_GPS__PORT=2948``.

Secrets (the Flask session key, the registry token) never live in the TOML file: they are
files with mode 0600 under ``<data dir>/secrets`` made by ``survey-node init``, or come
from systemd's ``$CREDENTIALS_DIRECTORY`` (LoadCredential=) when it is set.
"""

from __future__ import annotations

import dataclasses
import os
import secrets as _secrets
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

ENV_PREFIX = "SURVEY_NODE_"
DATA_DIR_ENV = "SURVEY_NODE_DATA"
CONFIG_FILE = "config.toml"
SECRET_NAMES = ("flask_secret_key", "registry_token")


def setting(default, help: str, choices: tuple | None = None):  # noqa: A002 - mirrors click
    """A config field with its help text (and allowed values, when it is a choice)."""
    meta = {"help": help}
    if choices:
        meta["choices"] = choices
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class NodeSection:
    id: str = setting("", "This node's id, sent with every sync batch (made by `init` when empty).")
    name: str = setting("Survey node", "A name people recognise, shown in the page header.")
    province_code: str = setting("", "DOPA code of the province this node surveys (e.g. 11);"
                                 " set by `init --province` or the admin settings page. Empty:"
                                 " an import infers it from the file when it can.")


@dataclass
class WebSection:
    host: str = setting("0.0.0.0", "Address the UI listens on.")
    port: int = setting(8080, "Port the UI listens on.")
    threads: int = setting(4, "Worker threads of the waitress server. Python runs one thread"
                           " at a time, so more threads only queue on each other: 4 answered"
                           " 20 tablets faster than 8 (make bench, worklist).")
    default_language: str = setting("th", "Language of the UI before a user picks one.", ("th", "en"))
    page_size: int = setting(50, "Cameras per page in lists.")
    session_hours: int = setting(12, "How long a login lasts, in hours (a field day).")
    max_upload_mb: int = setting(25, "Largest accepted upload, in megabytes.")
    max_basemap_mb: int = setting(4096, "Largest basemap (MBTiles) an admin may upload, in"
                                  " megabytes; it is streamed to disk, never held in memory.")
    secure_cookies: bool = setting(False, "Mark cookies Secure (only when served over HTTPS).")


@dataclass
class SecuritySection:
    pin_attempts: int = setting(5, "Wrong PINs allowed before a user or a client is locked out.")
    lockout_minutes: int = setting(5, "How long a first lockout lasts, in minutes.")
    failure_window_minutes: int = setting(
        15, "Wrong PINs count within this many minutes; a quiet window also forgets earlier"
        " lockouts.")
    max_lockout_minutes: int = setting(
        60, "Longest lockout: each lockout soon after another lasts twice as long, up to this.")
    min_pin_length: int = setting(4, "Shortest PIN accepted.")


@dataclass
class SurveySection:
    distance_warning_m: float = setting(
        30.0, "A surveyed position farther than this from the registered one needs a reason.")
    lock_minutes: int = setting(
        30, "An open survey stays locked to its surveyor this long after their last change.")


@dataclass
class DemoSection:
    streams_port: int = setting(8091, "Port of the demo's local test streams (demo mode only).")
    cameras: int = setting(1200, "Number of synthetic cameras in the demo province.")
    registry_port: int = setting(8092, "Port of the demo's own central registry on 127.0.0.1"
                                 " (demo mode only; the node syncs to it).")


@dataclass
class HotspotSection:
    ssid: str = setting("", "WiFi network name of the node's hotspot (empty: SurveyNode- and the end of the node id).")
    address: str = setting("10.42.0.1", "The node's fixed address on its hotspot; the label's QR code opens it.")
    hostname: str = setting("survey-node.local", "The node's name on the hotspot (avahi/mDNS), printed on the label.")
    connection: str = setting("survey-node-hotspot", "NetworkManager connection name of the hotspot (doctor checks it).")


@dataclass
class ImportsSection:
    max_rows: int = setting(200_000, "Registry import: a sheet whose cells (with a value) or"
                            " declared range reach past this row is refused before it is read."
                            " The largest province registry is about 101,000 cameras.")
    max_columns: int = setting(100, "Registry import: the same for columns (a registry has"
                               " 10-40). Rows x columns x 32 bytes is what the reader may"
                               " allocate for one sheet (640 MB at the defaults), so keep it"
                               " within reader_memory_mb.")
    max_cells: int = setting(10_000_000, "Registry import: most cells holding a value in one"
                             " sheet (a 100,000-camera registry of 40 columns has 4 million).")
    max_shared_strings: int = setting(2_000_000, "Registry import: most shared strings an xlsx"
                                      " may declare or hold (the reader reserves them up front).")
    max_unpacked_mb: int = setting(512, "Registry import: most megabytes an xlsx/ods may unpack"
                                    " to, and largest .xls file.")
    max_ratio: int = setting(100, "Registry import: highest compression ratio of a part over"
                             " 16 MB (real sheets compress 5-15 to 1; a zip bomb about 1000).")
    reader_memory_mb: int = setting(1024, "Address space (RLIMIT_AS) of the reader process that"
                                    " analyses and reads registry files, in megabytes.")
    analysis_timeout_s: float = setting(120.0, "Deadline of the reader process analysing an"
                                        " upload for the import page, in seconds.")
    read_timeout_minutes: int = setting(30, "Deadline of the reader process of an import from"
                                        " the admin page or the CLI, in minutes.")


@dataclass
class SelectionSection:
    target_fraction: float = setting(0.2, "Share of registered cameras to survey (the 20 % target), for the quota of a committee list.")
    match_radius_m: float = setting(30.0, "A committee list row without a known id matches a camera of the same site name within this many metres.")


@dataclass
class ExportsSection:
    chromium: str = setting("chromium", "Chromium used to print PDF evidence sheets (a command name or a path).")
    pdf_timeout_s: int = setting(60, "Printing a PDF is stopped after this many seconds (plus 2 s per sheet).")


@dataclass
class StreamCheckSection:
    timeout_s: float = setting(15.0, "Hard deadline of one stream check, in seconds; the probe"
                               " process is killed (SIGKILL) past it.")
    connect_timeout_s: float = setting(5.0, "Time allowed to connect to a stream, in seconds;"
                                       " a camera silent for longer is `timeout`.")
    read_timeout_s: float = setting(2.0, "Longest wait for one frame once connected, in seconds;"
                                    " a longer gap counts as a stalled stream.")
    sample_seconds: float = setting(3.0, "Sampling window after the first frame, in seconds"
                                    " (frame rate and picture quality are measured over it;"
                                    " it runs on to a second keyframe, within the timeout, to"
                                    " measure the keyframe interval).")
    transport: str = setting("tcp", "RTSP transport: tcp (works through NAT and lossy WiFi) or"
                             " udp.", ("tcp", "udp"))
    keep_warm: bool = setting(True, "Keep one probe process started and waiting in the web"
                              " server (saves ~0.3 s per check; costs ~60 MB of memory).")
    max_concurrent: int = setting(2, "Stream checks allowed to run at once on this node; more"
                                  " wait in a queue.")
    queue_wait_s: float = setting(120.0, "Longest a check waits in the queue before it gives up,"
                                  " in seconds.")
    black_luma: float = setting(16.0, "Mean brightness (0-255) below which a picture is black"
                                " (if its contrast is low too).")
    black_contrast: float = setting(10.0, "Brightness spread (95th minus 5th percentile, 0-255)"
                                    " below which a dark picture is black; a dark night scene"
                                    " with detail spreads wider.")
    frozen_diff: float = setting(0.3, "Mean change per pixel between frames (0-255) below which a"
                                 " picture is frozen.")
    blur_threshold: float = setting(20.0, "Variance of the Laplacian (on a 640-px-wide grey copy)"
                                    " below which a picture is blurred.")
    jpeg_quality: int = setting(85, "JPEG quality of the snapshot kept as evidence (1-100).")
    ffprobe: str = setting("ffprobe", "The ffprobe program asked when FFmpeg's own reason for a"
                           " failed connection is too vague.")
    find_try_timeout_s: float = setting(5.0, "Finding a stream by the maker's paths: deadline of"
                                        " one try (one path on one port), in seconds.")
    find_timeout_s: float = setting(60.0, "Finding a stream by the maker's paths: deadline of the"
                                    " whole search, tries and the picture check, in seconds.")
    onvif_timeout_s: float = setting(15.0, "Asking a camera over ONVIF (identity, clock, stream"
                                     " address): deadline of the whole exchange, in seconds.")
    onvif_call_timeout_s: float = setting(5.0, "Asking a camera over ONVIF: deadline of each"
                                          " call, in seconds.")
    view_change_moved: float = setting(0.5, "View-change score (0 = the same view as the"
                                       " camera's earlier snapshot, 1 = another view) from"
                                       " which the review suggests the flag \"camera moved\"."
                                       " Day against night scores below 0.3.")


@dataclass
class WiredSection:
    interface: str = setting("eth0", "The node's Ethernet port, plugged into the switch in the"
                             " camera's roadside cabinet (WS-Discovery and temporary"
                             " addresses use it, never the hotspot).")
    discover_timeout_s: float = setting(3.0, "Finding cameras on the cable (WS-Discovery):"
                                        " how long to collect answers, in seconds.")
    max_reply_bytes: int = setting(32768, "Finding cameras on the cable: a WS-Discovery reply"
                                   " longer than this is ignored before it is parsed (a real"
                                   " one is 1-3 kB).")
    temp_addresses: bool = setting(True, "Reach a camera with a fixed address outside the"
                                   " port's networks by adding a free address of the camera's"
                                   " subnet to the port for the search, removed afterwards.")
    temp_prefix: int = setting(24, "Prefix length of the camera's subnet for a temporary"
                               " address (24: 192.168.1.64 means 192.168.1.0/24).")
    temp_lifetime_s: int = setting(900, "The kernel drops a temporary address after this many"
                                   " seconds even if the node could not (a search is shorter).")
    arp_wait_s: float = setting(1.0, "How long to listen for another device on a candidate"
                                " address (ARP duplicate detection) before taking it, seconds.")


@dataclass
class GpsSection:
    backend: str = setting("gpsd", "Where positions come from: gpsd (the receiver) or replay"
                           " (a recorded NMEA or gpsd-JSON log).", ("gpsd", "replay"))
    host: str = setting("127.0.0.1", "Address of gpsd.")
    port: int = setting(2947, "Port of gpsd.")
    timeout_s: float = setting(3.0, "Deadline for connecting to gpsd and for each read, seconds.")
    replay_file: str = setting("", "NMEA or gpsd-JSON log for the replay backend"
                               " (empty: the shipped Samut Prakan demo walk).")
    stale_s: float = setting(3.0, "A fix older than this many seconds is stale and refused.")
    average_s: float = setting(10.0, "How long \"fix position\" averages, seconds.")
    extra_wait_s: float = setting(20.0, "When fewer than min_fixes good fixes came in average_s,"
                                  " keep collecting up to this many more seconds.")
    min_fixes: int = setting(5, "Fewest good fixes an averaged position needs.")
    max_error_m: float = setting(10.0, "Largest measured horizontal error (the receiver's GST or"
                                 " own accuracy, metres) a fix may have to count in an average.")
    max_hdop: float = setting(2.0, "A fix without a measured error (no GST: gpsd's eph is then"
                              " only HDOP x 19 m) counts when its HDOP is at most this.")
    min_sats: int = setting(5, "A fix without a measured error counts when it uses at least"
                            " this many satellites.")
    need_3d: bool = setting(True, "Only 3D fixes count in an average.")


@dataclass
class CameraSection:
    backend: str = setting("none", "The node's own camera: picamera2 (Pi camera module), opencv"
                           " (USB camera), fake (a synthetic picture, demo/tests) or none"
                           " (photos come only from the tablet).",
                           ("picamera2", "opencv", "fake", "none"))
    device: int = setting(0, "OpenCV camera index (/dev/videoN) for the opencv backend.")
    timeout_s: float = setting(5.0, "Deadline for taking one picture, seconds.")
    max_long_side: int = setting(2048, "Photos are scaled so their long side is at most this"
                                 " many pixels.")
    jpeg_quality: int = setting(88, "JPEG quality of stored photos (1-95).")
    thumb_size: int = setting(320, "Long side of thumbnails, pixels.")
    max_pixels: int = setting(64_000_000, "Largest image (width x height) accepted for decoding;"
                              " bigger ones are refused as a likely decompression bomb (checked"
                              " from the header, for HEIC from its boxes, before decoding).")
    decode_budget_mb: int = setting(
        480, "Memory all photo decodes at once may take, in MB, estimated from each photo's"
        " header (a 64 MP PNG about 385 MB, a 48 MP iPhone HEIC 410 MB, a 12 MP phone JPEG 40"
        " MB). Fits a 1 GB Pi; raise it on a 2-8 GB one. A photo needing more is refused.")
    decode_wait_s: float = setting(
        15.0, "How long a photo waits for room in decode_budget_mb before the upload is"
        " answered busy (503, try again), seconds.")


@dataclass
class SyncSection:
    registry_url: str = setting(
        "", "Base URL of the central registry (https://...); plain http only to a loopback address.")
    allow_insecure_http: bool = setting(
        False, "Allow plain http to a non-loopback registry (the sync page shows a warning).")
    batch_size: int = setting(50, "Surveys per batch sent to the registry.")
    upload_connections: int = setting(3, "Evidence files uploaded at once (parallel connections).")
    connect_timeout_s: float = setting(10.0, "Seconds to wait for a connection to the registry.")
    read_timeout_s: float = setting(60.0, "Seconds to wait for each answer from the registry.")
    retry_deadline_s: float = setting(
        600.0, "A sync gives up retrying after this many seconds and reports what is left.")
    max_backoff_s: float = setting(
        60.0, "Longest pause, in seconds, before asking again a registry that answered with a"
              " server error (5xx, e.g. 507 when its disk is full). Pauses double from 0.2 s"
              " for every failed answer, shared by all upload connections, and a Retry-After"
              " from the registry is honoured up to this; a dropped connection waits at most"
              " 5 s (the network comes back, a failing registry does not).")
    interval_minutes: int = setting(
        15, "`sync --trigger timer` (the systemd timer) skips a run when the last good sync is"
            " younger than this many minutes.")


@dataclass
class RegistrySection:
    max_evidence_mb: int = setting(50, "Largest evidence file the registry accepts, in megabytes.")
    max_batch_surveys: int = setting(1000, "Most surveys the registry accepts in one batch.")
    threads: int = setting(8, "Worker threads of each registry server process.")
    workers: int = setting(
        1, "Registry server processes sharing the port (`registry serve --workers`); more than"
           " one is for a PostgreSQL database (an embedded SQLite registry takes one writer"
           " at a time whatever runs it).")
    database_url: str = setting(
        "", "PostgreSQL database of a national registry, as postgresql://user@host:5432/name"
            " (the password from the credentials directory's `registry_db_password`, or in"
            " the URL). Empty: the embedded SQLite file registry.db in the data dir.")
    db_pool_size: int = setting(
        10, "Most PostgreSQL connections each registry process keeps open.")
    evidence_url: str = setting(
        "", "S3-compatible bucket for the evidence, as s3://bucket/prefix (AWS S3, Ceph RGW,"
            " SeaweedFS, Garage). Empty: the evidence folder in the data dir.")
    s3_endpoint_url: str = setting(
        "", "The S3 server's address for a bucket not on AWS, e.g. https://s3.example.go.th;"
            " empty: AWS. The keys come from the credentials directory's"
            " `registry_s3_access_key_id` and `registry_s3_secret_access_key` (or the"
            " AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment).")
    s3_region: str = setting("us-east-1", "The bucket's region (S3 signatures name it).")


@dataclass
class DiskSection:
    warn_free_mb: int = setting(
        2048, "`doctor` warns and the sync page shows a warning when the data dir's disk has"
              " less free space than this, in megabytes (a field day of photos is ~1 GB).")
    fail_free_mb: int = setting(
        512, "Below this much free space, in megabytes, `doctor` fails the disk check. When"
             " the disk is really full, uploads and imports are refused with 507 (nothing"
             " half-written is kept) while login and every page that only reads still work.")


@dataclass
class Config:
    node: NodeSection = field(default_factory=NodeSection)
    web: WebSection = field(default_factory=WebSection)
    security: SecuritySection = field(default_factory=SecuritySection)
    survey: SurveySection = field(default_factory=SurveySection)
    demo: DemoSection = field(default_factory=DemoSection)
    hotspot: HotspotSection = field(default_factory=HotspotSection)
    imports: ImportsSection = field(default_factory=ImportsSection)
    selection: SelectionSection = field(default_factory=SelectionSection)
    exports: ExportsSection = field(default_factory=ExportsSection)
    streamcheck: StreamCheckSection = field(default_factory=StreamCheckSection)
    gps: GpsSection = field(default_factory=GpsSection)
    wired: WiredSection = field(default_factory=WiredSection)
    camera: CameraSection = field(default_factory=CameraSection)
    sync: SyncSection = field(default_factory=SyncSection)
    registry: RegistrySection = field(default_factory=RegistrySection)
    disk: DiskSection = field(default_factory=DiskSection)
    # Not settings: where the config came from and where its data lives.
    data_dir: Path = field(default=Path("."), metadata={"internal": True})

    # -- derived paths -------------------------------------------------------------
    @property
    def db_path(self) -> Path:
        return self.data_dir / "survey.db"

    @property
    def evidence_dir(self) -> Path:
        return self.data_dir / "evidence"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"

    def secret(self, name: str) -> str:
        return read_secret(self, name)

    def as_dict(self) -> dict:
        return {
            f.name: dataclasses.asdict(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if not f.metadata.get("internal")
        }


def sections() -> dict[str, type]:
    """Section name -> its dataclass."""
    return {
        f.name: f.default_factory  # type: ignore[misc]
        for f in dataclasses.fields(Config)
        if not f.metadata.get("internal")
    }


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    raw = data_dir or os.environ.get(DATA_DIR_ENV)
    if not raw:
        raise ConfigError(
            "No data dir: pass --data-dir or set %(env)s", env=DATA_DIR_ENV
        )
    return Path(raw).expanduser().resolve()


def load(data_dir: str | os.PathLike | None, env: typing.Mapping[str, str] | None = None) -> Config:
    """Read ``config.toml`` from the data dir (missing file = defaults), then the environment."""
    env = os.environ if env is None else env
    root = resolve_data_dir(data_dir)
    raw: dict = {}
    path = root / CONFIG_FILE
    if path.exists():
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("%(path)s is not valid TOML: %(why)s", path=str(path), why=str(exc))
    raw = _merge_env(raw, env)
    config = Config(data_dir=root)
    known = sections()
    for section_name, values in raw.items():
        if section_name not in known:
            raise ConfigError(
                "Unknown config section [%(section)s] (known: %(known)s)",
                section=section_name,
                known=", ".join(known),
            )
        if not isinstance(values, dict):
            raise ConfigError("Config [%(section)s] must be a table", section=section_name)
        setattr(config, section_name, _build_section(section_name, known[section_name], values))
    return config


def _merge_env(raw: dict, env: typing.Mapping[str, str]) -> dict:
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name[len(ENV_PREFIX):]:
            continue
        section, key = name[len(ENV_PREFIX):].split("__", 1)
        merged.setdefault(section.lower(), {})[key.lower()] = _EnvText(value)
    return merged


class _EnvText(str):
    """A value that came from an environment variable, so it is text to be coerced."""


def _build_section(section_name: str, cls: type, values: dict):
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise ConfigError(
                "Unknown config key %(section)s.%(key)s (known: %(known)s)",
                section=section_name,
                key=key,
                known=", ".join(fields),
            )
        kwargs[key] = _coerce(f"{section_name}.{key}", hints[key], value, fields[key])
    return cls(**kwargs)


def _coerce(where: str, kind, value, fld: dataclasses.Field):
    try:
        if kind is bool:
            if isinstance(value, bool):
                result = value
            elif isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on"):
                result = True
            elif isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off"):
                result = False
            else:
                raise ValueError(value)
        elif kind is int:
            if isinstance(value, bool):
                raise ValueError(value)
            result = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            result = float(value)
        elif kind is str:
            if not isinstance(value, str):
                raise ValueError(value)
            result = str(value)
        elif typing.get_origin(kind) is list:
            if isinstance(value, _EnvText):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list):
                raise ValueError(value)
            result = list(value)
        else:  # pragma: no cover - a new field type needs a rule here
            raise ValueError(value)
    except (TypeError, ValueError):
        raise ConfigError(
            "Config %(where)s: %(value)r is not a valid %(kind)s",
            where=where,
            value=value,
            kind=getattr(kind, "__name__", str(kind)),
        ) from None
    choices = fld.metadata.get("choices")
    if choices and result not in choices:
        raise ConfigError(
            "Config %(where)s: %(value)r is not one of %(choices)s",
            where=where,
            value=result,
            choices=", ".join(map(str, choices)),
        )
    return result


def to_toml(config: Config) -> str:
    """The effective config as TOML text, for `config show` and the file `init` writes."""
    lines: list[str] = []
    for section_name, cls in sections().items():
        lines.append(f"[{section_name}]")
        section = getattr(config, section_name)
        for f in dataclasses.fields(cls):
            lines.append(f"# {f.metadata['help']}")
            lines.append(f"{f.name} = {_toml_value(getattr(section, f.name))}")
        lines.append("")
    return "\n".join(lines)


def save_setting(data_dir: str | os.PathLike | None, section: str, key: str, value) -> Config:
    """Change one setting in the data dir's config file and rewrite it (what the file holds,
    not the environment's overrides); returns the file's config."""
    root = resolve_data_dir(data_dir)
    config = load(root, env={})
    setattr(getattr(config, section), key, value)
    path = root / CONFIG_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(to_toml(config), encoding="utf-8")
    tmp.replace(path)
    return config


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


# -- secrets -----------------------------------------------------------------------


def read_secret(config: Config, name: str) -> str:
    """A secret from $CREDENTIALS_DIRECTORY (systemd) or the data dir's secrets folder."""
    found = read_optional_secret(config, name)
    if found is None:
        raise ConfigError(
            "Secret %(name)s is missing: run `survey-node init` on the data dir", name=name
        )
    return found


def read_optional_secret(config: Config, name: str) -> str | None:
    """A secret that may be given another way (a URL, the environment): None when absent.

    A blank file counts as absent: the registry's unit hands over a blank line for each
    secret it was not given (SetCredential=, systemd/registry/survey-registry.service)."""
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    candidates = [Path(creds) / name] if creds else []
    candidates.append(config.secrets_dir / name)
    for path in candidates:
        if path.exists():
            text = path.read_text(encoding="utf-8").strip()
            if text:
                return text
    return None


def ensure_secrets(config: Config) -> list[str]:
    """Create any missing secret file with mode 0600; return the names created."""
    made = []
    config.secrets_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(config.secrets_dir, 0o700)
    for name in SECRET_NAMES:
        path = config.secrets_dir / name
        if path.exists():
            continue
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_secrets.token_urlsafe(32) + "\n")
        made.append(name)
    return made
