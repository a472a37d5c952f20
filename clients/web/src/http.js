// Reading the API's answers so that a person always gets a sentence: the API answers JSON, but
// what reaches the page when it is down is a proxy's HTML page (API Gateway's or a CDN's 502),
// or no answer at all. Shared by the page (api.js, main.js) and the service worker (replies.js).

/** The body of an answer as JSON, or `{}` when it is not JSON (an HTML error page) or cut off. */
export async function readBody(response) {
  try {
    const text = await response.text();
    const parsed = text ? JSON.parse(text) : {};
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/**
 * One sentence for a call that failed with HTTP `status` (0: no answer at all) and `body`. The
 * API's own message (and the fields a 422 names) is shown for refusals; outages get words.
 */
export function failureMessage(status, body = {}) {
  if (status === 0) return 'Could not reach the server. Check your connection and try again.';
  if (status === 401) return 'Please sign in again.';
  if (status === 429 || status >= 500) {
    return `The server is not answering right now (HTTP ${status}). Please try again in a moment.`;
  }
  const message = typeof body.message === 'string' ? body.message : `Failed (HTTP ${status}).`;
  const fields = Array.isArray(body.errors)
    ? body.errors.map((e) => `${e.path}: ${e.message}`).join('; ')
    : '';
  return fields ? `${message} (${fields})` : message;
}
