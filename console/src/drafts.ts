/**
 * What one page hands another within the tab (the editor's SQL to the Bulk export form), and the
 * per-browser query history (localStorage: SQL text and outcome only, never a credential or a result).
 */
const HISTORY_KEY = 'spectra.console.history';
const DRAFT_KEY = 'spectra.console.draft';
const HISTORY_MAX = 100;

export interface HistoryEntry {
  sql: string;
  at: string;
  outcome: string;
  ok: boolean;
}

export function readHistory(): HistoryEntry[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

export function remember(entry: HistoryEntry): HistoryEntry[] {
  const rest = readHistory().filter((h) => h.sql !== entry.sql);
  const next = [entry, ...rest].slice(0, HISTORY_MAX);
  localStorage.setItem(HISTORY_KEY, JSON.stringify(next));
  return next;
}

export function clearHistory(): void {
  localStorage.removeItem(HISTORY_KEY);
}

export function readDraft(): string | null {
  return sessionStorage.getItem(DRAFT_KEY);
}

export function saveDraft(sql: string): void {
  sessionStorage.setItem(DRAFT_KEY, sql);
}
