// The pushes this browser received that still wait for an answer, kept in Cache Storage (the page
// and the service worker both read it). Two uses: a card survives a reload until it is answered,
// and `#open=<notification id>` (how the worker opens the page from a notification) can only
// show a push this browser itself received: a link carries an id, never a payload, so a crafted
// link cannot draw a card with made-up words around someone's buttons.
import { offeredActions } from './replies.js';

const STORE = 'ecmpush-pushes-v1';
// An action token lives 7 days by default (ECMPUSH_ACTION_TOKEN_TTL_HOURS, 168): a push kept
// longer could not be answered any more, so it is forgotten.
const KEEP_MS = 7 * 24 * 3600 * 1000;

function key(notificationId) {
  return `${self.location.origin}/_ecmpush/pushes/${encodeURIComponent(notificationId)}`;
}

/** Keeps a push that offers answers (others need no card later). Never throws. */
export async function keepPush(payload) {
  const id = payload?.data?.notification_id;
  if (!id || !offeredActions(payload.data).length) return;
  try {
    const store = await caches.open(STORE);
    await store.put(key(id), new Response(JSON.stringify({ payload, keptAt: Date.now() })));
  } catch {
    // No Cache Storage (a private window may refuse it): the card simply does not survive.
  }
}

async function entries() {
  let store;
  try {
    store = await caches.open(STORE);
  } catch {
    return [];
  }
  const found = await Promise.all((await store.keys()).map(async (request) => {
    try {
      const kept = await (await store.match(request)).json();
      if (kept?.payload?.data && Date.now() - kept.keptAt < KEEP_MS) return kept;
    } catch {
      // gone meanwhile, or not ours: forgotten below
    }
    await store.delete(request);
    return null;
  }));
  return found.filter(Boolean);
}

/** The kept push with this notification id, or null. */
export async function keptPush(notificationId) {
  const found = (await entries()).find((k) => k.payload.data.notification_id === notificationId);
  return found ? found.payload : null;
}

/** Every kept push, oldest first. */
export async function keptPushes() {
  return (await entries()).sort((a, b) => a.keptAt - b.keptAt).map((k) => k.payload);
}

/** Forgets a push once it is answered (or can no longer be). */
export async function forgetPush(notificationId) {
  try {
    await (await caches.open(STORE)).delete(key(notificationId));
  } catch {
    // nothing kept
  }
}

/** Forgets every kept push: on sign-out, and before another user's session. */
export async function forgetPushes() {
  try {
    await caches.delete(STORE);
  } catch {
    // nothing kept
  }
}
