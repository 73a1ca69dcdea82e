// mari shadow: replay a window of legacy traffic against a scratch copy of mari (issue 8).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../config.js';
import { loadExpectations, shadow as runShadow, shadowSummary, type Expectation } from '../../cutover/kit/shadow.js';
import { harareLocalToMs } from '../../time.js';
import { Progress } from '../progress.js';
import { parse, UsageError, type Command } from '../args.js';

export const shadow: Command = {
  name: 'shadow',
  summary: 'replay a window of legacy traffic against a scratch copy of mari and compare',
  usage: `mari shadow --from mysql://…/legacy --since 'YYYY-MM-DD HH:MM:SS' [--until …] [--expect FILE] [--data-dir DIR] [--json]

Migrates legacy as it stood at --since (Harare local time) into a scratch data directory (a new
temporary one unless --data-dir, which must be empty), then replays every txn_log row from --since
(to --until) in txn_id order through mobile money, comparing outcome, fee and the debit wallet's
balance after, and that mari moved money for the same parties. Differences are grouped by cause
(fee_differs, limit_differs, insufficient_funds, unknown_party, party_differs,
accepted_legacy_refused, balance_differs, reversal_refunds_fee…) with examples; known legacy
quirks (duplicate_ref: a ref legacy wrote twice and moved money for once; suspended_in_legacy,
closed_in_legacy: legacy let a subscriber it has suspended or closed transact;
number_registered_twice; original_refused: a reversal of a row mari did not move) are reported
apart as explained, with the reason and the legacy subscriber behind each example. --expect names a JSON
file [{"cause": "fee_differs", "service": "P2P", "reason": "new tariff"}] of differences that are
expected: they are reported apart. Exits 0 when no undeclared difference is left, 1 otherwise.`,
  async run(argv) {
    const { values } = parse(argv, {
      from: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, expect: { type: 'string' },
      'data-dir': { type: 'string' }, json: { type: 'boolean' },
    });
    if (!values.from) throw new UsageError('--from is required');
    if (!values.since || harareLocalToMs(values.since) === undefined) throw new UsageError(`--since must be a Harare local time 'YYYY-MM-DD HH:MM:SS'`);
    if (values.until !== undefined && harareLocalToMs(values.until) === undefined) throw new UsageError(`--until must be a Harare local time 'YYYY-MM-DD HH:MM:SS'`);
    let expect: Expectation[] = [];
    try {
      if (values.expect) expect = loadExpectations(values.expect);
    } catch (error) {
      throw new UsageError(`--expect: ${(error as Error).message}`);
    }
    const given = values['data-dir'];
    if (given && fs.existsSync(given) && fs.readdirSync(given).length > 0) throw new UsageError(`--data-dir ${given} is not empty: the shadow needs a scratch directory`);
    const data_dir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mari-shadow-'));
    let progress: Progress | undefined;
    try {
      const report = await runShadow({
        from: values.from, since: values.since, until: values.until, data_dir, expect,
        config: loadConfig(process.env, { log_level: 'silent' }),
        onProgress: (done, total) => (progress ??= new Progress('replaying', total, { enabled: !values.json && Boolean(process.stderr.isTTY) })).update(done),
      });
      progress?.done();
      if (values.json) console.log(JSON.stringify(report));
      else for (const line of shadowSummary(report)) console.log(line);
      return report.ok ? 0 : 1;
    } finally {
      if (!given) fs.rmSync(data_dir, { recursive: true, force: true });
    }
  },
};
