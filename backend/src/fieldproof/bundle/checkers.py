"""The verifier's checkers for the formats it does not read itself.

The server-signed PDFs (certificate, evidence list, 文字稿: PAdES signatures,
validated with pyHanko) and the C2PA copy (read with c2pa-python). verify.py
takes them as collaborators, so the verifier's own logic stays small, pure and
testable with fakes; this module is what `fieldproof verify` and the server
plug in.
"""

from __future__ import annotations

import io
import json
from typing import Any

from fieldproof.bundle.common import Checkers, CheckFailed
from fieldproof.bundle.layout import CERTIFICATE, parse_certificate_keywords
from fieldproof.core.aio import run_sync


def _asn1_cert(pem: bytes) -> Any:
    from asn1crypto import pem as asn1_pem
    from asn1crypto import x509 as asn1_x509

    return asn1_x509.Certificate.load(asn1_pem.unarmor(pem)[2])


def check_certificate_pdf(pdf: bytes, *, server_ca: bytes, ca_source: str,
                          tsa_roots: list[bytes], manifest_sha256: str,
                          media_sha256: str) -> str:
    """One PAdES signature over the whole file by a signer under ``server_ca``, with
    a trusted RFC 3161 signature timestamp, certifying this manifest and media."""
    said, signed_by = _signed_pdf(pdf, CERTIFICATE, server_ca=server_ca, ca_source=ca_source,
                                  tsa_roots=tsa_roots)
    # Signed and whole, but about this capture? Its Keywords (signed bytes) say.
    if said is None:
        raise CheckFailed(f"{CERTIFICATE} does not name the capture it certifies")
    if said.get("manifest-sha256") != manifest_sha256 or \
            said.get("media-sha256") != media_sha256:
        raise CheckFailed(f"{CERTIFICATE} certifies manifest {said.get('manifest-sha256')} "
                          f"and media {said.get('media-sha256')}, not this bundle's")
    return signed_by


def check_evidence_list_pdf(pdf: bytes, *, name: str, server_ca: bytes, ca_source: str,
                            tsa_roots: list[bytes], case_id: str, items_sha256: str) -> str:
    """A case's evidence list (证据目录): signed like a certificate, and naming this
    case and exactly these items, in this order (bundle/case.py, ``items_sha256``)."""
    said, signed_by = _signed_pdf(pdf, name, server_ca=server_ca, ca_source=ca_source,
                                  tsa_roots=tsa_roots)
    if said is None or "fieldproof-case" not in said:
        raise CheckFailed(f"{name} does not name the case it lists")
    if said.get("fieldproof-case") != case_id or said.get("items-sha256") != items_sha256:
        raise CheckFailed(f"{name} lists case {said.get('fieldproof-case')} with items "
                          f"{said.get('items-sha256')}, not this export's case {case_id} "
                          f"with items {items_sha256}")
    return signed_by


TRANSCRIPT_PDF = "transcript.pdf"


def check_transcript_pdf(pdf: bytes, *, server_ca: bytes, ca_source: str,
                         tsa_roots: list[bytes], capture_id: str, transcript_sha256: str,
                         media_sha256: str) -> str:
    """The 文字稿: signed like a certificate, and naming this capture, this transcript
    version and this media in its signed Keywords (evidence/transcript_pdf.py), so a
    文字稿 of another version or another recording does not pass."""
    name = TRANSCRIPT_PDF
    said, signed_by = _signed_pdf(pdf, name, server_ca=server_ca, ca_source=ca_source,
                                  tsa_roots=tsa_roots)
    if said is None or "fieldproof-transcript" not in said:
        raise CheckFailed(f"{name} does not name the transcript it shows")
    if (said.get("fieldproof-transcript"), said.get("transcript-sha256"),
            said.get("media-sha256")) != (capture_id, transcript_sha256, media_sha256):
        raise CheckFailed(f"{name} shows transcript {said.get('transcript-sha256')} of capture "
                          f"{said.get('fieldproof-transcript')} (media "
                          f"{said.get('media-sha256')}), not this bundle's transcript "
                          f"{transcript_sha256} of {capture_id}")
    return f"{signed_by}, naming transcript {transcript_sha256}"


def _signed_pdf(pdf: bytes, name: str, *, server_ca: bytes, ca_source: str,
                tsa_roots: list[bytes]) -> tuple[dict[str, str] | None, str]:
    """Validate the PDF's one PAdES signature: whole file, intact, under ``server_ca``,
    with a trusted signature timestamp. Returns its signed Keywords, parsed (None
    without any), and a sentence saying who signed it and when."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        sigs = reader.embedded_signatures
        if len(sigs) != 1:
            raise CheckFailed(f"{name} holds {len(sigs)} signatures, expected 1")
        status = run_sync(async_validate_pdf_signature(
            sigs[0], ValidationContext(trust_roots=[_asn1_cert(server_ca)]),
            ts_validation_context=ValidationContext(
                trust_roots=[_asn1_cert(p) for p in tsa_roots]),
            key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"},
                match_all_key_usages=False)))
    except CheckFailed:
        raise
    except Exception as exc:  # pyHanko raises a zoo of types on a damaged PDF
        raise CheckFailed(f"{name} cannot be validated: {type(exc).__name__}: {exc}"
                          ) from exc
    if not status.intact:
        raise CheckFailed(f"{name} was changed after it was signed (digest mismatch)")
    if not status.valid:
        raise CheckFailed(f"{name}: the signature does not verify")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise CheckFailed(f"{name}: content was added after the signature")
    if not status.trusted:
        raise CheckFailed(f"{name}: the signer does not chain to {ca_source}")
    ts = status.timestamp_validity
    if ts is None or not (ts.intact and ts.valid and ts.trusted):
        raise CheckFailed(f"{name}: no valid, trusted signature timestamp")
    try:
        said: dict[str, str] | None = parse_certificate_keywords(
            str(reader.trailer["/Info"]["/Keywords"]))
    except (KeyError, TypeError):
        said = None
    signer = status.signing_cert.subject.human_friendly
    return said, (f"{name}: PAdES signature by {signer} over the whole file, "
                  f"time-stamped {ts.timestamp.isoformat()}")


def check_c2pa_copy(name: str, data: bytes, mime: str, *, server_ca: bytes,
                    media_sha256: str, media_name: str) -> str:
    """Trusted under ``server_ca``, with this bundle's original as its parent ingredient."""
    import c2pa

    settings = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False},
                "trust": {"trust_anchors": server_ca.decode("ascii", "replace")}}
    try:
        with c2pa.Context(c2pa.Settings.from_dict(settings)) as ctx, \
                c2pa.Reader(mime, io.BytesIO(data), context=ctx) as reader:
            state = reader.get_validation_state()
            store = json.loads(reader.json())
    except Exception as exc:  # c2pa raises its own types for unreadable files
        raise CheckFailed(f"{name}: no readable C2PA manifest ({type(exc).__name__}: {exc})"
                          ) from exc
    failures = [str(f.get("code")) for f in store.get("validation_status") or []
                if isinstance(f, dict)]
    if state != "Trusted":
        raise CheckFailed(f"{name}: C2PA validation state {state}"
                          + (f" ({', '.join(failures)})" if failures else ""))
    active = (store.get("manifests") or {}).get(store.get("active_manifest")) or {}
    parents = [i for i in active.get("ingredients") or []
               if i.get("relationship") == "parentOf"]
    want = f"fieldproof:sha256:{media_sha256}"
    if [i.get("instance_id") for i in parents] != [want]:
        raise CheckFailed(f"{name}: its parent ingredient is not {media_name} "
                          f"(want instance_id {want})")
    return (f"{name}: C2PA manifest Trusted under the server CA, signed by "
            f"{(active.get('signature_info') or {}).get('common_name', '?')}; "
            f"parent ingredient = {media_name}")


def check_sums_signature(p7s: bytes, sums: bytes, *, name: str, server_ca: bytes,
                         ca_source: str, tsa_roots: list[bytes]) -> str:
    """SHA256SUMS.p7s: a detached CMS signature over exactly ``sums`` by a signer
    under ``server_ca``, with a signature timestamp (id-aa-signatureTimeStampToken)
    whose imprint is the signature value's, by a TSA under ``tsa_roots``.

    pyHanko validates the CMS the way it validates the certificate PDF's (the
    same signer, the same trust rules); the TSA's own signature and chain, and
    that the token's imprint is SHA-256 of the signature value, are its
    signature-timestamp checks.
    """
    from asn1crypto import cms, core
    from pyhanko.sign.validation.generic_cms import async_validate_detached_cms
    from pyhanko.sign.validation.settings import KeyUsageConstraints
    from pyhanko_certvalidator import ValidationContext

    try:
        info = cms.ContentInfo.load(p7s, strict=True)
        if info["content_type"].native != "signed_data":
            raise CheckFailed(f"{name} is not CMS SignedData")
        signed = info["content"]
        if signed["encap_content_info"]["content"].native is not None:
            raise CheckFailed(f"{name} is not a detached signature")
        if len(signed["signer_infos"]) != 1:
            raise CheckFailed(f"{name} holds {len(signed['signer_infos'])} signers, "
                              "expected 1")
        unsigned = signed["signer_infos"][0]["unsigned_attrs"]
        # Not `unsigned.native`: that decodes the whole timestamp token into
        # Python objects, ~1 s per bundle (most of a verification).
        stamps = [a for a in ([] if isinstance(unsigned, core.Void) else unsigned)
                  if a["type"].dotted == "1.2.840.113549.1.9.16.2.14"]
        if len(stamps) != 1:
            raise CheckFailed(f"{name} carries {len(stamps)} signature timestamps, expected 1")
        status = run_sync(async_validate_detached_cms(
            sums, signed,
            signer_validation_context=ValidationContext(trust_roots=[_asn1_cert(server_ca)]),
            ts_validation_context=ValidationContext(
                trust_roots=[_asn1_cert(p) for p in tsa_roots]),
            key_usage_settings=KeyUsageConstraints(
                key_usage={"digital_signature", "non_repudiation"},
                match_all_key_usages=False)))
    except CheckFailed:
        raise
    except Exception as exc:  # asn1crypto and pyHanko raise many types on bad input
        raise CheckFailed(f"{name} cannot be validated: {type(exc).__name__}: {exc}"
                          ) from exc
    if not status.intact:
        raise CheckFailed(f"{name} does not sign this SHA256SUMS (digest mismatch)")
    if not status.valid:
        raise CheckFailed(f"{name}: the signature does not verify")
    if not status.trusted:
        raise CheckFailed(f"{name}: the signer does not chain to {ca_source}")
    ts = status.timestamp_validity
    if ts is None or not (ts.intact and ts.valid and ts.trusted):
        raise CheckFailed(f"{name}: the signature timestamp is missing, does not cover the "
                          "signature, or is not by a trusted TSA")
    signer = status.signing_cert.subject.human_friendly
    return (f"{name}: CMS signature by {signer} over SHA256SUMS, time-stamped "
            f"{ts.timestamp.isoformat()}")


def default_checkers() -> Checkers:
    return Checkers(certificate=check_certificate_pdf, credentials=check_c2pa_copy,
                    sums_signature=check_sums_signature, transcript_pdf=check_transcript_pdf)
