import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  type AccessVerdict,
  accessControlEnabled,
  createAccessCheck,
} from '../auth/access-check.js';
import { pinnedIfMatch } from '../auth/etag-pin.js';
import type { AccessSettings } from '../auth/settings.js';
import { GatewayError } from '../errors.js';

const PROTECTED_PREFIX = '/tasks/';

const REFUSAL = {
  401: () => new GatewayError('NOT_AUTHENTICATED', { headers: { 'www-authenticate': 'Bearer' } }),
  403: () => new GatewayError('FORBIDDEN'),
  431: () => new GatewayError('CREDENTIALS_TOO_LARGE'),
} as const;

function refuse(request: FastifyRequest, verdict: AccessVerdict & { granted: false }): never {
  const entry = { access: verdict.check, ...(verdict.detail && { reason: verdict.detail }) };
  if (verdict.serverSide) request.log.warn(entry, 'access denied: credential not verifiable');
  else request.log.info(entry, 'access denied');
  throw REFUSAL[verdict.status]();
}

/**
 * A URL pinned to one version of the object becomes an `If-Match` precondition, so that the
 * serving code answers 412 once the object has changed, exactly as for a client's own If-Match.
 */
function pinVersion(request: FastifyRequest, pinned: string): void {
  const ifMatch = pinnedIfMatch(request.headers['if-match'], pinned);
  if (ifMatch === undefined) throw new GatewayError('PRECONDITION_FAILED');
  request.headers['if-match'] = ifMatch;
}

async function access(app: FastifyInstance, settings: AccessSettings): Promise<void> {
  if (!accessControlEnabled(settings)) return;
  const check = createAccessCheck(settings);
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.url?.startsWith(PROTECTED_PREFIX)) return;
    const params = request.params as { task_id?: string };
    const verdict = await check({
      method: request.method,
      url: request.url,
      headers: request.headers,
      taskId: params.task_id,
    });
    if (!verdict.granted) refuse(request, verdict);
    if (verdict.pinnedEtag !== undefined) pinVersion(request, verdict.pinnedEtag);
  });
}

/**
 * Access control for every `/tasks/...` route (API keys, JWT, signed URLs), as an `onRequest`
 * hook on the root instance: it runs before validation, the stream limit and any source, and
 * after CORS, so that a preflight is answered without credentials. Off when nothing is set.
 */
export const accessPlugin = fp(access, { name: 'streamgate-access', fastify: '5.x' });
