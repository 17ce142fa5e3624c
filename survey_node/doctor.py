"""`survey-node doctor`: is this node fit for a field day?

Each check returns one or more :class:`Check` results: ok / warn / fail with a one-line
hint in Thai and English. Areas add their checks in their own module with the
:func:`check` decorator and list that module in ``CHECK_MODULES``.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Callable

from .config import Config
from .diskspace import space_of
from . import db as node_db
from .db import cameras as camera_db

# Modules whose @check functions doctor runs, in this order.
CHECK_MODULES = ("survey_node.doctor", "survey_node.devices.checks", "survey_node.streamcheck.health",
                 "survey_node.sync.health", "survey_node.appliance", "survey_node.sheets",
                 "survey_node.photos", "survey_node.wired.health")
STATUSES = ("ok", "warn", "fail")


@dataclass
class Check:
    name: str
    status: str
    detail: str
    hint_en: str = ""
    hint_th: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


_CHECKS: list[Callable[[Config], Check | list[Check]]] = []


def check(func: Callable[[Config], Check | list[Check]]):
    _CHECKS.append(func)
    return func


def run_checks(config: Config) -> list[Check]:
    for name in CHECK_MODULES:
        importlib.import_module(name)
    results: list[Check] = []
    for func in _CHECKS:
        try:
            found = func(config)
        except Exception as exc:  # noqa: BLE001 - a broken check is itself a finding
            found = Check(func.__name__, "fail", f"{type(exc).__name__}: {exc}",
                          "The check itself failed; see the message.",
                          "การตรวจนี้ทำงานผิดพลาด ดูข้อความ")
        results.extend(found if isinstance(found, list) else [found])
    return results


@check
def disk_space(config: Config) -> Check:
    disk = config.disk
    space = space_of(config.data_dir, warn_free_mb=disk.warn_free_mb,
                     fail_free_mb=disk.fail_free_mb)
    share = space.free_bytes / space.total_bytes if space.total_bytes else 0
    detail = f"{space.free_mb:,.0f} MB free ({share:.0%}) in {config.data_dir}"
    if space.level == "fail":
        return Check("disk", "fail", f"{detail}, below disk.fail_free_mb = {disk.fail_free_mb}",
                     "Free space now: sync, then archive old evidence. A full disk refuses"
                     " photos and imports.",
                     "พื้นที่เหลือน้อยมาก: ซิงก์ข้อมูลแล้วย้ายหลักฐานเก่าออก"
                     " หากดิสก์เต็มจะบันทึกรูปและนำเข้าไฟล์ไม่ได้")
    if space.level == "warn":
        return Check("disk", "warn", f"{detail}, below disk.warn_free_mb = {disk.warn_free_mb}",
                     "Space is getting low: sync soon.",
                     "พื้นที่เริ่มน้อย: ควรซิงก์ข้อมูลเร็ว ๆ นี้")
    return Check("disk", "ok", detail)


@check
def database(config: Config) -> Check:
    conn = node_db.connect(config.db_path)
    try:
        result = node_db.check_integrity(conn)
        cameras = camera_db.count_cameras(conn, include_removed=True)
    finally:
        conn.close()
    if result != "ok":
        return Check("database", "fail", result, "The database is damaged: restore the backup.",
                     "ฐานข้อมูลเสียหาย: กู้คืนจากสำเนาสำรอง")
    if not cameras:
        return Check("database", "warn", "no cameras imported",
                     "Import the province's camera registry.", "นำเข้าทะเบียนกล้องของจังหวัด")
    return Check("database", "ok", f"{cameras:,} cameras")
