// The app-facing API (contract §2), authenticated with the user's Firebase ID token.
export class Api {
  constructor(base, idToken) {
    this.base = base;
    this.idToken = idToken; // async () => string
  }

  async call(method, path, body) {
    const headers = { Authorization: `Bearer ${await this.idToken()}` };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const where = (parsed?.errors || []).map((e) => `${e.path}: ${e.message}`).join('; ');
      throw new Error(`${parsed?.message || response.statusText}${where ? ` (${where})` : ''}`);
    }
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

  preferences() {
    return this.call('GET', '/me/preferences');
  }

  savePreferences(preferences) {
    return this.call('PUT', '/me/preferences', preferences);
  }
}
