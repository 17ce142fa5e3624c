"""The OpenAPI 3.1 document of the registry's sync API, served at /api/v1/openapi.json."""

from __future__ import annotations

from ..sync.protocol import PROTOCOL_VERSION


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def _ok(description: str, schema: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


ERRORS = {"400": _problem("Bad input: the message names the field"),
          "401": _problem("Missing, unknown or revoked token"),
          "403": _problem("The token belongs to another node"),
          "409": _problem("Conflict: batch id reused, evidence missing or revision conflict"),
          "413": _problem("Larger than the registry accepts")}


def openapi_document() -> dict:
    since = {"name": "since", "in": "query", "schema": {"type": "integer", "minimum": 0},
             "description": "next_since of the previous answer (0 at first)"}
    return {
        "openapi": "3.1.0",
        "info": {"title": "CCTV Survey central registry", "version": f"{PROTOCOL_VERSION}.0",
                 "description": "Sync API between survey nodes and the central registry."},
        "security": [{"nodeToken": []}],
        "paths": {
            "/healthz": {"get": {"security": [], "summary": "Liveness",
                                 "responses": {"200": {"description": "ok"}}}},
            "/api/v1/batches": {"post": {
                "summary": "Send a batch manifest; returns the evidence hashes still missing",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Manifest"}}}},
                "responses": {"200": _ok("Missing hashes (or the receipt of a committed batch)",
                                         "BatchReply"), **ERRORS}}},
            "/api/v1/evidence/{sha256}": {"put": {
                "summary": "Upload one evidence file; stored only if it hashes to {sha256}",
                "parameters": [{"name": "sha256", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}],
                "requestBody": {"required": True, "content": {
                    "application/octet-stream": {"schema": {"type": "string",
                                                            "format": "binary"}}}},
                "responses": {"200": {"description": "Stored, or already held"}, **ERRORS}}},
            "/api/v1/batches/{batch_id}/commit": {"post": {
                "summary": "Write the batch's surveys in one transaction; returns the receipt",
                "parameters": [{"name": "batch_id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}],
                "responses": {"200": _ok("Receipt (the same one on every replay)", "Receipt"),
                              **ERRORS}}},
            "/api/v1/cameras": {"get": {
                "summary": "Camera registry changes since a cursor",
                "parameters": [{"name": "province", "in": "query", "schema": {"type": "string"}},
                               since],
                "responses": {"200": {"description": "cameras, next_since, more"}, **ERRORS}}},
            "/api/v1/decisions": {"get": {
                "summary": "Review decisions on this node's surveys since a cursor",
                "parameters": [{"name": "node", "in": "query", "schema": {"type": "string"}},
                               since],
                "responses": {"200": {"description": "decisions, next_since, more"}, **ERRORS}}},
            "/api/v1/history": {"get": {
                "summary": "This node's sync history as the registry saw it",
                "responses": {"200": {"description": "events"}, **ERRORS}}},
        },
        "components": {
            "securitySchemes": {"nodeToken": {"type": "http", "scheme": "bearer",
                                              "description": "`survey-node registry token add NODE`"}},
            "schemas": {
                "Problem": {"type": "object", "required": ["error", "message"], "properties": {
                    "error": {"type": "string"}, "message": {"type": "string"},
                    "translatable": {
                        "type": "object", "required": ["message", "params"],
                        "description": "The message as an English id and its parameters,"
                                       " for a node to show in its user's language",
                        "properties": {"message": {"type": "string"},
                                       "params": {"type": "object"}}},
                    "missing": {"type": "array", "items": {"type": "string"}},
                    "conflicts": {"type": "array", "items": {"type": "object"}}}},
                "Evidence": {"type": "object", "required": ["sha256", "role", "bytes"],
                             "properties": {"sha256": {"type": "string"},
                                            "role": {"type": "string"},
                                            "kind": {"type": ["string", "null"]},
                                            "mime": {"type": ["string", "null"]},
                                            "bytes": {"type": "integer"}}},
                "Survey": {"type": "object",
                           "required": ["id", "revision", "fields", "evidence",
                                        "content_sha256"],
                           "properties": {
                               "id": {"type": "string", "format": "uuid"},
                               "revision": {"type": "integer", "minimum": 1},
                               "fields": {"type": "object"},
                               "evidence": {"type": "array",
                                            "items": {"$ref": "#/components/schemas/Evidence"}},
                               "stream_check": {"type": ["object", "null"]},
                               "content_sha256": {
                                   "type": "string",
                                   "description": "SHA-256 of the entry's canonical JSON"
                                                  " (sorted keys, no spaces) without this key"}}},
                "Manifest": {"type": "object",
                             "required": ["protocol", "node_id", "batch_id", "created_at",
                                          "surveys"],
                             "properties": {
                                 "protocol": {"const": PROTOCOL_VERSION},
                                 "node_id": {"type": "string"},
                                 "batch_id": {"type": "string", "format": "uuid"},
                                 "created_at": {"type": "string"},
                                 "surveys": {"type": "array",
                                             "items": {"$ref": "#/components/schemas/Survey"}}}},
                "BatchReply": {"type": "object", "properties": {
                    "batch_id": {"type": "string"}, "state": {"enum": ["open", "committed"]},
                    "missing": {"type": "array", "items": {"type": "string"}},
                    "receipt": {"$ref": "#/components/schemas/Receipt"}}},
                "Receipt": {"type": "object", "properties": {
                    "batch_id": {"type": "string"}, "node_id": {"type": "string"},
                    "committed_at": {"type": "string"},
                    "surveys": {"type": "array", "items": {"type": "object", "properties": {
                        "id": {"type": "string"}, "revision": {"type": "integer"},
                        "content_sha256": {"type": "string"},
                        "result": {"enum": ["stored", "stored_older", "unchanged"]}}}}}},
            },
        },
    }
