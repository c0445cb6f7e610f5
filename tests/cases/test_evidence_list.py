"""The evidence list (证据目录): what it says (pdftotext) and that it is signed (pdfsig)."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path
from typing import Any

from pyhanko.pdf_utils.reader import PdfFileReader

from fieldproof.bundle.case import items_digest
from fieldproof.bundle.checkers import check_evidence_list_pdf
from fieldproof.bundle.common import CheckFailed
from fieldproof.cases.evidence_list import device_local_time
from fieldproof.services import Services
from tests.cases.conftest import add_item, new_case
from tests.support.accounts import User
from tests.support.problems import assert_problem


def pdftotext(pdf: bytes, tmp: Path) -> str:
    """The text without any white space: table cells wrap their words at any point."""
    path = tmp / "list.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True,
                         text=True, check=True).stdout
    return re.sub(r"\s+", "", out)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdfsig(pdf: bytes, tmp: Path) -> str:
    path = tmp / "sig.pdf"
    path.write_bytes(pdf)
    proc = subprocess.run(["pdfsig", "-no-ocsp", str(path)], capture_output=True, text=True)
    return proc.stdout + proc.stderr


def _list(user: User, case_id: str) -> bytes:
    r = user.client.get(f"/api/v1/cases/{case_id}/evidence-list.pdf", headers=user.auth)
    assert r.status_code == 200, r.data[:300]
    assert r.mimetype == "application/pdf"
    return bytes(r.data)


def test_device_local_time_shows_the_offset() -> None:
    assert device_local_time("2025-03-04T01:02:03.456Z", "Asia/Shanghai") == \
        "2025-03-04 09:02:03 UTC+08:00 (Asia/Shanghai)"
    assert device_local_time("2025-07-01T12:00:00Z", "America/New_York") == \
        "2025-07-01 08:00:00 UTC-04:00 (America/New_York)"  # summer time
    assert device_local_time("2025-07-01T12:00:00Z", "Asia/Kolkata") == \
        "2025-07-01 17:30:00 UTC+05:30 (Asia/Kolkata)"
    assert device_local_time("2025-07-01T12:00:00Z", "Mars/Olympus") == \
        "2025-07-01 12:00:00 UTC+00:00 (UTC)"  # unknown zone: UTC, and says so
    assert device_local_time("2025-07-01T12:00:00Z", None) == \
        "2025-07-01 12:00:00 UTC+00:00 (UTC)"
    assert device_local_time("not a time", "UTC") is None


def test_the_list_is_bilingual_and_has_every_column(user: User, capture_of: Any,
                                                    services: Services, tmp_path: Path) -> None:
    photo = capture_of(user, "photo")
    note = capture_of(user)
    case = new_case(user, "张三诉李四劳动争议", parties=[{"role": "原告", "name": "张三"},
                                                {"role": "被告", "name": "李四公司"}])
    add_item(user, case["id"], photo["id"], title="Wage slip March",
             purpose="证明工资标准为每月五千元")
    add_item(user, case["id"], note["id"], title="聊天记录", purpose="证明加班事实")
    pdf = _list(user, case["id"])
    text = pdftotext(pdf, tmp_path)
    for label in ("证据目录 / Evidence List", "序号 / No.", "证据名称 / Title", "类别 / Kind",
                  "采集时间 (设备当地时间)", "Captured (device local time)", "SHA-256",
                  "证明目的 / What it proves", "在导出包中的位置", "In the export",
                  "形式 / Form", "当事人 / Parties", "原告: 张三", "被告: 李四公司",
                  "张三诉李四劳动争议", case["id"]):
        assert squash(label) in text, label
    # row 1: the photo, captured 2025-03-04T01:02:03.456Z on a phone in Shanghai
    for said in ("Wage slip March", "照片 / photo", "2025-03-04 09:02:03 UTC+08:00 "
                 "(Asia/Shanghai)", photo["media"]["sha256"][:16] + "…", "证明工资标准为每月五千元",
                 "items/01-wage_slip_march.zip", "原件 / original"):
        assert squash(said) in text, said
    assert photo["media"]["sha256"] not in text  # shortened
    # row 2: an import proves its upload time only, and says what it is
    for said in ("聊天记录", "导入的文件 / imported file", "上传 / uploaded",
                 "原件 (导入的文件) / original (imported file)", "items/02-import.zip",
                 "证明加班事实"):
        assert squash(said) in text, said

    # signed like the certificate: PAdES, whole document, time-stamped
    out = pdfsig(pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "Signature Type: ETSI.CAdES.detached" in out, out
    assert "Signer Certificate Common Name: FieldProof certificate signer" in out, out
    sigs = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    assert [sig.field_name for sig in sigs] == ["FieldProofEvidenceList"]

    # and what the offline verifier checks: the signed Keywords bind case and items
    info = PdfFileReader(io.BytesIO(pdf)).trailer["/Info"]
    digest = items_digest([
        {"position": 1, "manifest_sha256": photo["manifest_hash"],
         "media_sha256": photo["media"]["sha256"]},
        {"position": 2, "manifest_sha256": note["manifest_hash"],
         "media_sha256": note["media"]["sha256"]}])
    assert str(info["/Keywords"]) == f"fieldproof-case:{case['id']} items-sha256:{digest}"
    ca = services.identity.get("pdf").root_pem
    roots = [t.root_pem for t in services.log.tsas]  # type: ignore[attr-defined]
    said = check_evidence_list_pdf(pdf, name="evidence-list.pdf", server_ca=ca,
                                   ca_source="server CA", tsa_roots=roots,
                                   case_id=case["id"], items_sha256=digest)
    assert "PAdES signature" in said
    # the same list with the items the other way round is another list
    swapped = items_digest([{"position": 1, "manifest_sha256": note["manifest_hash"],
                             "media_sha256": note["media"]["sha256"]},
                            {"position": 2, "manifest_sha256": photo["manifest_hash"],
                             "media_sha256": photo["media"]["sha256"]}])
    try:
        check_evidence_list_pdf(pdf, name="evidence-list.pdf", server_ca=ca,
                                ca_source="server CA", tsa_roots=roots, case_id=case["id"],
                                items_sha256=swapped)
    except CheckFailed as exc:
        assert "not this export's" in str(exc)
    else:
        raise AssertionError("a list of other items passed")


def test_a_changed_list_fails_pdfsig(user: User, capture_of: Any, tmp_path: Path) -> None:
    case = new_case(user, "Deposit")
    add_item(user, case["id"], capture_of(user, anchored=False)["id"], title="Lease")
    pdf = _list(user, case["id"])  # items need not be anchored for the list
    forged = pdf.replace(b"ReportLab Generated", b"ReportLab Gen3rated", 1)  # signed bytes
    assert forged != pdf
    assert "Signature is Valid" not in pdfsig(forged, tmp_path)


def test_an_empty_case_has_a_list_that_says_so(user: User, tmp_path: Path) -> None:
    case = new_case(user, "Nothing yet")
    text = pdftotext(_list(user, case["id"]), tmp_path)
    assert squash("本案尚无证据 / no evidence in this case yet") in text


def test_long_purposes_and_many_items_stay_inside_the_page(user: User, capture_of: Any,
                                                           tmp_path: Path) -> None:
    case = new_case(user, "长" * 200)
    for i in range(12):
        c = capture_of(user, anchored=False)
        add_item(user, case["id"], c["id"], title=("名" * 100 + "B" * 100),
                 purpose=("证明" * 500 + "x" * 1000)[:2000] if i == 0 else "p")
    pdf = _list(user, case["id"])
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    page_w = float(re.search(r'<page width="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', html)]
    assert right and max(right) <= page_w - 30, max(right)
    assert html.count("<page ") >= 2
    assert "items/12-" in pdftotext(pdf, tmp_path)


def test_no_tsa_no_list(user: User, services: Services) -> None:
    case = new_case(user)
    saved = list(services.log.tsas)
    services.log.tsas.clear()
    try:
        r = user.client.get(f"/api/v1/cases/{case['id']}/evidence-list.pdf", headers=user.auth)
    finally:
        services.log.tsas.extend(saved)
    assert_problem(r, 503, "certificate_timestamp_unavailable")
