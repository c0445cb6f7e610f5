"""The owner's own words about a capture: a title, a note, tags.

They are not evidence (the signed manifest is) and are never signed, but a
court may ask who named a file what and when: every change is a custody event
``annotate`` whose detail names the fields that changed, never their text
(the record is kept in full, and a bundle carries it to whoever gets one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from fieldproof.accounts.accounts import Principal
from fieldproof.capture.records import CaptureRecord
from fieldproof.capture.repository import Captures
from fieldproof.db import Capture, CaptureAnnotation, Database
from fieldproof.db.models import utcnow
from fieldproof.errors import AnnotationInvalid
from fieldproof.log.custody import Custody, Origin, actor_of, add_event

MAX_TITLE = 200
MAX_NOTE = 10_000
MAX_TAGS = 20
MAX_TAG = 40
FIELDS = ("title", "note", "tags")


def parse_annotation(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a PATCH sets, checked: ``{title?: str, note?: str, tags?: [str]}``.

    Titles and tags are trimmed; empty and repeated tags are dropped (the first
    spelling is kept). Raises :class:`AnnotationInvalid` naming what is wrong.
    """
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise AnnotationInvalid(f"unknown fields {', '.join(unknown)}; a capture has "
                                "title, note and tags")
    out: dict[str, Any] = {}
    if "title" in body:
        title = body["title"]
        if not isinstance(title, str) or len(title) > MAX_TITLE:
            raise AnnotationInvalid(f"title must be a string of at most {MAX_TITLE} characters")
        out["title"] = title.strip()
    if "note" in body:
        note = body["note"]
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise AnnotationInvalid(f"note must be a string of at most {MAX_NOTE} characters")
        out["note"] = note
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise AnnotationInvalid("tags must be a list of strings")
        if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
            raise AnnotationInvalid(f"at most {MAX_TAGS} tags of at most {MAX_TAG} "
                                    "characters each")
        kept: list[str] = []
        for tag in (t.strip() for t in tags):
            if tag and tag.casefold() not in {k.casefold() for k in kept}:
                kept.append(tag)
        out["tags"] = kept
    return out


class Annotations:
    def __init__(self, db: Database, captures: Captures, custody: Custody) -> None:
        self.db = db
        self.captures = captures
        self.custody = custody

    def annotate(self, principal: Principal, capture_id: str, body: Mapping[str, Any], *,
                 origin: Origin) -> CaptureRecord:
        """Set what ``body`` names; the change and its custody event commit together.

        Every change is one event (never coalesced: each is a different act);
        setting a field to the value it has is no change and records nothing.
        """
        fields = parse_annotation(body)
        capture = self.captures.get(principal, capture_id)  # 404 unless the caller's
        changed: list[str] = []
        with self.db.session() as s:
            # Serialize writers of this capture's row (PostgreSQL; SQLite's
            # BEGIN IMMEDIATE already does), so two first edits do not race.
            s.execute(select(Capture.seq).where(Capture.id == capture.id).with_for_update())
            row = s.get(CaptureAnnotation, capture.id)
            if row is None:
                row = CaptureAnnotation(capture_id=capture.id, title="", note="", tags=[])
                s.add(row)
            for name in FIELDS:
                if name in fields and getattr(row, name) != fields[name]:
                    setattr(row, name, fields[name])
                    changed.append(name)
            if changed:
                row.updated_at = utcnow()
                add_event(s, capture, "annotate", actor=actor_of(principal), origin=origin,
                          detail={"fields": changed})
            else:
                s.expunge(row)  # nothing to write (and no empty row for a no-op)
        if changed:
            self.custody.on_new()
        return self.captures.get(principal, capture.id)
