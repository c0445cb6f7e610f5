"""A case export: one zip with every item's evidence bundle and the signed evidence list.

Layout in bundle/case.py. Each item's bundle is exactly what ``GET
/captures/{id}/bundle`` gives, made by the same Exporter, and so each is an
``export`` custody event of its capture (its detail names the case). The zip is
written to an anonymous temporary file and streamed from there, like a bundle.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import zipfile
from pathlib import Path
from typing import IO, Any

from fieldproof.accounts.accounts import Principal
from fieldproof.bundle import case as layout
from fieldproof.bundle import layout as b
from fieldproof.cases.cases import CaseRecord, Cases
from fieldproof.cases.evidence_list import EvidenceListFacts, signed_evidence_list
from fieldproof.core.manifest import iso
from fieldproof.db.models import utcnow
from fieldproof.errors import CaseEmpty
from fieldproof.evidence.export import Bundle, Exporter
from fieldproof.evidence.identity import ServerIdentity
from fieldproof.log.custody import SYSTEM, Origin
from fieldproof.log.log import TransparencyLog


class CaseExporter:
    def __init__(self, cases: Cases, exporter: Exporter, log: TransparencyLog,
                 identity: ServerIdentity, tmp_dir: Path | None = None) -> None:
        self.cases = cases
        self.exporter = exporter
        self.log = log
        self.identity = identity
        self.tmp_dir = tmp_dir

    def evidence_list(self, case: CaseRecord) -> bytes:
        """The signed evidence list (证据目录) of ``case`` as it stands now."""
        return signed_evidence_list(case, self.identity.get("pdf"), self.log.tsas)[1]

    def export(self, principal: Principal, case_id: str, *, origin: Origin = SYSTEM,
               base_url: str = "http://127.0.0.1:8000") -> Bundle:
        case = self.cases.get(principal, case_id)  # 404 unless the caller's
        if not case.items:
            raise CaseEmpty("add captures to the case before exporting it")
        # Every item must be anchored (409 not_anchored otherwise) and the list
        # signed (503 if no TSA answers) before any item's export is recorded.
        for item in case.items:
            self.log.receipt(item.capture_id)
        facts, pdf = signed_evidence_list(case, self.identity.get("pdf"), self.log.tsas)
        if self.tmp_dir is not None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fh = tempfile.TemporaryFile(dir=self.tmp_dir)  # noqa: SIM115 - closed by Bundle
        try:
            self._write(fh, principal, case, facts, pdf, origin=origin, base_url=base_url)
            size = fh.seek(0, 2)
        except BaseException:
            fh.close()
            raise
        return Bundle(fh, size, f"fieldproof-case-{case.id}.zip")

    def _write(self, fh: IO[bytes], principal: Principal, case: CaseRecord,
               facts: EvidenceListFacts, pdf: bytes, *, origin: Origin, base_url: str) -> None:
        now = utcnow()
        stamp = now.timetuple()[:6]
        digests: dict[str, str] = {}

        def info(name: str, compress: int) -> zipfile.ZipInfo:
            zi = zipfile.ZipInfo(name, date_time=stamp)  # type: ignore[arg-type]
            zi.compress_type = compress
            zi.external_attr = 0o644 << 16
            return zi

        with zipfile.ZipFile(fh, "w", allowZip64=True) as zf:
            def put(name: str, data: bytes) -> None:
                zf.writestr(info(name, zipfile.ZIP_DEFLATED), data)
                digests[name] = hashlib.sha256(data).hexdigest()

            entries: list[dict[str, Any]] = []
            for item, row in zip(case.items, facts.rows, strict=True):
                bundle = self.exporter.export(principal, item.capture_id, origin=origin,
                                              base_url=base_url, detail={"case": case.id})
                digest = hashlib.sha256()
                try:
                    # Stored: a bundle is a zip already, and a verifier copies it out.
                    with zf.open(info(row.file, zipfile.ZIP_STORED), "w",
                                 force_zip64=True) as out:
                        for block in bundle.iter_and_close():
                            digest.update(block)
                            out.write(block)
                finally:
                    bundle.file.close()
                digests[row.file] = digest.hexdigest()
                c = item.capture
                entries.append({
                    "position": item.position, "file": row.file, "capture_id": c.id,
                    "title": item.shown_title, "purpose": item.purpose, "kind": c.kind,
                    "captured": row.captured, "received_at": iso(c.received_at),
                    "manifest_sha256": c.manifest_hash, "media_sha256": c.media_sha256,
                    "media_size": c.media_size, "mime": c.media_mime})
            put(layout.CASE_JSON, (json.dumps({
                "v": 1, "type": layout.CASE_TYPE, "id": case.id, "title": case.title,
                "parties": [{"role": p.role, "name": p.name} for p in case.parties],
                "note": case.note, "created_at": iso(case.created_at),
                "exported_at": iso(now), "evidence_list": layout.EVIDENCE_LIST,
                "items_sha256": facts.items_sha256, "items": entries},
                ensure_ascii=False, indent=2) + "\n").encode("utf-8"))
            put(layout.EVIDENCE_LIST, pdf)
            put(layout.README, case_verify_md(case, entries).encode("utf-8"))
            zf.writestr(info(layout.SUMS, zipfile.ZIP_DEFLATED), b.sums_text(digests))


def case_verify_md(case: CaseRecord, entries: list[dict[str, Any]]) -> str:
    """VERIFY.md of a case export: what is in it and how to check it, by tool or by hand."""
    rows = "\n".join(f"| {e['position']} | `{e['file']}` | {e['kind']} | `{e['media_sha256']}` |"
                     for e in entries)
    return f"""# Verifying this case export

Case **{case.title}** (`{case.id}`), {len(entries)} item(s).

| No. | bundle | kind | media SHA-256 |
|---|---|---|---|
{rows}

## With FieldProof (offline)

    fieldproof verify {f"fieldproof-case-{case.id}.zip"}

checks every item bundle (as `fieldproof verify BUNDLE.zip` would), that
`case.json` names exactly those bundles with their hashes, and the signature of
`evidence-list.pdf`; it prints one line per item and exits 0 only if all pass.

## By hand

1. Unzip, then `sha256sum -c SHA256SUMS`: every file is as exported.
2. Each `items/*.zip` is an evidence bundle: unzip it and follow its own
   `VERIFY.md` (manifest signature, log inclusion proof, RFC 3161 time-stamps).
3. `pdfsig evidence-list.pdf` shows the list's PAdES signature (a certification
   signature: no change allowed) with its RFC 3161 signature timestamp; the
   signer chains to `keys/server-ca.pem` inside each item bundle. Its signed
   Keywords read `fieldproof-case:<case id> items-sha256:<hex>`, where `<hex>` is
   the SHA-256 of the JSON (RFC 8785) list
   `[{{"manifest_sha256": …, "media_sha256": …, "position": 1}}, …]` of the items
   in order, as in `case.json` (`items_sha256`).
"""
