"""What a view-change score means, for pages, sheets and exports (no OpenCV here: the
score itself is computed in the probe's child process, viewchange.py)."""

from __future__ import annotations

from ..i18n import N_

# Day against night, noise and compression score below this on the test pictures
# (tests/test_viewchange.py); a camera turned, knocked askew or facing another street
# scores 0.8 and more.
SAME_VIEW_BELOW = 0.3
MEANINGS = {
    "same": N_("The same view as the earlier snapshot"),
    "partly": N_("The view changed in part (a small turn, or much of it hidden)"),
    "moved": N_("Another view: the camera has probably been moved"),
}


def meaning(score: float | None, moved_at: float) -> str | None:
    """The key of MEANINGS for a score against the "camera moved" threshold."""
    if score is None:
        return None
    if score >= moved_at:
        return "moved"
    return "same" if score < SAME_VIEW_BELOW else "partly"


def summary(check: dict | None, moved_at: float) -> dict | None:
    """The view-change facts of a stream check (its row, or its synced copy) for a page."""
    if not check or (check.get("view_change") is None and not check.get("view_error")):
        return None
    score = check.get("view_change")
    key = meaning(score, moved_at)
    return {"score": score, "percent": None if score is None else round(score * 100),
            "meaning": key, "meaning_text": MEANINGS.get(key), "moved": key == "moved",
            "threshold": moved_at, "threshold_percent": round(moved_at * 100),
            "reference_sha256": check.get("view_reference_sha256"),
            "reference_at": check.get("view_reference_at"),
            "current_sha256": check.get("snapshot_sha256"),
            "current_at": check.get("checked_at"),
            "features": check.get("view_features"), "structure": check.get("view_structure"),
            "shift": check.get("view_shift"), "error": check.get("view_error")}
