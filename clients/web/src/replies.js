// What the page and the service worker share about answering a push: the button labels, which
// answers need a comment box, and the one call that posts the answer (contract §3). Kept in one
// module so the notification's buttons and the in-page card cannot disagree.
//
// A payload is treated as outside input wherever it came from: it may say which of the known
// actions to offer, never what a button says. Labels are the app's own words.
import { failureMessage, readBody } from './http.js';

/** Longest wait for POST /responses: API Gateway gives up after 29 s, the page should not hang. */
const REPLY_TIMEOUT_MS = 30_000;

/**
 * Labels of the reply actions, the only words a reply button ever shows (the server puts the same
 * words in webpush.notification.actions, but a payload's labels are never used: a "Reject"
 * button that approves must be impossible).
 */
export const ACTION_LABELS = {
  approve: 'Approve',
  reject: 'Reject',
  acknowledge: 'Acknowledge',
  request_info: 'Ask for info',
};

/**
 * Answers that open a comment box instead of being sent from the notification at once:
 * asking for information without saying what is pointless, and a rejection should say why.
 * `true` = the comment is required.
 */
export const COMMENT_ACTIONS = { request_info: true, reject: false };

/** Whether `action` is answered through a comment box rather than sent at once. */
export function needsCommentBox(action) {
  return Object.hasOwn(COMMENT_ACTIONS, action);
}

/**
 * The longest comment, in the textarea's own units (UTF-16 code units, never more characters than
 * that): the API's limit (MAX_COMMENT_CHARS in layers/shared/ecmpush/domain/replies/requests.py, held
 * equal by tests/unit/test_web_comment_limit.py). The comment box's counter and its check before
 * sending both read it, so the page refuses in plain words what `POST /responses` would refuse.
 */
export const MAX_COMMENT = 1000;

/**
 * The reply action ids a push offers (`data.actions` is a comma list, contract §4): known ids
 * only, each once, in the push's order. An unknown id gets no button.
 */
export function offeredActions(data) {
  const known = (data?.actions || '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => Object.hasOwn(ACTION_LABELS, a));
  return [...new Set(known)];
}

/** The button label for a known `action`: the app's own text, whatever the push said. */
export function actionLabel(action) {
  return ACTION_LABELS[action];
}

/** The outcome of a reply that got no answer at all (offline, unreachable, timed out). */
export const NO_ANSWER = Object.freeze({ ok: false, status: 0, body: Object.freeze({}) });

/**
 * POST /responses with the action token from the push. Never throws: resolves to
 * `{ok, status, body}`, or NO_ANSWER.
 */
export async function postResponse(apiBase, idToken, { actionToken, action, comment, installationId }) {
  const body = { action_token: actionToken, action };
  if (comment) body.comment = comment.slice(0, MAX_COMMENT);
  if (installationId) body.installation_id = installationId;
  let response;
  try {
    response = await fetch(`${apiBase}/responses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${idToken}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REPLY_TIMEOUT_MS),
    });
  } catch {
    return NO_ANSWER;
  }
  return { ok: response.ok, status: response.status, body: await readBody(response) };
}

/**
 * Refusals that settle a reply for good (not yours, already answered or closed, expired):
 * sending again cannot change them, so the card offers no retry.
 */
export function isFinal(result) {
  return result.ok || [403, 409, 410].includes(result.status);
}

/** One line a person understands for the answer of POST /responses. */
export function describeResult(result) {
  if (result.ok) {
    return result.body.status === 'applied'
      ? 'Sent to Content Server.'
      : 'Saved; Content Server is busy, it will be applied shortly.';
  }
  const reasons = {
    403: 'This answer is not available to you.',
    409: 'This notification was already answered or the task is closed.',
    410: 'This notification has expired.',
  };
  return reasons[result.status] || failureMessage(result.status, result.body);
}
