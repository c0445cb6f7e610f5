// /s/<token>: what someone sees who was sent a share link, without an account
// and without being asked to sign in. A shared capture, or a whole case: each
// item's plain-language verdict first, its picture or recording, its
// certificate, and the bundle when the link allows downloads. Everything comes
// from the public share endpoints (no token but the link's); a withdrawn or
// expired link says so.
import { fmtBytes, fmtTime, t, tx, type Key } from '../i18n';
import { placeName } from '../i18n/place';
import { checkName, checkNodes, verdictSentence } from '../i18n/server';
import { ApiError, apiFetch, type Shared, type SharedCapture } from '../shared/api';
import { fill, h, type View } from './dom';
import { icon, isIcon } from './icons';
import { errorText } from './problems';

export class SharePage implements View {
  readonly el: HTMLElement;
  private body: HTMLElement;
  private data: Shared | null = null;
  private token = '';
  private error: unknown = null;

  constructor() {
    this.body = h('div', { class: 'share-body', 'aria-live': 'polite' });
    this.el = h('section', { class: 'view share-page', 'data-testid': 'share-page', 'aria-labelledby': 'share-title' }, this.body);
  }

  async open(token: string): Promise<void> {
    this.token = token;
    this.body.replaceChildren(tx(h('p', { class: 'note' }), 'sharePage.loading'));
    try {
      this.data = await apiFetch<Shared>(`/s/${encodeURIComponent(token)}`);
      this.error = null;
    } catch (err) {
      this.data = null;
      this.error = err;
    }
    this.render();
  }

  relabel(): void {
    this.render();
  }

  private base(): string {
    return `/api/v1/s/${encodeURIComponent(this.token)}`;
  }

  private render(): void {
    if (this.error || !this.data) {
      const gone = this.error instanceof ApiError && (this.error.code === 'share_not_found' || this.error.status === 404);
      fill(this.body, 
        tx(h('h1', { id: 'share-title' }), gone ? 'sharePage.goneTitle' : 'sharePage.errorTitle'),
        h('p', { class: gone ? 'verdict gone' : 'error', 'data-testid': 'share-error', 'data-code': this.error instanceof ApiError ? this.error.code : '' },
          gone ? t('problem.share_not_found') : errorText(this.error)),
        gone ? tx(h('p', { class: 'note' }), 'sharePage.goneHint') : null,
        tx(h('a', { class: 'btn secondary', href: '/verify' }), 'sharePage.verifyPage'));
      return;
    }
    const d = this.data;
    const head = [
      tx(h('p', { class: 'eyebrow' }), d.kind === 'case' ? 'sharePage.caseEyebrow' : 'sharePage.captureEyebrow'),
      tx(h('p', { class: 'note' }), 'sharePage.until', { time: { time: d.expires_at } }),
    ];
    if (d.kind === 'case' && d.case) {
      const c = d.case;
      fill(this.body, 
        h('h1', { id: 'share-title', translate: 'no', 'data-testid': 'share-title' }, c.title),
        ...head,
        c.parties.length ? h('ul', { class: 'party-list' }, ...c.parties.map((p) => h('li', { translate: 'no' }, p.role ? h('strong', {}, p.role) : null, p.role ? ' ' : null, p.name))) : null,
        c.note ? h('p', { class: 'case-note', translate: 'no' }, c.note) : null,
        h('a', { class: 'btn primary', href: `${this.base()}/evidence-list.pdf`, target: '_blank', rel: 'noopener', 'data-testid': 'share-evidence-list' },
          icon('certificate'), tx(h('span', {}), 'sharePage.evidenceList')),
        tx(h('h2', {}), 'cases.items', { n: c.items.length }),
        h('ol', { class: 'shared-items' }, ...[...c.items].sort((a, b) => a.position - b.position).map((it, i) =>
          h('li', { class: 'card shared-item', 'data-testid': 'shared-item' },
            h('p', { class: 'item-number' }, t('cases.number', { n: i + 1 })),
            this.capture(it.capture, it.title, it.purpose)))),
        tx(h('p', { class: 'note' }), 'sharePage.howToCheck'));
    } else if (d.capture) {
      fill(this.body, 
        h('h1', { id: 'share-title', 'data-testid': 'share-title', ...(d.capture.title ? { translate: 'no' } : {}) }, d.capture.title || t(`kind.${d.capture.kind}` as Key)),
        ...head,
        this.capture(d.capture, null, null),
        tx(h('p', { class: 'note' }), 'sharePage.howToCheck'));
    }
  }

  private capture(c: SharedCapture, itemTitle: string | null, purpose: string | null): HTMLElement {
    const base = `${this.base()}/captures/${encodeURIComponent(c.id)}`;
    const sentence = verdictSentence(c.verdict);
    const mime = c.media.mime.split(';')[0];
    const media = mime.startsWith('image/')
      ? h('img', { class: 'media', src: `${base}/preview`, alt: t('detail.pictureAlt'), loading: 'lazy', 'data-testid': 'shared-image' })
      : mime.startsWith('video/') ? h('video', { class: 'media', src: `${base}/preview`, controls: true, playsinline: true, preload: 'metadata', poster: `${base}/thumbnail` })
        : mime.startsWith('audio/') ? h('div', { class: 'audio-box' }, icon('audio', undefined, 'icon big'), h('audio', { class: 'media', src: `${base}/preview`, controls: true, preload: 'metadata' }))
          : h('div', { class: 'media-file' }, icon(isIcon(c.kind) ? c.kind : 'file', undefined, 'icon big'), h('p', { class: 'note' }, h('span', { translate: 'no' }, c.media.mime), ' · ', fmtBytes(c.media.size)));
    const place = placeName(c.place);
    const flagged = c.checks.filter((x) => !x.ok).length;
    const checks = h('details', { class: 'expert' },
      h('summary', {}, h('span', { class: 'summary-title' }, t('detail.checks')),
        h('span', { class: 'summary-extra' }, flagged ? t('detail.checksFlagged', { n: flagged, total: c.checks.length }) : t('detail.checksAllOk', { n: c.checks.length }))),
      h('ul', { class: 'checks' }, ...c.checks.map((x) => h('li', { class: x.ok ? 'ok' : 'flag' },
        h('span', { class: 'check-mark', 'aria-hidden': 'true' }, x.ok ? '✓' : '!'), h('strong', {}, checkName(x.name)), h('br'),
        h('span', { class: 'check-detail' }, ...checkNodes(x))))),
      h('p', { class: 'note' }, 'SHA-256 ', h('code', { class: 'hash', translate: 'no' }, c.media.sha256)));
    const dl = this.data?.allow_download
      ? h('a', { class: 'btn secondary', href: `${base}/bundle`, download: '', 'data-testid': 'shared-bundle' }, icon('download'), tx(h('span', {}), 'sharePage.bundle'))
      : null;
    return h('article', { class: 'shared-capture', 'data-testid': 'shared-capture', 'data-id': c.id },
      sentence ? h('p', { class: 'verdict', 'data-testid': 'verdict' }, sentence) : null,
      itemTitle ? h('h3', { translate: 'no' }, itemTitle) : null,
      purpose ? h('p', {}, tx(h('strong', {}), 'cases.purpose'), ' ', h('span', { translate: 'no' }, purpose)) : null,
      h('div', { class: 'media-box' }, media),
      c.title && itemTitle !== c.title ? h('p', { translate: 'no' }, h('strong', {}, c.title)) : null,
      c.note ? h('p', { class: 'case-note', translate: 'no' }, c.note) : null,
      h('p', { class: 'note' }, t(`kind.${c.kind}` as Key), ' · ', fmtTime((c.manifest?.captured as { start?: string } | undefined)?.start ?? c.received_at,
        { tz: ((c.manifest?.device as { timezone?: string } | undefined)?.timezone) || undefined }),
      place ? ' · ' : null, place ? h('span', { translate: 'no' }, place) : null),
      h('div', { class: 'button-row' },
        h('a', { class: 'btn primary', href: `${base}/certificate.pdf`, target: '_blank', rel: 'noopener', 'data-testid': 'shared-certificate' },
          icon('certificate'), tx(h('span', {}), 'sharePage.certificate')),
        dl),
      checks);
  }
}
