"""What every text of a request must be, written into the OpenAPI document.

Two rules the request models do not show in their JSON Schema apply to every text the API
reads: ``body.py`` refuses control characters (tab, newline and return excepted) anywhere in a
body, and the models trim surrounding white space before they check a minimum length, so
``"  "`` is an empty name. A pattern on each request text says both, so a client (or a fuzzer)
that follows the document sends nothing the API refuses for its shape.

Lone surrogates are refused too, but a JSON Schema pattern cannot name them (validators
reject such patterns); the document's description says so in words.
"""

from __future__ import annotations

from typing import Any

# Refused anywhere in a request (``body._UNSTORABLE`` without the surrogates).
_CONTROL = r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f"
# What the models trim: Unicode White_Space (pydantic's trim), control characters aside.
_SPACE = r"\u0009\u000a\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
ANY = f"[^{_CONTROL}]"
SHOWN = f"[^{_CONTROL}{_SPACE}]"  # a character that is neither refused nor trimmed away


def text_pattern(min_length: int, trimmed: bool = True) -> str:
    """The pattern of a request text: no control character and, when the model trims it,
    at least ``min_length`` characters between the first and last one that is not space."""
    if not trimmed or min_length < 1:
        return f"^{ANY}*$"
    if min_length == 1:
        return f"^{ANY}*{SHOWN}{ANY}*$"
    return f"^{ANY}*{SHOWN}{ANY}{{{min_length - 2},}}{SHOWN}{ANY}*$"


def describe_request_text(
    components: dict[str, Any], roots: list[str], untrimmed: tuple[str, ...]
) -> None:
    """Give every plain text reachable from the request schemas ``roots`` its pattern
    (in place). Properties named in ``untrimmed`` (passwords) are taken exactly as typed."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        _walk(components[name], True, untrimmed, pending)


def _walk(schema: Any, trimmed: bool, untrimmed: tuple[str, ...], pending: list[str]) -> None:
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        pending.append(schema["$ref"].rsplit("/", 1)[-1])
    if schema.get("type") == "string" and not {"enum", "const", "format", "pattern"} & set(schema):
        schema["pattern"] = text_pattern(schema.get("minLength", 0), trimmed)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for option in schema.get(key, ()):
            _walk(option, trimmed, untrimmed, pending)
    for key in ("items", "additionalProperties"):
        _walk(schema.get(key), trimmed, untrimmed, pending)
    for prop, child in schema.get("properties", {}).items():
        _walk(child, trimmed and prop not in untrimmed, untrimmed, pending)
