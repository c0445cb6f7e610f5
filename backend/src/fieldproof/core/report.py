"""Check reports shared by the offline verifier and the log audit: one line a check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Anchor:
    kind: str  # "log key" | "TSA root" | "server CA"
    description: str
    fingerprint: str  # sha256:<hex>
    pinned: bool
    # what to say when it is not pinned: where it came from, how to pin it
    unpinned: str = "as shipped in the bundle; pin it to trust it"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description,
                "fingerprint": self.fingerprint, "pinned": self.pinned}

    def line(self) -> str:
        how = "pinned" if self.pinned else self.unpinned
        return f"anchor  {self.kind} {self.description} {self.fingerprint} ({how})"


@dataclass
class Report:
    results: list[Result] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    capture: dict[str, Any] = field(default_factory=dict)
    # things a reader must know that are not a failed check (e.g. a bundle's own
    # trust anchor differs from the pinned one, which is used instead)
    warnings: list[str] = field(default_factory=list)

    def warn(self, detail: str) -> None:
        self.warnings.append(detail)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.results.append(Result(name, ok, detail))
        return ok

    def fail(self, name: str, detail: str) -> None:
        self.check(name, False, detail)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    def failed(self) -> list[Result]:
        return [r for r in self.results if not r.ok]

    def as_dict(self) -> dict[str, Any]:
        out = {"ok": self.ok, "capture": self.capture,
               "checks": [r.as_dict() for r in self.results],
               "anchors": [a.as_dict() for a in self.anchors]}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        return out

    def lines(self) -> list[str]:
        out = [a.line() for a in self.anchors]
        out += [f"WARN    {w}" for w in self.warnings]
        out += [f"{'PASS' if r.ok else 'FAIL'}    {r.name}: {r.detail}" for r in self.results]
        bad = len(self.failed())
        out.append("RESULT  " + ("all checks passed" if self.ok else f"{bad} check(s) FAILED"))
        return out
