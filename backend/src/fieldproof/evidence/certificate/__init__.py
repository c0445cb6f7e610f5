"""The certificate PDF (存证证书) in every evidence bundle: readable facts, server-signed.

Three steps, each usable alone:

* :func:`render_certificate` lays out a :class:`CertificateFacts` as an A4
  PDF, every label in zh-CN and English ("中文 / English"), with a QR code that
  opens this capture's verification page. Pure: facts in, bytes out.
* :func:`sign_pdf` signs it as PAdES B-T with the server's ``pdf`` identity
  and an RFC 3161 signature timestamp, so any PDF reader shows it as signed
  and unmodified.
* :func:`make_certificate` does both, trying the server's TSAs external first.

The certificate only restates what the bundle proves; the proofs themselves
(manifest signature, inclusion proof, checkpoint, timestamp tokens) stay in
the bundle's own files. Times are printed exactly as recorded (RFC 3339 UTC),
so a reader can compare them character for character with the JSON.
"""

from fieldproof.evidence.certificate.facts import (
    CertificateFacts,
    CheckFact,
    TimestampFact,
    facts_from_records,
    verify_url,
)
from fieldproof.evidence.certificate.fonts import cjk_font, configure, cut_word
from fieldproof.evidence.certificate.render import qr_matrix, render_certificate
from fieldproof.evidence.certificate.sign import SIGNATURE_FIELD, make_certificate, sign_pdf

__all__ = ["SIGNATURE_FIELD", "CertificateFacts", "CheckFact", "TimestampFact", "cjk_font",
           "configure", "cut_word", "facts_from_records", "make_certificate", "qr_matrix",
           "render_certificate", "sign_pdf", "verify_url"]
