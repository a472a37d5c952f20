// The page: sign-in, device registration, the pushes that arrive while it is open (with their
// reply buttons), the inbox and the preferences. All text from pushes and the API goes into the
// DOM as text, never as HTML: a push title is outside input.
import { onAuthStateChanged, signInWithCustomToken, signOut } from 'firebase/auth';
import { Api } from './api.js';
import { currentIdToken, startFirebase } from './firebase.js';
import { failureMessage, readBody } from './http.js';
import { finishOtdsSignIn, startOtdsSignIn } from './otds.js';
import { subscribe } from './push.js';
import { forgetPush, forgetPushes, keepPush, keptPush, keptPushes } from './pushes.js';
import { flushReceipts, recordReceipt } from './receipts.js';
import { decisionOf, isWithdrawal, showDecided, withdrawNotifications } from './withdrawals.js';
import {
  COMMENT_ACTIONS,
  MAX_COMMENT,
  NO_ANSWER,
  actionLabel,
  describeResult,
  isFinal,
  needsCommentBox,
  offeredActions,
  postResponse,
} from './replies.js';
import { postSnooze, snoozeControl } from './snooze.js';
import './style.css';

const CATEGORIES = [
  'approval', 'review', 'task', 'expiry', 'sla', 'field', 'publication', 'governance', 'confirmation',
];

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function installationId() {
  let id = localStorage.getItem('ecmpush.installation_id');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem('ecmpush.installation_id', id);
  }
  return id;
}

function setStatus(text, kind = 'info') {
  const status = $('status');
  status.textContent = text;
  status.dataset.kind = kind;
}

// The sign-in form never submits itself, whatever fails below: a native GET would reload the page
// with the user name in the URL and no word of what went wrong. Its button stays disabled (as
// index.html ships it, which also stops Enter) until the page can sign in.
$('sign-in').addEventListener('submit', (event) => event.preventDefault());

/** The deployment's config.json, or null with the reason on screen. */
async function loadConfig() {
  const failed = (why, next = 'Reload the page to try again.') => {
    setStatus(`The app could not load its settings (${why}). ${next}`, 'error');
    return null;
  };
  let response;
  try {
    response = await fetch('config.json', { cache: 'no-cache' });
  } catch {
    return failed('the server did not answer');
  }
  const loaded = await readBody(response);
  if (!response.ok) return failed(`config.json: HTTP ${response.status}`);
  // signInUrl: the typed-name shortcut (local stack only); otdsSignIn: the OTDS bridge.
  const signIn = typeof loaded.signInUrl === 'string' || loaded.otdsSignIn === true;
  if (typeof loaded.apiBase !== 'string' || !signIn || !loaded.firebase) {
    return failed('config.json lacks apiBase, a way to sign in, or firebase', 'Please tell your administrator.');
  }
  return loaded;
}

const config = await loadConfig();
// Nothing below can work without it: stop here, quietly (the message is on screen).
if (!config) await new Promise(() => {});
const { app, auth } = startFirebase(config);
const api = new Api(config.apiBase, () => currentIdToken(auth));
let session = null;

$('otds-sign-in-card').hidden = config.otdsSignIn !== true;
$('sign-in').hidden = typeof config.signInUrl !== 'string';
$('otds-sign-in').addEventListener('click', async () => {
  setStatus('Going to OTDS to sign in…');
  try {
    await startOtdsSignIn(config.apiBase);
  } catch (error) {
    setStatus(`Sign-in failed: ${error.message}`, 'error');
  }
});
if (config.otdsSignIn === true) {
  try {
    const customToken = await finishOtdsSignIn(config.apiBase);
    if (customToken) {
      setStatus('Signing in…');
      await signInWithCustomToken(auth, customToken);
    }
  } catch (error) {
    setStatus(`Sign-in failed: ${error.message}`, 'error');
  }
}

$('sign-in').addEventListener('submit', async () => {
  const user = $('ecm-user').value.trim();
  setStatus(`Signing in as ${user}…`);
  try {
    let response;
    try {
      response = await fetch(config.signInUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ ecm_user: user }),
      });
    } catch {
      throw new Error(failureMessage(0));
    }
    const body = await readBody(response);
    if (!response.ok) {
      throw new Error(response.status < 500 && typeof body.message === 'string'
        ? body.message
        : failureMessage(response.status, body));
    }
    await signInWithCustomToken(auth, body.custom_token);
  } catch (error) {
    setStatus(`Sign-in failed: ${error.message}`, 'error');
  }
});
$('sign-in').querySelector('button[type=submit]').disabled = false;

$('sign-out').addEventListener('click', async () => {
  await forgetPushes(); // the next user of this browser must not see these cards
  $('pushes').replaceChildren();
  await signOut(auth);
});
$('refresh').addEventListener('click', () => loadInbox());
$('mark-all-read').addEventListener('click', () => markRead(null));
window.addEventListener('online', () => sendReceipts());
$('preferences').addEventListener('submit', (event) => {
  event.preventDefault();
  savePreferences();
});

onAuthStateChanged(auth, async (user) => {
  document.body.dataset.signedIn = user ? 'yes' : 'no';
  if (!user) {
    session = null;
    // A failed sign-in's reason stays on screen (the first state change comes after it).
    if ($('status').dataset.kind !== 'error') setStatus('Signed out.');
    return;
  }
  const claims = (await user.getIdTokenResult()).claims;
  $('who').textContent = claims.ecm_user || claims.ecm_external || user.uid;
  if (session?.uid === user.uid) return;
  session = { uid: user.uid };
  await showKeptPushes(user.uid);
  try {
    await registerDevice();
  } catch (error) {
    setStatus(`Could not register for notifications: ${error.message}`, 'error');
  }
  await Promise.all([loadInbox(), loadPreferences(), sendReceipts()]);
});

async function registerDevice() {
  const id = installationId();
  const params = new URLSearchParams({ config: JSON.stringify(config), installation: id });
  const registration = await navigator.serviceWorker.register(
    `firebase-messaging-sw.js?${params}`,
    { scope: './' },
  );
  await navigator.serviceWorker.ready;
  if ('Notification' in window && Notification.permission === 'default') {
    await Notification.requestPermission();
  }
  const received = (payload) => {
    if (isWithdrawal(payload)) {
      withdrawn(payload, registration);
      return;
    }
    keepPush(payload);
    showPushCard(payload);
    reportShownHere(payload);
  };
  const token = await subscribe(config, app, registration, received);
  const device = await api.registerDevice(id, token);
  $('device').textContent = `${device.installation_id} (${device.platform})`;
  document.body.dataset.registered = 'yes';
  setStatus('Registered: pushes for you arrive here.', 'ok');
}

/**
 * The cards still waiting for an answer from before a reload (oldest at the bottom). Kept pushes
 * of whoever used this browser before are forgotten, not shown.
 */
async function showKeptPushes(uid) {
  if (localStorage.getItem('ecmpush.pushes_owner') !== uid) {
    await forgetPushes();
    $('pushes').replaceChildren();
    localStorage.setItem('ecmpush.pushes_owner', uid);
  }
  for (const payload of await keptPushes()) {
    if (!cardOf(payload.data.notification_id)) showPushCard(payload);
  }
}

function cardOf(notificationId) {
  return document.querySelector(`[data-testid=push][data-notification-id="${CSS.escape(notificationId || '')}"]`);
}

navigator.serviceWorker.addEventListener('message', (event) => {
  const message = event.data || {};
  if (message.type === 'ecmpush-replied') {
    setStatus(describeResult(message.result), message.result.ok ? 'ok' : 'error');
    // Answered from the notification: the card here has nothing left to do.
    if (isFinal(message.result)) cardOf(message.notificationId)?.remove();
    loadInbox();
  } else if (message.type === 'ecmpush-withdrawn') {
    withdrawn(message.payload);
  } else if (message.type === 'ecmpush-open') {
    keepPush(message.payload);
    showPushCard(message.payload, message.action);
    markRead(message.payload.data?.notification_id);
  }
});

/** A withdrawal: the card says who decided; arriving here (page in front), the page closes the
 * notification the service worker would otherwise have closed. */
function withdrawn(payload, registration = null) {
  showDecided(cardOf(payload.data.notification_id), decisionOf(payload.data));
  if (registration) withdrawNotifications(registration, payload);
  loadInbox();
}

/**
 * Draws the card of a push with the app's own reply buttons. Only a tap on one of those buttons
 * sends a reply: `opened` (the button tapped on a notification, or named by an `#open=` link,
 * which anyone can craft) may open that answer's comment box or point at its button, never
 * send, so a link cannot answer for the signed-in user.
 */
function showPushCard(payload, opened = null) {
  const data = payload.data || {};
  const notification = payload.notification || {};
  const offered = offeredActions(data);
  cardOf(data.notification_id)?.remove();
  const result = el('p', { class: 'result', 'data-testid': 'reply-result' });
  const comment = el('textarea', {
    maxlength: MAX_COMMENT,
    rows: 3,
    placeholder: 'Comment for the workflow',
    'data-testid': 'reply-comment',
  });
  const counter = el('span', { class: 'meta counter', 'data-testid': 'reply-counter' });
  const count = () => { counter.textContent = `${comment.value.length} / ${MAX_COMMENT}`; };
  comment.addEventListener('input', count);
  count();
  const commentBox = el('div', { class: 'comment', hidden: true }, comment, counter);
  let pending = null;
  const enable = (enabled) => card.querySelectorAll('button').forEach((b) => { b.disabled = !enabled; });
  // Whatever happens to the request, the card ends in a sentence: done, refused for good (the
  // buttons stay off), or failed for now (the buttons come back, with "Try again").
  const send = async (action) => {
    if (!offered.includes(action)) return;
    if (COMMENT_ACTIONS[action] && !comment.value.trim()) {
      result.textContent = 'Please say what you need.';
      return;
    }
    enable(false);
    result.textContent = 'Sending…';
    let reply;
    try {
      reply = await postResponse(config.apiBase, await currentIdToken(auth), {
        actionToken: data.action_token,
        action,
        comment: comment.value.trim(),
        installationId: installationId(),
      });
    } catch {
      reply = NO_ANSWER; // no ID token: the sign-in service is unreachable
    }
    card.dataset.replied = reply.ok ? 'yes' : 'failed';
    if (isFinal(reply)) forgetPush(data.notification_id);
    result.replaceChildren(`${actionLabel(action)}: ${describeResult(reply)}`);
    if (!isFinal(reply)) {
      result.append(' ', el('button', {
        type: 'button', class: 'link', 'data-testid': 'reply-retry', onclick: () => send(action),
      }, 'Try again'));
    }
    enable(!isFinal(reply));
    loadInbox();
  };
  const openCommentBox = (action) => {
    pending = action;
    commentBox.hidden = false;
    sendButton.textContent = `Send: ${actionLabel(action)}`;
    comment.focus();
  };
  // A tap on one of the card's buttons (the only caller of `send`).
  const tapped = (action) => {
    if (needsCommentBox(action) && pending !== action) openCommentBox(action);
    else send(action);
  };
  const sendButton = el('button', { type: 'button', class: 'primary', onclick: () => send(pending) });
  commentBox.append(sendButton);
  const buttons = offered.map((action) =>
    el('button', {
      type: 'button',
      'data-action': action,
      onclick: () => tapped(action),
    }, actionLabel(action)));
  const card = el(
    'article',
    { class: 'push', 'data-testid': 'push', dataset: { notificationId: data.notification_id || '', type: data.type || '' } },
    el('h3', {}, notification.title || data.title || ''),
    el('p', {}, notification.body || data.body || ''),
    data.due_at ? el('p', { class: 'meta' }, `Due ${new Date(data.due_at).toLocaleString()}`) : null,
    buttons.length ? el('div', { class: 'actions' }, ...buttons) : null,
    commentBox,
    result,
    snoozeControl(data, offered, {
      post: async (snooze) => postSnooze(config.apiBase, await currentIdToken(auth), {
        actionToken: data.action_token, snooze, installationId: installationId(),
      }),
      done: () => snoozed(card, data),
    }),
  );
  $('pushes').prepend(card);
  if (offered.includes(opened)) {
    if (needsCommentBox(opened)) openCommentBox(opened);
    else buttons[offered.indexOf(opened)].focus();
  }
}

/** Snoozed: the card's buttons go off until the push comes back (as `task.snoozed`). */
function snoozed(card, data) {
  card.dataset.snoozed = 'yes';
  card.querySelectorAll('.actions button').forEach((b) => { b.disabled = true; });
  forgetPush(data.notification_id);
}

async function loadInbox() {
  if (!auth.currentUser) return;
  try {
    const { notifications, unread } = await api.notifications();
    showUnread(unread);
    // Answered elsewhere (another device, or before a reload): a kept card not answered here goes.
    notifications.filter((n) => n.response).forEach((n) => {
      forgetPush(n.notification_id);
      const card = cardOf(n.notification_id);
      if (card && !card.dataset.replied && !card.dataset.decided) card.remove();
    });
    // Decided elsewhere and not answered here: the kept card says who decided.
    notifications.filter((n) => n.decision && !n.response).forEach((n) => {
      forgetPush(n.notification_id);
      showDecided(cardOf(n.notification_id), n.decision);
    });
    const rows = notifications.map((n) => {
      const delivered = n.deliveries.map(deliveryState).join(', ');
      const reply = n.response
        ? `${n.response.action} · ${n.response.status}`
        : (n.no_device ? 'no device' : '');
      return el(
        'li',
        { 'data-testid': 'inbox-item', dataset: { notificationId: n.notification_id, category: n.category, read: n.read ? 'yes' : 'no' } },
        el('strong', {}, n.title),
        n.read ? null : el('button', {
          type: 'button', class: 'link', 'data-testid': 'mark-read', onclick: () => markRead(n.notification_id),
        }, 'Mark read'),
        el('span', { class: 'meta' }, ` ${new Date(n.created_at).toLocaleString()} · ${n.category}`),
        el('p', {}, n.body),
        el('p', { class: 'meta' }, delivered ? `Delivered: ${delivered}` : 'Not delivered'),
        reply ? el('p', { class: 'reply', 'data-testid': 'inbox-reply' }, `Reply: ${reply}`) : null,
      );
    });
    $('inbox-list').replaceChildren(...rows);
    $('inbox-empty').hidden = rows.length > 0;
  } catch (error) {
    setStatus(`Inbox: ${error.message}`, 'error');
  }
}

// -- receipts and read marks (receipts.js; docs/design/receipts.md) ------------------------------

const RECEIPTS = ['received', 'displayed', 'opened', 'dismissed'];

/** "web sent · displayed · opened": the delivery's status and the receipts its device sent. */
function deliveryState(delivery) {
  const reported = RECEIPTS.filter((kind) => delivery[`${kind}_at`]);
  return [`${delivery.platform} ${delivery.status}`, ...reported].join(' · ');
}

/** A push shown as a card while the page is in front: received and displayed, here. */
async function reportShownHere(payload) {
  await recordReceipt(payload, 'received', installationId());
  await recordReceipt(payload, 'displayed', installationId());
  sendReceipts();
}

function sendReceipts() {
  return flushReceipts(config.apiBase, () => currentIdToken(auth));
}

function showUnread(unread) {
  const badge = $('unread');
  badge.textContent = unread ? String(unread) : '';
  badge.hidden = !unread;
  $('mark-all-read').hidden = !unread;
  navigator.setAppBadge?.(unread || 0).catch(() => undefined);
}

/** Marks one notification read (or all of them: `notificationId` null), then redraws the inbox. */
async function markRead(notificationId) {
  if (!auth.currentUser || notificationId === undefined) return;
  try {
    if (notificationId === null) await api.markAllRead();
    else await api.markRead(notificationId);
  } catch (error) {
    setStatus(`Inbox: ${error.message}`, 'error');
  }
  loadInbox();
}

async function loadPreferences() {
  try {
    const preferences = await api.preferences();
    const muted = new Set(preferences.muted_categories);
    $('categories').replaceChildren(...CATEGORIES.map((category) =>
      el('label', {}, el('input', { type: 'checkbox', name: 'muted', value: category, checked: muted.has(category) }), ` ${category}`)));
    const quiet = preferences.quiet_hours;
    $('quiet-on').checked = Boolean(quiet);
    $('quiet-start').value = quiet?.start || '22:00';
    $('quiet-end').value = quiet?.end || '07:00';
    $('quiet-zone').value = quiet?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (error) {
    setStatus(`Preferences: ${error.message}`, 'error');
  }
}

async function savePreferences() {
  const muted = [...document.querySelectorAll('input[name="muted"]:checked')].map((i) => i.value);
  const body = {
    muted_categories: muted,
    quiet_hours: $('quiet-on').checked
      ? { start: $('quiet-start').value, end: $('quiet-end').value, timezone: $('quiet-zone').value }
      : null,
  };
  try {
    await api.savePreferences(body);
    setStatus('Preferences saved.', 'ok');
  } catch (error) {
    setStatus(`Preferences not saved: ${error.message}`, 'error');
  }
}

// `#open=<notification id>&action=<id>`: how the service worker opens the page for a notification
// when no window is open. Anyone can craft such a link, so it names a push this browser received
// and kept (pushes.js), never carries one, and only shows its card (showPushCard sends nothing
// without a tap).
const link = new URLSearchParams(location.hash.slice(1));
if (link.has('open')) {
  history.replaceState(null, '', location.pathname);
  const payload = await keptPush(link.get('open'));
  if (payload) {
    showPushCard(payload, link.get('action'));
    markRead(link.get('open'));
  }
  else setStatus('This link does not open a notification waiting on this browser.', 'error');
  document.body.dataset.link = payload ? 'opened' : 'refused';
}
