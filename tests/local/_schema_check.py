"""A small structural JSON-schema checker for the shapes pydantic emits (refs already inlined).

Used to assert that what the grammar let the model write honours the bounded schema.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "array": (list,),
    "object": (dict,),
}


def _is(value: Any, kind: str) -> bool:
    if kind in {"integer", "number"} and isinstance(value, bool):
        return False
    return isinstance(value, _TYPES[kind])


def problems(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema``; empty when it conforms."""
    if not schema:
        return []
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        if any(not problems(value, option, path) for option in options):
            return []
        return [f"{path}: matches no alternative"]
    if "const" in schema and value != schema["const"]:
        return [f"{path}: expected {schema['const']!r}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} not in {schema['enum']}"]
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if kind else []
    if kinds and not any(_is(value, k) for k in kinds):
        return [f"{path}: expected {kinds}, got {type(value).__name__}"]
    found: list[str] = []
    if isinstance(value, str):
        if len(value) > schema.get("maxLength", len(value)):
            found.append(f"{path}: {len(value)} chars > maxLength {schema['maxLength']}")
        if len(value) < schema.get("minLength", 0):
            found.append(f"{path}: shorter than minLength {schema['minLength']}")
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)) or len(value) < schema.get("minItems", 0):
            found.append(
                f"{path}: {len(value)} items outside [{schema.get('minItems')}, {schema.get('maxItems')}]"
            )
        if "prefixItems" in schema:
            for i, (item, sub) in enumerate(zip(value, schema["prefixItems"], strict=False)):
                found += problems(item, sub, f"{path}[{i}]")
        elif isinstance(schema.get("items"), dict):
            for i, item in enumerate(value):
                found += problems(item, schema["items"], f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                found.append(f"{path}: missing required {name!r}")
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                found += problems(item, props[key], f"{path}.{key}")
            elif props and extra is False:
                found.append(f"{path}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                found += problems(item, extra, f"{path}.{key}")
        if not props and len(value) > schema.get("maxProperties", len(value)):
            found.append(f"{path}: {len(value)} keys > maxProperties {schema['maxProperties']}")
    return found
