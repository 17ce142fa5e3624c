"""The OpenAPI 3.1 document of the node's JSON API (served at /api/v1/openapi.json).

Written out by hand, compactly: each operation names its parameters, its body and its
answer. A test compares it with the app's URL map, and another fuzzes the API from it.
"""

from __future__ import annotations

from .streamcheck.brands import BRANDS

ERROR = {"$ref": "#/components/schemas/Error"}
SURVEY = {"$ref": "#/components/schemas/Survey"}


def _op(summary: str, *, params=(), body=None, answer=None, status="200", tag="survey",
        media: str = "application/json") -> dict:
    op: dict = {
        "summary": summary,
        "tags": [tag],
        "parameters": list(params),
        "responses": {
            status: {"description": "OK",
                     "content": {media: {"schema": answer or {"type": "object"}}}},
            "400": {"description": "Bad input", "content": {"application/json": {"schema": ERROR}}},
            "401": {"description": "Not logged in", "content": {"application/json": {"schema": ERROR}}},
            "404": {"description": "Not found", "content": {"application/json": {"schema": ERROR}}},
            "409": {"description": "Conflict", "content": {"application/json": {"schema": ERROR}}},
        },
    }
    if body:
        op["requestBody"] = {"required": True,
                             "content": {"application/json": {"schema": body}}}
    return op


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


CAMERA_ID = _path("camera_id", "The camera's registry id")
SURVEY_ID = _path("survey_id", "The survey's UUID")
SHA256 = _path("sha256", "SHA-256 of a stored photo")
CHECK_ID = {"name": "check_id", "in": "path", "required": True, "description": "Stream check id",
            "schema": {"type": "integer", "minimum": 1}}


def openapi_document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "CCTV Survey Node API", "version": "1",
                 "description": "The survey workflow on a node. Log in first (session cookie);"
                                " state-changing calls need the X-CSRFToken header."},
        "paths": {
            "/api/v1/me": {"get": _op("Who is logged in", tag="auth")},
            "/api/v1/cameras": {"get": _op("Cameras of the registry, paged", params=[
                _query("q", {"type": "string"}, "Search text"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 500}, "Page size"),
                _query("offset", {"type": "integer", "minimum": 0}, "Skip this many"),
            ], tag="cameras")},
            "/api/v1/worklist": {"get": _op("My cameras, nearest first", params=[
                _query("lat", {"type": "number", "minimum": -90, "maximum": 90}, "Where I am"),
                _query("lon", {"type": "number", "minimum": -180, "maximum": 180}, "Where I am"),
                _query("show", {"type": "string", "enum": ["mine", "selected", "all"]},
                       "My assignments (a surveyor's default), the survey set, or all cameras"),
                _query("amphoe", {"type": "string"}, "DOPA amphoe code"),
                _query("state", {"type": "string", "enum": ["todo", "draft", "complete", "synced",
                                                             "rejected", "resurvey", "approved"]},
                       "Survey state"),
                _query("q", {"type": "string"}, "Search text"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Page size"),
                _query("offset", {"type": "integer", "minimum": 0}, "Skip this many"),
            ], answer={"$ref": "#/components/schemas/Worklist"})},
            "/api/v1/cameras/{camera_id}": {"get": _op("One camera", params=[CAMERA_ID],
                                                       tag="cameras")},
            "/api/v1/cameras/{camera_id}/survey": {"post": _op(
                "Start or resume the camera's survey (takes its lock)", params=[CAMERA_ID],
                answer=SURVEY)},
            "/api/v1/surveys/{survey_id}": {"get": _op("One survey", params=[SURVEY_ID],
                                                       answer=SURVEY)},
            "/api/v1/surveys/{survey_id}/position": {"put": _op(
                "Set the position (from the tablet, or typed by hand with a reason)",
                params=[SURVEY_ID], answer=SURVEY, body={
                    "type": "object", "required": ["fix", "source"],
                    "properties": {
                        "source": {"type": "string", "enum": ["gpsd", "replay", "tablet", "manual"]},
                        "reason": {"type": "string"},
                        "fix": {"type": "object", "required": ["lat", "lon"], "properties": {
                            "lat": {"type": "number"}, "lon": {"type": "number"},
                            "alt": {"type": "number"}, "eph": {"type": "number"}}},
                    }})},
            "/api/v1/surveys/{survey_id}/position/fix": {"post": _op(
                "Average the node's GPS for some seconds and keep it as the position",
                params=[SURVEY_ID], answer=SURVEY, body={"type": "object", "properties": {
                    "seconds": {"type": "number", "minimum": 1, "maximum": 60}}})},
            "/api/v1/surveys/{survey_id}/stream-check": {"post": _op(
                "Check the camera's stream; the result joins the survey when the job ends",
                params=[SURVEY_ID], status="202")},
            "/api/v1/surveys/{survey_id}/stream-find": {"post": _op(
                "Find the camera's stream by its maker's RTSP paths (host...), or check an"
                " address typed by hand (url); a stream with a picture joins the survey"
                " (masked) when the job ends", params=[SURVEY_ID],
                status="202", body={"type": "object", "properties": {
                    "host": {"type": "string"}, "port": {"type": "string"},
                    "user": {"type": "string"}, "password": {"type": "string"},
                    "brand": {"type": "string", "enum": sorted(BRANDS)},
                    "url": {"type": "string", "maxLength": 2048}}})},
            "/api/v1/wired/discover": {"post": _op(
                "Cameras on the node's wired port (WS-Discovery for a few seconds): IP, maker,"
                " model and ONVIF address of each", answer={"type": "object", "properties": {
                    "interface": {"type": "string"}, "source": {"type": "string"},
                    "ignored": {"type": "integer"},
                    "cameras": {"type": "array", "items": {"type": "object", "properties": {
                        "ip": {"type": "string"}, "endpoint": {"type": "string"},
                        "manufacturer": {"type": ["string", "null"]},
                        "model": {"type": ["string", "null"]},
                        "mac": {"type": ["string", "null"]},
                        "brand": {"type": ["string", "null"]},
                        "xaddr": {"type": ["string", "null"]},
                        "xaddrs": {"type": "array", "items": {"type": "string"}},
                        "onvif_port": {"type": "integer"}}}}}})},
            "/api/v1/surveys/{survey_id}/photos": {"post": _op(
                "Attach a stored photo to the survey", params=[SURVEY_ID], answer=SURVEY, body={
                    "type": "object", "required": ["sha256", "role"], "properties": {
                        "sha256": {"type": "string"},
                        "role": {"type": "string",
                                 "enum": ["camera", "installation", "label", "other"]}}})},
            "/api/v1/surveys/{survey_id}/photos/{sha256}": {"delete": _op(
                "Detach a photo", params=[SURVEY_ID, SHA256], answer=SURVEY)},
            "/api/v1/surveys/{survey_id}/answers": {"put": _op(
                "Save checklist answers and notes", params=[SURVEY_ID], answer=SURVEY, body={
                    "type": "object", "properties": {
                        "checklist": {"type": "object", "additionalProperties": {
                            "type": "string", "enum": ["yes", "no", "unknown"]}},
                        "notes": {"type": "string"},
                        "position_reason": {"type": "string"}}})},
            "/api/v1/surveys/{survey_id}/complete": {"post": _op(
                "Complete the survey (says what is missing otherwise)", params=[SURVEY_ID],
                answer=SURVEY)},
            "/api/v1/surveys/{survey_id}/release": {"post": _op(
                "Let go of the survey's lock", params=[SURVEY_ID], answer=SURVEY)},
            "/api/v1/cameras/{camera_id}/stream-check": {"post": _op(
                "Start a stream check of the camera (a job to poll)", params=[CAMERA_ID],
                status="202", tag="streamcheck")},
            "/api/v1/jobs/{job_id}": {"get": _op(
                "A job's state, progress and result", params=[_path("job_id", "The job id")],
                tag="jobs")},
            "/api/v1/stream-checks/{check_id}": {"get": _op(
                "One stream check: verdict and metrics (?reveal=1: the real URL, admins only)",
                params=[CHECK_ID, _query("reveal", {"type": "string", "enum": ["1"]},
                                         "Show the unmasked URL (admins)")], tag="streamcheck")},
            "/api/v1/stream-checks/{check_id}/snapshot.jpg": {"get": _op(
                "The check's snapshot (JPEG)", params=[CHECK_ID], tag="streamcheck",
                answer={"type": "string", "format": "binary"}, media="image/jpeg")},
            "/api/v1/gps": {"get": _op("The node's GPS: state, latest fix, whether it would count"
                                       " in an average (and why not), the averaging under way",
                                       tag="devices", answer={"$ref": "#/components/schemas/GpsState"})},
            "/api/v1/gps/average": {"post": _op(
                "Average the node's fix over some seconds (the request waits)", tag="devices",
                body={"type": "object", "properties": {
                    "seconds": {"type": "number", "minimum": 1, "maximum": 60}}})},
            "/api/v1/photos": {"post": {**_op(
                "Store a photo: an upload (multipart field photo: JPEG, PNG, WebP, HEIC/HEIF"
                " or AVIF; stored as the node's JPEG) or, with source=camera, the node's camera",
                status="201", tag="devices"), "requestBody": {
                    "required": True, "content": {"multipart/form-data": {"schema": {
                        "type": "object", "properties": {
                            "photo": {"type": "string", "format": "binary"},
                            "source": {"type": "string", "enum": ["camera"]}}}}}},
                "responses": {**_op("", status="201")["responses"],
                              "413": {"description": "Needs more memory to decode than the"
                                      " node's whole photo budget (camera.decode_budget_mb)",
                                      "content": {"application/json": {"schema": ERROR}}},
                              "503": {"description": "Busy: other photos hold the memory"
                                      " budget; retry after the Retry-After seconds",
                                      "content": {"application/json": {"schema": ERROR}}}}}},
            "/api/v1/sync/jobs/{job_id}": {"get": _op(
                "A sync job's progress (the sync page polls it)",
                params=[_path("job_id", "The job id")], tag="sync")},
            "/api/v1/cameras/{camera_id}/cannot-survey": {"post": _op(
                "This selected camera cannot be surveyed: ask for a replacement (a supervisor"
                " confirms; the next camera of the same stratum takes its place)",
                params=[CAMERA_ID], status="201", body={
                    "type": "object", "required": ["reason"], "properties": {
                        "reason": {"type": "string", "enum": [
                            "not_found", "no_access", "removed", "unsafe", "duplicate", "other"]},
                        "note": {"type": "string"}}})},
            "/api/v1/new-cameras": {"post": _op(
                "Report a camera that is not in the registry", status="201", answer=SURVEY, body={
                    "type": "object", "required": ["site_name"], "properties": {
                        "site_name": {"type": "string"}, "description": {"type": "string"},
                        "agency": {"type": "string"}}})},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "message"],
                      "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
            "Survey": {"type": "object", "required": ["id", "state", "revision", "missing"],
                       "properties": {
                           "id": {"type": "string"}, "camera_id": {"type": ["string", "null"]},
                           "state": {"type": "string", "enum": ["draft", "complete", "synced"]},
                           "revision": {"type": "integer"},
                           "missing": {"type": "array", "items": {"type": "string"}},
                           "evidence": {"type": "array", "items": {"type": "object"}}}},
            "GpsState": {"type": "object", "required": ["state", "message", "fix"], "properties": {
                "state": {"type": "string", "enum": ["no_gpsd", "not_answering", "no_receiver",
                                                     "starting", "no_fix", "fix_2d", "fix_3d",
                                                     "stale"]},
                "message": {"type": "string"}, "backend": {"type": "string"},
                "good": {"type": "boolean", "description": "The latest fix would count"},
                "why": {"type": ["string", "null"], "description": "Why it would not (one line)"},
                "averaging": {"type": ["object", "null"], "properties": {
                    "waiting": {"type": "string", "description": "What the average waits for"}}},
                "fix": {"type": ["object", "null"], "properties": {
                    "lat": {"type": "number"}, "lon": {"type": "number"},
                    "mode": {"type": "integer", "enum": [0, 1, 2, 3]},
                    "eph": {"type": ["number", "null"]}, "hdop": {"type": ["number", "null"]},
                    "sats_used": {"type": ["integer", "null"]},
                    "eph_source": {"type": "string", "enum": ["gst", "receiver", "estimated"],
                                   "description": "Measured by the receiver, or gpsd's estimate"
                                                  " from HDOP"},
                    "status": {"type": "string", "description": "gps, dgps, rtk_fixed,"
                                                                " rtk_float, ..."},
                    "age_s": {"type": "number"}}}}},
            "Worklist": {"type": "object", "required": ["total", "items"],
                         "properties": {"total": {"type": "integer"},
                                        "items": {"type": "array", "items": {"type": "object"}}}},
        }},
    }
