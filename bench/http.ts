// Placeholder replaced below once the HTTP app exists.
export async function run(): Promise<void> {
  throw new Error('http benchmark not built yet');
}
