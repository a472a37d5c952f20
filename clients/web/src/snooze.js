// "Remind me later" on a push's card (docs/design/not-seen.md): POST /responses with action
// "snooze" and the push's own action token; the push comes back then as `task.snoozed`. Only
// approvals and reviews offer it. The notification itself gets no such button: browsers show at
// most two, and an approval's or review's buttons already take them.
import { failureMessage, readBody } from './http.js';
import { t, when } from './i18n.js';

/** Longest wait for the answer, as for a reply. */
const SNOOZE_TIMEOUT_MS = 30_000;

/** The choices (their words are i18n.js's `snooze.<choice>`): in an hour, or 08:00 tomorrow in
 * the device's zone. */
export const SNOOZE_CHOICES = ['1h', 'tomorrow'];

/** Pushes that reach the step's assignee (an escalation reaches others, who may not snooze it). */
const ASSIGNEE_PUSHES = new Set(['task.assigned', 'sla.reminder', 'task.snoozed']);

/**
 * Whether a push offers "remind me later": the assignee's push about an approval or review (the
 * steps whose buttons include approve or request_info), with its action token.
 */
export function offersSnooze(data, offered) {
  return Boolean(data?.action_token)
    && ASSIGNEE_PUSHES.has(data.type)
    && (offered.includes('approve') || offered.includes('request_info'));
}

/** POST /responses `action: "snooze"`. Never throws: `{ok, status, body}` (status 0: no answer). */
export async function postSnooze(apiBase, idToken, { actionToken, snooze, installationId }) {
  const body = { action_token: actionToken, action: 'snooze', snooze };
  if (installationId) body.installation_id = installationId;
  let response;
  try {
    response = await fetch(`${apiBase}/responses`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${idToken}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(SNOOZE_TIMEOUT_MS),
    });
  } catch {
    return { ok: false, status: 0, body: {} };
  }
  return { ok: response.ok, status: response.status, body: await readBody(response) };
}

/** One sentence for the answer, in the page's language. */
export function describeSnooze(result) {
  if (result.ok) {
    const until = new Date(result.body.snoozed_until);
    return Number.isNaN(until.getTime())
      ? t('snooze.doneNoTime')
      : t('snooze.done', { when: when(until.toISOString()) });
  }
  if ([0, 403, 409].includes(result.status)) return t(`result.${result.status}`);
  if (result.status === 429 || result.status >= 500) return t('result.down');
  return failureMessage(result.status, result.body);
}

/**
 * The card's "Remind me later" control, or null when the push offers none. `post(snooze)`
 * resolves to the answer; `done(result)` runs once the snooze was taken (the card then waits for
 * the push to come back).
 */
export function snoozeControl(data, offered, { post, done }) {
  if (!offersSnooze(data, offered)) return null;
  const box = document.createElement('div');
  box.className = 'snooze';
  box.dataset.testid = 'snooze';
  const said = document.createElement('span');
  said.className = 'meta';
  said.dataset.testid = 'snooze-result';
  const buttons = SNOOZE_CHOICES.map((choice) => {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.dataset.snooze = choice;
    button.textContent = t(`snooze.${choice}`);
    button.addEventListener('click', async () => {
      buttons.forEach((b) => { b.disabled = true; });
      said.textContent = t('snooze.saving');
      const result = await post(choice);
      said.textContent = describeSnooze(result);
      if (result.ok) done(result);
      else buttons.forEach((b) => { b.disabled = result.status === 403 || result.status === 409; });
    });
    return button;
  });
  box.append(`${t('snooze.prompt')} `, ...buttons, ' ', said);
  return box;
}
