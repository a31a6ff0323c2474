/**
 * The key a presented credential (API key or JWT) is cached under: its SHA-256, so the caches never
 * hold a credential itself. Computed on every authenticated request, and on every request the
 * overload shed looks at (http/overload-shed.ts): the one-shot `crypto.hash` (Node 20.12+) costs
 * under half of a `createHash` object's update and digest.
 */
import crypto from 'node:crypto';

type OneShotHash = (algorithm: string, data: string, encoding: 'base64') => string;
const oneShot = (crypto as { hash?: OneShotHash }).hash;

export const credentialCacheKey: (credential: string) => string = oneShot
  ? (credential) => oneShot('sha256', credential, 'base64')
  : (credential) => crypto.createHash('sha256').update(credential).digest('base64');
