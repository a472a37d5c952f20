// Signing in with OTDS through ecmpush's sign-in bridge (docs/sign-in.md): authorization code
// with PKCE. The verifier and the bridge's state wait in sessionStorage while the browser is at
// OTDS; OTDS comes back to this page with `code` and `state`, which are traded for a Firebase
// custom token. The same code runs locally (against the OTDS stand-in) and in production.
import { failureMessage, readBody } from './http.js';

const PENDING = 'ecmpush.otds_sign_in';

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function postJson(url, body) {
  let response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    throw new Error(failureMessage(0));
  }
  const answer = await readBody(response);
  if (!response.ok) {
    throw new Error(response.status < 500 && typeof answer.message === 'string'
      ? answer.message
      : failureMessage(response.status, answer));
  }
  return answer;
}

/** Leave for OTDS's sign-in page (RFC 7636: a random verifier, its S256 challenge sent). */
export async function startOtdsSignIn(apiBase) {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const started = await postJson(`${apiBase}/sign-in/otds/start`, { code_challenge: challenge });
  if (typeof started.authorize_url !== 'string' || typeof started.state !== 'string') {
    throw new Error('the sign-in service answered without an OTDS address');
  }
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state: started.state }));
  window.location.assign(started.authorize_url);
}

/**
 * Back from OTDS: the custom token for the code in this page's address, or null when the address
 * carries no answer from OTDS. The answer is removed from the address and the pending sign-in
 * forgotten whatever happens: a code is good once, and a reload must not replay it.
 */
export async function finishOtdsSignIn(apiBase) {
  const params = new URLSearchParams(window.location.search);
  if (!params.has('code') && !params.has('error')) return null;
  const pending = JSON.parse(sessionStorage.getItem(PENDING) || 'null');
  sessionStorage.removeItem(PENDING);
  const url = new URL(window.location.href);
  for (const name of ['code', 'state', 'error', 'error_description', 'iss']) url.searchParams.delete(name);
  window.history.replaceState(null, '', url);
  if (params.has('error')) {
    throw new Error(`OTDS refused: ${params.get('error_description') || params.get('error')}`);
  }
  // A sign-in this page did not start (or started in another tab) is not finished here.
  if (!pending || pending.state !== params.get('state')) {
    throw new Error('this sign-in was not started here; please sign in again');
  }
  const answer = await postJson(`${apiBase}/sign-in/otds/token`, {
    code: params.get('code'),
    state: pending.state,
    code_verifier: pending.verifier,
  });
  if (typeof answer.custom_token !== 'string') throw new Error('the sign-in service sent no token');
  return answer.custom_token;
}
