// Firebase set-up shared by the page and the service worker. The same code runs in production;
// only `authEmulatorUrl` (set by the local stack's config.json) points Firebase Auth at the local
// auth stand-in, which issues real RS256 ID tokens the API verifies like Google's.
import { initializeApp } from 'firebase/app';
import { connectAuthEmulator, getAuth } from 'firebase/auth';

/**
 * `makeAuth` differs between page and service worker: a worker must initialise Auth explicitly
 * with IndexedDB persistence (the page's default store, so both see the same signed-in user).
 */
export function startFirebase(config, makeAuth = getAuth) {
  const app = initializeApp(config.firebase);
  const auth = makeAuth(app);
  if (config.authEmulatorUrl) {
    connectAuthEmulator(auth, config.authEmulatorUrl, { disableWarnings: true });
  }
  return { app, auth };
}

/** The signed-in user's current ID token (refreshed by the SDK when near expiry), or null. */
export async function currentIdToken(auth) {
  await auth.authStateReady();
  return auth.currentUser ? auth.currentUser.getIdToken() : null;
}
