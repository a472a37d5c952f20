// Replies tapped offline wait here until the API has answered them: one entry per push, in Cache
// Storage, which the page and the service worker both read (localStorage is the page's alone). The
// page asks for a Background Sync when it queues one, so the worker sends it when the network is
// back even if the page is closed; without Background Sync the page sends on `online` or when it
// opens. Whoever sends takes the push's Web Lock and reads the entry again first, so a reply
// leaves once however many contexts try (an action token answers once).
import { NO_ANSWER } from './replies.js';

const STORE = 'ecmpush-outbox-v1';
export const REPLY_SYNC_TAG = 'ecmpush-replies';

function key(notificationId) {
  return `${self.location.origin}/_ecmpush/outbox/${encodeURIComponent(notificationId)}`;
}

/** Queues the reply to a push (replacing an earlier one for it). Never throws. */
export async function keepWaitingReply(notificationId, action, comment) {
  try {
    const store = await caches.open(STORE);
    await store.put(key(notificationId), new Response(JSON.stringify({ notificationId, action, comment })));
  } catch {
    // No Cache Storage (a private window may refuse it): the card's buttons stay for a retry.
  }
}

async function waitingReply(store, request) {
  try {
    const reply = await (await store.match(request))?.json();
    if (typeof reply?.notificationId === 'string' && typeof reply.action === 'string') return reply;
  } catch {
    // unreadable: forgotten below
  }
  await store.delete(request);
  return null;
}

/** Every reply waiting: `{notificationId, action, comment}`. */
export async function waitingReplies() {
  try {
    const store = await caches.open(STORE);
    const found = await Promise.all((await store.keys()).map((request) => waitingReply(store, request)));
    return found.filter(Boolean);
  } catch {
    return [];
  }
}

/** Forgets one waiting reply (its push is gone, so it could not be sent). */
export async function dropWaitingReply(notificationId) {
  try {
    await (await caches.open(STORE)).delete(key(notificationId));
  } catch {
    // nothing kept
  }
}

/** Forgets every waiting reply: on sign-out. */
export async function forgetWaitingReplies() {
  try {
    await caches.delete(STORE);
  } catch {
    // nothing kept
  }
}

/**
 * Sends the reply waiting for `notificationId` with `post(reply)` (resolving to POST /responses'
 * outcome), under the push's lock. Resolves to null when nothing waits any more (another context
 * sent it), else to the outcome; any answer of the API takes the reply off the queue, no answer
 * (NO_ANSWER) leaves it waiting.
 */
export async function sendWaitingReply(notificationId, post) {
  const send = async () => {
    let store;
    try {
      store = await caches.open(STORE);
    } catch {
      return null;
    }
    const reply = await waitingReply(store, key(notificationId));
    if (!reply) return null;
    const result = await post(reply);
    if (result !== NO_ANSWER) await store.delete(key(notificationId));
    return result;
  };
  const locks = globalThis.navigator?.locks;
  return locks ? locks.request(`ecmpush-outbox:${notificationId}`, send) : send();
}

/**
 * Asks the browser to wake the service worker (`sync` event, REPLY_SYNC_TAG) once it is online.
 * Resolves to whether it will; false where Background Sync is missing (the page sends instead).
 */
export async function askForReplySync() {
  try {
    const registration = await navigator.serviceWorker?.getRegistration();
    if (!registration?.sync) return false;
    await registration.sync.register(REPLY_SYNC_TAG);
    return true;
  } catch {
    return false;
  }
}
