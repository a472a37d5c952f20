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
      throw Object.assign(new Error(failureMessage(0)), { status: 0 });
    }
    const parsed = await readBody(response);
    if (!response.ok) {
      const error = new Error(failureMessage(response.status, parsed));
      error.status = response.status; // the screens tell a refusal (403, 404) from an outage
      throw error;
    }
    return parsed;
  }

  /**
   * A document's bytes as a Blob. API Gateway answers binary only when `Accept` names the type;
   * failures are Errors with `status` (0: no answer) as for `call`.
   */
  async documentContent(nodeId, mimeType) {
    let response;
    try {
      response = await fetch(`${this.base}/me/documents/${encodeURIComponent(nodeId)}/content`, {
        headers: {
          Authorization: `Bearer ${await this.idToken()}`,
          Accept: mimeType || 'application/octet-stream',
        },
      });
    } catch {
      throw Object.assign(new Error(failureMessage(0)), { status: 0 });
    }
    if (!response.ok) {
      const error = new Error(failureMessage(response.status, await readBody(response)));
      error.status = response.status;
      throw error;
    }
    return response.blob();
  }

  documentMetadata(nodeId) {
    return this.call('GET', `/me/documents/${encodeURIComponent(nodeId)}/metadata`);
  }

  /** What waits for the caller in Content Server (GET /me/tasks). */
  tasks() {
    return this.call('GET', '/me/tasks');
  }

  task([processId, subprocessId, taskId]) {
    const ids = [processId, subprocessId, taskId].map(encodeURIComponent).join('/');
    return this.call('GET', `/me/tasks/${ids}`);
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
