/** What authentication reads and writes: tenants and API keys, nothing else of the StateStore. */
import type { StateStore } from '../state/port.js';

export type AuthStores = Pick<StateStore, 'tenants' | 'apiKeys'>;
