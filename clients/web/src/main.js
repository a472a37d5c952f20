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
import { documentOfLink, documentView, forgetDocuments } from './documents.js';
import { LANGUAGE, actionWord, t, when } from './i18n.js';
import { stepIds, replyNote, stepView, waitingItems } from './tasks.js';
import { flushReceipts, recordReceipt } from './receipts.js';
import {
  askForReplySync,
  dropWaitingReply,
  forgetWaitingReplies,
  keepWaitingReply,
  sendWaitingReply,
  waitingReplies,
} from './outbox.js';
import { decisionOf, isWithdrawal, showDecided, withdrawNotifications } from './withdrawals.js';
import {
  COMMENT_ACTIONS,
  MAX_COMMENT,
  NO_ANSWER,
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
const actionLabel = actionWord;

// The page in the user's language: every element naming a sentence in data-i18n gets it.
document.documentElement.lang = LANGUAGE;
document.querySelectorAll('[data-i18n]').forEach((node) => { node.textContent = t(node.dataset.i18n); });

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
  setStatus(t('signingIn', { user }));
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
  // The next user of this browser must not see these cards, replies or documents.
  await Promise.all([forgetPushes(), forgetDocuments(), forgetWaitingReplies()]);
  $('pushes').replaceChildren();
  showHome();
  await signOut(auth);
});
$('refresh').addEventListener('click', () => loadInbox());
$('refresh-waiting').addEventListener('click', () => loadWaiting());
$('ask-permission').addEventListener('click', async () => {
  // Asked only here, after a tap on a button that says why (never on load).
  if ((await Notification.requestPermission()) === 'granted') {
    $('permission').hidden = true;
    await registerOrSay();
  }
});
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
    if ($('status').dataset.kind !== 'error') setStatus(t('signedOut'));
    return;
  }
  const claims = (await user.getIdTokenResult()).claims;
  $('who').textContent = claims.ecm_user || claims.ecm_external || user.uid;
  if (session?.uid === user.uid) return;
  session = { uid: user.uid };
  await showKeptPushes(user.uid);
  showInstallHelp();
  if ('Notification' in window && Notification.permission === 'granted') await registerOrSay();
  await Promise.all([loadWaiting(), loadInbox(), loadPreferences(), sendReceipts()]);
  await sendWaitingReplies();
});

async function registerOrSay() {
  try {
    await registerDevice();
  } catch (error) {
    setStatus(`Could not register for notifications: ${error.message}`, 'error');
  }
}

/**
 * iPhone Safari delivers web pushes only to an app added to the Home Screen: outside it the app
 * says so. Elsewhere, while the browser has not been asked, a button asks with a reason.
 */
function showInstallHelp() {
  const ios = /iPhone|iPad|iPod/.test(navigator.userAgent);
  const standalone = navigator.standalone === true || matchMedia('(display-mode: standalone)').matches;
  $('ios-hint').hidden = !(ios && !standalone);
  $('permission').hidden = !('Notification' in window) || Notification.permission !== 'default'
    || (ios && !standalone);
  $('install').hidden = $('ios-hint').hidden && $('permission').hidden;
}

async function registerDevice() {
  const id = installationId();
  const params = new URLSearchParams({ config: JSON.stringify(config), installation: id });
  const registration = await navigator.serviceWorker.register(
    `firebase-messaging-sw.js?${params}`,
    { scope: './' },
  );
  await navigator.serviceWorker.ready;
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
  $('device').textContent = t('pushesOn');
  $('device').dataset.installationId = device.installation_id;
  document.body.dataset.registered = 'yes';
  setStatus(t('registered'), 'ok');
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
    setStatus(describeReply(message.result), message.result.ok ? 'ok' : 'error');
    const card = cardOf(message.notificationId);
    // Sent from the outbox by the service worker: the card that waited says how it went.
    if (card?.dataset.outbox) card.dispatchEvent(new CustomEvent('ecmpush-settled', { detail: message.result }));
    // Answered from the notification: the card here has nothing left to do.
    else if (isFinal(message.result)) card?.remove();
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
function showPushCard(payload, opened = null, target = $('pushes'), resume = null) {
  const data = payload.data || {};
  const notification = payload.notification || {};
  const offered = offeredActions(data);
  cardOf(data.notification_id)?.remove();
  const result = el('p', { class: 'result', 'data-testid': 'reply-result' });
  // No maxlength: a pasted comment is not cut silently; a too long one is refused with words.
  const comment = el('textarea', {
    rows: 3,
    'aria-label': t('commentLabel'),
    placeholder: t('commentLabel'),
    'data-testid': 'reply-comment',
  });
  const counter = el('span', { class: 'meta counter', 'data-testid': 'reply-counter' });
  const count = () => {
    counter.textContent = `${comment.value.length} / ${MAX_COMMENT}`;
    counter.dataset.over = comment.value.length > MAX_COMMENT ? 'yes' : 'no';
  };
  comment.addEventListener('input', count);
  count();
  const commentBox = el('div', { class: 'comment', hidden: true }, comment, counter);
  let pending = null;
  const enable = (enabled) => card.querySelectorAll('button').forEach((b) => { b.disabled = !enabled; });
  // Whatever happens to the request, the card ends in a sentence: done, refused for good (the
  // buttons stay off), or failed for now (the buttons come back, with "Try again").
  // `waiting`: the reply is the one queued in the outbox (sent unless another context did).
  const send = async (action, waiting = false) => {
    if (!offered.includes(action)) return;
    if (COMMENT_ACTIONS[action] && !comment.value.trim()) {
      result.textContent = t('sayWhatYouNeed');
      return;
    }
    if (comment.value.trim().length > MAX_COMMENT) {
      result.textContent = t('commentTooLong', { count: comment.value.trim().length, max: MAX_COMMENT });
      return;
    }
    enable(false);
    if (!navigator.onLine) {
      // Offline: the answer waits on the device (here and across a reload) and goes when the
      // network is back; the card says so instead of failing.
      card.dataset.replied = 'waiting';
      card.dataset.outbox = action;
      result.textContent = `${actionLabel(action)}: ${t('waitingToSend')}`;
      await keepWaitingReply(data.notification_id, action, comment.value.trim());
      // The service worker sends it when the network is back (Background Sync), page open or
      // not; without Background Sync, sendWaitingReplies does when `online` fires or the page opens.
      card.dataset.sync = (await askForReplySync()) ? 'asked' : 'none';
      return;
    }
    if (inFlight.has(data.notification_id)) return; // an action token answers once
    inFlight.add(data.notification_id);
    result.textContent = t('sending');
    const post = async () => {
      try {
        return await postResponse(config.apiBase, await currentIdToken(auth), {
          actionToken: data.action_token,
          action,
          comment: comment.value.trim(),
          installationId: installationId(),
        });
      } catch {
        return NO_ANSWER; // no ID token: the sign-in service is unreachable
      }
    };
    let reply;
    try {
      reply = waiting ? await sendWaitingReply(data.notification_id, post) : await post();
    } finally {
      inFlight.delete(data.notification_id);
    }
    // null: the service worker sent it meanwhile; its `ecmpush-replied` message settles the card.
    if (reply !== null) settle(action, reply);
  };
  // The card's sentence for the outcome of its reply (sent from here, or from the outbox by the
  // service worker: the `ecmpush-settled` event).
  const settle = (action, reply) => {
    delete card.dataset.outbox;
    card.dataset.replied = reply.ok ? 'yes' : 'failed';
    if (isFinal(reply)) forgetPush(data.notification_id);
    result.replaceChildren(`${actionLabel(action)}: ${describeReply(reply)}`);
    if (!isFinal(reply)) {
      result.append(' ', el('button', {
        type: 'button', class: 'link', 'data-testid': 'reply-retry', onclick: () => send(action),
      }, t('retry')));
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
    data.due_at ? el('p', { class: 'meta' }, t('due', { when: when(data.due_at) })) : null,
    documentOfLink(data.deep_link) ? el('button', {
      type: 'button', 'data-testid': 'push-document', onclick: () => openDocument(documentOfLink(data.deep_link)),
    }, t('openDocument')) : null,
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
  card.addEventListener('ecmpush-settled', (event) => settle(card.dataset.outbox, event.detail));
  target.prepend(card);
  if (resume && offered.includes(resume.action)) {
    card.dataset.outbox = resume.action;
    comment.value = resume.comment || '';
    count();
    send(resume.action, true);
    return card;
  }
  if (offered.includes(opened)) {
    if (needsCommentBox(opened)) openCommentBox(opened);
    else buttons[offered.indexOf(opened)].focus();
  }
  return card;
}

/**
 * describeResult's sentence in the page's language: the API's own message (a refusal it
 * explains) stays as it came; outcomes the app knows are said in the user's words.
 */
function describeReply(reply) {
  if (LANGUAGE === 'en') return describeResult(reply);
  if (reply.ok) return t(reply.body.status === 'applied' ? 'result.applied' : 'result.queued');
  if ([0, 403, 409, 410].includes(reply.status)) return t(`result.${reply.status}`);
  if (reply.status === 429 || reply.status >= 500) return t('result.down');
  return describeResult(reply);
}

// Replies tapped offline wait in outbox.js until the API answers them. Notification ids whose
// reply is on its way from this page now: never posted twice at once.
const inFlight = new Set();
addEventListener('online', () => sendWaitingReplies());

/** Page opened or back online: the replies left waiting go (offline, they wait on). */
async function sendWaitingReplies() {
  if (!auth.currentUser) return;
  for (const reply of await waitingReplies()) {
    const { notificationId } = reply;
    if (inFlight.has(notificationId)) continue;
    const payload = await keptPush(notificationId);
    if (!payload) {
      dropWaitingReply(notificationId);
      continue;
    }
    showPushCard(payload, null, $('pushes'), reply);
  }
}

function showHome() {
  $('view').replaceChildren();
  $('view').hidden = true;
  $('home').hidden = false;
  document.body.dataset.screen = 'home';
}

function showView(screen, ...children) {
  $('view').replaceChildren(...children);
  $('view').hidden = false;
  $('home').hidden = true;
  document.body.dataset.screen = screen;
  scrollTo(0, 0);
}

async function loadWaiting() {
  if (!auth.currentUser) return;
  try {
    const { tasks } = await api.tasks();
    $('waiting-list').replaceChildren(...waitingItems(el, tasks, (step) => openStep(stepIds(step))));
    $('waiting-empty').textContent = t('nothingWaiting');
    $('waiting-empty').hidden = tasks.length > 0;
  } catch (error) {
    $('waiting-empty').hidden = true;
    setStatus(`${t('waiting')}: ${error.message}`, 'error');
  }
}

/** The task view of step `ids`; its reply buttons are the kept push's, when this device has it. */
async function openStep(ids) {
  let step;
  try {
    step = await api.task(ids);
  } catch (error) {
    setStatus(error.status === 404 ? t('stepMissing') : error.message, 'error');
    return;
  }
  const push = step.push?.action_token === 'open' ? await keptPush(step.push.notification_id) : null;
  const replies = el('div', {});
  const back = async () => {
    showHome();
    const again = push && (await keptPush(push.data.notification_id));
    if (again && !cardOf(again.data.notification_id)) showPushCard(again);
    loadWaiting();
  };
  showView('task', stepView(el, step, { back, openDocument, replies }));
  if (push) showPushCard(push, null, replies);
  else replies.append(el('p', { class: 'meta', 'data-testid': 'reply-note' }, replyNote(step)));
}

/** A document opened in the app (from a push, a step or a `#document=` link). */
async function openDocument(nodeId) {
  const back = el('button', { type: 'button', class: 'link', onclick: showHome, 'data-testid': 'back' }, t('back'));
  const frame = el('article', { class: 'card', 'data-testid': 'document-screen' }, back, el('p', { class: 'meta' }, t('loading')));
  showView('document', frame);
  const view = await documentView(api, nodeId, el);
  frame.replaceChildren(back, view);
}

/** A push category in the page's language (an unknown one as it came). */
function categoryWord(category) {
  const word = t(`category.${category}`);
  return word.startsWith('category.') ? category : word;
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
      const delivered = n.deliveries.map(deliveryState).join('; ');
      const reply = n.response
        ? t('youAnswered', {
          action: actionLabel(n.response.action) || n.response.action,
          state: t(`replyState.${n.response.status}`).startsWith('replyState.')
            ? n.response.status
            : t(`replyState.${n.response.status}`),
        })
        : (n.no_device ? t('noReply') : '');
      return el(
        'li',
        { 'data-testid': 'inbox-item', dataset: { notificationId: n.notification_id, category: n.category, read: n.read ? 'yes' : 'no' } },
        el('strong', {}, n.title),
        n.read ? null : el('button', {
          type: 'button', class: 'link', 'data-testid': 'mark-read', onclick: () => markRead(n.notification_id),
        }, t('markRead')),
        el('span', { class: 'meta' }, ` ${when(n.created_at)} · ${categoryWord(n.category)}`),
        el('p', {}, n.body),
        el('p', { class: 'meta', 'data-testid': 'inbox-delivery' }, delivered || t('notDelivered')),
        reply ? el('p', { class: 'reply', 'data-testid': 'inbox-reply' }, reply) : null,
      );
    });
    $('inbox-list').replaceChildren(...rows);
    $('inbox-empty').hidden = rows.length > 0;
  } catch (error) {
    setStatus(`Inbox: ${error.message}`, 'error');
  }
}

// -- receipts and read marks (receipts.js; docs/design/receipts.md) ------------------------------

// Furthest first: a push opened was also shown and received.
const RECEIPTS = ['opened', 'dismissed', 'displayed', 'received'];

/**
 * "This browser: opened": which device, and the furthest its push got — the latest receipt its
 * device sent (opened, closed without opening, shown, received), else what FCM said.
 */
function deliveryState(delivery) {
  const here = delivery.installation_id && delivery.installation_id === installationId();
  const device = here ? t('device.here') : t(`device.${delivery.platform}`);
  const reached = RECEIPTS.find((kind) => delivery[`${kind}_at`]) || delivery.status;
  const state = t(`deliveryState.${reached}`);
  return t('deliveredTo', {
    device: device.startsWith('device.') ? delivery.platform : device,
    state: state.startsWith('deliveryState.') ? reached : state,
  });
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
      el('label', {}, el('input', { type: 'checkbox', name: 'muted', value: category, checked: muted.has(category) }), ` ${t(`category.${category}`)}`)));
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
    setStatus(t('saved'), 'ok');
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
} else if (link.has('document') || link.has('task')) {
  // `#document=<node id>` / `#task=<p>/<s>/<t>`: opened once signed in, as the user, so Content
  // Server decides what they may see (a link can only name, never grant).
  history.replaceState(null, '', location.pathname);
  const wanted = link.has('document') ? { document: link.get('document') } : { task: link.get('task').split('/') };
  const opened = onAuthStateChanged(auth, (user) => {
    if (!user) return;
    opened();
    if (wanted.document && /^\d{1,19}$/.test(wanted.document)) openDocument(wanted.document);
    else if (wanted.task?.length === 3 && wanted.task.every((id) => /^\d{1,19}$/.test(id))) openStep(wanted.task);
  });
}
