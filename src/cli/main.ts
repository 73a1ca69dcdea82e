// The mari command line: one command per word, --help on each.
import { UsageError, type Command } from './args.js';
import { keys } from './commands/keys.js';
import { migrate } from './commands/migrate.js';
import { reconcileCommand } from './commands/reconcile.js';
import { serve } from './commands/serve.js';
import { verify } from './commands/verify.js';
import { ussd } from './commands/ussd.js';
import { cutover, incident, maintenance, notify, parity, planWindow, rehearse } from './commands/cutover_kit.js';

const commands: readonly Command[] = [serve, verify, keys, ussd, migrate, reconcileCommand, maintenance, incident, cutover, notify, parity, planWindow, rehearse];

function usage(): string {
  return `mari — a mobile money and prepaid ledger whose balances can be proven

usage: mari <command> [options]    (mari <command> --help for its options)

${commands.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`).join('\n')}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    console.error(`mari: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`mari ${name}: ${error.message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`mari ${name}: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
