"""Recordings streamed by real clients, each a device of its own in a thread,
for the drills that kill what they stream to."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from fieldproof.client.api import Client, DeviceKeyFile
from fieldproof.client.stream import StreamClient


def enrolled(url: str, token: str, key_path: Path) -> tuple[Client, DeviceKeyFile]:
    api = Client(url, token)
    key = DeviceKeyFile.load_or_create(key_path, create=True)
    api.enroll(key)
    return api, key


class Recordings:
    """Files streamed to ``url``, each by a device of its own in a thread."""

    def __init__(self, url: str, token: str, tmp_path: Path, rate: int) -> None:
        self.url, self.token, self.tmp_path, self.rate = url, token, tmp_path, rate
        self.results: dict[int, Any] = {}  # the capture, or what went wrong
        self.acked: dict[int, list[tuple[int, str]]] = {}  # (seq, chain) per ack

    def start(self, i: int, media: Path) -> threading.Thread:
        t = threading.Thread(target=self._record, args=(i, media))
        t.start()
        return t

    def _record(self, i: int, media: Path) -> None:
        try:
            api, key = enrolled(self.url, self.token, self.tmp_path / f"d{i}.pem")
            self.acked[i] = []
            sc = StreamClient(api, key, timeout=10,
                              on_ack=lambda a: self.acked[i].append((a["seq"], a["chain"])))
            self.results[i] = sc.stream_file(media, kind="audio", mime="audio/webm",
                                             chunk_bytes=8192, rate=self.rate)
        except Exception as exc:  # reported by check()
            self.results[i] = exc

    def acks(self) -> int:
        return sum(len(v) for v in list(self.acked.values()))

    def streams_acked(self) -> int:
        """How many recordings have had at least one chunk acknowledged."""
        return sum(1 for v in list(self.acked.values()) if v)

    def check(self, files: dict[int, Path]) -> None:
        """Every recording is a capture of its file, byte for byte, and every
        chunk acknowledged on the way is in it, chain for chain."""
        for i, f in files.items():
            res = self.results.get(i)
            assert isinstance(res, dict), f"stream {i}: {res!r}"
            assert res["media"]["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
            chains = dict(self.acked[i])
            if chains:
                assert max(chains) + 1 == res["manifest"]["stream"]["chunks"]
                assert chains[max(chains)] == res["manifest"]["stream"]["chain_head"]
