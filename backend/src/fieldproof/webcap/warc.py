"""The recording browser's HAR, written as a WARC 1.1 file with warcio.

Playwright writes a HAR with every response body embedded; each entry becomes
a request/response record pair. webrecorder's ``har2warc`` does the same but
is unmaintained since 2019 (six, http-status), so the few lines are here,
with warcio (maintained by webrecorder) doing all of the WARC format.
"""

from __future__ import annotations

import base64
import json
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

# the body was decoded by the browser: these no longer describe it
_DROP = {"content-encoding", "transfer-encoding", "content-length"}


def _headers(items: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(h["name"], h["value"]) for h in items
            if not h["name"].startswith(":") and h["name"].lower() not in _DROP]


def _body(content: dict[str, Any]) -> bytes:
    text = content.get("text") or ""
    if content.get("encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def har_to_warc(har_path: Path, warc_path: Path, *, software: str,
                info: dict[str, str]) -> dict[str, int]:
    """Write ``warc_path`` (gzip per record) from the HAR; returns counts."""
    har = json.loads(har_path.read_text("utf-8"))
    counts = {"responses": 0, "bodies_missing": 0}
    with warc_path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True, warc_version="WARC/1.1")
        writer.write_record(writer.create_warcinfo_record(
            warc_path.name, {"software": software, "format": "WARC File Format 1.1",
                             **info}))
        for entry in har["log"]["entries"]:
            req, resp = entry["request"], entry["response"]
            url = req["url"]
            if not url.startswith(("http://", "https://")) or resp.get("status", 0) <= 0:
                continue
            body = _body(resp.get("content") or {})
            if not body and (resp.get("content") or {}).get("size", 0) > 0:
                counts["bodies_missing"] += 1
            headers = _headers(resp.get("headers") or [])
            headers.append(("Content-Length", str(len(body))))
            status = f"{resp['status']} {resp.get('statusText') or ''}".strip()
            date = entry["startedDateTime"]
            params = {"WARC-Date": date} if date else {}
            if entry.get("serverIPAddress"):
                params["WARC-IP-Address"] = entry["serverIPAddress"].strip("[]")
            response = writer.create_warc_record(
                url, "response", payload=BytesIO(body),
                http_headers=StatusAndHeaders(status, headers, protocol="HTTP/1.1"),
                warc_headers_dict=params)
            parts = urlsplit(url)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            req_headers = _headers(req.get("headers") or [])
            if not any(k.lower() == "host" for k, _ in req_headers):
                req_headers.insert(0, ("Host", parts.netloc))
            post = (req.get("postData") or {}).get("text", "")
            request = writer.create_warc_record(
                url, "request", payload=BytesIO(post.encode("utf-8")),
                http_headers=StatusAndHeaders(f"{req['method']} {path} HTTP/1.1", req_headers,
                                              is_http_request=True),
                warc_headers_dict=params)
            writer.write_request_response_pair(request, response)
            counts["responses"] += 1
    return counts
