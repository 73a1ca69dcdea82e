// The public status page: each service up / degraded / down / in maintenance, the planned window
// and incidents with their updates. The body is rendered once per change (and every half minute,
// so an overrun shows) and served as stored bytes: the "is it back?" flood costs no store read
// and no rendering. Incidents are documents (`incidents`, tagged open or resolved).
import { RequestError } from '../../errors/registry.js';
import type { LedgerHandle } from '../../store/open.js';
import { harareText } from '../../time.js';
import type { Maintenance } from './maintenance.js';
import { SERVICES, SERVICE_LABELS, isService, type Service } from './services.js';

export const INCIDENTS = 'incidents';
/** Resolved incidents still shown, newest first. */
const RESOLVED_SHOWN_MAX = 10;
const RERENDER_INTERVAL_MS = 30_000;
const UPDATE_TEXT_MAX = 1000;

export type ServiceState = 'up' | 'degraded' | 'down' | 'maintenance';
export type Impact = 'degraded' | 'down';

export interface IncidentUpdate {
  at: string;
  by: string;
  text: string;
}

export interface Incident {
  id: string;
  title: string;
  impact: Impact;
  services: Service[];
  state: 'open' | 'resolved';
  opened_at: string;
  resolved_at?: string;
  updates: IncidentUpdate[];
}

export interface PlannedWindow {
  starts_at: string;
  ends_at: string;
  what: string;
}

export interface StatusBody {
  updated_at: string;
  overall: ServiceState;
  services: { service: Service; label: string; state: ServiceState; until?: string; until_harare?: string }[];
  window: (PlannedWindow & { starts_harare: string; ends_harare: string; overrun: boolean }) | null;
  incidents: Incident[];
}

export class StatusBoard {
  private readonly open = new Map<string, Incident>();
  private resolved: Incident[] = [];
  private window: PlannedWindow | null = null;
  private json = '';
  private html = '';
  private etag = '';
  private timer: NodeJS.Timeout | undefined;
  private sequence = 0;

  private constructor(private readonly handle: LedgerHandle, private readonly maintenance: Maintenance) {}

  static async open(handle: LedgerHandle, maintenance: Maintenance): Promise<StatusBoard> {
    const board = new StatusBoard(handle, maintenance);
    for await (const doc of handle.store.documents(INCIDENTS, { tag: 'open' })) {
      const incident = JSON.parse(doc.value) as Incident;
      board.open.set(incident.id, incident);
    }
    const resolved: Incident[] = [];
    for await (const doc of handle.store.documents(INCIDENTS, { tag: 'resolved' })) {
      resolved.push(JSON.parse(doc.value) as Incident);
      if (resolved.length > RESOLVED_SHOWN_MAX * 2) resolved.splice(0, RESOLVED_SHOWN_MAX);
    }
    board.resolved = resolved.slice(-RESOLVED_SHOWN_MAX).reverse();
    maintenance.onChange(() => board.render());
    handle.writer.on('fatal', () => board.render());
    board.render();
    board.timer = setInterval(() => board.render(), RERENDER_INTERVAL_MS);
    board.timer.unref();
    return board;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** The stored bodies: no work per request. */
  page(): { json: string; html: string; etag: string } {
    return { json: this.json, html: this.html, etag: this.etag };
  }

  incident(id: string): Incident | undefined {
    return this.open.get(id) ?? this.resolved.find((incident) => incident.id === id);
  }

  openIncidents(): Incident[] {
    return [...this.open.values()];
  }

  setWindow(window: PlannedWindow | null): void {
    this.window = window;
    this.render();
  }

  async openIncident(input: { title: string; impact: Impact; services: string[]; text: string; by: string }, now = new Date()): Promise<Incident> {
    const unknown = input.services.filter((service) => !isService(service));
    if (unknown.length > 0) throw new RequestError('service_unknown', { services: unknown });
    // Time-ordered keys: the store lists incidents oldest first.
    const id = `inc-${now.getTime().toString(36)}-${(this.sequence++ % 1296).toString(36).padStart(2, '0')}`;
    const incident: Incident = {
      id, title: input.title, impact: input.impact, services: input.services as Service[], state: 'open', opened_at: now.toISOString(),
      updates: [{ at: now.toISOString(), by: input.by, text: input.text.slice(0, UPDATE_TEXT_MAX) }],
    };
    await this.write(incident);
    this.open.set(id, incident);
    this.render();
    return incident;
  }

  async updateIncident(id: string, input: { text: string; by: string; resolve?: boolean; impact?: Impact }, now = new Date()): Promise<Incident> {
    const current = this.open.get(id);
    if (current === undefined) {
      if (this.incident(id) !== undefined) throw new RequestError('incident_resolved', { id });
      throw new RequestError('incident_not_found', { id });
    }
    const next: Incident = {
      ...current,
      impact: input.impact ?? current.impact,
      updates: [...current.updates, { at: now.toISOString(), by: input.by, text: input.text.slice(0, UPDATE_TEXT_MAX) }],
      ...(input.resolve ? { state: 'resolved' as const, resolved_at: now.toISOString() } : {}),
    };
    await this.write(next);
    if (next.state === 'resolved') {
      this.open.delete(id);
      this.resolved = [next, ...this.resolved].slice(0, RESOLVED_SHOWN_MAX);
    } else {
      this.open.set(id, next);
    }
    this.render();
    return next;
  }

  private async write(incident: Incident): Promise<void> {
    await this.handle.writer.execute({
      run: (ctx) => ctx.put({ collection: INCIDENTS, key: incident.id, tag: incident.state, value: JSON.stringify(incident) }),
    });
  }

  /** The body as it stands now (also what the stored bytes hold). */
  body(now = new Date()): StatusBody {
    const writerDown = this.handle.writer.failed !== undefined;
    const services = SERVICES.map((service) => {
      const closed = this.maintenance.closing(service);
      let state: ServiceState = 'up';
      for (const incident of this.open.values()) {
        if (!incident.services.includes(service)) continue;
        if (incident.impact === 'down') state = 'down';
        else if (state === 'up') state = 'degraded';
      }
      if (writerDown && service !== 'sms') state = 'down';
      if (closed) return { service, label: SERVICE_LABELS[service].en, state: 'maintenance' as const, until: closed.until, until_harare: harareText(new Date(closed.until)) };
      return { service, label: SERVICE_LABELS[service].en, state };
    });
    const order: ServiceState[] = ['up', 'degraded', 'maintenance', 'down'];
    const overall = services.reduce<ServiceState>((worst, s) => (order.indexOf(s.state) > order.indexOf(worst) ? s.state : worst), 'up');
    const window = this.window ?? this.windowFromSwitches();
    return {
      updated_at: now.toISOString(),
      overall,
      services,
      window: window && {
        ...window,
        starts_harare: harareText(new Date(window.starts_at)),
        ends_harare: harareText(new Date(window.ends_at)),
        overrun: Date.parse(window.ends_at) < now.getTime() && this.maintenance.list().length > 0,
      },
      incidents: [...this.open.values(), ...this.resolved],
    };
  }

  private windowFromSwitches(): PlannedWindow | null {
    const switches = this.maintenance.list();
    if (switches.length === 0) return null;
    const starts = switches.map((s) => s.since).sort()[0];
    const ends = switches.map((s) => s.until).sort().at(-1)!;
    return { starts_at: starts, ends_at: ends, what: switches.map((s) => s.reason).filter((r, i, all) => all.indexOf(r) === i).join('; ') };
  }

  render(now = new Date()): void {
    const body = this.body(now);
    this.json = JSON.stringify(body);
    this.html = renderHtml(body);
    this.etag = `"${now.getTime().toString(36)}"`;
  }
}

const STATE_TEXT: Record<ServiceState, string> = { up: 'Working', degraded: 'Degraded', down: 'Down', maintenance: 'Planned maintenance' };
const STATE_COLOUR: Record<ServiceState, string> = { up: '#1a7f37', degraded: '#9a6700', down: '#cf222e', maintenance: '#0969da' };

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function renderHtml(body: StatusBody): string {
  const rows = body.services.map((s) => `<tr><td>${escape(s.label)}</td><td style="color:${STATE_COLOUR[s.state]}">${STATE_TEXT[s.state]}` +
    `${s.until_harare ? ` until ${escape(s.until_harare)}` : ''}</td></tr>`).join('');
  const window = body.window === null ? '' : `<section><h2>Planned maintenance</h2><p>${escape(body.window.starts_harare)} to ${escape(body.window.ends_harare)} ` +
    `(Harare time)${body.window.overrun ? ' <strong>— running past the planned end</strong>' : ''}</p><p>${escape(body.window.what)}</p></section>`;
  const incidents = body.incidents.map((incident) => `<article><h3>${escape(incident.title)} <small>(${incident.state === 'open' ? escape(incident.impact) : 'resolved'})</small></h3><ul>` +
    [...incident.updates].reverse().map((u) => `<li><time>${escape(harareText(new Date(u.at)))}</time> ${escape(u.text)}</li>`).join('') + '</ul></article>').join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta http-equiv="refresh" content="60"><title>mari status: ${STATE_TEXT[body.overall]}</title>` +
    `<style>body{font-family:sans-serif;max-width:40em;margin:auto;padding:1em}td{padding:.3em .8em}</style></head><body>` +
    `<h1>Service status: ${STATE_TEXT[body.overall]}</h1><table>${rows}</table>${window}` +
    `<section><h2>Incidents</h2>${incidents || '<p>None.</p>'}</section><p><small>Updated ${escape(harareText(new Date(body.updated_at)))} (Harare time). ` +
    `JSON: <a href="/status.json">/status.json</a></small></p></body></html>`;
}
