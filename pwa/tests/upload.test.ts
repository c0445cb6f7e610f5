import { describe, expect, it } from 'vitest';
import { captureUpload, MAX_MANIFEST_HEADER } from '../src/shared/api';
import { fromB64url } from '../src/shared/bytes';

describe('captureUpload', () => {
  it('sends the media as the body, the manifest and signature in headers', async () => {
    const manifest = JSON.stringify({ name: '合同.pdf', kind: 'import' });
    const media = new Blob([new Uint8Array([1, 2, 3])], { type: 'application/pdf' });
    const { body, headers } = captureUpload(manifest, 'c2ln', media, '合同.pdf');
    expect(body).toBe(media);
    expect(headers['Content-Type']).toBe('application/pdf');
    expect(headers['FieldProof-Signature']).toBe('c2ln');
    expect(new TextDecoder().decode(fromB64url(headers['FieldProof-Manifest']))).toBe(manifest);
    expect(headers['FieldProof-Manifest']).toMatch(/^[A-Za-z0-9_-]+$/); // header-safe, unpadded
  });

  it('sends a manifest too long for a header as a form, media last', () => {
    const manifest = JSON.stringify({ pad: 'x'.repeat(MAX_MANIFEST_HEADER) });
    const media = new Blob(['abc']);
    const { body, headers } = captureUpload(manifest, 'c2ln', media, 'm.bin');
    expect(headers).toEqual({});
    expect(body).toBeInstanceOf(FormData);
    const form = body as FormData;
    expect([...form.keys()]).toEqual(['manifest', 'signature', 'media']);
    expect(form.get('manifest')).toBe(manifest);
  });
});
