/**
 * One start of a test service (PostgreSQL, DynamoDB Local, s3rver) for every vitest project that
 * lists its global setup: the first project starts it, each gets the same provided facts, the
 * last one's teardown stops it. Global setups run in vitest's main process, so globalThis is shared.
 */
import type { TestProject } from 'vitest/node';

type Setup = (project: TestProject) => Promise<() => Promise<void>>;
type Shared = {
  users: number;
  ready: Promise<{ teardown: () => Promise<void>; provided: [string, unknown][] }>;
};

const holder = globalThis as { __spectraSharedSetups?: Map<string, Shared> };
holder.__spectraSharedSetups ??= new Map();
const registry = holder.__spectraSharedSetups;

export function sharedAcrossProjects(key: string, setup: Setup): Setup {
  return async function sharedSetup(project) {
    let entry = registry.get(key);
    if (!entry) {
      const provided: [string, unknown][] = [];
      const recorder = {
        provide: (k: string, v: unknown) => provided.push([k, v]),
      } as unknown as TestProject;
      entry = { users: 0, ready: setup(recorder).then((teardown) => ({ teardown, provided })) };
      registry.set(key, entry);
    }
    const shared = entry;
    shared.users++;
    const { teardown, provided } = await shared.ready;
    for (const [k, v] of provided) project.provide(k as never, v as never);
    return async () => {
      if (--shared.users > 0) return;
      registry.delete(key);
      await teardown();
    };
  };
}
