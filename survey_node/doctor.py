"""`survey-node doctor`: is this node fit for a field day?

Each check returns one or more :class:`Check` results: ok / warn / fail with a one-line
hint in Thai and English. Areas add their checks in their own module with the
:func:`check` decorator and list that module in ``CHECK_MODULES``.
"""

from __future__ import annotations

import importlib
import shutil
from dataclasses import asdict, dataclass
from typing import Callable

from .config import Config

# Modules whose @check functions doctor runs, in this order.
CHECK_MODULES = ("survey_node.doctor", "survey_node.devices.checks", "survey_node.streamcheck.health",
                 "survey_node.sync.health", "survey_node.appliance", "survey_node.sheets",
                 "survey_node.photos")
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
    usage = shutil.disk_usage(config.data_dir)
    free_gb = usage.free / 1e9
    share = usage.free / usage.total if usage.total else 0
    detail = f"{free_gb:.1f} GB free ({share:.0%}) in {config.data_dir}"
    if free_gb < 0.5 or share < 0.05:
        return Check("disk", "fail", detail, "Free space now: sync and archive old evidence.",
                     "พื้นที่เหลือน้อยมาก: ซิงก์ข้อมูลและย้ายหลักฐานเก่าออก")
    if free_gb < 2 or share < 0.15:
        return Check("disk", "warn", detail, "Space is getting low: sync soon.",
                     "พื้นที่เริ่มน้อย: ควรซิงก์ข้อมูลเร็ว ๆ นี้")
    return Check("disk", "ok", detail)


@check
def database(config: Config) -> Check:
    from . import db as database

    conn = database.connect(config.db_path)
    try:
        result = conn.execute("PRAGMA quick_check").fetchone()[0]
        cameras = conn.execute("SELECT count(*) FROM cameras").fetchone()[0]
    finally:
        conn.close()
    if result != "ok":
        return Check("database", "fail", result, "The database is damaged: restore the backup.",
                     "ฐานข้อมูลเสียหาย: กู้คืนจากสำเนาสำรอง")
    if not cameras:
        return Check("database", "warn", "no cameras imported",
                     "Import the province's camera registry.", "นำเข้าทะเบียนกล้องของจังหวัด")
    return Check("database", "ok", f"{cameras:,} cameras")
