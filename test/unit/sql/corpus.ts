/** Loads the attack and benign corpora under test/fixtures/sql/. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface AttackEntry {
  id: string;
  class: string;
  sql: string;
  /** The error code the guard must answer with at the standard level. */
  expect: string;
  /** Strings the error message or details must mention. */
  names?: string[];
}

export interface BenignEntry {
  id: string;
  class: string;
  sql: string;
}

const load = <T>(name: string): T[] =>
  (
    JSON.parse(
      readFileSync(fileURLToPath(new URL(`../../fixtures/sql/${name}`, import.meta.url)), 'utf8'),
    ) as {
      entries: T[];
    }
  ).entries;

export const attackCorpus = load<AttackEntry>('attack.json');
export const benignCorpus = load<BenignEntry>('benign.json');
