// C2SP checkpoints (signed notes) as the /verify view checks them, against a
// note made here the way the backend signs it (Ed25519, key hash = SHA-256(name || 0x0A || 0x01 || key)[:4]).
import { describe, expect, it } from 'vitest';
import { b64, concat, hex, sha256, utf8 } from '../src/shared/bytes';
import { NoteError, openCheckpoint, parseVkey } from '../src/shared/note';

async function signedNote(name: string, size: number, root: Uint8Array) {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pub = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  const keyHash = (await sha256(concat(utf8.encode(name), new Uint8Array([0x0a, 0x01]), pub))).slice(0, 4);
  const body = `${name}\n${size}\n${b64(root)}\n`;
  const sig = new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, pair.privateKey, utf8.encode(body)));
  const note = `${body}\n\u2014 ${name} ${b64(concat(keyHash, sig))}\n`;
  const vkey = `${name}+${hex(keyHash)}+${b64(concat(new Uint8Array([1]), pub))}`;
  return { note, vkey };
}

describe('checkpoints', () => {
  it('parses and verifies a signed checkpoint; a changed one fails', async () => {
    const root = new Uint8Array(32).fill(7);
    const { note, vkey } = await signedNote('fieldproof.local/log', 42, root);
    const { checkpoint: cp, verified } = await openCheckpoint(utf8.encode(note), await parseVkey(vkey));
    expect(cp.origin).toBe('fieldproof.local/log');
    expect(cp.size).toBe(42);
    expect(hex(cp.root)).toBe(hex(root));
    expect(verified).toBe(true);
    const forged = note.replace('\n42\n', '\n43\n');
    await expect(openCheckpoint(utf8.encode(forged), await parseVkey(vkey))).rejects.toThrow(NoteError);
    const other = await signedNote('fieldproof.local/log', 42, root);
    await expect(openCheckpoint(utf8.encode(note), await parseVkey(other.vkey))).rejects.toThrow(NoteError);
  });

  it("reads a vkey whose base64 part contains '+'", async () => {
    for (let i = 0; i < 200; i++) {
      const { note, vkey } = await signedNote('log.example/x', 1, new Uint8Array(32));
      if (!vkey.split('+')[2] || vkey.split('+').length === 3) continue;
      expect((await openCheckpoint(utf8.encode(note), await parseVkey(vkey))).verified).toBe(true);
      return;
    }
    throw new Error('no key with + in 200 tries');
  });
});
