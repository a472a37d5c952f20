// A withdrawn push (`data.type == "withdrawn"`, docs/design/withdrawal.md): its task was decided
// elsewhere (another device, another member, Content Server). The service worker and the page
// share this: close the notification of the withdrawn push, put the quiet line in its place,
// and turn the page's card into a sentence saying who decided. Never HTML: the names are input.
import { forgetPush } from './pushes.js';

const ACTION_WORDS = {
  approve: 'Approved',
  reject: 'Rejected',
  acknowledge: 'Acknowledged',
  request_info: 'Sent back for more information',
  completed: 'Completed',
  reassigned: 'Reassigned',
  taken: 'Taken by another member',
};
const PLATFORM_WORDS = { android: 'on Android', ios: 'on iOS', web: 'in a browser', ecm: 'in Content Server' };

/** Whether a push payload is a withdrawal. */
export function isWithdrawal(payload) {
  return payload?.data?.type === 'withdrawn';
}

/** The decision of a withdrawal's data, in the inbox's shape ({by, action, platform, at}). */
export function decisionOf(data) {
  return {
    by: data.decided_by || null,
    action: data.decision,
    platform: data.decided_platform || null,
    at: data.decided_at,
  };
}

/** "Approved by bjones on Android at 10:42": who decided, in the page's own words. */
export function decidedLine(decision) {
  const words = [ACTION_WORDS[decision.action] || 'Done'];
  if (decision.by) words.push(`by ${decision.by}`);
  if (PLATFORM_WORDS[decision.platform]) words.push(PLATFORM_WORDS[decision.platform]);
  const at = new Date(decision.at);
  if (!Number.isNaN(at.getTime())) {
    words.push(`at ${at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`);
  }
  return words.join(' ');
}

/**
 * Closes the notifications of the withdrawn push: those tagged with its tag (the task's collapse
 * key, as FCM shows them) or its id (as the worker shows them) that carry the withdrawn push, so a
 * confirmation with the same tag stays. Where one was on screen, the quiet line takes its place
 * (same tag, `silent`): Chrome wants every push to show something. Returns how many were closed.
 */
export async function withdrawNotifications(registration, payload) {
  const data = payload.data || {};
  const tags = [...new Set([data.tag, data.notification_id].filter(Boolean))];
  const shown = (await Promise.all(tags.map((tag) => registration.getNotifications({ tag })))).flat();
  const withdrawn = shown.filter((n) => n.data?.FCM_MSG?.data?.notification_id === data.notification_id
    && n.data?.FCM_MSG?.data?.type !== 'withdrawn');
  withdrawn.forEach((n) => n.close());
  await forgetPush(data.notification_id);
  if (withdrawn.length) {
    await registration.showNotification(data.title || '', {
      body: data.body || '',
      tag: withdrawn[0].tag,
      silent: true,
      data: { FCM_MSG: payload },
    });
  }
  return withdrawn.length;
}

/** The page's card of a decided push: who decided, and no buttons left to tap. */
export function showDecided(card, decision) {
  if (!card || card.dataset.replied === 'yes') return; // answered here: its own result stays
  card.dataset.decided = 'yes';
  card.querySelectorAll('.actions, .comment').forEach((node) => node.remove());
  const result = card.querySelector('[data-testid=reply-result]');
  if (result) result.textContent = decidedLine(decision);
}
