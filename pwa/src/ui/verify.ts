// /verify?capture=<id>: checks a capture's receipt in this browser: the leaf
// hash against the entry, the inclusion proof against the checkpoint root,
// and (where WebCrypto has Ed25519) the checkpoint signature against the
// log's published key.
import { fmtTime, t, tx, type Key } from '../i18n';
import { apiFetch, ApiError, type Receipt, type ServerCapture } from '../shared/api';
import { b64, fromB64, utf8 } from '../shared/bytes';
import { leafHash, parseCheckpoint, verifyCheckpointSignature, verifyInclusion } from '../shared/merkle';
import { h, type View } from './dom';

export class VerifyView implements View {
  readonly el: HTMLElement;
  private body: HTMLElement;

  constructor() {
    this.body = h('div', { class: 'verify-body', 'aria-live': 'polite' });
    this.el = h('section', { class: 'view verify', 'aria-labelledby': 'verify-title' },
      tx(h('h1', { id: 'verify-title' }), 'verify.title'), this.body,
      tx(h('a', { class: 'btn secondary wide', href: '/' }), 'verify.open'));
  }

  async check(id: string | null, token: string | null): Promise<void> {
    if (!id) return void this.body.replaceChildren(tx(h('p', {}), 'verify.missing'));
    if (!token) return void this.body.replaceChildren(h('p', {}, h('code', {}, id)), tx(h('p', {}), 'verify.signIn'));
    const out: Node[] = [h('p', {}, t('verify.capture'), ' ', h('code', { class: 'hash' }, id))];
    try {
      const capture = await apiFetch<ServerCapture>(`/captures/${encodeURIComponent(id)}`, { token });
      out.push(h('p', {}, t(`mode.${capture.kind}` as Key), ' · ', h('code', { class: 'hash' }, capture.media.sha256)), h('p', {}, fmtTime(capture.received_at)));
      let receipt: Receipt;
      try {
        receipt = await apiFetch<Receipt>(`/captures/${encodeURIComponent(id)}/receipt`, { token });
      } catch (err) {
        if (err instanceof ApiError && err.code === 'not_anchored') {
          out.push(tx(h('p', {}), 'verify.notAnchored'));
          return void this.body.replaceChildren(...out);
        }
        throw err;
      }
      const leaf = await leafHash(utf8.encode(receipt.entry));
      const leafOk = b64(leaf) === receipt.leaf_hash;
      const cp = parseCheckpoint(receipt.checkpoint);
      const inclusionOk = !!cp && cp.size === receipt.tree_size &&
        (await verifyInclusion(receipt.leaf_index, receipt.tree_size, leaf, receipt.inclusion_proof.map(fromB64), cp.root));
      let sigOk: boolean | null = null;
      if (cp) {
        try {
          const log = await apiFetch<{ vkey: string }>('/log');
          sigOk = await verifyCheckpointSignature(cp, log.vkey);
        } catch {
          sigOk = null;
        }
      }
      const line = (label: Key, ok: boolean | null) =>
        h('li', { class: ok === null ? 'skip' : ok ? 'ok' : 'flag' }, t(label), ': ',
          h('strong', {}, t(ok === null ? 'verify.skipped' : ok ? 'verify.ok' : 'verify.fail')));
      out.push(h('ul', { class: 'checks' }, line('verify.leaf', leafOk), line('verify.inclusion', inclusionOk), line('verify.signatureNote', sigOk)));
      out.push(h('pre', { class: 'note-text' }, receipt.checkpoint));
    } catch (err) {
      out.push(h('p', { class: 'error' }, t('err.generic', { detail: err instanceof ApiError ? `${err.code}: ${err.detail}` : String(err) })));
    }
    this.body.replaceChildren(...out);
  }
}
