// Request error codes of migration and the cutover kit (issues 7 and 8). Merged into REQUEST_ERRORS by registry.ts;
// each is { status, message }: a stable code and the human sentence every channel shows.
import type { Entry } from './entry.js';

export const CUTOVER_ERRORS = {
  // Maintenance and the surge (issue 8).
  maintenance: { status: 503, message: 'This service is closed for planned maintenance; balance enquiries and statements still work. Try again after the planned end.' },
  try_later: { status: 429, message: 'Too many requests right now; try again in a few seconds.' },
  maintenance_until_invalid: { status: 400, message: 'until must be an RFC 3339 date-time in the future.' },
  service_unknown: { status: 400, message: 'No service has that name (see GET /maintenance for the list).' },
  incident_not_found: { status: 404, message: 'No incident has that id.' },
  incident_resolved: { status: 409, message: 'The incident is resolved; open a new one.' },
  // The cutover runbook (issue 8).
  cutover_not_started: { status: 409, message: 'No cutover has been announced yet (POST /cutover first).' },
  cutover_exists: { status: 409, message: 'A cutover is already under way; finish or roll it back first.' },
  cutover_finished: { status: 409, message: 'The cutover is over (watched or rolled back); nothing more to do.' },
  cutover_gate_failed: { status: 409, message: 'A gate of the cutover failed; the runbook stopped at its step (see details for the reason).' },
  cutover_confirmation_required: { status: 400, message: 'Rollback changes what customers can do: send confirm: true once you have read the plan.' },
  cutover_window_invalid: { status: 400, message: 'The window must start before it ends, each an RFC 3339 date-time.' },
  notice_campaign_not_found: { status: 404, message: 'No maintenance notice campaign has that id.' },
  notice_audience_invalid: { status: 400, message: 'The audience is active, all, or recent with active_within_days a whole number of days from 1 to 3650 (only recent takes it).' },
} as const satisfies Record<string, Entry>;
