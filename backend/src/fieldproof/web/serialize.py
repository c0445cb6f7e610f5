"""Typed records as the JSON the API answers with (and the CLI prints)."""

from __future__ import annotations

from typing import Any

from fieldproof.capture.records import CaptureRecord
from fieldproof.cases.cases import CaseItemRecord, CaseRecord
from fieldproof.cases.shares import ShareRecord
from fieldproof.core.encoding import b64, b64url_encode
from fieldproof.core.manifest import iso
from fieldproof.core.verdict import place_text
from fieldproof.log.log import Receipt


def capture_json(c: CaptureRecord) -> dict[str, Any]:
    """GET /api/v1/captures/{id}; `fieldproof client capture --json` prints the same."""
    return {
        "id": c.id,
        "kind": c.kind,
        "status": c.status,
        "media": {"sha256": c.media_sha256, "size": c.media_size, "mime": c.media_mime,
                  "sniffed_mime": c.sniffed_mime},
        "manifest": c.manifest_data,
        "manifest_hash": c.manifest_hash,
        "signature": b64url_encode(c.signature),
        "device": {"key_id": c.device_key_id, "revoked_at": iso(c.device_revoked_at)},
        "checks": [ch.as_dict() for ch in c.checks],
        "exif": c.exif,
        "received_at": iso(c.received_at),
        "stream": None if c.stream_id is None else {"id": c.stream_id, "partial": c.partial},
        "place": place_json(c.place),
        "verdict": c.verdict(),
        # the owner's words and cases (not signed evidence)
        "title": c.title,
        "note": c.note,
        "tags": list(c.tags),
        "cases": [{"id": r.id, "title": r.title, "position": r.position} for r in c.cases],
    }


def place_json(place: dict[str, Any] | None) -> dict[str, Any] | None:
    """The nearest named place, with ``label`` as the certificate prints it in each language."""
    return None if place is None else {**place, "label": place_text(place)}


def receipt_json(r: Receipt) -> dict[str, Any]:
    """GET /api/v1/captures/{id}/receipt."""
    return {"capture_id": r.capture_id, "origin": r.origin, "leaf_index": r.leaf_index,
            "tree_size": r.tree_size, "entry": r.entry, "leaf_hash": b64(r.leaf_hash),
            "inclusion_proof": [b64(p) for p in r.inclusion_proof], "checkpoint": r.checkpoint,
            "checkpoint_created_at": iso(r.checkpoint_created_at),
            "cosignatures": r.cosignatures,
            "timestamps": [{"tsa": t.tsa, "embedded": t.embedded, "token_b64": b64(t.token),
                            "gen_time": iso(t.gen_time)} for t in r.timestamps]}


# --------------------------------------------------------------------------- cases and shares
def case_json(c: CaseRecord, *, items: bool = True) -> dict[str, Any]:
    """GET /api/v1/cases/{id} (``items``), or one entry of GET /api/v1/cases."""
    out: dict[str, Any] = {
        "id": c.id, "title": c.title,
        "parties": [{"role": p.role, "name": p.name} for p in c.parties],
        "note": c.note, "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
        "item_count": c.item_count}
    if items:
        out["items"] = [case_item_json(i) for i in c.items]
    return out


def case_item_json(i: CaseItemRecord) -> dict[str, Any]:
    return {"position": i.position, "capture_id": i.capture_id, "title": i.title,
            "purpose": i.purpose, "added_at": iso(i.added_at), "capture": capture_json(i.capture)}


def share_json(s: ShareRecord, *, token: str | None = None,
               base_url: str | None = None) -> dict[str, Any]:
    """A share as its owner sees it; ``token`` and ``url`` only when it is made."""
    out: dict[str, Any] = {"id": s.id}
    if token is not None:
        out["url"] = f"{(base_url or '').rstrip('/')}/s/{token}"
        out["token"] = token
    out.update({"kind": s.kind, "target_id": s.target_id, "label": s.label,
                "allow_download": s.allow_download, "created_at": iso(s.created_at),
                "expires_at": iso(s.expires_at), "revoked_at": iso(s.revoked_at)})
    return out


# What of the signed manifest a share shows: when, where, the device's time zone;
# not the device's key, user agent, nonce or chain.
SHARED_MANIFEST = ("v", "type", "kind", "captured", "started_at", "geo")


def shared_capture_json(c: CaptureRecord) -> dict[str, Any]:
    """A capture as someone with a share link sees it: what a reader needs to know
    what it is, when and where it was made, and what the server checked."""
    full = capture_json(c)
    m = c.manifest_data
    manifest = {k: m[k] for k in SHARED_MANIFEST if k in m}
    manifest["device"] = {"timezone": (m.get("device") or {}).get("timezone")}
    return {"id": c.id, "kind": c.kind, "status": c.status,
            "media": {"sha256": c.media_sha256, "size": c.media_size, "mime": c.media_mime},
            "received_at": full["received_at"], "manifest": manifest,
            "place": full.get("place"), "verdict": full.get("verdict"),
            "checks": full["checks"], "title": c.title, "note": c.note,
            "partial": c.partial}


def shared_json(s: ShareRecord, *, case: CaseRecord | None = None,
                capture: CaptureRecord | None = None) -> dict[str, Any]:
    """GET /api/v1/s/{token}."""
    out: dict[str, Any] = {"kind": s.kind, "label": s.label, "expires_at": iso(s.expires_at),
                           "allow_download": s.allow_download}
    if case is not None:
        out["case"] = {"title": case.title,
                       "parties": [{"role": p.role, "name": p.name} for p in case.parties],
                       "note": case.note,
                       "items": [{"position": i.position, "title": i.shown_title,
                                  "purpose": i.purpose, "capture": shared_capture_json(i.capture)}
                                 for i in case.items]}
    if capture is not None:
        out["capture"] = shared_capture_json(capture)
    return out
