// The app-facing API (contract §2), authenticated with the user's Firebase ID token.
import { failureMessage, readBody } from './http.js';

export class Api {
  constructor(base, idToken) {
    this.base = base;
    this.idToken = idToken; // async () => string
  }

  /** The answer's JSON; any failure (no answer, an HTML error page) is an Error with a sentence. */
  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${await this.idToken()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new Error(failureMessage(0));
    }
    const parsed = await readBody(response);
    if (!response.ok) throw new Error(failureMessage(response.status, parsed));
    return parsed;
  }

  registerDevice(installationId, token) {
    return this.call('PUT', `/devices/${encodeURIComponent(installationId)}`, {
      token,
      platform: 'web',
      locale: navigator.language,
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      app_version: 'web-1.0.0',
    });
  }

  notifications(limit = 20) {
    return this.call('GET', `/me/notifications?limit=${limit}`);
  }

  markRead(notificationId) {
    return this.call('POST', `/me/notifications/${encodeURIComponent(notificationId)}/read`);
  }

  markAllRead() {
    return this.call('POST', '/me/notifications/read');
  }

  preferences() {
    return this.call('GET', '/me/preferences');
  }

  savePreferences(preferences) {
    return this.call('PUT', '/me/preferences', preferences);
  }
}
