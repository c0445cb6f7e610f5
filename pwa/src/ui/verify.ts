// /verify: the public verification page (no account needed).
//
// - Drop or pick an evidence bundle (.zip): the checks of the offline
//   verifier run in this browser (verify/bundle.ts); only the RFC 3161
//   tokens and the checkpoint text go to the server, which explains them.
//   What a browser cannot check (the certificate's PAdES signature, C2PA
//   credentials) is listed as not checked here, never as passed.
// - Drop or pick any original file: it is hashed here and only the SHA-256 is
//   sent, to learn whether and when it was anchored.
// - Signed in, /verify?capture=<id> also checks that capture's receipt.
//
// Files are never uploaded: they are read with Blob.slice, a few MiB at a time.
import { fmtBytes, fmtList, isTimeText, t, tx, type Key, type Param, type Params } from '../i18n';
import { section, verdictSentence, type VerdictPart } from '../i18n/server';
import { apiFetch, ApiError, type Receipt, type ServerCapture } from '../shared/api';
import { b64, fromB64, utf8 } from '../shared/bytes';
import { leafHash, verifyInclusion } from '../shared/merkle';
import { NoteError, openCheckpoint, parseCheckpointBody, parseVkey, type Checkpoint } from '../shared/note';
import { explainTimestamp, lookupHash, serverVkey, type LookupMatch } from '../verify/api';
import { BundleUnusable, openBundleZip, stepMsg, verifyBundle, ZipSource, type BundleReport, type Check, type Msg, type MsgParam } from '../verify/bundle';
import { hashBlob } from '../verify/hash';
import { colon, h, type View } from './dom';
import { errorText, problemText } from './problems';

const CHECK_LABEL: Record<string, Key> = {
  SHA256SUMS: 'verify.check.sums',
  read: 'verify.check.read',
  layout: 'verify.check.layout',
  manifest: 'verify.check.manifest',
  device_key: 'verify.check.deviceKey',
  signature: 'verify.check.signature',
  log_entry: 'verify.check.logEntry',
  media: 'verify.check.media',
  chunks: 'verify.check.chunks',
  log_key: 'verify.check.logKey',
  checkpoint: 'verify.check.checkpoint',
  inclusion: 'verify.check.inclusion',
  tsa_chain: 'verify.check.tsaChain',
  timestamp: 'verify.check.timestamp',
  sums_signature: 'verify.check.sumsSignature',
  certificate: 'verify.check.certificate',
  credentials: 'verify.check.credentials',
  custody: 'verify.check.custody',
  web_files: 'verify.check.webFiles',
  web_recorder: 'verify.check.webRecorder',
  continuity: 'verify.check.continuity',
  transcript: 'verify.check.transcript',
};

const STEP_LABEL: Record<string, Key> = {
  parse: 'verify.step.parse',
  status: 'verify.step.status',
  tsa: 'verify.step.tsa',
  gen_time: 'verify.step.genTime',
  policy: 'verify.step.policy',
  hash_algorithm: 'verify.step.hashAlgorithm',
  message_imprint: 'verify.step.imprint',
  signer_certificate: 'verify.step.signer',
  chain: 'verify.step.chain',
  signature: 'verify.step.signature',
  independence: 'verify.step.independence',
};

const MARK = { pass: '\u2713', fail: '\u2717', skip: '\u2013', info: '\u2139' } as const;
const STATUS_LABEL: Record<Check['status'], Key> = {
  pass: 'verify.status.pass',
  fail: 'verify.status.fail',
  skip: 'verify.status.skip',
  info: 'verify.status.info',
};

/** A term from the server's catalogue in both languages (so a language switch relabels it). */
function both(sec: 'kind' | 'custody', key: string): Param {
  const e = section(sec)[key];
  return e ? { en: e.en, 'zh-CN': e['zh-CN'] } : { raw: key };
}

const PLAIN_NUMBER = /^\d+$/;

/**
 * A verifier message's parameters for display: kinds and custody events in the
 * reader's language, times local with their offset, numbers as numbers, and
 * everything else (file names, hashes, key ids, subjects) as data, marked
 * translate="no".
 */
function localize(params: Record<string, MsgParam> | undefined): Params | undefined {
  if (!params) return undefined;
  const out: Params = {};
  for (const [k, v] of Object.entries(params)) {
    if (typeof v === 'number') out[k] = v;
    else if (Array.isArray(v)) out[k] = { list: v.map((m) => ({ key: m.key, params: localize(m.params) })) };
    else if (k === 'kind') out[k] = both('kind', v);
    else if (k === 'events') out[k] = { list: v.split(/,\s*/).filter(Boolean).map((e) => both('custody', e)) };
    else if (k === 'step' && STEP_LABEL[v]) out[k] = { key: STEP_LABEL[v] };
    else if (isTimeText(v)) out[k] = { time: v };
    else if (PLAIN_NUMBER.test(v)) out[k] = v;
    else out[k] = { raw: v };
  }
  return out;
}

/** A verifier message in the reader's language (relabelled on a language switch). */
function msgSpan(msg: Msg, attrs: Record<string, string> = {}): HTMLElement {
  return tx(h('span', { class: 'check-detail', ...attrs }), msg.key, localize(msg.params));
}

export class VerifyView implements View {
  readonly el: HTMLElement;
  private receiptBox: HTMLElement;
  private lead: HTMLElement; // a link's answer (the certificate's QR code): above everything
  private leadMatch: LookupMatch | null | undefined = undefined;
  private body: HTMLElement;
  private out: HTMLElement;
  private progress: HTMLElement;
  private bar: HTMLProgressElement;
  private progressText: HTMLElement;
  private bundleInput: HTMLInputElement;
  private fileInput: HTMLInputElement;
  private zone: HTMLElement;
  private job: AbortController | null = null;

  constructor() {
    this.body = h('div', { class: 'verify-body', 'aria-live': 'polite' });
    this.lead = h('section', { class: 'verify-lead', 'aria-live': 'polite', hidden: true, 'data-testid': 'verify-lead' });
    this.receiptBox = h('section', { class: 'card verify-receipt', hidden: true },
      tx(h('h2', {}), 'verify.receiptTitle'), this.body);
    this.bundleInput = h('input', { type: 'file', id: 'bundle-input', class: 'vh', accept: '.zip,application/zip', 'data-testid': 'bundle-input',
      on: { change: () => this.picked(this.bundleInput, 'bundle') } });
    this.fileInput = h('input', { type: 'file', id: 'file-input', class: 'vh', 'data-testid': 'file-input',
      on: { change: () => this.picked(this.fileInput, 'file') } });
    this.zone = h('div', { class: 'dropzone', 'data-testid': 'dropzone',
      on: {
        dragover: (e) => {
          e.preventDefault();
          this.zone.classList.add('over');
        },
        dragleave: () => this.zone.classList.remove('over'),
        drop: (e) => {
          e.preventDefault();
          this.zone.classList.remove('over');
          const file = (e as DragEvent).dataTransfer?.files?.[0];
          if (file) void this.handle(file, 'auto');
        },
      } },
      tx(h('p', { class: 'dropzone-title' }), 'verify.drop'),
      h('div', { class: 'dropzone-buttons' },
        this.bundleInput, tx(h('label', { class: 'btn primary', htmlFor: 'bundle-input' }), 'verify.pickBundle'),
        this.fileInput, tx(h('label', { class: 'btn', htmlFor: 'file-input' }), 'verify.pickFile')));
    this.bar = h('progress', { max: 100, value: 0 });
    this.progressText = h('span', {});
    this.progress = h('div', { class: 'verify-progress', hidden: true, 'data-testid': 'verify-progress' }, this.bar, this.progressText);
    this.out = h('section', { class: 'verify-out', 'aria-live': 'polite', 'data-testid': 'verify-out' });
    this.el = h('section', { class: 'view verify', 'aria-labelledby': 'verify-title' },
      tx(h('h1', { id: 'verify-title' }), 'verify.title'),
      this.lead,
      tx(h('p', { class: 'intro' }), 'verify.intro'),
      this.receiptBox,
      this.zone,
      tx(h('p', { class: 'note verify-privacy' }), 'verify.privacy'),
      this.progress,
      this.out,
      tx(h('a', { class: 'btn secondary wide', href: '/' }), 'verify.open'));
  }

  private picked(input: HTMLInputElement, as: 'bundle' | 'file'): void {
    const file = input.files?.[0];
    input.value = '';
    if (file) void this.handle(file, as);
  }

  // -- dropped or picked files -------------------------------------------------

  private async handle(file: File, as: 'bundle' | 'file' | 'auto'): Promise<void> {
    this.job?.abort();
    const job = (this.job = new AbortController());
    this.out.replaceChildren();
    try {
      const zip = as === 'file' ? null : await openBundleZip(file);
      if (job.signal.aborted) return;
      if (zip) await this.checkBundle(file, new ZipSource(zip), job.signal);
      else if (as === 'bundle') this.out.replaceChildren(tx(h('p', { class: 'error', 'data-testid': 'verify-error' }), 'verify.notBundle', { name: { raw: file.name } }));
      else await this.lookup(file, job.signal);
    } catch (err) {
      if (job.signal.aborted) return;
      const text = err instanceof BundleUnusable ? t(err.msg.key, localize(err.msg.params)) : errorText(err);
      this.out.replaceChildren(h('p', { class: 'error', 'data-testid': 'verify-error' }, t('err.generic', { detail: text })));
    } finally {
      if (this.job === job) {
        this.progress.hidden = true;
        this.job = null;
      }
    }
  }

  private showProgress(name: string): (done: number, total: number) => void {
    const t0 = performance.now();
    this.progress.hidden = false;
    this.bar.value = 0;
    return (done, total) => {
      const percent = total ? Math.floor((100 * done) / total) : 100;
      const secs = (performance.now() - t0) / 1000;
      this.bar.value = percent;
      tx(this.progressText, 'verify.hashing', { name: { raw: name }, percent, speed: secs > 0 ? (done / 1e6 / secs).toFixed(0) : '-' });
    };
  }

  private async checkBundle(file: File, source: ZipSource, signal: AbortSignal): Promise<void> {
    const vkey = serverVkey(signal);
    const report = await verifyBundle(source, {
      timestamp: (token, checkpoint) => explainTimestamp(token, checkpoint, signal),
      serverVkey: await vkey,
      onProgress: this.showProgress(file.name),
      signal,
    });
    if (signal.aborted) return;
    this.renderReport(file.name, report);
  }

  private renderReport(name: string, report: BundleReport): void {
    const passed = report.checks.filter((c) => c.status === 'pass').length;
    const summary = report.failed
      ? tx(h('p', { class: 'result fail' }), 'verify.result.fail', { n: report.failed })
      : report.skipped
        ? tx(h('p', { class: 'result skip' }), 'verify.result.skip', { n: passed, skipped: report.skipped })
        : report.notInBrowser.length
          ? tx(h('p', { class: 'result ok' }), 'verify.result.okPartial', { n: passed, m: report.notInBrowser.length })
          : tx(h('p', { class: 'result ok' }), 'verify.result.ok', { n: passed });
    summary.dataset.testid = 'verify-result';
    summary.dataset.ok = String(report.ok);
    summary.dataset.failed = String(report.failed);
    const c = report.capture;
    this.out.replaceChildren(
      tx(h('h2', {}), 'verify.bundleTitle', { name: { raw: name } }),
      summary,
      h('ul', { class: 'checks bundle-checks' }, ...report.checks.map((check) => this.checkLine(check))),
      ...(report.notInBrowser.length ? [this.notInBrowser(report.notInBrowser)] : []),
      h('dl', { class: 'kv' },
        tx(h('dt', {}), 'verify.media'), h('dd', {}, h('code', { translate: 'no' }, c.media), ' · ', fmtBytes(c.mediaSize)),
        tx(h('dt', {}), 'detail.sha256'), h('dd', {}, h('code', { class: 'hash', translate: 'no', 'data-testid': 'media-sha256' }, c.mediaSha256)),
        tx(h('dt', {}), 'detail.keyId'), h('dd', {}, h('code', { class: 'hash', translate: 'no' }, c.keyId)),
        tx(h('dt', {}), 'verify.hashSpeed'),
        tx(h('dd', { 'data-testid': 'hash-speed', 'data-ms': String(Math.round(c.mediaMs)), 'data-bytes': String(c.mediaSize) }), 'verify.speed',
          { seconds: (c.mediaMs / 1000).toFixed(2), speed: c.mediaMs > 0 && c.mediaSize >= 1e6 ? (c.mediaSize / 1e6 / (c.mediaMs / 1000)).toFixed(0) : '-' })),
      tx(h('p', { class: 'note' }), 'verify.trustNote'));
  }

  /** Which checks were left to `fieldproof verify`: named, in the user's language. */
  private notInBrowser(names: string[]): HTMLElement {
    const el = h('p', { class: 'note not-in-browser', 'data-testid': 'not-in-browser', 'data-checks': names.join(' ') });
    return this.labelNotInBrowser(el);
  }

  private labelNotInBrowser(el: HTMLElement): HTMLElement {
    const names = (el.dataset.checks ?? '').split(' ').filter(Boolean);
    const labels = names.map((n) => t(CHECK_LABEL[n] ?? 'verify.check.other'));
    el.textContent = t('verify.notInBrowser', { checks: fmtList(labels) });
    return el;
  }

  /** After a language switch (tx() texts are relabelled by the controller): the composed ones. */
  relabel(): void {
    this.leadVerdict();
    this.out.querySelectorAll<HTMLElement>('[data-testid="not-in-browser"]').forEach((el) => this.labelNotInBrowser(el));
  }

  private checkLine(check: Check): HTMLElement {
    const li = h('li', { class: { pass: 'ok', fail: 'flag bad', skip: 'skip', info: 'info' }[check.status],
      'data-testid': 'check', 'data-name': check.name, 'data-status': check.status },
      h('span', { class: 'check-mark', 'aria-hidden': 'true' }, MARK[check.status]),
      tx(h('span', { class: 'vh' }), STATUS_LABEL[check.status]),
      tx(h('strong', {}), CHECK_LABEL[check.name] ?? 'verify.check.other'), colon(),
      msgSpan(check.msg, { 'data-testid': 'check-detail' }));
    if (check.embedded) li.append(tx(h('p', { class: 'embedded-note' }), 'verify.embedded'));
    if (check.steps?.length) {
      li.append(h('details', { class: 'steps' },
        tx(h('summary', {}), 'verify.steps'),
        h('ol', {}, ...check.steps.map((s) => h('li', { class: s.ok ? 'ok' : 'flag', 'data-step': s.step },
          h('span', { class: 'check-mark', 'aria-hidden': 'true' }, s.ok ? MARK.pass : MARK.fail),
          STEP_LABEL[s.step] ? tx(h('strong', {}), STEP_LABEL[s.step]) : h('strong', {}, s.step), colon(),
          msgSpan(stepMsg(s)))))));
    }
    return li;
  }

  private async lookup(file: File, signal: AbortSignal): Promise<void> {
    const digest = await hashBlob(file, { onProgress: this.showProgress(file.name), signal });
    if (signal.aborted) return;
    const head = [
      tx(h('h2', {}), 'verify.lookupTitle', { name: { raw: file.name } }),
      h('p', {}, fmtBytes(digest.size), ' · SHA-256 ', h('code', { class: 'hash', translate: 'no', 'data-testid': 'lookup-sha256' }, digest.sha256)),
    ];
    await this.showLookup(head, digest.sha256, signal);
  }

  /**
   * /verify?sha256=<hex> (the certificate's QR code): look the hash up, no file
   * and no account needed, and answer first, in one sentence; the details follow.
   */
  async lookupLink(sha256: string | null): Promise<void> {
    if (!sha256 || !/^[0-9a-f]{64}$/.test(sha256)) return;
    this.lead.hidden = false;
    const head = [h('p', {}, 'SHA-256 ', h('code', { class: 'hash', translate: 'no', 'data-testid': 'lookup-sha256' }, sha256))];
    await this.showLookup(head, sha256, new AbortController().signal, this.lead);
  }

  /** The lead's sentence, from the server's catalogue in the reader's language. */
  private leadVerdict(): void {
    const el = this.lead.querySelector<HTMLElement>('[data-testid="verdict"]');
    const m = this.leadMatch;
    if (!el || m === undefined) return;
    const parts: VerdictPart[] = !m ? [{ code: 'lookup_not_found' }]
      : [{ code: 'lookup_found', params: { kind: m.kind, received_at: m.received_at } }];
    const stamp = m?.anchored ? (m.checkpoint?.timestamps[0]?.gen_time ?? m.checkpoint?.created_at) : null;
    if (stamp) parts.push({ code: 'lookup_anchored', params: { stamped_at: stamp } });
    el.textContent = verdictSentence(parts) ?? '';
  }

  private async showLookup(head: Node[], sha256: string, signal: AbortSignal, target = this.out): Promise<void> {
    target.replaceChildren(...head, tx(h('p', { class: 'note' }), 'verify.lookup.asking'));
    const res = await lookupHash(sha256, signal);
    if (signal.aborted) return;
    if (target === this.lead) {
      this.leadMatch = res.found ? (res.matches.find((m) => m.anchored) ?? res.matches[0]) : null;
      const verdict = h('p', { class: `verdict${res.found ? '' : ' gone'}`, 'data-testid': 'verdict' });
      const details = h('details', { class: 'card expert' }, tx(h('summary', {}), 'verify.lookup.details'), h('div', {}));
      target.replaceChildren(verdict, details);
      this.leadVerdict();
      target = details.lastElementChild as HTMLElement;
    }
    const result = res.found
      ? tx(h('p', { class: 'result ok' }), 'verify.lookup.found', { n: res.matches.length })
      : tx(h('p', { class: 'result fail' }), 'verify.lookup.notFound');
    result.dataset.testid = 'lookup-result';
    result.dataset.found = String(res.found);
    target.replaceChildren(...head, result,
      ...(res.found ? [h('ul', { class: 'checks lookup-matches' }, ...res.matches.map((m) => this.matchLine(m)))] : []),
      tx(h('p', { class: 'note' }), res.found ? 'verify.lookup.noteFound' : 'verify.lookup.noteMissing'));
  }

  private matchLine(m: LookupMatch): HTMLElement {
    const kind = t(`kind.${m.kind}` as Key);
    const li = h('li', { class: m.anchored ? 'ok' : 'skip', 'data-testid': 'lookup-match', 'data-anchored': String(m.anchored),
      'data-leaf': m.leaf_index === null ? '' : String(m.leaf_index) },
      h('strong', {}, kind),
      m.partial ? tx(h('span', { class: 'badge status-interrupted' }), 'status.interrupted') : null, ' ',
      tx(h('span', {}), m.matched === 'media' ? 'verify.lookup.byMedia' : 'verify.lookup.byManifest'),
      h('br', {}),
      tx(h('span', {}), 'verify.lookup.received', { time: { time: m.received_at } }));
    if (m.anchored && m.checkpoint) {
      li.append(h('br', {}), tx(h('span', {}), 'verify.lookup.anchored', { index: m.leaf_index ?? '?', size: m.checkpoint.tree_size, time: { time: m.checkpoint.created_at } }));
      li.append(h('ul', { class: 'stamps' }, ...m.checkpoint.timestamps.map((s) =>
        tx(h('li', { 'data-testid': 'lookup-stamp' }), s.embedded ? 'verify.lookup.stampEmbedded' : 'verify.lookup.stamp', { tsa: { raw: s.tsa }, time: { time: s.gen_time } }))));
    } else {
      li.append(h('br', {}), tx(h('span', {}), 'verify.lookup.pending'));
    }
    return li;
  }

  // -- a signed-in user's own capture (/verify?capture=<id>) ---------------------

  async check(id: string | null, token: string | null): Promise<void> {
    this.receiptBox.hidden = !id;
    if (!id) return;
    // Signed out (someone scanned a certificate): nothing to ask; the lookup answers.
    if (!token) return void (this.receiptBox.hidden = true);
    const out: Node[] = [h('p', {}, tx(h('span', {}), 'verify.capture'), ' ', h('code', { class: 'hash', translate: 'no' }, id))];
    try {
      const capture = await apiFetch<ServerCapture>(`/captures/${encodeURIComponent(id)}`, { token });
      out.push(h('p', {}, tx(h('span', {}), `kind.${capture.kind}` as Key), ' · ', h('code', { class: 'hash', translate: 'no' }, capture.media.sha256)),
        h('p', {}, tx(h('span', {}), 'time.plain', { t: { time: capture.received_at } })));
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
      let cp: Checkpoint | null = null;
      try {
        cp = parseCheckpointBody(receipt.checkpoint.slice(0, receipt.checkpoint.lastIndexOf('\n\n') + 1));
      } catch {
        cp = null;
      }
      // The signature, by the key the log publishes: false if it does not verify,
      // null if it could not be checked (log unreachable, no Ed25519 here).
      let sigOk: boolean | null = null;
      try {
        const key = await parseVkey((await apiFetch<{ vkey: string }>('/log')).vkey);
        sigOk = (await openCheckpoint(utf8.encode(receipt.checkpoint), key)).verified;
      } catch (err) {
        sigOk = err instanceof NoteError ? false : null;
      }
      const inclusionOk = !!cp && cp.size === receipt.tree_size &&
        (await verifyInclusion(receipt.leaf_index, receipt.tree_size, leaf, receipt.inclusion_proof.map(fromB64), cp.root));
      const line = (label: Key, ok: boolean | null) =>
        h('li', { class: ok === null ? 'skip' : ok ? 'ok' : 'flag' }, tx(h('span', {}), label), colon(),
          tx(h('strong', {}), ok === null ? 'verify.skipped' : ok ? 'verify.ok' : 'verify.fail'));
      out.push(h('ul', { class: 'checks' }, line('verify.leaf', leafOk), line('verify.inclusion', inclusionOk), line('verify.signatureNote', sigOk)));
      out.push(h('pre', { class: 'note-text', translate: 'no' }, receipt.checkpoint));
    } catch (err) {
      out.push(tx(h('p', { class: 'error' }), 'err.generic', { detail: err instanceof ApiError ? { key: 'problem.withDetail', params: { message: problemText(err), detail: { raw: err.code } } } : String(err) }));
    }
    this.body.replaceChildren(...out);
  }
}
