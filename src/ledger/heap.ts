// A binary min-heap of pending expiries, ordered by expires_at. Entries of pendings that were
// posted or voided first are skipped when they reach the top, not removed early.
export interface Expiry {
  readonly expires_at: bigint;
  readonly pending_id: string;
}

export class ExpiryHeap {
  private readonly items: Expiry[] = [];

  get size(): number {
    return this.items.length;
  }

  peek(): Expiry | undefined {
    return this.items[0];
  }

  push(item: Expiry): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (items[parent].expires_at <= item.expires_at) break;
      items[index] = items[parent];
      index = parent;
    }
    items[index] = item;
  }

  pop(): Expiry | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right].expires_at < items[left].expires_at ? right : left;
      if (items[child].expires_at >= last.expires_at) break;
      items[index] = items[child];
      index = child;
    }
    items[index] = last;
    return top;
  }
}
