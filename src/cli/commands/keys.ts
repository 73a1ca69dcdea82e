// mari keys: API keys with roles. Only hashes are stored; a key is shown once, when created.
import { loadConfig } from '../../config.js';
import { KeyStore, ROLES, type Role } from '../../auth/keys.js';
import { parse, UsageError, type Command } from '../args.js';

export const keys: Command = {
  name: 'keys',
  summary: 'create, list and revoke API keys',
  usage: `mari keys create --role operator|auditor [--label TEXT] [--data-dir DIR]
mari keys list [--json] [--data-dir DIR]
mari keys revoke HASH_PREFIX [--data-dir DIR]

operator: every route. auditor: read-only (GET routes).
Keys are kept in DATA_DIR/api-keys.json as sha256 hashes; a new key is printed once.`,
  async run(argv) {
    const [action, ...rest] = argv;
    const { values, positionals } = parse(rest, {
      role: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' }, 'data-dir': { type: 'string' },
    }, true);
    const config = loadConfig(process.env, values['data-dir'] ? { data_dir: values['data-dir'] } : {});
    const store = KeyStore.open(config);
    if (action === 'create') {
      if (!ROLES.includes(values.role as Role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`);
      console.log(store.create(values.role as Role, values.label));
      return 0;
    }
    if (action === 'list') {
      const list = store.list();
      if (values.json) console.log(JSON.stringify(list));
      else for (const k of list) console.log(`${k.hash_prefix}  ${k.role.padEnd(8)}  ${k.source.padEnd(6)}  ${k.created ?? '-'}  ${k.label ?? ''}`);
      return 0;
    }
    if (action === 'revoke') {
      if (positionals.length !== 1) throw new UsageError('revoke takes one hash prefix (see mari keys list)');
      const revoked = store.revoke(positionals[0]);
      if (!revoked) throw new UsageError(`no key in the key file has the hash prefix ${positionals[0]}`);
      console.log(`revoked ${positionals[0]}`);
      return 0;
    }
    throw new UsageError('expected create, list or revoke');
  },
};
