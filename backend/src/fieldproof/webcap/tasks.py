"""Web capture tasks in the database: their states, and who may do what to them.

    scheduled ──claim──> recording ──stored──> awaiting_confirmation ──> confirmed
        │                    │                          │  (or after FIELDPROOF_WEB_CONFIRM_HOURS)
        │                    └──> failed (reason)        └──> abandoned
        └── (a recorder lost) ──> failed

The capture is anchored when recording ends, before anyone confirms: its
time is proven either way. Confirming and abandoning are custody events of
that capture, committed with the status change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, text, update

from fieldproof.accounts.accounts import Principal
from fieldproof.core.manifest import iso, parse_time
from fieldproof.core.netguard import check_url, is_public
from fieldproof.db import Capture, Database, WebCapture, WebCaptureFile
from fieldproof.db.models import utcnow
from fieldproof.errors import (
    WebAddressRefused,
    WebTaskInvalid,
    WebTaskLimit,
    WebTaskNotFound,
    WebTaskState,
)
from fieldproof.log.custody import SYSTEM, Origin, actor_of, add_event

MODES = ("page", "video", "live")
MIN_SECONDS = 5
MAX_OPEN_TASKS = 10  # scheduled or recording, per account
MAX_BOOKING_DAYS = 30
CLAIM_LEAD = timedelta(seconds=10)  # a live booking is taken this early, to start on time
LOST_AFTER = timedelta(seconds=90)  # a recorder silent this long has died
OPEN = ("scheduled", "recording")
FAIL_CODES = ("address_refused", "unreachable", "no_response", "size_limit", "timeout",
              "crashed", "recorder_lost", "recorder_unavailable", "store_failed", "browser")


@dataclass(frozen=True)
class TaskRequest:
    url: str
    mode: str
    duration_s: int
    title: str = ""
    applicant: str = ""
    start_at: datetime | None = None
    end_at: datetime | None = None
    timezone: str = "UTC"

    @classmethod
    def parse(cls, body: Any, *, max_seconds: int, allow_private: bool,
              now: datetime) -> TaskRequest:
        if not isinstance(body, dict):
            raise WebTaskInvalid("the body must be a JSON object")
        unknown = set(body) - {"url", "mode", "duration_s", "title", "applicant", "start_at",
                               "end_at", "timezone"}
        if unknown:
            raise WebTaskInvalid(f"unknown fields: {sorted(unknown)}")
        url = check_url(body.get("url"))  # type: ignore[arg-type]
        if not allow_private:
            _refuse_obvious_private(url)
        mode = body.get("mode", "page")
        if mode not in MODES:
            raise WebTaskInvalid("mode is 'page', 'video' or 'live'")
        title, applicant = body.get("title") or "", body.get("applicant") or ""
        if not isinstance(title, str) or not isinstance(applicant, str) \
                or len(title) > 200 or len(applicant) > 200:
            raise WebTaskInvalid("title and applicant are texts of at most 200 characters")
        start, end = _time(body, "start_at"), _time(body, "end_at")
        duration = body.get("duration_s")
        if mode == "live" and start is not None:
            if end is None or end <= start:
                raise WebTaskInvalid("a booked live recording needs an end_at after its start_at")
            if start < now - timedelta(minutes=1) or start > now + timedelta(days=MAX_BOOKING_DAYS):
                raise WebTaskInvalid(f"start_at must be within the next {MAX_BOOKING_DAYS} days")
            duration = int((end - start).total_seconds())
        elif start is not None or end is not None:
            raise WebTaskInvalid("start_at and end_at are for mode 'live'")
        if isinstance(duration, bool) or not isinstance(duration, int | float) \
                or not MIN_SECONDS <= duration <= max_seconds:
            raise WebTaskInvalid(f"duration_s is a number of seconds from {MIN_SECONDS} "
                                 f"to {max_seconds}")
        return cls(url=url, mode=mode, duration_s=int(duration), title=title.strip(),
                   applicant=applicant.strip(), start_at=start, end_at=end,
                   timezone=_zone(body.get("timezone")))


def _time(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    try:
        return parse_time(str(value))
    except ValueError as exc:
        raise WebTaskInvalid(f"{name} is not an RFC 3339 time") from exc


def _zone(value: Any) -> str:
    """An IANA zone name the server knows (the owner's, for showing times), else 400."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value is None:
        return "UTC"
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise WebTaskInvalid("timezone is an IANA zone name such as Asia/Shanghai")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise WebTaskInvalid("timezone is an IANA zone name such as Asia/Shanghai") from exc
    return value


def _refuse_obvious_private(url: str) -> None:
    """Names and literals that are private whatever DNS says; the rest is checked
    on every connection by the recorder's guard (webcap/proxy.py)."""
    import ipaddress

    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise WebAddressRefused(f"{host} is not on the public internet")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return
    if not is_public(ip):
        raise WebAddressRefused(f"{host} is not a public address")


def task_json(t: WebCapture) -> dict[str, Any]:
    code, _, detail = (t.reason or "").partition(": ")
    return {"id": t.id, "url": t.url, "mode": t.mode, "title": t.title,
            "applicant": t.applicant, "duration_s": t.duration_s,
            "start_at": iso(t.start_at), "end_at": iso(t.end_at), "timezone": t.timezone,
            "status": t.status,
            "reason": {"code": code, "detail": detail} if t.reason else None,
            "created_at": iso(t.created_at), "recorded_at": iso(t.recorded_at),
            "confirm_by": iso(t.confirm_by), "decided_at": iso(t.decided_at),
            "decided_by": t.decided_by, "capture_id": t.capture_id}


class WebTasks:
    def __init__(self, db: Database, *, confirm_hours: float, max_seconds: int,
                 allow_private: bool, on_new: Any = None, on_custody: Any = None) -> None:
        self.db = db
        self.confirm_after = timedelta(hours=confirm_hours)
        self.max_seconds = max_seconds
        self.allow_private = allow_private
        self.on_new = on_new or (lambda: None)  # wake the runner
        self.on_custody = on_custody or (lambda: None)  # wake the sequencer

    # ------------------------------------------------------------------ the owner's
    def create(self, principal: Principal, body: Any,
               now: datetime | None = None) -> dict[str, Any]:
        now = now or utcnow()
        req = TaskRequest.parse(body, max_seconds=self.max_seconds,
                                allow_private=self.allow_private, now=now)
        with self.db.session() as s:
            open_count = s.scalar(select(func.count()).select_from(WebCapture).where(
                WebCapture.user_id == principal.user_id, WebCapture.status.in_(OPEN)))
            if (open_count or 0) >= MAX_OPEN_TASKS:
                raise WebTaskLimit(f"at most {MAX_OPEN_TASKS} web captures may wait or "
                                   "record at once")
            task = WebCapture(id=str(uuid.uuid4()), user_id=principal.user_id, url=req.url,
                              mode=req.mode, title=req.title, applicant=req.applicant,
                              duration_s=req.duration_s, start_at=req.start_at,
                              end_at=req.end_at, timezone=req.timezone, status="scheduled",
                              created_at=now)
            s.add(task)
            s.flush()
            out = task_json(task)
        self.on_new()
        return out

    def list(self, principal: Principal, limit: int = 100) -> list[dict[str, Any]]:
        with self.db.reading() as s:
            rows = s.scalars(select(WebCapture).where(WebCapture.user_id == principal.user_id)
                             .order_by(WebCapture.created_at.desc()).limit(limit)).all()
            return [task_json(t) for t in rows]

    def get(self, principal: Principal, task_id: str) -> dict[str, Any]:
        with self.db.reading() as s:
            task = self._mine(s, principal, task_id)
            out = task_json(task)
            if task.capture_id:
                out["files"] = [{"name": f.name, "sha256": f.sha256, "size": f.size,
                                 "mime": f.mime} for f in s.scalars(
                    select(WebCaptureFile).where(WebCaptureFile.capture_id == task.capture_id)
                    .order_by(WebCaptureFile.name)).all()]
            return out

    def file(self, principal: Principal, task_id: str, name: str
             ) -> tuple[dict[str, Any], WebCaptureFile]:
        """One kept file of the owner's web capture (screenshots, environment, WARC)."""
        with self.db.reading() as s:
            task = self._mine(s, principal, task_id)
            row = s.get(WebCaptureFile, (task.capture_id, name)) if task.capture_id else None
            if row is None:
                raise WebTaskNotFound("this web capture has no such file")
            s.expunge(row)
            return task_json(task), row

    def decide(self, principal: Principal, task_id: str, decision: str, *,
               origin: Origin) -> dict[str, Any]:
        """``confirm`` or ``abandon`` a task awaiting confirmation."""
        assert decision in ("confirm", "abandon")
        with self.db.session() as s:
            task = self._mine(s, principal, task_id, lock=True)
            if task.status != "awaiting_confirmation":
                raise WebTaskState(f"the web capture is {task.status}, not awaiting "
                                   "confirmation", task_status=task.status)
            self._decide(s, task, decision, actor=actor_of(principal), origin=origin,
                         by="user")
            out = task_json(task)
        self.on_custody()
        return out

    def _decide(self, s: Any, task: WebCapture, decision: str, *, actor: dict[str, Any],
                origin: Origin, by: str, now: datetime | None = None) -> None:
        capture = s.scalar(select(Capture).where(Capture.id == task.capture_id)) \
            if task.capture_id else None
        if capture is None:
            raise WebTaskState("the web capture has no stored recording")
        task.status = "confirmed" if decision == "confirm" else "abandoned"
        task.decided_at = now or utcnow()
        task.decided_by = by
        add_event(s, capture, decision, actor=actor, origin=origin,
                  detail={"web_capture": task.id, "by": by}, at=task.decided_at)

    @staticmethod
    def _mine(s: Any, principal: Principal, task_id: str, lock: bool = False) -> WebCapture:
        query = select(WebCapture).where(WebCapture.id == str(task_id)[:36],
                                         WebCapture.user_id == principal.user_id)
        task = s.scalar(query.with_for_update() if lock else query)
        if task is None:
            raise WebTaskNotFound("no such web capture")
        return task  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ the recorder's
    def auto_confirm(self, now: datetime | None = None) -> int:
        """Confirm every task left awaiting confirmation past its ``confirm_by``."""
        now = now or utcnow()
        done = 0
        with self.db.reading() as s:
            due = s.scalars(select(WebCapture.id).where(
                WebCapture.status == "awaiting_confirmation",
                WebCapture.confirm_by <= now).limit(100)).all()
        for task_id in due:
            with self.db.session() as s:
                task = s.scalar(select(WebCapture).where(WebCapture.id == task_id)
                                .with_for_update())
                if task is None or task.status != "awaiting_confirmation":
                    continue
                self._decide(s, task, "confirm", actor={"system": "auto_confirm"},
                             origin=SYSTEM, by="auto", now=now)
                done += 1
        if done:
            self.on_custody()
        return done

    def claim(self, recorder: str, capacity: int,
              now: datetime | None = None) -> dict[str, Any] | None:
        """Take the next task due, if fewer than ``capacity`` are recording anywhere."""
        now = now or utcnow()
        due = (WebCapture.status == "scheduled") & (
            WebCapture.start_at.is_(None) | (WebCapture.start_at <= now + CLAIM_LEAD))
        with self.db.reading() as s:  # most ticks find nothing: no write lock for that
            if s.scalar(select(WebCapture.id).where(due).limit(1)) is None:
                return None
        with self.db.session() as s:
            if self.db.dialect == "postgresql":  # one claimer at a time, across processes
                s.execute(text("SELECT pg_advisory_xact_lock(7401)"))
            busy = s.scalar(select(func.count()).select_from(WebCapture).where(
                WebCapture.status == "recording")) or 0
            if busy >= capacity:
                return None
            task = s.scalar(select(WebCapture).where(due)
                .order_by(func.coalesce(WebCapture.start_at, WebCapture.created_at),
                          WebCapture.created_at).limit(1))
            if task is None:
                return None
            task.status, task.claimed_by, task.heartbeat_at = "recording", recorder, now
            return task_json(task) | {"user_id": task.user_id}

    def heartbeat(self, task_id: str, recorder: str) -> None:
        with self.db.session() as s:
            s.execute(update(WebCapture).where(WebCapture.id == task_id,
                                               WebCapture.claimed_by == recorder,
                                               WebCapture.status == "recording")
                      .values(heartbeat_at=utcnow()))

    def set_frame(self, task_id: str, jpeg: bytes) -> None:
        """The newest frame of a recording (the recorder's, every few seconds)."""
        with self.db.session() as s:
            s.execute(update(WebCapture).where(WebCapture.id == task_id,
                                               WebCapture.status == "recording")
                      .values(frame=jpeg, frame_at=utcnow()))

    def frame(self, principal: Principal, task_id: str) -> bytes:
        """The owner's live thumbnail while it records; 404 when there is none."""
        with self.db.reading() as s:
            task = self._mine(s, principal, task_id)
            if task.status != "recording" or not task.frame:
                raise WebTaskNotFound("this web capture has no live picture now")
            return bytes(task.frame)

    def fail(self, task_id: str, reason: str) -> None:
        code = reason.partition(":")[0]
        if code not in FAIL_CODES:
            reason = f"browser: {reason}"
        with self.db.session() as s:
            s.execute(update(WebCapture).where(WebCapture.id == task_id,
                                               WebCapture.status == "recording")
                      .values(status="failed", reason=reason[:1000],
                              recorded_at=utcnow(), frame=None))

    def reap_lost(self, now: datetime | None = None) -> int:
        """Recording tasks whose recorder stopped saying it is alive: failed."""
        now = now or utcnow()
        lost = (WebCapture.status == "recording") & (WebCapture.heartbeat_at < now - LOST_AFTER)
        with self.db.reading() as s:
            if s.scalar(select(WebCapture.id).where(lost).limit(1)) is None:
                return 0
        with self.db.session() as s:
            result = s.execute(update(WebCapture).where(lost).values(
                status="failed", reason="recorder_lost: the recorder stopped (crash or "
                                        "restart) before the recording was stored",
                recorded_at=now))
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def stored(self, s: Any, task_id: str, capture_id: str, now: datetime) -> None:
        """In the transaction that commits the capture: the task awaits confirmation."""
        result = s.execute(update(WebCapture).where(WebCapture.id == task_id,
                                                    WebCapture.status == "recording")
                           .values(status="awaiting_confirmation", capture_id=capture_id,
                                   recorded_at=now, confirm_by=now + self.confirm_after,
                                   frame=None))
        if result.rowcount != 1:
            raise WebTaskState("the web capture is no longer recording")
