"""Is a streamed recording continuous? What a court asks of audio: the unedited
original, continuous from start to end (shared/PROTOCOL.md, "Completeness").

Pure: from the signed stream header, each chunk's signed device time (``at``)
and, where the server has them, the times it received each chunk, say:

* the device's start and end, and the wall-clock span between them;
* the chunk timeline: how many, how often (the median interval);
* every gap: where the device made no data for longer than the recorder's rhythm
  allows (``paused``: the app was closed or sent to the background, the phone
  slept), or where the device kept recording but the server heard nothing
  (``network``: the connection was cut; the phone kept the chunks and sent them
  later, nothing is missing);
* whether the file alone is continuous: no pause, its clock never going
  back, stopped by the person;
* how it ended: ``stopped`` by the person, or ``interrupted`` (the stream fell
  silent and the server closed it: the app was killed, the phone lost);
* its joins: the interrupted stream this one ``continues``, and the streams
  that continue it.

Chunks are signed and hash-chained, so nothing inside a stream can be cut out
unnoticed; a gap here is a time where nothing was recorded, said with its cause.
The result is codes and numbers, never sentences: the app, the certificate and
the verifier say them in the reader's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from fieldproof.core.manifest import parse_time, utc_text

# A gap is longer than this many intervals of the recorder's own rhythm, and
# longer than the floor (browsers send a chunk every 1 s; timers drift).
GAP_FACTOR = 3.0
GAP_FLOOR_MS = 5000
NETWORK_FLOOR_MS = 10_000


@dataclass(frozen=True)
class ChunkTime:
    seq: int
    at: datetime  # the device's signed time of the chunk
    received_at: datetime | None = None  # when the server made it durable (server side only)


def _ms(a: datetime, b: datetime) -> int:
    return round((b - a).total_seconds() * 1000)


def continuity(*, started_at: str, chunks: Sequence[ChunkTime], ended: str,
               ended_at: str | None = None, continues: str | None = None,
               continued_by: Sequence[str] = (), media_ms: int | None = None) -> dict[str, Any]:
    """The completeness statement of one stream (see the module docstring).

    ``ended``: "stopped" or "interrupted"; ``ended_at`` the device's end
    (the final manifest's ``captured.end``), else the last chunk's time;
    ``continues``/``continued_by``: capture ids of the joined recordings;
    ``media_ms``: the recorded media's own duration, when known.
    """
    start = parse_time(started_at)
    ordered = sorted(chunks, key=lambda c: c.seq)
    times = [c.at for c in ordered]
    end = parse_time(ended_at) if ended_at else (times[-1] if times else start)
    steps = [_ms(a, b) for a, b in zip([start, *times], times, strict=False)]
    interval = round(median(steps[1:])) if len(steps) > 1 else (steps[0] if steps else 0)
    threshold = max(GAP_FLOOR_MS, round(GAP_FACTOR * max(interval, 1)))
    gaps: list[dict[str, Any]] = []
    before_at, before_rx, before_seq = start, None, -1
    backwards = 0
    for c in ordered:
        step = _ms(before_at, c.at)
        if step < 0:
            backwards += 1
        if step > threshold:
            gaps.append({"after_seq": before_seq, "from": utc_text(before_at),
                         "to": utc_text(c.at), "ms": step, "cause": "paused"})
        elif before_rx is not None and c.received_at is not None:
            heard = _ms(before_rx, c.received_at)
            if heard > max(NETWORK_FLOOR_MS, threshold):
                gaps.append({"after_seq": before_seq, "from": utc_text(before_rx),
                             "to": utc_text(c.received_at), "ms": heard, "cause": "network"})
        before_at, before_rx, before_seq = c.at, c.received_at, c.seq
    tail = _ms(before_at, end)
    if ended_at and ordered and tail > threshold:  # nothing recorded before the stated end
        gaps.append({"after_seq": before_seq, "from": utc_text(before_at),
                     "to": utc_text(end), "ms": tail, "cause": "paused"})
    paused = sum(g["ms"] for g in gaps if g["cause"] == "paused")
    return {
        "device_start": utc_text(start), "device_end": utc_text(end),
        "wall_ms": max(0, _ms(start, end)), "recorded_ms": media_ms,
        "chunks": len(ordered), "interval_ms": interval, "gaps": gaps,
        "paused_ms": paused, "clock_backwards": backwards, "ended": ended,
        "continues": continues, "continued_by": list(continued_by),
        # this file alone, start to end; the joins say where the recording goes on
        "continuous": not paused and backwards == 0 and ended == "stopped",
    }


def chunk_times(headers: Sequence[dict[str, Any]],
                received: Sequence[datetime | None] | None = None) -> list[ChunkTime]:
    """ChunkTimes from signed chunk headers (and the server's receipt times)."""
    rx = list(received) if received is not None else [None] * len(headers)
    return [ChunkTime(int(h["seq"]), parse_time(h["at"]), r) for h, r in zip(headers, rx,
                                                                              strict=True)]
