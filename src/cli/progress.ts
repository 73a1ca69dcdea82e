// A progress bar for long commands, on stderr and only on a terminal: rate and an ETA from the
// rate so far. Machines get --json and no bar.
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    options: { enabled?: boolean } = {},
  ) {
    this.enabled = options.enabled ?? Boolean(process.stderr.isTTY);
  }

  update(done: number): void {
    const now = performance.now();
    if (!this.enabled || (now - this.lastDraw < 100 && done < this.total)) return;
    this.lastDraw = now;
    const elapsed_s = (now - this.started) / 1000;
    const rate = done / Math.max(elapsed_s, 0.001);
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 30;
    const filled = Math.round(fraction * width);
    const eta_s = rate > 0 ? (this.total - done) / rate : 0;
    process.stderr.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total} ` +
      `${Math.round(rate)}/s ETA ${formatDuration(eta_s)}   `);
  }

  done(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
