// The platform: the ledger handle plus the product modules built on it (mobile money, prepaid,
// channels...). Each module loads its state from the store's documents at start, adds its routes
// to the HTTP API, and closes before the ledger does. serve, the tests and the tools all open the
// platform the same way, so what a test exercises is what production runs.
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import type { Route } from './channels/http/routes.js';
import type { LedgerHandle } from './store/open.js';
import { cutoverModule } from './cutover/kit/module.js';
import { openMoney } from './products/money/index.js';
import { smsModule } from './channels/sms/module.js';
import { ussdModule } from './channels/ussd/module.js';
import { prepaidModule } from './products/prepaid/module.js';

export interface ProductModule {
  readonly name: string;
  /** JSON routes, documented in the OpenAPI document like the ledger's own. */
  routes?(): Route[];
  /** Anything that is not a JSON route (a USSD form endpoint, a delivery-report callback). */
  register?(app: FastifyInstance): void | Promise<void>;
  /**
   * Takes a request before its handler runs (the body parsed), or throws a RequestError such as
   * try_later: the surge guard on balance enquiries. The HTTP channel asks it for every request,
   * including the enquiries its lane answers ahead of fastify.
   */
  admit?(request: AdmittedRequest): void;
  /** Stops timers and senders; the ledger is still open while this runs. */
  close?(): Promise<void>;
}

/** A request as a module's admit sees it: the route's pattern (/accounts/:id), not the path. */
export interface AdmittedRequest {
  method: string;
  url: string;
  params: unknown;
  body: unknown;
}

export interface PlatformContext {
  handle: LedgerHandle;
  config: Readonly<Config>;
  /** Modules opened before this one, by name: a later module may build on an earlier one. */
  modules: ReadonlyMap<string, ProductModule>;
}

/** Opens one module; the list below is in dependency order. */
export type ModuleFactory = (context: PlatformContext) => Promise<ProductModule>;

// The cutover kit last: it looks the others up when it needs them and closes first.
export const MODULES: ModuleFactory[] = [openMoney, prepaidModule, smsModule, ussdModule, cutoverModule()];

export interface Platform {
  handle: LedgerHandle;
  modules: ReadonlyMap<string, ProductModule>;
  /** A module by name, typed by the caller. */
  module<M extends ProductModule>(name: string): M;
  close(): Promise<void>;
}

export async function openPlatform(handle: LedgerHandle, config: Readonly<Config>, factories: readonly ModuleFactory[] = MODULES): Promise<Platform> {
  const modules = new Map<string, ProductModule>();
  try {
    for (const factory of factories) {
      const module = await factory({ handle, config, modules });
      modules.set(module.name, module);
    }
  } catch (error) {
    await closeModules(modules);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    handle,
    modules,
    module<M extends ProductModule>(name: string): M {
      const found = modules.get(name);
      if (!found) throw new Error(`no module named ${name}`);
      return found as M;
    },
    close() {
      closing ??= closeModules(modules).then(() => handle.close());
      return closing;
    },
  };
}

async function closeModules(modules: Map<string, ProductModule>): Promise<void> {
  // Reverse order: a module closes before those it builds on.
  for (const module of [...modules.values()].reverse()) await module.close?.();
}
