// firebase-messaging-sw.js: shows pushes as notifications with their reply buttons and posts the
// answer to POST /responses straight from the notification when one of those buttons is tapped.
// Answers that need a comment (COMMENT_ACTIONS) and a tap on the notification itself open the
// page's card instead, which sends nothing until a button of the card is tapped.
//
// Configuration arrives in the registration URL (`?config=<json>&installation=<id>`) so that
// every listener is registered during the worker's first evaluation, as browsers require.
import { indexedDBLocalPersistence, initializeAuth } from 'firebase/auth';
import { getMessaging, onBackgroundMessage } from 'firebase/messaging/sw';
import { currentIdToken, startFirebase } from './firebase.js';
import { REPLY_SYNC_TAG, dropWaitingReply, sendWaitingReply, waitingReplies } from './outbox.js';
import { forgetPush, keepPush, keptPush } from './pushes.js';
import { SYNC_TAG, flushReceipts, recordReceipt } from './receipts.js';
import { isWithdrawal, withdrawNotifications } from './withdrawals.js';
import {
  NO_ANSWER,
  actionLabel,
  describeResult,
  isFinal,
  needsCommentBox,
  offeredActions,
  postResponse,
} from './replies.js';

const params = new URL(self.location.href).searchParams;
const config = JSON.parse(params.get('config') || '{}');
const installationId = params.get('installation') || undefined;

// Registered before Firebase's own listener, so button and body clicks are handled here.
self.addEventListener('notificationclick', (event) => {
  event.stopImmediatePropagation();
  event.notification.close();
  const payload = event.notification.data?.FCM_MSG;
  if (!payload) return;
  const opened = reportOpened(payload);
  // Only a button this worker drew for the push (an action the push offers) answers at once.
  const action = offeredActions(payload.data).includes(event.action) ? event.action : null;
  if (action && !needsCommentBox(action)) {
    event.waitUntil(besides(opened, answer(payload, action)));
  } else {
    event.waitUntil(besides(opened, openPage(payload, action)));
  }
});

// Closed without a tap (swiped away, "clear all"): a `dismissed` receipt.
self.addEventListener('notificationclose', (event) => {
  const payload = event.notification.data?.FCM_MSG;
  if (payload) event.waitUntil(report(payload, 'dismissed'));
});

// Receipts and replies that waited (offline, or the worker stopped) go when the browser is
// online again, page open or not.
self.addEventListener('sync', (event) => {
  if (event.tag === SYNC_TAG) event.waitUntil(sendReceipts());
  else if (event.tag === REPLY_SYNC_TAG) event.waitUntil(sendWaitingReplies());
});

// The page forwards pushes from the local delivery channel while it is hidden.
self.addEventListener('message', (event) => {
  if (event.data?.type === 'ecmpush-push') event.waitUntil(showPush(event.data.payload));
});

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

const { app, auth } = startFirebase(config, (firebaseApp) =>
  initializeAuth(firebaseApp, { persistence: indexedDBLocalPersistence }),
);
if (!config.localPushUrl) {
  // FCM shows messages that carry a `notification` itself (with webpush.notification.actions);
  // data-only messages are ours to show.
  onBackgroundMessage(getMessaging(app), (payload) => {
    if (!payload.notification) return showPush(payload);
    return undefined;
  });
}

/** The notification of a push: its text, the app's buttons, and the payload for a later tap. */
function notificationOf(payload) {
  const notification = payload.notification || {};
  const data = payload.data || {};
  const maxActions = self.Notification?.maxActions ?? 2;
  const actions = offeredActions(data)
    .map((action) => ({ action, title: actionLabel(action) }))
    .slice(0, maxActions);
  return [notification.title || data.title || 'ecmpush', {
    body: notification.body || data.body || '',
    tag: data.notification_id,
    data: { FCM_MSG: payload },
    actions,
    requireInteraction: actions.length > 0,
  }];
}

async function showPush(payload) {
  if (isWithdrawal(payload)) return withdraw(payload); // not a push of its own: no receipts
  await recordReceipt(payload, 'received', installationId);
  await Promise.all([keepPush(payload), self.registration.showNotification(...notificationOf(payload))]);
  return report(payload, 'displayed');
}

/** Queues a receipt and sends what waits (docs/design/receipts.md). */
async function report(payload, event) {
  await recordReceipt(payload, event, installationId);
  return sendReceipts();
}

async function sendReceipts() {
  const waiting = await flushReceipts(config.apiBase || '', () => currentIdToken(auth));
  if (waiting > 0) await self.registration.sync?.register(SYNC_TAG).catch(() => undefined);
  return waiting;
}

/** Opened: the receipt, and the inbox entry marked read (the server does not infer it). */
async function reportOpened(payload) {
  const notificationId = payload.data?.notification_id;
  await recordReceipt(payload, 'opened', installationId);
  try {
    const idToken = await currentIdToken(auth);
    if (idToken && notificationId) {
      await fetch(`${config.apiBase || ''}/me/notifications/${encodeURIComponent(notificationId)}/read`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${idToken}` },
      });
    }
  } catch {
    // Offline: the page marks it read when it opens.
  }
  return sendReceipts();
}

/** `main`'s outcome, once `side` (receipts) has settled too: one promise for `waitUntil`. */
async function besides(side, main) {
  const [, outcome] = await Promise.allSettled([side, main]);
  if (outcome.status === 'rejected') throw outcome.reason;
  return outcome.value;
}

/** A push whose task was decided elsewhere: its notification goes, open pages update the card. */
async function withdraw(payload) {
  await withdrawNotifications(self.registration, payload);
  await tellPages({ type: 'ecmpush-withdrawn', payload });
}

/**
 * Posts the answer of a notification button. The outcome replaces the notification: done or
 * refused for good, a line saying so; failed for now (no answer, 5xx), the same notification
 * with its buttons again and the reason, so a tap tries again and nothing is stuck.
 */
async function answer(payload, action) {
  const data = payload.data || {};
  let result;
  try {
    const idToken = await currentIdToken(auth);
    if (!idToken) return openPage(payload, action); // signed out: the page asks to sign in
    result = await postResponse(config.apiBase || '', idToken, {
      actionToken: data.action_token,
      action,
      installationId,
    });
  } catch {
    result = NO_ANSWER; // no ID token: the sign-in service is unreachable
  }
  return settle(payload, action, result);
}

/**
 * The outcome of a reply sent from here replaces the notification: done or refused for good, a
 * line saying so; failed for now, the push's notification with its buttons again and the reason.
 */
async function settle(payload, action, result) {
  const data = payload.data || {};
  if (isFinal(result)) {
    await forgetPush(data.notification_id);
    await self.registration.showNotification(`${actionLabel(action)}: ${data.title || ''}`, {
      body: describeResult(result),
      tag: data.notification_id,
    });
  } else {
    const [title, options] = notificationOf(payload);
    const body = `${actionLabel(action)}: ${describeResult(result)}`;
    await self.registration.showNotification(title, { ...options, body });
  }
  await tellPages({ type: 'ecmpush-replied', notificationId: data.notification_id, result });
  return result;
}

/**
 * The `sync` of REPLY_SYNC_TAG: the replies tapped offline (outbox.js) go, each settled as a
 * notification button's answer is. Rejects while some got no answer, so the browser tries again.
 */
async function sendWaitingReplies() {
  const idToken = await currentIdToken(auth).catch(() => null);
  if (!idToken) throw new Error('no ID token yet: the replies wait'); // signed out clears them
  let unanswered = 0;
  for (const { notificationId } of await waitingReplies()) {
    const payload = await keptPush(notificationId);
    if (!payload) {
      await dropWaitingReply(notificationId); // answered or forgotten meanwhile
      continue;
    }
    let action;
    const result = await sendWaitingReply(notificationId, (reply) => {
      action = reply.action;
      return postResponse(config.apiBase || '', idToken, {
        actionToken: payload.data.action_token,
        action,
        comment: reply.comment,
        installationId,
      });
    });
    if (result === NO_ANSWER) unanswered += 1;
    else if (result) await settle(payload, action, result); // null: the page sent it
  }
  if (unanswered) throw new Error(`${unanswered} replies got no answer yet`);
}

async function openPage(payload, action) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const message = { type: 'ecmpush-open', payload, action };
  if (windows.length) {
    windows[0].postMessage(message);
    return windows[0].focus();
  }
  // The link names the push, kept here for the page to read: a URL never carries a payload.
  await keepPush(payload);
  const link = new URLSearchParams({ open: payload.data?.notification_id || '' });
  if (action) link.set('action', action);
  return self.clients.openWindow(`${self.registration.scope}#${link}`);
}

async function tellPages(message) {
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  windows.forEach((client) => client.postMessage(message));
}
