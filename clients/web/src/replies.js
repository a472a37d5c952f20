// What the page and the service worker share about answering a push: the button labels, which
// answers need a comment box, and the one call that posts the answer (contract §3). Kept in one
// module so the notification's buttons and the in-page card cannot disagree.

/** Labels of the reply actions (the same words the server puts in webpush.notification.actions). */
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

export const MAX_COMMENT = 2000;

/** The reply action ids a push offers (`data.actions` is a comma list, contract §4). */
export function offeredActions(data) {
  return (data?.actions || '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a in ACTION_LABELS);
}

/** The button label for `action`, preferring the label the push itself carried. */
export function actionLabel(action, notificationActions) {
  const sent = (notificationActions || []).find((a) => a.action === action);
  return sent?.title || ACTION_LABELS[action] || action;
}

/**
 * POST /responses with the action token from the push. Resolves to
 * `{ok, status, body}`; `body.message` explains any refusal (409 already answered, 410 expired).
 */
export async function postResponse(apiBase, idToken, { actionToken, action, comment, installationId }) {
  const body = { action_token: actionToken, action };
  if (comment) body.comment = comment.slice(0, MAX_COMMENT);
  if (installationId) body.installation_id = installationId;
  const response = await fetch(`${apiBase}/responses`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${idToken}` },
    body: JSON.stringify(body),
  });
  let parsed = {};
  try {
    parsed = await response.json();
  } catch {
    parsed = { message: `HTTP ${response.status}` };
  }
  return { ok: response.ok, status: response.status, body: parsed };
}

/** One line a person understands for the answer of POST /responses. */
export function describeResult(result) {
  if (result.ok) {
    return result.body.status === 'applied'
      ? 'Sent to Content Server.'
      : 'Saved; Content Server is busy, it will be applied shortly.';
  }
  const reasons = {
    401: 'Please sign in again.',
    403: 'This answer is not available to you.',
    409: 'This notification was already answered or the task is closed.',
    410: 'This notification has expired.',
  };
  return reasons[result.status] || result.body.message || `Failed (HTTP ${result.status}).`;
}
