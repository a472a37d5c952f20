// Receipts (docs/design/receipts.md): what became of each push in this browser — received,
// displayed, opened, dismissed — sent to POST /me/receipts with the installation id the browser
// registered under. They wait in Cache Storage until the server has them: the service worker may
// be stopped at any moment and the browser may be offline. Only the first report of each kind
// is kept (here and by the server), so sending one twice is harmless.
import { readBody } from './http.js';

const STORE = 'ecmpush-receipts-v1';
export const MAX_RECEIPTS = 25; // ecmpush.domain.delivery.receipts.MAX_RECEIPTS
// Backoff while receipts wait: `not_sent_yet` (the server has not recorded FCM's answer yet), no
// connection, a 5xx. After the last, they wait for the next push, click, page load or sync.
const RETRY_MS = [1000, 3000, 8000, 20000];
const KEEP_MS = 7 * 24 * 3600 * 1000; // the server keeps deliveries no longer than this matters
export const SYNC_TAG = 'ecmpush-receipts';

function key(notificationId, event) {
  const id = encodeURIComponent(notificationId);
  return `${self.location.origin}/_ecmpush/receipts/${id}/${event}`;
}

/** Queues one receipt (the first of its kind for the push). Never throws. */
export async function recordReceipt(payload, event, installationId) {
  const notificationId = payload?.data?.notification_id;
  if (!notificationId || !installationId) return;
  try {
    const store = await caches.open(STORE);
    const name = key(notificationId, event);
    if (await store.match(name)) return;
    const receipt = {
      notification_id: notificationId,
      installation_id: installationId,
      event,
      at: new Date().toISOString(),
    };
    await store.put(name, new Response(JSON.stringify(receipt)));
  } catch {
    // No Cache Storage (a private window may refuse it): this receipt is not reported.
  }
}

async function queued(store) {
  const found = await Promise.all((await store.keys()).map(async (request) => {
    try {
      const receipt = await (await store.match(request)).json();
      if (Date.now() - Date.parse(receipt.at) < KEEP_MS) return { request, receipt };
    } catch {
      // unreadable: forgotten below
    }
    await store.delete(request);
    return null;
  }));
  return found.filter(Boolean);
}

/** One pass over the queue: the number of receipts still waiting. */
async function sendQueued(apiBase, idToken) {
  const store = await caches.open(STORE);
  const entries = await queued(store);
  if (!entries.length) return 0;
  let token;
  try {
    token = await idToken();
  } catch {
    token = null;
  }
  if (!token) return entries.length; // signed out: they wait for the next sign-in
  let waiting = 0;
  for (let start = 0; start < entries.length; start += MAX_RECEIPTS) {
    const batch = entries.slice(start, start + MAX_RECEIPTS);
    let response;
    try {
      response = await fetch(`${apiBase}/me/receipts`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ receipts: batch.map((e) => e.receipt) }),
      });
    } catch {
      return entries.length - start + waiting; // offline
    }
    if (response.ok) {
      const { results = [] } = await readBody(response);
      for (const [index, entry] of batch.entries()) {
        if (results[index] === 'not_sent_yet') waiting += 1;
        else await store.delete(entry.request);
      }
    } else if (response.status === 401 || response.status === 429 || response.status >= 500) {
      waiting += batch.length;
    } else {
      // Refused for good (a clock far ahead, a malformed entry): it would never pass.
      await Promise.all(batch.map((e) => store.delete(e.request)));
    }
  }
  return waiting;
}

let flushing = null;

/**
 * Sends what waits, with backoff while the server says "not sent yet" or cannot be reached;
 * one flush at a time in this context. Resolves to the number still waiting. Never throws.
 */
export function flushReceipts(apiBase, idToken) {
  flushing ??= (async () => {
    let waiting = 0;
    for (let attempt = 0; attempt <= RETRY_MS.length; attempt += 1) {
      try {
        waiting = await sendQueued(apiBase, idToken);
      } catch {
        waiting = -1; // Cache Storage refused: nothing to do here
      }
      if (waiting <= 0 || attempt === RETRY_MS.length) break;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS[attempt]));
    }
    return waiting;
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}
