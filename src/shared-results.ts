/**
 * Results shared by every request and subscriber of this process for a
 * moment: one run event goes out to each subscriber under each alias of its
 * selection, and each of those resolves the same fields of the same run. A
 * key names one immutable state (a run at an event sequence number, an image
 * by its hash), so what is shared is what each would have read.
 */
export class SharedResults<V> {
  private readonly entries = new Map<string, { value: Promise<V>; until: number }>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 1000) {}

  get(key: string, load: () => Promise<V>): Promise<V> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.until > now) return hit.value;
    if (this.entries.size >= this.maxEntries) this.evictExpired(now);
    const value = load();
    this.entries.set(key, { value, until: now + this.ttlMs });
    // A failed read is not shared: the next one tries again.
    value.catch(() => this.entries.delete(key));
    return value;
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.entries) if (entry.until <= now) this.entries.delete(key);
    // Still full (all fresh): the oldest go, in insertion order.
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
