"""SHA256SUMS.p7s: the server's detached CMS signature over a bundle's SHA256SUMS.

SHA256SUMS alone only says the files agree with a list anyone can recompute;
signed, the list (VERIFY.md, the derived copies, every custody line) is the
server's word. The signature is CMS SignedData (DER, detached, RFC 5652) by the
server CA's ``pdf`` leaf, the certificate PDF's signer, so ``keys/server-ca.pem``
anchors both. Its signed attributes carry signingTime; its SignerInfo carries an
RFC 3161 token over SHA-256 of the signature value as the unsigned attribute
id-aa-signatureTimeStampToken (1.2.840.113549.1.9.16.2.14, RFC 3161 appendix A),
from the first TSA that answers, external first, the embedded one last.

``cryptography`` builds the SignedData; it has no way to add an unsigned
attribute, so asn1crypto (which parses CMS already for core/timestamp.py) adds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from asn1crypto import cms, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from fieldproof.errors import BundleTimestampUnavailable, FieldProofError, TimestampInvalid
from fieldproof.evidence.identity import SigningIdentity
from fieldproof.tsa import TimestampAuthority, in_signing_order

SIGNATURE_TIMESTAMP_OID = "1.2.840.113549.1.9.16.2.14"


def sign_sums(sums: bytes, identity: SigningIdentity, tsas: Sequence[TimestampAuthority], *,
              on_fallback: Callable[[str, str], None] | None = None) -> bytes:
    """The DER SHA256SUMS.p7s for ``sums`` (the exact SHA256SUMS bytes).

    Raises BundleTimestampUnavailable (503) when no TSA stamps the signature.
    """
    builder = pkcs7.PKCS7SignatureBuilder().set_data(sums).add_signer(
        identity.certificate, identity.key, hashes.SHA256())
    if identity.intermediates_pem.strip():  # an operator's CA may have intermediates
        for cert in x509.load_pem_x509_certificates(identity.intermediates_pem):
            builder = builder.add_certificate(cert)
    # Default signed attributes: contentType, signingTime, messageDigest, and
    # SMIMECapabilities (harmless); Binary keeps the bytes as they are (no CRLF).
    der = builder.sign(Encoding.DER, [pkcs7.PKCS7Options.DetachedSignature,
                                      pkcs7.PKCS7Options.Binary])
    info = cms.ContentInfo.load(der)
    signer = info["content"]["signer_infos"][0]
    token = _stamp(signer["signature"].native, tsas, on_fallback)
    signer["unsigned_attrs"] = cms.CMSAttributes([cms.CMSAttribute({
        "type": SIGNATURE_TIMESTAMP_OID, "values": [token]})])
    # Not dump(force=True): that re-encodes every level of the embedded token
    # and took ~100 s per bundle on this machine. asn1crypto re-encodes only
    # the parents of what changed; the signed attributes must come out byte
    # for byte as they were signed, which is checked below.
    out: bytes = info.dump()
    again = cms.ContentInfo.load(out)["content"]["signer_infos"][0]
    if again["signed_attrs"].dump() != cms.ContentInfo.load(der)["content"][
            "signer_infos"][0]["signed_attrs"].dump():
        raise RuntimeError("re-encoding changed the signed attributes")  # a bug, not input
    return out


def _stamp(signature: bytes, tsas: Sequence[TimestampAuthority],
           on_fallback: Callable[[str, str], None] | None) -> cms.ContentInfo:
    failures: list[str] = []
    for tsa in in_signing_order(tsas):
        try:
            reply = tsa.stamp(signature)  # a checked TimeStampResp over sha256(signature)
            resp = tsp.TimeStampResp.load(reply)
            if resp["status"]["status"].native != "granted":
                raise TimestampInvalid(f"answered {resp['status']['status'].native}")
            token: cms.ContentInfo = resp["time_stamp_token"]
            return token
        except (OSError, FieldProofError, ValueError) as exc:
            why = exc.detail if isinstance(exc, FieldProofError) else str(exc)
            failures.append(f"{tsa.name}: {why}")
            if on_fallback is not None:
                on_fallback(tsa.name, why)
    raise BundleTimestampUnavailable(
        "no TSA stamped the bundle's signature: " + ("; ".join(failures) or "no TSA configured"))
