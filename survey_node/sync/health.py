"""`survey-node doctor`: can this node reach its registry, over a transport we accept?"""

from __future__ import annotations

import requests

from ..config import Config
from ..doctor import Check, check
from ..errors import BadInput
from .client import check_transport

TIMEOUT_S = (3.0, 5.0)


@check
def registry(config: Config) -> Check:
    if not config.sync.registry_url:
        return Check("registry", "warn", "no registry URL (sync.registry_url)",
                     "Set sync.registry_url, or carry batch files (batch export).",
                     "ตั้ง sync.registry_url หรือส่งข้อมูลด้วยไฟล์ (batch export)")
    try:
        url = check_transport(config.sync.registry_url, config.sync.allow_insecure_http)
    except BadInput as exc:
        return Check("registry", "fail", exc.line(), "Use an https:// registry address.",
                     "ใช้ที่อยู่ศูนย์กลางแบบ https://")
    try:
        response = requests.get(f"{url}/healthz", timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        return Check("registry", "fail", f"{url}: {type(exc).__name__}",
                     "The registry does not answer: check the network or sync by USB.",
                     "ศูนย์กลางไม่ตอบ: ตรวจเครือข่าย หรือส่งข้อมูลด้วย USB")
    if response.status_code != 200:
        return Check("registry", "fail", f"{url}: HTTP {response.status_code}",
                     "The registry answers with an error.", "ศูนย์กลางตอบกลับด้วยข้อผิดพลาด")
    if url.startswith("http://") and config.sync.allow_insecure_http:
        return Check("registry", "warn", f"{url} over plain http",
                     "Plain http is allowed: use https.", "อนุญาต http ธรรมดาอยู่: ควรใช้ https")
    return Check("registry", "ok", url)
