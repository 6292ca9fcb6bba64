"""The dashboard API's OpenAPI 3.1 document, generated from the query-parameter and response models.

`python -m shared.dashboard.openapi > docs/openapi.json` writes the committed copy; a test keeps it current.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic.json_schema import models_json_schema

from shared.core import http as web
from shared.dashboard import csvexport, routes

READ_HEADERS: dict[str, Any] = {
    "X-Read-Source": {
        "schema": {"type": "string", "enum": ["primary", "replica"]},
        "description": "The database server whose snapshot gave the answer's version (docs/scaling.md)",
    },
    "X-Data-As-Of": {
        "schema": {"type": "string", "format": "date-time"},
        "description": "Everything the primary database had committed at this instant is in the answer",
    },
    "X-Read-Fallback": {
        "schema": {"type": "string", "enum": ["replica_lagging", "replica_unreachable"]},
        "description": "Present when a read replica is configured but the primary answered, and why",
    },
}


def document(
    endpoints: list[routes.Endpoint], *, title: str = "WedSync Analytics dashboard API", version: str = "1"
) -> dict[str, Any]:
    models = {e.answer for e in endpoints if e.answer} | {web.Problem}
    refs, schemas = models_json_schema(
        [(m, "serialization") for m in sorted(models, key=lambda m: m.__name__)],
        ref_template="#/components/schemas/{model}",
    )
    components = dict(schemas.get("$defs", {}))
    paths: dict[str, Any] = {}
    problem = {"description": "", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for e in endpoints:
        params_schema = e.query.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        components.update(params_schema.pop("$defs", {}))
        required = set(params_schema.get("required", []))
        parameters = [
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": prop.pop("description", ""),
                "schema": prop,
            }
            for name, prop in params_schema.get("properties", {}).items()
        ]
        # Path templates such as /v1/reports/{report_id}: every such segment is a required UUID.
        parameters[:0] = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
            for name in re.findall(r"{([a-z_]+)}", e.path)
        ]
        csv = e.answer in csvexport.TABLES
        if csv and "format" not in e.query.model_fields:
            parameters.append(_FORMAT)
        responses: dict[str, Any] = {}
        if e.answer is None:
            media, description = e.media
            schema = {"type": "string", "format": "binary"} if "gzip" in media else {"type": "string"}
            responses["200"] = {"description": description, "content": {media: {"schema": schema}}}
        else:
            ref = refs[(e.answer, "serialization")]
            responses["200"] = {"description": "OK", "content": {"application/json": {"schema": ref}}}
            if csv:
                responses["200"]["content"][csvexport.MEDIA_TYPE] = {
                    "schema": {"type": "string"},
                    "description": "The same answer as CSV (Accept: text/csv or format=csv), an attachment; "
                    f"header: {','.join(csvexport.columns(e.answer))}",
                }
            if e.cached:
                responses["200"]["headers"] = {
                    "ETag": {"schema": {"type": "string"}, "description": "Changes with the organization's data"},
                    "Cache-Control": {"schema": {"type": "string"}},
                    **READ_HEADERS,
                }
                responses["304"] = {"description": "Not modified: the If-None-Match ETag is current"}
        if e.query.model_fields:
            responses["400"] = {**problem, "description": "Bad query parameters, one entry per field"}
        if "{" in e.path:
            responses["404"] = {**problem, "description": "No such record for the caller's organization"}
        if csv:
            responses["406"] = {**problem, "description": "An Accept header admitting neither JSON nor CSV"}
        responses["401"] = {**problem, "description": "Missing, invalid or expired credentials"}
        responses["403"] = {
            **problem,
            "description": "An API key without the read scope, or a token naming no organization",
        }
        paths[e.path] = {
            "get": {
                "summary": e.summary,
                "operationId": re.sub(r"[{}]", "", e.path.strip("/")).replace("/", "_"),
                "parameters": parameters,
                "responses": responses,
                "security": [{"bearer": []}],
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Analytics of one organization, the caller's. See docs/dashboard.md.",
        },
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A Supabase access token (aud=authenticated, organization_id claim) or an "
                    "organization API key with the read scope",
                }
            },
        },
    }


_FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "json or csv; without it the Accept header chooses (text/csv or application/json)",
    "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
}


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    print(dumps(document(routes.ENDPOINTS)), end="")
