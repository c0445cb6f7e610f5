"""Web capture tasks through the API, on SQLite and PostgreSQL: what a request may
ask, who may see a task, the queue's bound, a lost recorder, and the 24-hour
auto-confirmation with a clock the test controls (a real photo capture stands in
for the recording here; tests/webcap/test_recording.py records real pages)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from fieldproof.db.models import utcnow
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.photos import jpeg

URL = "https://example.org/page.html"  # never fetched here: nothing records in these tests


def _create(user: User, **body: Any) -> Any:
    return user.client.post("/api/v1/web-captures", json={"url": URL, "mode": "page",
                                                          "duration_s": 20, **body},
                            headers=user.auth)


@pytest.mark.parametrize(("body", "code"), [
    ({"url": "ftp://example.org/"}, "web_url_invalid"),
    ({"url": "http://u:p@example.org/"}, "web_url_invalid"),
    ({"mode": "screen"}, "web_task_invalid"),
    ({"duration_s": 2}, "web_task_invalid"),
    ({"duration_s": 10**7}, "web_task_invalid"),
    ({"duration_s": True}, "web_task_invalid"),
    ({"title": "x" * 201}, "web_task_invalid"),
    ({"start_at": "2030-01-01T00:00:00Z"}, "web_task_invalid"),  # page mode
    ({"mode": "live", "start_at": "2020-01-01T00:00:00Z", "end_at": "2020-01-01T01:00:00Z"},
     "web_task_invalid"),
    ({"mode": "live", "start_at": "tomorrow", "end_at": "later"}, "web_task_invalid"),
    ({"extra": 1}, "web_task_invalid"),
    ({"timezone": "Mars/Olympus_Mons"}, "web_task_invalid"),
    ({"timezone": 8}, "web_task_invalid"),
])
def test_what_a_request_may_ask(user: User, body: dict[str, Any], code: str) -> None:
    r = _create(user, **body)
    assert r.status_code == 400 and r.json["code"] == code, r.json
    assert user.client.get("/api/v1/web-captures", headers=user.auth).json["items"] == []


def test_private_addresses_are_refused_when_the_flag_is_off(services: Services,
                                                             user: User) -> None:
    services.web_tasks.allow_private = False
    for url in ("http://127.0.0.1:8000/", "http://localhost/x", "http://[::ffff:7f00:1]/",
                "http://10.0.0.8/", "http://169.254.169.254/latest/meta-data/",
                "http://printer.local/"):
        r = _create(user, url=url)
        assert r.status_code == 403 and r.json["code"] == "web_address_refused", (url, r.json)


def test_tasks_are_the_owners_only(services: Services, make_user: Any) -> None:
    services.web_tasks.allow_private = True
    alice, bob = make_user(), make_user()
    made = _create(alice, title="房东的页面", applicant="张三")
    assert made.status_code == 201, made.json
    task = made.json
    assert task["status"] == "scheduled" and task["title"] == "房东的页面"
    assert alice.client.get(f"/api/v1/web-captures/{task['id']}",
                            headers=alice.auth).json == task
    for path in (f"/api/v1/web-captures/{task['id']}",
                 f"/api/v1/web-captures/{task['id']}/files/environment.json"):
        r = bob.client.get(path, headers=bob.auth)
        assert r.status_code == 404 and r.json["code"] == "web_capture_not_found"
    r = bob.client.post(f"/api/v1/web-captures/{task['id']}/confirm", headers=bob.auth)
    assert r.status_code == 404
    assert bob.client.get("/api/v1/web-captures", headers=bob.auth).json["items"] == []
    # not recorded yet: nothing to confirm
    r = alice.client.post(f"/api/v1/web-captures/{task['id']}/abandon", headers=alice.auth)
    assert r.status_code == 409 and r.json["code"] == "web_task_state"


def test_at_most_n_record_at_once_and_the_rest_queue(services: Services, user: User) -> None:
    services.web_tasks.allow_private = True
    ids = [_create(user).json["id"] for _ in range(3)]
    tasks = services.web_tasks
    first = tasks.claim("r1", capacity=2)
    second = tasks.claim("r2", capacity=2)
    assert first is not None and second is not None
    assert [first["id"], second["id"]] == ids[:2]  # oldest first
    assert tasks.claim("r1", capacity=2) is None  # two recording: the third waits
    tasks.fail(first["id"], "crashed: the recorder exited with status -9")
    third = tasks.claim("r1", capacity=2)
    assert third is not None and third["id"] == ids[2]
    failed = user.client.get(f"/api/v1/web-captures/{ids[0]}", headers=user.auth).json
    assert failed["status"] == "failed"
    assert failed["reason"] == {"code": "crashed",
                                "detail": "the recorder exited with status -9"}


def test_a_booked_live_recording_waits_for_its_start(services: Services, user: User) -> None:
    services.web_tasks.allow_private = True
    start = utcnow() + timedelta(hours=2)
    from fieldproof.core.manifest import utc_text

    r = _create(user, mode="live", start_at=utc_text(start),
                end_at=utc_text(start + timedelta(minutes=30)))
    assert r.status_code == 201 and r.json["duration_s"] == 1800, r.json
    assert services.web_tasks.claim("r", capacity=1) is None
    later = services.web_tasks.claim("r", capacity=1, now=start - timedelta(seconds=5))
    assert later is not None and later["id"] == r.json["id"]


def test_a_lost_recorder_fails_its_task(services: Services, user: User) -> None:
    services.web_tasks.allow_private = True
    task_id = _create(user).json["id"]
    assert services.web_tasks.claim("gone", capacity=1) is not None
    assert services.web_tasks.reap_lost() == 0  # it said it was alive just now
    assert services.web_tasks.reap_lost(now=utcnow() + timedelta(minutes=5)) == 1
    task = user.client.get(f"/api/v1/web-captures/{task_id}", headers=user.auth).json
    assert task["status"] == "failed" and task["reason"]["code"] == "recorder_lost"


def test_awaiting_confirmation_confirms_itself_after_the_set_hours(
        services: Services, user: User) -> None:
    services.web_tasks.allow_private = True
    device = user.enroll()
    photo = user.upload(device, jpeg(make="stand-in"))
    assert photo.status_code == 201, photo.json
    task_id = _create(user).json["id"]
    assert services.web_tasks.claim("r", capacity=1) is not None
    stored_at = utcnow()
    with services.db.session() as s:
        services.web_tasks.stored(s, task_id, photo.json["id"], stored_at)
    task = user.client.get(f"/api/v1/web-captures/{task_id}", headers=user.auth).json
    assert task["status"] == "awaiting_confirmation"
    assert task["confirm_by"] is not None
    hours = services.settings.web_confirm_hours
    assert services.web_tasks.auto_confirm(stored_at + timedelta(hours=hours - 0.01)) == 0
    assert services.web_tasks.auto_confirm(stored_at + timedelta(hours=hours, seconds=1)) == 1
    task = user.client.get(f"/api/v1/web-captures/{task_id}", headers=user.auth).json
    assert (task["status"], task["decided_by"]) == ("confirmed", "auto")
    events = services.custody.timeline(services.captures.get(
        services.accounts.principal(user.token), photo.json["id"]))
    confirm = [e for e in events if e["event"] == "confirm"]
    assert len(confirm) == 1 and confirm[0]["actor"] == {"system": "auto_confirm"}
    r = user.client.post(f"/api/v1/web-captures/{task_id}/abandon", headers=user.auth)
    assert r.status_code == 409 and r.json["code"] == "web_task_state"


def test_a_killed_servers_recording_folders_are_swept(services: Services) -> None:
    """What a SIGKILLed server leaves in tmp/ goes at the next start, but never the
    folder of a recording running now (its lock is held)."""
    import fcntl
    import os

    runner = services.web_runner
    runner.tmp.mkdir(parents=True, exist_ok=True)
    stale, live = runner.tmp / "webcap-stale", runner.tmp / "webcap-live"
    for d in (stale, live):
        d.mkdir()
        (d / "recording.mp4").write_bytes(b"x" * 100)
        (d / ".lock").touch()
    held = os.open(live / ".lock", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        assert runner.sweep_leftovers() == 1
        assert not stale.exists() and (live / "recording.mp4").exists()
    finally:
        os.close(held)
