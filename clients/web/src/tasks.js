// What is waiting for me (GET /me/tasks, Content Server's inbox read as the user) and a step's
// view (GET /me/tasks/{p}/{s}/{t}): the app's default screen. Reply buttons are those of the
// step's push kept on this device (its action token never leaves the push), drawn by the caller.
import { actionWord, t, when } from './i18n.js';

/** The ids of a step as the path's three parts. */
export function stepIds(step) {
  return [step.process_id, step.subprocess_id, step.task_id];
}

function dueLine(el, step) {
  if (!step.due_at) return el('span', { class: 'meta' }, t('noDue'));
  return el('span', { class: step.overdue ? 'overdue' : 'meta' },
    step.overdue ? `${t('overdue')} · ${t('due', { when: when(step.due_at) })}` : t('due', { when: when(step.due_at) }));
}

function priorityBadge(el, step) {
  return step.priority ? el('span', { class: `priority priority-${step.priority}` }, t(`priority.${step.priority}`)) : null;
}

function senderName(sender) {
  return sender ? sender.name || sender.login || String(sender.user_id) : '';
}

/** The list items of the waiting steps; `open(step)` is called when one is tapped. */
export function waitingItems(el, steps, open) {
  return steps.map((step) => el('li', {
    'data-testid': 'waiting-step',
    dataset: { overdue: step.overdue ? 'yes' : 'no', step: stepIds(step).join('/') },
  }, el('button', { type: 'button', class: 'step', onclick: () => open(step) },
    el('strong', {}, step.title),
    el('span', { class: 'step-meta' }, dueLine(el, step), priorityBadge(el, step),
      step.sender ? el('span', { class: 'meta' }, t('from', { who: senderName(step.sender) })) : null))));
}

/** An entry of the history in plain words: ecmpush's own entries are read, not shown raw. */
function historyWords(entry) {
  if (entry.source !== 'ecmpush') return entry.what;
  if (entry.what.startsWith('push ')) return t('historyPush');
  const reply = entry.what.match(/^reply (\w+) \(\w+\) by (.+)$/);
  return reply ? t('historyReply', { who: reply[2], action: actionWord(reply[1]) || reply[1] }) : entry.what;
}

function historyLine(el, entry) {
  const who = entry.source === 'content_server' ? 'Content Server' : 'ecmpush';
  return el('li', {}, el('span', { class: 'meta' }, `${when(entry.at)} · ${who}`), ' ',
    historyWords(entry), entry.comment ? el('q', {}, entry.comment) : null);
}

/** What the reply part of the view says when this device holds no push to answer with. */
export function replyNote(step) {
  const push = step.push;
  if (push?.reply) return t('answered', { action: actionWord(push.reply.action) || push.reply.action });
  if (push?.action_token === 'expired') return t('expired');
  return t('replyElsewhere');
}

/**
 * The task view's elements: title, due and priority, sender, instructions, the document (a
 * button calling `openDocument(nodeId)`), `replies` (the reply part the caller drew) and history.
 */
export function stepView(el, step, { back, openDocument, replies }) {
  return el('article', { class: 'card step-view', 'data-testid': 'task-view' },
    el('button', { type: 'button', class: 'link', onclick: back, 'data-testid': 'back' }, t('back')),
    el('h2', {}, step.title),
    el('p', { class: 'step-meta' }, dueLine(el, step), priorityBadge(el, step),
      step.sender ? el('span', { class: 'meta' }, t('from', { who: senderName(step.sender) })) : null),
    step.instructions ? el('section', {}, el('h3', {}, t('instructions')), el('p', {}, step.instructions)) : null,
    step.document ? el('section', {}, el('h3', {}, t('document')),
      el('button', { type: 'button', 'data-testid': 'open-document', onclick: () => openDocument(step.document.node_id) },
        step.document.name || t('openDocument'))) : null,
    el('section', { 'data-testid': 'task-reply' }, el('h3', {}, t('reply')), replies),
    step.history?.length ? el('section', {}, el('h3', {}, t('history')),
      el('ol', { class: 'history' }, ...step.history.map((entry) => historyLine(el, entry)))) : null);
}
