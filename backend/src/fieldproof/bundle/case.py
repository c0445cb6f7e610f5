"""A case export: every item's evidence bundle and the signed evidence list, in one zip.

The layout (written by cases/export.py, read here):

- ``case.json``: the case (title, parties, note) and its items in order, each
  with its file, capture id, kind and hashes;
- ``evidence-list.pdf``: the evidence list (证据目录), PAdES-signed by the
  server; its signed Keywords name the case and the items' hashes in order;
- ``items/NN-<slug>.zip``: each item's evidence bundle, exactly as
  ``GET /captures/{id}/bundle`` makes it;
- ``SHA256SUMS``: ``sha256sum -c`` lines for every other file;
- ``VERIFY.md``: how to check it by hand.

:func:`verify_case` checks every item with :func:`fieldproof.bundle.verify.verify_bundle`,
that ``case.json`` describes those bundles, and the evidence list's signature
and binding. Offline: no network, no database. Item bundles are copied to
anonymous temporary files to be read (a zip inside a zip cannot seek).
"""

from __future__ import annotations

import hashlib
import tempfile
import zipfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fieldproof.bundle import layout as b
from fieldproof.bundle.common import CheckFailed, cert_fingerprint
from fieldproof.bundle.read import ZipBundle
from fieldproof.core.canonical import canonicalize, parse_json
from fieldproof.core.cosignature import WitnessPolicy
from fieldproof.core.encoding import split_pem_certificates
from fieldproof.core.report import Report
from fieldproof.errors import BundleUnusable, FieldProofError

CASE_JSON = "case.json"
EVIDENCE_LIST = "evidence-list.pdf"
ITEMS_DIR = "items/"
SUMS = b.SUMS
README = b.README
CASE_TYPE = "fieldproof.case"
FIXED = frozenset({CASE_JSON, EVIDENCE_LIST, SUMS, README})


def item_file_name(position: int, count: int, title: str, kind: str) -> str:
    """``items/NN-<slug>.zip``: NN the position (two digits, more for 100+ items),
    the slug the item's title in safe characters, else its kind."""
    width = max(2, len(str(count)))
    slug = b.safe_name(title.lower(), default="", limit=24) or b.safe_name(kind, "item")
    return f"{ITEMS_DIR}{position:0{width}d}-{slug}.zip"


def items_digest(items: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the JCS list ``[{position, manifest_sha256, media_sha256}]`` in order:
    what the evidence list's signature binds it to."""
    return hashlib.sha256(canonicalize([
        {"position": int(i["position"]), "manifest_sha256": str(i["manifest_sha256"]),
         "media_sha256": str(i["media_sha256"])} for i in items])).hexdigest()


def case_keywords(case_id: str, items_sha256: str) -> str:
    """The evidence list's signed /Keywords (parsed like a certificate's)."""
    return f"fieldproof-case:{case_id} items-sha256:{items_sha256}"


def is_case_member(name: str) -> bool:
    return name in FIXED or (name.startswith(ITEMS_DIR) and name.endswith(".zip")
                             and name.count("/") == 1 and len(name) > len(ITEMS_DIR) + 4)


class EvidenceListChecker(Protocol):
    def __call__(self, pdf: bytes, *, name: str, server_ca: bytes, ca_source: str,
                 tsa_roots: list[bytes], case_id: str, items_sha256: str) -> str:
        """What the list's signature says, or raise :class:`CheckFailed`."""


# --------------------------------------------------------------------------- the report
@dataclass
class ItemResult:
    file: str
    position: int | None
    capture_id: str | None
    report: Report | None  # None: the bundle could not be read at all
    problem: str | None = None  # why it failed besides its own checks

    @property
    def ok(self) -> bool:
        return self.problem is None and self.report is not None and self.report.ok

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "position": self.position, "capture_id": self.capture_id,
                "ok": self.ok, "problem": self.problem,
                "report": self.report.as_dict() if self.report else None}


@dataclass
class CaseReport:
    report: Report = field(default_factory=Report)  # the case's own checks, an item each
    case: dict[str, Any] = field(default_factory=dict)
    items: list[ItemResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok and all(i.ok for i in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "case": self.case,
                "checks": [r.as_dict() for r in self.report.results],
                "anchors": [a.as_dict() for a in self.report.anchors],
                "items": [i.as_dict() for i in self.items]}

    def lines(self) -> list[str]:
        out = [f"case    {self.case.get('id', '?')} {self.case.get('title', '')!r}: "
               f"{len(self.items)} item(s)"]
        out += [a.line() for a in self.report.anchors]
        for r in self.report.results:
            out.append(f"{'PASS' if r.ok else 'FAIL'}    {r.name}: {r.detail}")
            item = next((i for i in self.items if r.name == _item_check(i.file)), None)
            if item is not None and item.report is not None and not r.ok:
                out += [f"          FAIL {f.name}: {f.detail}" for f in item.report.failed()]
        bad = len(self.report.failed())
        out.append("RESULT  " + ("all checks passed, every item verified" if self.ok
                                 else f"{bad} check(s) FAILED"))
        return out


def _item_check(file: str) -> str:
    return f"item {file}"


# --------------------------------------------------------------------------- verification
class _VerifyCase:
    def __init__(self, zf: zipfile.ZipFile, log_vkey: str | None,
                 tsa_roots: list[bytes] | None, server_ca: bytes | None,
                 list_checker: EvidenceListChecker, tmp_dir: Path | None,
                 witnesses: WitnessPolicy | None = None) -> None:
        self.zf = zf
        self.witnesses = witnesses
        self.pinned_vkey = log_vkey
        self.pinned_roots = tsa_roots or None
        self.pinned_ca = server_ca
        self.list_checker = list_checker
        self.tmp_dir = tmp_dir
        self.out = CaseReport()
        self.report = self.out.report
        self.files: dict[str, bytes] = {}
        self.digests: dict[str, str] = {}
        self.case: dict[str, Any] = {}
        self.cas: dict[bytes, str] = {}  # server CA PEM -> the item it came from
        self.tsa_roots: list[bytes] = []
        self.verified: list[dict[str, Any]] = []  # {position, manifest_sha256, media_sha256}

    def run(self, name: str, fn: Any) -> None:
        try:
            detail = fn()
        except CheckFailed as exc:
            self.report.fail(name, str(exc))
        except FieldProofError as exc:
            self.report.fail(name, exc.detail)
        else:
            self.report.check(name, True, detail)

    def load(self) -> None:
        infos = [i for i in self.zf.infolist() if not i.is_dir()]
        names = [i.filename for i in infos]
        if len(names) > b.MAX_FILES:
            raise BundleUnusable(f"the export holds {len(names)} files; at most {b.MAX_FILES}")
        dupes = sorted(n for n, k in Counter(names).items() if k > 1)
        if dupes:
            raise BundleUnusable(f"the export holds several files named {', '.join(dupes)}")
        if CASE_JSON not in names:
            raise BundleUnusable(f"not a case export: {CASE_JSON} is missing")
        self.names = sorted(names)
        total = 0
        for name in self.names:
            if name.startswith(ITEMS_DIR):
                continue  # hashed as they are verified, never read whole
            try:
                with self.zf.open(name) as fh:
                    data = fh.read(b.MAX_SMALL_FILE + 1)
            except Exception as exc:  # a damaged member: CRC, decompression...
                self.report.fail("read", f"{name}: cannot be read ({exc})")
                continue
            if len(data) > b.MAX_SMALL_FILE:
                self.report.fail("read", f"{name}: larger than {b.MAX_SMALL_FILE} bytes")
                continue
            total += len(data)
            if total > b.MAX_SMALL_TOTAL:
                raise BundleUnusable(f"the export's files besides the items inflate to more "
                                     f"than {b.MAX_SMALL_TOTAL} bytes")
            self.files[name] = data
            self.digests[name] = hashlib.sha256(data).hexdigest()

    # -- checks -----------------------------------------------------------
    def check_layout(self) -> str:
        extra = [n for n in self.names if not is_case_member(n)]
        if extra:
            raise CheckFailed(f"files no case export holds: {', '.join(extra[:10])}")
        missing = [n for n in (EVIDENCE_LIST, SUMS) if n not in self.names]
        if missing:
            raise CheckFailed(f"{', '.join(missing)} missing")
        return f"{len(self.names)} files, all of the case export layout"

    def check_case(self) -> str:
        try:
            value = parse_json(self.files[CASE_JSON])
        except (KeyError, FieldProofError) as exc:
            raise CheckFailed(f"{CASE_JSON} is not readable JSON") from exc
        if not isinstance(value, dict) or value.get("type") != CASE_TYPE or value.get("v") != 1:
            raise CheckFailed(f"{CASE_JSON} is not a {CASE_TYPE} v1 document")
        self.case = value
        self.out.case = {k: value.get(k) for k in ("id", "title", "parties", "exported_at")}
        items = value.get("items")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise CheckFailed(f"{CASE_JSON}: items must be a list of objects")
        files = [i.get("file") for i in items]
        positions = [i.get("position") for i in items]
        if positions != list(range(1, len(items) + 1)):
            raise CheckFailed(f"{CASE_JSON}: positions must run 1..{len(items)} in order")
        in_zip = sorted(n for n in self.names if n.startswith(ITEMS_DIR))
        if sorted(str(f) for f in files) != in_zip or len(set(files)) != len(files):
            raise CheckFailed(f"{CASE_JSON} lists {len(files)} item file(s) but the export "
                              f"holds {len(in_zip)} under {ITEMS_DIR}, or they differ")
        return (f"case {value.get('id')} {value.get('title')!r}: {len(items)} item(s), each "
                f"one file under {ITEMS_DIR}")

    def sums(self) -> None:
        raw = self.files.get(SUMS)
        if raw is None:
            self.report.fail("SHA256SUMS", "SHA256SUMS is missing or unreadable")
            return
        listed: dict[str, str] = {}
        problems: list[str] = []
        for i, line in enumerate(raw.decode("utf-8", "replace").split("\n")[:-1], 1):
            m = b.SUM_LINE.fullmatch(line)
            if m is None:
                problems.append(f"SHA256SUMS: line {i} is not '<sha256>  <file>'")
                continue
            listed[m.group(2)] = m.group(1)
        for name in self.names:
            if name == SUMS:
                continue
            if name not in listed:
                problems.append(f"{name}: not listed in SHA256SUMS")
            elif name in self.digests and self.digests[name] != listed[name]:
                problems.append(f"{name}: SHA-256 differs from SHA256SUMS")
        problems += [f"SHA256SUMS: lists {n}, which is not in the export"
                     for n in listed if n not in self.names]
        self.listed = listed
        for p in problems:
            self.report.fail("SHA256SUMS", p)
        if not problems:
            self.report.check("SHA256SUMS", True, f"{len(listed)} files listed; the item "
                              "bundles are hashed as they are verified")

    def verify_item(self, entry: Mapping[str, Any]) -> None:
        from fieldproof.bundle.verify import verify_bundle

        name = str(entry.get("file"))
        item = ItemResult(name, entry.get("position"), entry.get("capture_id"), None)
        self.out.items.append(item)
        check = _item_check(name)
        if name not in self.names:
            item.problem = "missing"
            self.report.fail(check, f"{name} is missing")
            return
        digest = hashlib.sha256()
        with tempfile.TemporaryFile(dir=self.tmp_dir) as tmp:
            try:
                with self.zf.open(name) as src:
                    while block := src.read(b.BLOCK):
                        digest.update(block)
                        tmp.write(block)
                tmp.seek(0)
                with zipfile.ZipFile(tmp) as inner:
                    item.report = verify_bundle(ZipBundle(inner), log_vkey=self.pinned_vkey,
                                                tsa_roots=self.pinned_roots,
                                                server_ca=self.pinned_ca,
                                                witnesses=self.witnesses)
                    self.collect_anchors(inner, name)
            except BundleUnusable as exc:
                item.problem = exc.detail
            except (OSError, zipfile.BadZipFile, EOFError) as exc:
                item.problem = f"not a readable zip ({exc})"
        if name in getattr(self, "listed", {}) and self.listed[name] != digest.hexdigest():
            self.report.fail("SHA256SUMS", f"{name}: SHA-256 differs from SHA256SUMS")
        if item.problem is not None:
            self.report.fail(check, f"{name}: {item.problem}")
            return
        assert item.report is not None
        said = item.report.capture
        for key in ("manifest_sha256", "media_sha256"):
            if entry.get(key) != said.get(key):
                item.problem = (f"{CASE_JSON} gives {key} {entry.get(key)}, the bundle has "
                                f"{said.get(key)}")
        if item.problem is not None:
            self.report.fail(check, f"{name}: {item.problem}")
            return
        self.verified.append({"position": entry.get("position"),
                              "manifest_sha256": said["manifest_sha256"],
                              "media_sha256": said["media_sha256"]})
        failed = item.report.failed()
        what = f"{entry.get('kind', '?')} {entry.get('capture_id', '?')}"
        if failed:
            self.report.fail(check, f"{what}: {len(failed)} of {len(item.report.results)} "
                             f"check(s) FAILED ({', '.join(sorted({f.name for f in failed}))})")
        else:
            self.report.check(check, True, f"{what}: all {len(item.report.results)} checks "
                              f"passed, media SHA-256 {said['media_sha256']}")

    def collect_anchors(self, inner: zipfile.ZipFile, name: str) -> None:
        """The server CA and TSA roots each bundle ships: the evidence list is signed by
        the same server, and its timestamp comes from one of the same TSAs."""
        names = set(inner.namelist())
        if b.SERVER_CA in names:
            self.cas.setdefault(inner.read(b.SERVER_CA), name)
        for member in sorted(names):
            if member.startswith(b.TSA_KEY_DIR) and member.endswith(".pem"):
                chain = split_pem_certificates(inner.read(member))
                if chain and chain[-1] not in self.tsa_roots:
                    self.tsa_roots.append(chain[-1])
        for anchor in self.out.items[-1].report.anchors if self.out.items[-1].report else []:
            if all(a.fingerprint != anchor.fingerprint or a.kind != anchor.kind
                   for a in self.report.anchors):
                self.report.anchors.append(anchor)

    def check_evidence_list(self) -> str:
        if EVIDENCE_LIST not in self.files:
            raise CheckFailed(f"{EVIDENCE_LIST} is missing or unreadable")
        if self.pinned_ca:
            ca, source = self.pinned_ca, "the pinned server CA"
        else:
            if len(self.cas) != 1:
                raise CheckFailed(f"the item bundles ship {len(self.cas)} different server "
                                  "CAs; pin one with --server-ca")
            ca, item = next(iter(self.cas.items()))
            source = f"{b.SERVER_CA} of {item}"
        pems = split_pem_certificates(ca)
        if len(pems) != 1:
            raise CheckFailed(f"{source} must be exactly one PEM certificate")
        try:
            cert_fingerprint(pems[0])
        except ValueError as exc:
            raise CheckFailed(f"{source} is not a certificate: {exc}") from exc
        items = self.case.get("items") or []
        if len(self.verified) != len(items):
            raise CheckFailed("not every item bundle verified, so the list's items cannot "
                              "be matched")
        roots = list(self.pinned_roots) if self.pinned_roots else self.tsa_roots
        return self.list_checker(self.files[EVIDENCE_LIST], name=EVIDENCE_LIST,
                                 server_ca=pems[0], ca_source=source, tsa_roots=roots,
                                 case_id=str(self.case.get("id")),
                                 items_sha256=items_digest(self.verified))

    def verify(self) -> CaseReport:
        self.load()
        self.run("layout", self.check_layout)
        self.sums()
        self.run("case", self.check_case)
        for entry in self.case.get("items") or []:
            self.verify_item(entry)
        if not self.case.get("items"):
            self.report.fail("case", "the export holds no items")
        self.run("evidence_list", self.check_evidence_list)
        return self.out


def verify_case(zf: zipfile.ZipFile, *, log_vkey: str | None = None,
                tsa_roots: list[bytes] | None = None, server_ca: bytes | None = None,
                list_checker: EvidenceListChecker | None = None,
                tmp_dir: Path | None = None,
                witnesses: WitnessPolicy | None = None) -> CaseReport:
    """Check a case export: every item bundle, ``case.json`` against them, the
    evidence list's signature and what it binds. Pins apply to every item and to
    the list. Raises :class:`BundleUnusable` when it is no case export at all."""
    if list_checker is None:
        from fieldproof.bundle.checkers import check_evidence_list_pdf

        list_checker = check_evidence_list_pdf
    return _VerifyCase(zf, log_vkey, tsa_roots, server_ca, list_checker, tmp_dir,
                       witnesses).verify()


def is_case_export(names: Sequence[str]) -> bool:
    return CASE_JSON in names
