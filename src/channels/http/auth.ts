// Bearer keys, checked before the body is read. Each route says what access it needs: public
// routes need no key, read routes any key, write routes an operator key.
import type { FastifyRequest } from 'fastify';
import type { KeyStore, Role } from '../../auth/keys.js';
import { RequestError } from '../../errors/registry.js';

export type Access = 'public' | 'read' | 'write';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    role?: Role;
  }
}

export const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/i;
const WRITE_ROLES: ReadonlySet<Role> = new Set(['operator']);

export function bearerAuth(keys: KeyStore) {
  return async function authenticateRequest(request: FastifyRequest): Promise<void> {
    // Unrouted requests carry no access and answer 404/405 without a key.
    const access = request.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const match = BEARER.exec(request.headers.authorization ?? '');
    const role = match ? keys.authenticate(match[1]) : undefined;
    if (role === undefined) throw new RequestError('unauthorized');
    if (access === 'write' && !WRITE_ROLES.has(role)) throw new RequestError('forbidden');
    request.role = role;
  };
}
