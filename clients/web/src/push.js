// Where push messages come from. In production: Firebase Cloud Messaging (getToken with the
// VAPID key and our service worker; onMessage while the page is in front, the service worker
// otherwise). Locally: the stand-in for the browser push service (devstack/webpush_channel.py),
// which hands over exactly what FCM accepted for our token. Either way the page gets `onPush`
// calls while it is visible and the service worker shows a notification while it is not.
import { getMessaging, getToken, onMessage } from 'firebase/messaging';

const POLL_WAIT_SECONDS = 25;

export async function subscribe(config, app, registration, onPush) {
  if (!config.localPushUrl) {
    const messaging = getMessaging(app);
    const token = await getToken(messaging, {
      vapidKey: config.vapidKey,
      serviceWorkerRegistration: registration,
    });
    onMessage(messaging, onPush);
    return token;
  }
  const response = await fetch(`${config.localPushUrl}/subscriptions`, { method: 'POST' });
  if (!response.ok) throw new Error(`push channel refused the subscription (${response.status})`);
  const { token } = await response.json();
  pollLocalChannel(config.localPushUrl, token, (payload) => {
    if (document.visibilityState === 'visible') onPush(payload);
    else registration.active?.postMessage({ type: 'ecmpush-push', payload });
  });
  return token;
}

async function pollLocalChannel(base, token, deliver) {
  const url = `${base}/subscriptions/${encodeURIComponent(token)}/messages?wait=${POLL_WAIT_SECONDS}`;
  for (;;) {
    try {
      const response = await fetch(url);
      if (response.status === 404) return; // the stack restarted: a reload subscribes again
      if (response.ok) (await response.json()).messages.forEach(deliver);
      else await sleep(2000);
    } catch {
      await sleep(2000); // stack down: try again
    }
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
