"""The verdict: one word a surveyor acts on, from what the probe measured.

Connection failures come from the probe (ffprobe's reason); picture verdicts are decided
here, in the parent, so the thresholds come from the node's config. The order matters: a
black picture is also still and without edges, so black wins over frozen, which wins
over blurred.
"""

from __future__ import annotations


def N_(text: str) -> str:
    """Marks a message id for extraction; it is translated where it is shown."""
    return text


VERDICTS = ("ok", "black", "frozen", "blurred", "no_frames", "auth_failed", "not_found",
            "refused", "timeout", "dns", "unsupported", "invalid_url")
PICTURE_VERDICTS = ("ok", "black", "frozen", "blurred")

# One line per verdict, English message ids (translated in the UI and the CLI text output).
EXPLANATIONS = {
    "ok": N_("The stream works and the picture looks good."),
    "black": N_("The stream works but the picture is black."),
    "frozen": N_("The stream works but the picture does not change (frozen)."),
    "blurred": N_("The stream works but the picture is blurred or out of focus."),
    "no_frames": N_("The camera answered but sent no picture."),
    "auth_failed": N_("Wrong user name or password for the stream."),
    "not_found": N_("The camera has no stream at this path (wrong URL path)."),
    "refused": N_("Nothing accepts connections at this address and port."),
    "timeout": N_("The camera did not answer in time."),
    "dns": N_("The camera's host name cannot be found."),
    "unsupported": N_("The stream could not be read (unsupported format or protocol)."),
    "invalid_url": N_("The stream URL is not an rtsp, rtsps, http or https address."),
}

# Short labels for lists and badges.
LABELS = {
    "ok": N_("Works"), "black": N_("Black picture"), "frozen": N_("Frozen picture"),
    "blurred": N_("Blurred picture"), "no_frames": N_("No picture"),
    "auth_failed": N_("Wrong password"), "not_found": N_("Wrong path"),
    "refused": N_("Connection refused"), "timeout": N_("No answer"),
    "dns": N_("Unknown host"), "unsupported": N_("Unreadable stream"),
    "invalid_url": N_("Invalid URL"),
}


def picture_verdict(measured: dict, settings) -> str:
    """ok / black / frozen / blurred for a stream that delivered frames."""
    luma, spread = measured.get("luma"), measured.get("contrast")
    # Dark alone is not black: a night scene is dark with shapes in it.
    if luma is not None and luma < settings.black_luma and (
            spread is None or spread < settings.black_contrast):
        return "black"
    frozen = measured.get("frozen_score")
    if measured.get("stalled") or (frozen is not None and frozen < settings.frozen_diff):
        return "frozen"
    blur = measured.get("blur_score")
    if blur is not None and blur < settings.blur_threshold:
        return "blurred"
    return "ok"
