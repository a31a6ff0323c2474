/**
 * The credential (API key or JWT) lives in sessionStorage only: gone when the tab closes, never in a
 * URL, a cookie or localStorage, and never written to the browser console.
 */
const KEY = 'spectra.console.credential';

export function readCredential(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeCredential(credential: string): void {
  sessionStorage.setItem(KEY, credential);
}

export function forgetCredential(): void {
  sessionStorage.removeItem(KEY);
}
