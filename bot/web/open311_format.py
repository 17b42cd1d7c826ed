"""Open311 GeoReport v2 documents as JSON or XML, chosen by the address's extension.

The XML is the spec's (schemaless, no namespace, UTF-8 declaration); the JSON is its programmatic
mapping (the Spark convention): a list of items becomes an array, an item an object. A list's
items are named by `ITEM_TAGS` in XML (`<services><service>...`). Errors are the spec's
`<errors><error><code/><description/></error></errors>`, an array of {code, description} in
JSON, with the HTTP status the spec names (403 api_key, 404 not found, 400 anything else).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree import ElementTree as ET

from fastapi.responses import Response

FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
}
# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE/FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """A request the spec answers with an error document: `status` is the HTTP status."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def media_type(fmt: str) -> str | None:
    return FORMATS.get(fmt)


def render(
    fmt: str, root: str, body: Sequence[Any] | Mapping[str, Any], status: int = 200
) -> Response:
    """`body` as the document `root` (a list of items, or one object) in `fmt` (json, xml)."""
    if fmt == "json":
        content = json.dumps(body, ensure_ascii=False, allow_nan=False).encode()
    else:
        content = _xml(root, body)
    return Response(content, status_code=status, media_type=FORMATS.get(fmt, FORMATS["xml"]))


def error_response(fmt: str, error: Open311Error) -> Response:
    """The spec's error document; an unknown format is answered in XML, the required one."""
    body = [{"code": error.status, "description": error.description}]
    return render(fmt if fmt in FORMATS else "xml", "errors", body, error.status)


def _xml(root: str, body: Sequence[Any] | Mapping[str, Any]) -> bytes:
    element = ET.Element(root)
    _fill(element, root, body)
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n'
        + ET.tostring(element, encoding="unicode").encode()
    )


def _fill(element: ET.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), key, item)
    elif isinstance(value, (list, tuple)):
        tag = ITEM_TAGS.get(name, "item")
        for item in value:
            _fill(ET.SubElement(element, tag), tag, item)
    elif value is None:
        return  # an empty element, as in the spec's examples (<account_id/>)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("\ufffd", str(value))
