"""VERIFY.md: how to check a bundle by hand, with sha256sum, openssl and a few lines
of Python, written for the bundle it ships in."""

from __future__ import annotations

from datetime import datetime

from fieldproof.bundle import layout as b
from fieldproof.capture.records import CaptureRecord
from fieldproof.core.manifest import iso

DERIVED_WHAT = {"c2pa": "C2PA Content Credentials: the original as ingredient, the capture's "
                        "device, time and place as signed assertions, signed by the server's "
                        "C2PA certificate (root: keys/server-ca.pem) and time-stamped",
                "display": "the signed GPS fix and capture time written into EXIF",
                "privacy": "all EXIF, GPS, XMP and comments removed, for sharing"}


SNIPPET = '''\
import base64, hashlib, json
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

MEDIA = "{media}"

def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

# 1. The device signed manifest.json (ECDSA P-256, SHA-256). manifest.sig is
#    the raw 64-byte r||s (IEEE P1363); cryptography wants DER.
manifest = open("manifest.json", "rb").read()
jwk = json.load(open("device.jwk"))
device = ec.EllipticCurvePublicKey.from_encoded_point(
    ec.SECP256R1(), b"\\x04" + b64url(jwk["x"]) + b64url(jwk["y"]))
sig = open("manifest.sig", "rb").read()
der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
device.verify(der, manifest, ec.ECDSA(hashes.SHA256()))  # raises InvalidSignature
# the key is the one the manifest names (RFC 7638 thumbprint)
thumb = json.dumps({{k: jwk[k] for k in ("crv", "kty", "x", "y")}}, separators=(",", ":"))
key_id = base64.urlsafe_b64encode(hashlib.sha256(thumb.encode()).digest()).rstrip(b"=")
assert key_id.decode() == json.loads(manifest)["device"]["key_id"], "wrong device key"

# 2. The log entry binds the manifest, its signature and the media.
entry_bytes = open("log-entry.json", "rb").read()
entry = json.loads(entry_bytes)
media_sha256 = hashlib.file_digest(open(MEDIA, "rb"), "sha256").hexdigest()
assert entry["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
assert b64url(entry["signature"]) == sig
assert entry["media_sha256"] == media_sha256
assert json.loads(manifest).get("media", {{"sha256": media_sha256}})["sha256"] == media_sha256

# 3. The checkpoint is a signed note signed by the log's Ed25519 key.
name, key_hash, key_b64 = open("keys/log.vkey").read().strip().split("+", 2)
raw_key = base64.b64decode(key_b64)  # 0x01 (Ed25519) || 32-byte public key
assert hashlib.sha256(name.encode() + b"\\n" + raw_key).digest()[:4].hex() == key_hash
note = open("checkpoint.txt", "rb").read()
split = note.rfind(b"\\n\\n")
body, sig_lines = note[:split + 1], note[split + 2:].decode().splitlines()
for line in sig_lines:
    signer, blob = line.removeprefix("\\u2014 ").split(" ")
    blob = base64.b64decode(blob)  # 4-byte key hash || 64-byte signature
    if signer == name and blob[:4].hex() == key_hash:
        Ed25519PublicKey.from_public_bytes(raw_key[1:]).verify(blob[4:], body)
        break
else:
    raise SystemExit("no signature by the log key on checkpoint.txt")
origin, size, root = body.decode().splitlines()

# 4. The log entry is leaf `leaf_index` of that tree (RFC 9162 inclusion proof).
receipt = json.load(open("receipt.json"))
fn, sn = receipt["leaf_index"], receipt["tree_size"] - 1
r = hashlib.sha256(b"\\x00" + entry_bytes).digest()
for p in map(base64.b64decode, receipt["inclusion_proof"]):
    if fn % 2 == 1 or fn == sn:
        r = hashlib.sha256(b"\\x01" + p + r).digest()
        while fn % 2 == 0 and fn != 0:
            fn, sn = fn >> 1, sn >> 1
    else:
        r = hashlib.sha256(b"\\x01" + r + p).digest()
    fn, sn = fn >> 1, sn >> 1
assert sn == 0 and r == base64.b64decode(root) and int(size) == receipt["tree_size"]
print("OK")
'''

CUSTODY_SNIPPET = '''\
import base64, hashlib, json

# 1. The custody hash chain: each record's "prev" is the SHA-256 (hex) of the
#    previous record's log-entry bytes, null for the first; records older than
#    the chain have no "prev" and come first. A removed, added or moved line
#    breaks it.
prev, chained = None, False
for n, line in enumerate(open("custody.jsonl", encoding="utf-8"), 1):
    record = json.loads(line)["record"]
    if "prev" in json.loads(record):
        chained = True
        assert json.loads(record)["prev"] == prev, f"custody.jsonl line {{n}}: chain broken"
    else:
        assert not chained, f"custody.jsonl line {{n}}: unchained after chained"
    entry = ('{{"record_sha256":"%s","type":"fieldproof.custody","v":1}}'
             % hashlib.sha256(record.encode("utf-8")).hexdigest())
    prev = hashlib.sha256(entry.encode("utf-8")).hexdigest()

# 2. custody-checkpoint.txt's tree extends checkpoint.txt's (RFC 9162 2.1.4.2).
#    Check custody-checkpoint.txt's signature like checkpoint.txt's (step 4).
def tree(name):
    body = open(name, "rb").read().split(b"\\n\\n")[0].decode().splitlines()
    return int(body[1]), base64.b64decode(body[2])

def node(left, right):
    return hashlib.sha256(b"\\x01" + left + right).digest()

(size1, root1), (size2, root2) = tree("checkpoint.txt"), tree("custody-checkpoint.txt")
c = json.load(open("custody-consistency.json"))
assert (c["first"], c["second"]) == (size1, size2)
path = [base64.b64decode(p) for p in c["consistency_proof"]]
if size1 != size2:
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for p in path[1:]:
        assert sn != 0, "proof too long"
        if fn & 1 or fn == sn:
            fr, sr = node(p, fr), node(p, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, p)
        fn, sn = fn >> 1, sn >> 1
    assert sn == 0 and fr == root1 and sr == root2, "not consistent"
else:
    assert not path and root1 == root2
print("OK")
'''

# The log key's fingerprint, as fieldproof verify and the server print it:
# "sha256:" + hex SHA-256 of the 32 raw Ed25519 public-key bytes: the base64
# part of keys/log.vkey (all after the second "+": base64 may hold "+" too),
# decoded, without its leading 0x01 algorithm byte.
LOG_KEY_FINGERPRINT_CMD = ("printf 'sha256:%s\\n' \"$(cut -d+ -f3- keys/log.vkey | base64 -d "
                           "| tail -c 32 | sha256sum | cut -d' ' -f1)\"")
SUMS_SIGNATURE_CMD = ("openssl cms -verify -binary -inform DER -in SHA256SUMS.p7s "
                      "-content SHA256SUMS -CAfile keys/server-ca.pem -purpose any "
                      "-out /dev/null")
SERVER_CA_FINGERPRINT_CMD = ("openssl x509 -in keys/server-ca.pem -noout -subject "
                             "-fingerprint -sha256")
CERTIFICATE_CMD = "pdfsig certificate.pdf"

SPLIT_CMD = ("awk '/-----BEGIN CERTIFICATE-----/{{n++}} {{c[n]=c[n] $0 \"\\n\"}} "
             "END{{for(i=1;i<n;i++) printf \"%s\", c[i] > \"tsa.pem\"; "
             "printf \"%s\", c[n] > \"root.pem\"}}' keys/tsa/{stem}.pem")


TRANSCRIPT_SNIPPET = """\
import base64, json, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
n = int(sys.argv[1])
doc = open(f"transcript/v{n}.json", "rb").read()
sig = open(f"transcript/v{n}.sig", "rb").read()
try:  # a person's version: the device key beside it
    jwk = json.load(open(f"transcript/v{n}.jwk"))
    num = lambda v: int.from_bytes(base64.urlsafe_b64decode(v + "=="), "big")
    key = ec.EllipticCurvePublicNumbers(num(jwk["x"]), num(jwk["y"]), ec.SECP256R1()).public_key()
except FileNotFoundError:  # a machine version: the server's transcriber
    key = x509.load_pem_x509_certificate(open("keys/transcriber.pem", "rb").read()).public_key()
r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
key.verify(encode_dss_signature(r, s), doc, ec.ECDSA(hashes.SHA256()))
print(f"v{n}: signature OK; prev =", json.loads(doc)["prev"])"""


def _transcript_md(versions: list[tuple[int, str]]) -> list[str]:
    """How to check the transcript versions with standard tools."""
    listed = ", ".join(f"v{n} ({'machine draft' if o == 'machine' else 'checked by a person'})"
                       for n, o in versions)
    return [
        "",
        "### The transcript (文字稿)",
        "",
        f"`transcript/` holds the written transcript's versions: {listed}. Each",
        "`transcript/vN.json` is the exact signed bytes; its `media_sha256` is the",
        "media's hash above, and its `prev` is the SHA-256 of the version before it",
        "(`sha256sum transcript/v*.json`). A person's version is signed by the device",
        "key in `transcript/vN.jwk`; a machine version by the server's transcriber, whose",
        "certificate the server CA issued. `transcript/log.jsonl` has each version's log",
        "leaf and its proof into `custody-checkpoint.txt`, and `transcript.pdf` is the",
        "signed 文字稿 of the newest version. The transcript is an aid to the recording,",
        "never a replacement for it.",
        "",
        "```sh",
        "openssl verify -CAfile keys/server-ca.pem keys/transcriber.pem   # machine versions",
        "pdfsig transcript.pdf",
        *[f"python3 check_transcript.py {n}" for n, _ in versions],
        "```",
        "",
        "with `check_transcript.py`:",
        "",
        "```python",
        *TRANSCRIPT_SNIPPET.splitlines(),
        "```",
    ]


def verify_md(*, capture: CaptureRecord, media_name: str, origin: str,
              tsas: list[tuple[str, str, bool, str]], stream: bool,
              exported: datetime, derived: list[str] | None = None,
              transcript: list[tuple[int, str]] | None = None) -> str:
    partial = capture.partial
    lines = [
        f"# FieldProof evidence bundle: capture {capture.id}",
        "",
        f"- capture id: `{capture.id}`",
        f"- media: `{media_name}` ({capture.media_size} bytes, {capture.media_mime}), "
        f"SHA-256 `{capture.media_sha256}`",
        f"- device key id (RFC 7638 thumbprint): `{capture.device_key_id}`",
        f"- received by the server: {iso(capture.received_at)}",
        f"- transparency log origin: `{origin}`",
        f"- exported: {iso(exported)}",
        "",
        "Everything below works offline with standard tools (`sha256sum`, `openssl`,",
        "Python 3.11 with the `cryptography` package). `fieldproof verify THIS.zip` runs",
        "all of it at once.",
        "",
        "## Files",
        "",
        "| file | what it is |",
        "|---|---|",
        "| `manifest.json` | " + ("the signed stream header (the recording was interrupted: "
                                  "the header and the signed chunks are what the device "
                                  "signed)" if partial else
                                  "the manifest exactly as the device signed it (JCS bytes)")
        + " |",
        "| `manifest.sig` | the device's ECDSA P-256 signature, 64 raw bytes r‖s |",
        "| `device.jwk` | the device public key (JWK) |",
        f"| `{media_name}` | the original bytes, byte-exact |",
    ]
    for name in derived or []:
        what = DERIVED_WHAT[name.split(".")[0]]
        lines.append(f"| `{b.DERIVED_DIR}{name}` | a derived copy ({what}); "
                     "made by the server from the original, which it does not replace |")
    if stream:
        lines.append("| `chunks.json` | the stream header and every chunk header the device "
                     "signed while recording, with its signature and hash chain |")
    web = capture.kind == "web"
    if web:
        lines += [
            "| `web/*` | the web capture's other files: `traffic.warc.gz` (all traffic, WARC "
            "1.1), `screenshot-start.png`, `screenshot-end.png`, `page.mhtml` (the final "
            "page), `environment.json` (browser, tools, DNS answers, TLS chains, the server's "
            "clock against a TSA), `stream.ts` (a live stream itself); each listed with its "
            "SHA-256 in `manifest.json` |",
            "| `keys/web-recorder.pem` | the certificate of the server's recorder key (the "
            "\"device\" that signed this capture), issued by `keys/server-ca.pem` |"]
    lines += [
        "| `log-entry.json` | the transparency log leaf data (exactly the hashed bytes) |",
        "| `receipt.json` | leaf index, tree size, leaf hash, inclusion proof (base64) |",
        "| `checkpoint.txt` | the signed checkpoint (C2SP signed note) the proof ends in |",
        "| `timestamps/*.tsr` | RFC 3161 TimeStampResp tokens over `checkpoint.txt` |",
        "| `keys/log.vkey` | the log's verifier key (C2SP vkey) |",
        "| `keys/tsa/*.pem` | each TSA's certificate chain, root last |",
        "| `certificate.pdf` | the evidence certificate (存证证书, zh-CN and English), "
        "PAdES-signed by the server and time-stamped |",
        "| `keys/server-ca.pem` | the root of the server's document and C2PA signers |",
        "| `custody.jsonl` | chain of custody: every read and status change, each a log leaf |",
        "| `custody-checkpoint.txt` | the latest signed checkpoint, which the custody proofs "
        "end in |",
        "| `custody-consistency.json` | RFC 9162 proof that it extends `checkpoint.txt` |",
        "| `SHA256SUMS` | SHA-256 of every other file (`VERIFY.md` included) |",
        "| `SHA256SUMS.p7s` | the server's time-stamped CMS signature over `SHA256SUMS` |",
        "",
        "## 1. Nothing in the bundle was changed",
        "",
        "```sh",
        "sha256sum -c SHA256SUMS",
        SUMS_SIGNATURE_CMD,
        SERVER_CA_FINGERPRINT_CMD,
        "```",
        "",
        "Every `sha256sum` line must say `OK`, and `openssl` must print `Verification",
        "successful`: `SHA256SUMS.p7s` is a detached CMS signature (RFC 5652) over the exact",
        "bytes of `SHA256SUMS` by the server's document signer, under `keys/server-ca.pem`.",
        "So no file (`VERIFY.md`, the derived copies and `custody.jsonl` included) can be",
        "changed and `SHA256SUMS` recomputed. Compare the CA's SHA-256 fingerprint with one",
        "you obtained independently of this bundle. The signature carries an RFC 3161",
        "timestamp over its signature value (unsigned attribute",
        "id-aa-signatureTimeStampToken, 1.2.840.113549.1.9.16.2.14); `fieldproof verify`",
        "checks it (`openssl cms -cmsout -print -inform DER -in SHA256SUMS.p7s` shows it).",
        "",
        "## 2. The media is the file the device described",
        "",
        "```sh",
        f"sha256sum {media_name}",
        "```",
        "",
    ]
    if partial:
        lines += [
            "The recording was interrupted, so there is no final manifest: the hash must",
            "equal `media_sha256` in `log-entry.json`, and each chunk's bytes (in order, by",
            "`size`) hash to the `sha256` the device signed for it in `chunks.json`.",
        ]
    else:
        lines += ["The hash must equal `media.sha256` in `manifest.json` (and the size"
                  " `media.size`)."]
        if stream:
            lines += [
                "For this live recording, `chunks.json` also holds every chunk header the",
                "device signed while recording: `chain(n) = SHA-256(chain(n-1) ‖ uint64-be(n)"
                " ‖ SHA-256(chunk n))` from the stream id (SHA-256 of the stream header) ends"
                " in the manifest's `stream.chain_head`.",
            ]
    if web:
        lines += [
            "",
            "This is a web capture: the server recorded the page in a clean browser, and its",
            "recorder signed the manifest. Its key is certified by the server CA, and the",
            "manifest's `web.files` lists the SHA-256 of every file in `web/`:",
            "",
            "```sh",
            "openssl verify -CAfile keys/server-ca.pem keys/web-recorder.pem",
            "openssl x509 -in keys/web-recorder.pem -noout -pubkey   # the key in device.jwk",
            "python3 -c 'import json; [print(f[\"sha256\"] + \"  web/\" + f[\"name\"]) "
            "for f in json.load(open(\"manifest.json\"))[\"web\"][\"files\"]]' | sha256sum -c",
            "```",
            "",
            "`web/traffic.warc.gz` opens in ReplayWeb.page or any WARC tool (e.g. `warcio index`).",
        ]
    if transcript:
        lines += _transcript_md(transcript)
    lines += [
        "",
        "## 3. The timestamps: the checkpoint existed by the stated time",
        "",
        "Each `keys/tsa/NAME.pem` is the TSA's chain, signer first, **root last**.",
        "Split it: the last certificate is the root (`root.pem`), the others go to",
        "`tsa.pem`. Then verify the token over the exact bytes of `checkpoint.txt`:",
        "",
    ]
    for stem, name, embedded, gen_time in tsas:
        lines += [
            f"TSA `{name}` (`timestamps/{stem}.tsr`, genTime {gen_time})"
            + (": **the embedded TSA is self-hosted by the same server, not a third "
               "party**; its time is only as trustworthy as that server." if embedded else ":"),
            "",
            "```sh",
            SPLIT_CMD.format(stem=stem),
            f"openssl ts -verify -data checkpoint.txt -in timestamps/{stem}.tsr "
            "-CAfile root.pem -untrusted tsa.pem",
            "openssl x509 -in root.pem -noout -subject -fingerprint -sha256",
            "```",
            "",
        ]
    lines += [
        "`openssl` must print `Verification: OK`. Compare the root's fingerprint with one",
        "you obtained independently of this bundle: a root shipped inside the bundle",
        "proves nothing about who ran the TSA.",
        "",
        "## 4. Signatures, log entry and inclusion proof",
        "",
        "The checkpoint is a C2SP signed note: the body (`origin`, tree size and base64",
        "Merkle root, one per line), a blank line, then signature lines",
        "`— <key name> <base64(4-byte key hash ‖ 64-byte Ed25519 signature)>`. The",
        "signature covers the body including its final newline. `keys/log.vkey` is",
        "`<name>+<hex key hash>+<base64(0x01 ‖ public key)>`, key hash =",
        "SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. Log leaves hash as",
        "SHA-256(0x00 ‖ data), interior nodes SHA-256(0x01 ‖ left ‖ right) (RFC 9162).",
        "",
        "Run this in the extracted bundle (Python ≥ 3.11, only `cryptography` and",
        "`hashlib`); it prints `OK` or stops with an error:",
        "",
        "```python",
        SNIPPET.format(media=media_name).rstrip("\n"),
        "```",
        "",
        "Compare the log key's fingerprint with the one the log publishes",
        "(`GET /api/v1/log`) or that you pinned earlier. The fingerprint is `sha256:`",
        "and the hex SHA-256 of the 32 raw Ed25519 public-key bytes: the base64 part of",
        "`keys/log.vkey` (everything after its second `+`), decoded, without its first",
        "byte (0x01, the algorithm):",
        "",
        "```sh",
        LOG_KEY_FINGERPRINT_CMD,
        "```",
        "",
        "## 5. Custody",
        "",
        "`custody.jsonl` is the chain of custody: every read of this capture (view,",
        "download of the original, derived copy, export) and every status change",
        "(anchored), one canonical JSON object per line:",
        "`{\"inclusion_proof\": [...], \"leaf_index\": n, \"record\": \"<JSON text>\"}`.",
        "The record says who, when, what and from where (IP address, user agent), with",
        "a random salt. Each event is its own leaf of the same transparency log, with the",
        "leaf data",
        "",
        "```json",
        "{\"record_sha256\":\"<SHA-256 of the record>\",\"type\":\"fieldproof.custody\",\"v\":1}",
        "```",
        "",
        "(canonical JSON, RFC 8785), so the public log carries no personal data. The",
        "inclusion proofs end in `custody-checkpoint.txt` (check its signature as in",
        "step 4), and `custody-consistency.json` proves that tree extends the one in",
        "`checkpoint.txt` (RFC 9162 consistency proof). Events too recent to be in the",
        "log yet (the export that produced this bundle, at least) have `leaf_index`",
        "null or no proof and come last: for those the bundle holds the server's",
        "statement only. The log proves each event listed.",
        "",
        "Each record names the one before it: `prev` is the SHA-256 (hex) of the",
        "previous record's log-entry bytes (the JSON above, for that record), null for",
        "the capture's first. A line removed, added or moved breaks the chain (the last",
        "line's removal is caught by the signature over `SHA256SUMS`). This checks the",
        "chain and the consistency proof; it prints `OK` or stops with an error:",
        "",
        "```python",
        CUSTODY_SNIPPET.format().rstrip("\n"),
        "```",
        "",
        "`fieldproof log audit --server <the server> --log-key keys/log.vkey` fetches the",
        "whole log and checks every checkpoint's consistency with the last, every",
        "timestamp and a sample of inclusion proofs: run it to see that the log you",
        "hold a checkpoint of is the one the server still serves.",
        "",
        "## 6. The certificate",
        "",
        "```sh",
        CERTIFICATE_CMD,
        "```",
        "",
        "`pdfsig` (poppler) must say `Signature is Valid.` and `Total document signed`;",
        "its signer chains to `keys/server-ca.pem`.",
        "",
    ]
    return "\n".join(lines)
