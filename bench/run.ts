// npm run bench -- NAME: runs one benchmark. Each prints its figures and ends with one JSON line.
const benches: Record<string, () => Promise<{ run(args: string[]): Promise<void> }>> = {
  ledger: () => import('./ledger.js'),
  http: () => import('./http.js'),
  migrate: () => import('./migrate.js'),
  services: () => import('./services.js'),
  surge: () => import('./surge.js'),
  postgres: () => import('./postgres.js'),
  charging: () => import('./charging.js'),
  history: () => import('./history.js'),
};

const [name, ...args] = process.argv.slice(2);
if (!name || !(name in benches)) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exit(2);
}
const bench = await benches[name]();
await bench.run(args);
