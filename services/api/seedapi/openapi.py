"""OpenAPI 3.0 document for the routes in seedapi.app (kept in sync by tests)."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema, description):
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def _err(description):
    return _json(ERROR, description)


TOO_LONG = {
    "description": "request line longer than 8190 bytes (answered before routing)",
    "content": {"application/json": {"schema": ERROR}},
}


def build_openapi(config) -> dict:
    id_param = {
        "name": "item_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**53},
    }
    item_body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ItemInput"}}
        },
    }
    item = {"$ref": "#/components/schemas/Item"}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "seed.fargate demo API",
            "version": config.version,
            "description": "Items are kept in memory, per task: each task has its own store.",
        },
        "paths": {
            "/api/health": {
                "get": {
                    "operationId": "health",
                    "summary": "Liveness",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Status"}, "alive")
                    },
                }
            },
            "/api/ready": {
                "get": {
                    "operationId": "ready",
                    "summary": "Readiness: 503 while starting or draining",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Status"}, "ready"),
                        "503": _json(
                            {"$ref": "#/components/schemas/Status"}, "not ready"
                        ),
                    },
                }
            },
            "/api/version": {
                "get": {
                    "operationId": "version",
                    "summary": "Version, commit and deployment colour",
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Version"}, "ok")
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": _json({"type": "object"}, "OpenAPI document")},
                }
            },
            "/api/items": {
                "get": {
                    "operationId": "listItems",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 100,
                                "default": 20,
                            },
                        },
                        {
                            "name": "offset",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": 999999999,
                                "default": 0,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(
                            {"$ref": "#/components/schemas/ItemPage"}, "a page"
                        ),
                        "400": _err("bad query parameters"),
                        "414": TOO_LONG,
                    },
                },
                "post": {
                    "operationId": "createItem",
                    "requestBody": item_body,
                    "responses": {
                        "201": {
                            **_json(item, "created"),
                            "headers": {"Location": {"schema": {"type": "string"}}},
                            "links": {
                                "GetItem": {
                                    "operationId": "getItem",
                                    "parameters": {"item_id": "$response.body#/id"},
                                },
                                "ReplaceItem": {
                                    "operationId": "replaceItem",
                                    "parameters": {"item_id": "$response.body#/id"},
                                },
                                "DeleteItem": {
                                    "operationId": "deleteItem",
                                    "parameters": {"item_id": "$response.body#/id"},
                                },
                            },
                        },
                        "400": _err("malformed JSON"),
                        "409": _err("store full"),
                        "413": _err("body too large"),
                        "415": _err("not JSON"),
                        "422": _err("validation failed"),
                    },
                },
            },
            "/api/items/{item_id}": {
                "parameters": [id_param],
                "get": {
                    "operationId": "getItem",
                    "responses": {
                        "200": _json(item, "the item"),
                        "404": _err("no such item"),
                        "414": TOO_LONG,
                    },
                },
                "put": {
                    "operationId": "replaceItem",
                    "requestBody": item_body,
                    "responses": {
                        "200": _json(item, "replaced"),
                        "400": _err("malformed JSON"),
                        "404": _err("no such item"),
                        "414": TOO_LONG,
                        "413": _err("body too large"),
                        "415": _err("not JSON"),
                        "422": _err("validation failed"),
                    },
                },
                "delete": {
                    "operationId": "deleteItem",
                    "responses": {
                        "204": {"description": "deleted"},
                        "404": _err("no such item"),
                        "414": TOO_LONG,
                    },
                },
            },
        },
        "components": {
            "schemas": {
                "Status": {
                    "type": "object",
                    "required": ["status"],
                    "properties": {
                        "status": {
                            "type": "string",
                            "enum": ["ok", "ready", "starting", "draining"],
                        }
                    },
                },
                "Version": {
                    "type": "object",
                    "required": [
                        "version",
                        "commit",
                        "colour",
                        "host",
                        "task_id",
                        "started_at",
                    ],
                    "properties": {
                        "version": {"type": "string"},
                        "commit": {"type": "string"},
                        "colour": {"type": "string", "enum": ["blue", "green"]},
                        "host": {"type": "string"},
                        "task_id": {"type": "string", "nullable": True},
                        "started_at": {"type": "string"},
                    },
                },
                "ItemInput": {
                    "type": "object",
                    "required": ["name"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 100,
                            "pattern": "\\S",
                        },
                        "description": {"type": "string", "maxLength": 500},
                    },
                },
                "Item": {
                    "type": "object",
                    "required": [
                        "id",
                        "name",
                        "description",
                        "created_at",
                        "updated_at",
                    ],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "integer", "minimum": 1},
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "created_at": {"type": "string"},
                        "updated_at": {"type": "string"},
                    },
                },
                "ItemPage": {
                    "type": "object",
                    "required": ["items", "total", "limit", "offset"],
                    "additionalProperties": False,
                    "properties": {
                        "items": {"type": "array", "items": item},
                        "total": {"type": "integer", "minimum": 0},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                    },
                },
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "additionalProperties": False,
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": [
                                "code",
                                "message",
                                "status",
                                "request_id",
                                "details",
                            ],
                            "additionalProperties": False,
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "status": {"type": "integer"},
                                "request_id": {"type": "string"},
                                "details": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["field", "message"],
                                        "properties": {
                                            "field": {"type": "string"},
                                            "message": {"type": "string"},
                                        },
                                    },
                                },
                            },
                        }
                    },
                },
            }
        },
    }
