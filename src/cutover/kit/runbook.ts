// The cutover runbook as a persisted state machine: announced → frozen → delta_imported →
// reconciled → parity_checked → switched → watched, or rolled_back from any step before the end.
// Each step has a gate (a check through a pluggable tool) and an action; a failed gate stops the
// runbook at its step with the reason, and every step, failure and operator decision is journaled
// with who and when. State is one document per cutover (`cutover`, tagged `current` until it ends).
import assert from 'node:assert/strict';
import { RequestError } from '../../errors/registry.js';
import { durationText, harareText } from '../../time.js';

export const CUTOVERS = 'cutover';
export const STEPS = ['announced', 'frozen', 'delta_imported', 'reconciled', 'parity_checked', 'switched', 'watched'] as const;
export type Step = (typeof STEPS)[number];
export type Phase = Step | 'rolled_back';
/** The journal is bounded: a runbook that needs more entries than this is stuck, not busy. */
const JOURNAL_MAX = 2000;

export interface JournalEntry {
  at: string;
  by: string;
  kind: 'step' | 'gate_failed' | 'decision' | 'rollback';
  step: Phase;
  text: string;
  details?: unknown;
}

export interface CutoverState {
  id: string;
  window: { starts_at: string; ends_at: string };
  /** The maintenance notice campaign whose reach gates the freeze. */
  campaign: string | null;
  /** Fraction of targeted subscribers reached (delivered) before freezing, 0..1. */
  reach_min: number;
  phase: Phase;
  blocked: { step: Step; reason: string; details?: unknown; at: string } | null;
  /** Ledger timestamp (ns, decimal) at the switch: transfers after it were taken by mari. */
  switched_at_timestamp: string | null;
  created_at: string;
  journal: JournalEntry[];
}

/** What a gate found: ok, or the reason it stops the runbook. */
export interface GateResult {
  ok: boolean;
  summary: string;
  details?: unknown;
}

/** The tools the gates and actions call. Each is a plain async function, so tests run the real ones. */
export interface CutoverTools {
  reach(campaign: string | null): Promise<GateResult>;
  importDelta(input: { from: string | undefined }): Promise<GateResult>;
  reconcile(input: { from: string | undefined }): Promise<GateResult>;
  parity(input: { from: string | undefined }): Promise<GateResult>;
  verify(): Promise<GateResult>;
  watch(): Promise<GateResult>;
}

/** What the runbook does to the platform when it moves (maintenance, status page, ledger position). */
export interface CutoverEffects {
  freeze(state: CutoverState, by: string): Promise<void>;
  switchOn(state: CutoverState, by: string): Promise<{ timestamp: bigint }>;
  rollback(state: CutoverState, plan: RollbackPlan, by: string): Promise<void>;
  /** Transfers committed after a ledger timestamp (ids, bounded), for a rollback plan. */
  transfersSince(timestamp: bigint, limit: number): { count: number; ids: string[] };
  save(state: CutoverState): Promise<void>;
}

export interface RollbackPlan {
  phase: Phase;
  actions: string[];
  transfers_since_switch: { count: number; ids: string[] } | null;
}

interface StepDefinition {
  step: Step;
  gate: string;
  check(tools: CutoverTools, state: CutoverState, input: { from: string | undefined }): Promise<GateResult>;
}

/** To enter each step after `announced`: its gate. */
const GATES: readonly StepDefinition[] = [
  { step: 'frozen', gate: 'notices reached enough subscribers', check: (tools, state) => tools.reach(state.campaign) },
  { step: 'delta_imported', gate: 'the delta since the full import is imported', check: (tools, _state, input) => tools.importDelta(input) },
  { step: 'reconciled', gate: 'reconcile finds no unexplained difference', check: (tools, _state, input) => tools.reconcile(input) },
  { step: 'parity_checked', gate: 'every enabled legacy service exists and answers', check: (tools, _state, input) => tools.parity(input) },
  { step: 'switched', gate: 'verify passes (chain, balances, conservation)', check: (tools) => tools.verify() },
  { step: 'watched', gate: 'the invariant monitors pass', check: (tools) => tools.watch() },
];

export function newCutover(input: { window: { starts_at: string; ends_at: string }; campaign: string | null; reach_min: number; by: string }, now = new Date()): CutoverState {
  const starts = Date.parse(input.window.starts_at);
  const ends = Date.parse(input.window.ends_at);
  if (!Number.isFinite(starts) || !Number.isFinite(ends) || starts >= ends) throw new RequestError('cutover_window_invalid', input.window);
  const state: CutoverState = {
    id: `cut-${now.getTime().toString(36)}`,
    window: { starts_at: new Date(starts).toISOString(), ends_at: new Date(ends).toISOString() },
    campaign: input.campaign, reach_min: input.reach_min, phase: 'announced', blocked: null, switched_at_timestamp: null,
    created_at: now.toISOString(), journal: [],
  };
  journal(state, { by: input.by, kind: 'step', step: 'announced', text: `cutover announced for ${harareText(new Date(starts))} to ${harareText(new Date(ends))} (Harare)` }, now);
  return state;
}

function journal(state: CutoverState, entry: Omit<JournalEntry, 'at'>, now = new Date()): void {
  state.journal.push({ at: now.toISOString(), ...entry });
  if (state.journal.length > JOURNAL_MAX) state.journal.splice(1, state.journal.length - JOURNAL_MAX);
}

export function nextStep(phase: Phase): StepDefinition | undefined {
  if (phase === 'rolled_back') return undefined;
  const index = STEPS.indexOf(phase);
  return GATES.find((g) => g.step === STEPS[index + 1]);
}

export class Runbook {
  constructor(private readonly tools: CutoverTools, private readonly effects: CutoverEffects) {}

  /** Runs the next step's gate; on success its action, then moves on. A failed gate blocks with the reason. */
  async advance(state: CutoverState, input: { by: string; from?: string }, now = () => new Date()): Promise<CutoverState> {
    const next = nextStep(state.phase);
    if (next === undefined) throw new RequestError('cutover_finished', { phase: state.phase });
    let result: GateResult;
    try {
      result = await next.check(this.tools, state, { from: input.from });
    } catch (error) {
      result = { ok: false, summary: `the check could not run: ${(error as Error).message}` };
    }
    if (!result.ok) {
      state.blocked = { step: next.step, reason: `${next.gate}: ${result.summary}`, details: result.details, at: now().toISOString() };
      journal(state, { by: input.by, kind: 'gate_failed', step: next.step, text: state.blocked.reason, details: result.details }, now());
      await this.effects.save(state);
      throw new RequestError('cutover_gate_failed', { step: next.step, reason: state.blocked.reason, details: result.details ?? null });
    }
    if (next.step === 'frozen') await this.effects.freeze(state, input.by);
    if (next.step === 'switched') state.switched_at_timestamp = (await this.effects.switchOn(state, input.by)).timestamp.toString();
    state.phase = next.step;
    state.blocked = null;
    journal(state, { by: input.by, kind: 'step', step: next.step, text: `${next.gate}: ${result.summary}`, details: result.details }, now());
    await this.effects.save(state);
    return state;
  }

  /** An operator's decision (a go/no-go, an accepted difference), journaled as said. */
  async decide(state: CutoverState, input: { by: string; text: string }): Promise<CutoverState> {
    journal(state, { by: input.by, kind: 'decision', step: state.phase, text: input.text });
    await this.effects.save(state);
    return state;
  }

  /** What a rollback would do from where the runbook is, said before anything is done. */
  plan(state: CutoverState): RollbackPlan {
    if (state.phase === 'rolled_back' || state.phase === 'watched') throw new RequestError('cutover_finished', { phase: state.phase });
    const actions: string[] = [];
    const switched = state.switched_at_timestamp !== null;
    const since = switched ? this.effects.transfersSince(BigInt(state.switched_at_timestamp!), 100) : null;
    if (state.phase === 'announced') {
      actions.push('nothing was frozen: legacy keeps serving; mari stays as it is');
    } else {
      actions.push('keep every mari customer service closed (maintenance on for all services)');
      if (switched) actions.push(`list the ${since!.count} transfer(s) mari committed since the switch for re-entry in legacy (in this plan and the journal)`);
      else actions.push('no customer transaction reached mari (it was never switched on)');
    }
    actions.push('mark the cutover rolled back in the runbook journal, with who and when');
    actions.push('open an incident on the status page: the legacy platform carries on serving customers');
    actions.push('outside mari: unfreeze the legacy platform and point the channels back to it');
    return { phase: state.phase, actions, transfers_since_switch: since };
  }

  async rollback(state: CutoverState, input: { by: string; confirm: boolean; reason: string }): Promise<{ state: CutoverState; plan: RollbackPlan }> {
    const plan = this.plan(state);
    if (!input.confirm) throw new RequestError('cutover_confirmation_required', { plan });
    await this.effects.rollback(state, plan, input.by);
    journal(state, { by: input.by, kind: 'rollback', step: 'rolled_back', text: `rolled back from ${state.phase}: ${input.reason}`, details: plan });
    state.phase = 'rolled_back';
    state.blocked = null;
    await this.effects.save(state);
    return { state, plan };
  }
}

/** Where the runbook is, for `mari cutover status`: the step, what blocks it, time left in the window. */
export function cutoverSummary(state: CutoverState, now = new Date()) {
  const left_ms = Date.parse(state.window.ends_at) - now.getTime();
  const next = nextStep(state.phase);
  assert.ok(STEPS.includes(state.phase as Step) || state.phase === 'rolled_back');
  return {
    id: state.id,
    phase: state.phase,
    steps: STEPS.map((step) => ({ step, done: state.phase !== 'rolled_back' && STEPS.indexOf(step) <= STEPS.indexOf(state.phase as Step) })),
    next: next ? { step: next.step, gate: next.gate } : null,
    blocked: state.blocked,
    window: { ...state.window, starts_harare: harareText(new Date(state.window.starts_at)), ends_harare: harareText(new Date(state.window.ends_at)) },
    time_left: state.phase === 'watched' || state.phase === 'rolled_back' ? null : durationText(left_ms),
    time_left_ms: left_ms,
    journal: state.journal,
  };
}
