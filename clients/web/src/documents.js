// A document opened in the app (a field push's link or a step's document): read as the user from
// GET /me/documents/{id}/..., so Content Server's own permissions decide, and shown from a blob
// URL (PDFs in the browser's own viewer where it has one, images as images; a "Download" link
// beside each, the only way to read a PDF where the browser shows none inline, as on phones,
// `navigator.pdfViewerEnabled === false`; pdf.js is not worth its weight here). What was opened is kept in Cache
// Storage for a field worker without network, and deleted on sign-out (forgetDocuments).
import { t } from './i18n.js';

const STORE = 'ecmpush-documents-v1';
const SHOWN = new Set(['application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp']);

function key(nodeId) {
  return `${self.location.origin}/_ecmpush/documents/${encodeURIComponent(nodeId)}`;
}

/** The node id a push's link names (`.../documents/<digits>`), or null. */
export function documentOfLink(link) {
  try {
    const match = new URL(link).pathname.match(/\/documents\/(\d{1,19})\/?$/);
    return match ? match[1] : null;
  } catch {
    return null;
  }
}

async function kept(nodeId) {
  try {
    const answer = await (await caches.open(STORE)).match(key(nodeId));
    if (!answer) return null;
    return { blob: await answer.blob(), name: decodeURIComponent(answer.headers.get('X-Name') || '') };
  } catch {
    return null;
  }
}

async function keep(nodeId, name, blob) {
  try {
    const headers = { 'Content-Type': blob.type, 'X-Name': encodeURIComponent(name) };
    await (await caches.open(STORE)).put(key(nodeId), new Response(blob, { headers }));
  } catch {
    // No Cache Storage (a private window): the document is simply not kept.
  }
}

/** Deletes every kept document (sign-out: the next user of this browser must not read them). */
export async function forgetDocuments() {
  try {
    await caches.delete(STORE);
  } catch {
    // nothing kept
  }
}

const REFUSALS = { 403: 'documentRefused', 404: 'documentMissing', 422: 'documentMissing', 413: 'documentTooLarge' };

/**
 * Reads document `nodeId` and returns the element that shows it, or a sentence saying why not
 * (`data-state`: shown, kept, refused, failed). Never throws.
 */
export async function documentView(api, nodeId, el) {
  let name = '';
  try {
    const metadata = await api.documentMetadata(nodeId);
    name = metadata.name;
    if (metadata.too_large) return refusal(el, 'documentTooLarge', name);
    if (!SHOWN.has(metadata.mime_type)) return refusal(el, 'documentOther', name);
    const blob = await api.documentContent(nodeId, metadata.mime_type);
    await keep(nodeId, name, blob);
    return shown(el, name, blob, 'shown');
  } catch (error) {
    if (REFUSALS[error.status]) return refusal(el, REFUSALS[error.status], name);
    const copy = await kept(nodeId);
    if (copy) return shown(el, copy.name, copy.blob, 'kept', t('documentOffline'));
    return el('div', { class: 'document', 'data-testid': 'document', 'data-state': 'failed' },
      el('p', { role: 'alert' }, error.message));
  }
}

function refusal(el, words, name) {
  return el('div', { class: 'document', 'data-testid': 'document', 'data-state': 'refused' },
    name ? el('h2', {}, name) : null,
    el('p', { role: 'alert', 'data-testid': 'document-refused' }, t(words)));
}

function shown(el, name, blob, state, note = null) {
  const url = URL.createObjectURL(blob);
  let body;
  if (blob.type.startsWith('image/')) body = el('img', { src: url, alt: name, class: 'document-image' });
  else if (globalThis.navigator?.pdfViewerEnabled === false) {
    body = el('p', { class: 'meta', 'data-testid': 'document-no-viewer' }, t('noPdfViewer'));
  } else body = el('iframe', { src: url, title: name, class: 'document-frame' });
  const download = el('a', {
    href: url, download: fileName(name, blob.type), class: 'document-download', 'data-testid': 'document-download',
  }, t('download'));
  return el('div', { class: 'document', 'data-testid': 'document', 'data-state': state },
    el('h2', {}, name), note ? el('p', { class: 'meta' }, note) : null, body, el('p', {}, download));
}

const EXTENSIONS = {
  'application/pdf': '.pdf', 'image/png': '.png', 'image/jpeg': '.jpg', 'image/gif': '.gif', 'image/webp': '.webp',
};

/** The downloaded file's name: the document's, with the extension of its type if it has none. */
function fileName(name, type) {
  const base = name || 'document';
  return /\.[A-Za-z0-9]{2,5}$/.test(base) ? base : `${base}${EXTENSIONS[type] || ''}`;
}
