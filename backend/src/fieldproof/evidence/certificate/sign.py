"""Sign a certificate PDF (PAdES B-T) and make one, trying the TSAs external first."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from fieldproof.core.aio import run_sync
from fieldproof.errors import (
    CertificateError,
    CertificateTimestampUnavailable,
    SigningIdentityInvalid,
)
from fieldproof.evidence.certificate.facts import CertificateFacts
from fieldproof.evidence.certificate.render import render_certificate
from fieldproof.evidence.identity import SigningIdentity
from fieldproof.evidence.pdf_timestamp import timestampers_for
from fieldproof.tsa import TimestampAuthority

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- facts


SIGNATURE_FIELD: Final = "FieldProofCertificate"


def sign_pdf(pdf: bytes, identity: SigningIdentity, timestamper: TimeStamper, *,
             reason: str = "FieldProof 存证证书 / evidence certificate",
             field_name: str = SIGNATURE_FIELD) -> bytes:
    """``pdf`` signed as PAdES B-T by ``identity``, time-stamped by ``timestamper``.

    ``reason`` and ``field_name`` name the document (the evidence list of a
    case, cases/evidence_list.py, is signed the same way under its own).

    ``timestamper`` is a pyHanko TimeStamper (services.pdf_timestamp makes
    them for the server's TSAs). The signature is added as an incremental
    update, so the rendered bytes stay byte-exact at the start of the result,
    and it is a certification signature allowing no changes: readers flag any
    later revision, not only a broken digest.

    Raises TimestampRequestError (an OSError) when the TSA fails, so a caller
    can try another; CertificateError for anything else.
    """
    signer = _signer(identity)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name, md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,  # ETSI.CAdES.detached: PAdES baseline
        reason=reason, name="FieldProof",
        certify=True, docmdp_permissions=fields.MDPPerm.NO_CHANGES)
    out = io.BytesIO()
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        pdf_signer = signers.PdfSigner(meta, signer, timestamper=timestamper)
        run_sync(pdf_signer.async_sign_pdf(writer, output=out))
    except (PdfError, SigningError) as exc:
        raise CertificateError(f"cannot sign the certificate: {exc}") from exc
    return out.getvalue()


def _signer(identity: SigningIdentity) -> signers.SimpleSigner:
    try:
        key = load_private_key_from_pemder_data(identity.key_pem, passphrase=None)
        cert = next(iter(load_certs_from_pemder_data(identity.cert_pem)))
        # The root goes into the CMS too, so a reader can show the whole chain
        # and the fingerprint a verifier pins; trusting it is still the reader's call.
        others = [c for pem in (identity.intermediates_pem, identity.root_pem)
                  if pem.strip() for c in load_certs_from_pemder_data(pem)]
    except (ValueError, TypeError, StopIteration) as exc:
        raise SigningIdentityInvalid(f"the {identity.purpose} signing identity does not load: "
                               f"{exc}") from exc
    return signers.SimpleSigner(signing_cert=cert, signing_key=key,
                                cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
                                    others))


def make_certificate(facts: CertificateFacts, identity: SigningIdentity,
                     tsas: Sequence[TimestampAuthority], *,
                     on_fallback: Callable[[str, str], None] | None = None) -> bytes:
    """Render and sign; the signature timestamp from the first TSA that answers.

    ``tsas`` are the server's TSAs (``Services.log.tsas``), tried external first,
    the embedded one last. ``on_fallback(tsa_name, reason)`` hears about each
    TSA that failed before one worked, for the server's log. Raises
    CertificateTimestampUnavailable (503) when none did.
    """
    if facts.signer_root_sha256 is None:
        facts = replace(facts, signer_root_sha256=identity.root_fingerprint())
    return sign_with_first_tsa(render_certificate(facts), identity, tsas, what="certificate",
                               on_fallback=on_fallback)


def sign_with_first_tsa(pdf: bytes, identity: SigningIdentity,
                        tsas: Sequence[TimestampAuthority], *, what: str,
                        on_fallback: Callable[[str, str], None] | None = None,
                        **sign_args: str) -> bytes:
    """Sign ``pdf`` (:func:`sign_pdf`, ``sign_args`` passed on) with the signature
    timestamp of the first TSA that answers, external first, the embedded one last.
    ``on_fallback(tsa_name, reason)`` hears of each that failed;
    CertificateTimestampUnavailable (503) names ``what`` when none did."""
    failures: list[str] = []
    for ts in timestampers_for(tsas):
        try:
            return sign_pdf(pdf, identity, ts, **sign_args)  # type: ignore[arg-type]
        except OSError as exc:  # TimestampRequestError, or the TSA's transport
            failures.append(f"{ts.name}: {exc}")
            if on_fallback is not None:
                on_fallback(ts.name, str(exc))
    raise CertificateTimestampUnavailable(
        f"no TSA stamped the {what}: " + ("; ".join(failures) or "no TSA configured"))
