// A node:test reporter that ends the run with one plain line, "N passed, N failed", beside the
// spec reporter's summary. It counts leaf tests: a suite or a test that has subtests is not one.
interface TestEvent {
  type: string;
  data: { nesting: number; details?: { type?: string }; todo?: unknown; skip?: unknown };
}

export default async function* summary(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  // Whether a test at this nesting level has finished since its parent started: the parent then is no leaf.
  const childFinished = new Map<number, boolean>();
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { nesting } = event.data;
    const leaf = !childFinished.get(nesting + 1) && event.data.details?.type !== 'suite';
    childFinished.set(nesting + 1, false);
    childFinished.set(nesting, true);
    if (!leaf) continue;
    if (event.type === 'test:fail') failed += 1;
    else if (event.data.skip !== undefined || event.data.todo !== undefined) skipped += 1;
    else passed += 1;
  }
  yield `${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`;
}
