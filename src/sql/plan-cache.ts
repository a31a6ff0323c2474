/**
 * A small LRU of planning outcomes (plans and rejections), bounded by entry count and by the total
 * length of the cached SQL, so a few 100 KB statements cannot pin memory.
 */

export interface PlanCacheStats {
  entries: number;
  chars: number;
  hits: number;
  misses: number;
}

export class PlanCache<V> {
  private readonly entries = new Map<string, { value: V; chars: number }>();
  private chars = 0;
  private hits = 0;
  private misses = 0;

  constructor(
    private readonly maxEntries = 2_000,
    private readonly maxChars = 8_000_000,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, chars: number): void {
    if (chars > this.maxChars / 4) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.chars -= previous.chars;
    }
    this.entries.set(key, { value, chars });
    this.chars += chars;
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.chars <= this.maxChars) break;
      this.entries.delete(oldest);
      this.chars -= entry.chars;
    }
  }

  clear(): void {
    this.entries.clear();
    this.chars = 0;
    this.hits = 0;
    this.misses = 0;
  }

  stats(): PlanCacheStats {
    return { entries: this.entries.size, chars: this.chars, hits: this.hits, misses: this.misses };
  }
}
