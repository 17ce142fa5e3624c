"""The stream check: prove a camera's video works, and never hang doing it.

* :mod:`.urls` - which URLs may be opened, masking of credentials, FFmpeg's protocol list
* :mod:`.probe` - the child process that opens the stream (OpenCV) and measures frames
* :mod:`.classify` - ffprobe's reason for a failed open (401, 404, refused, timeout...)
* :mod:`.runner` - the parent: deadline, SIGKILL, events, the verdict
* :mod:`.verdict` - the verdict rules and their one-line explanations
* :mod:`.service` - concurrency slots, snapshot into the evidence store, the table, jobs
* :mod:`.demo_streams` - local MJPEG test streams (good, black, frozen, dead...) for the demo
"""

from .runner import RESULT_KEYS, ProbeResult, run_probe
from .verdict import EXPLANATIONS, VERDICTS

__all__ = ["RESULT_KEYS", "ProbeResult", "run_probe", "EXPLANATIONS", "VERDICTS"]
