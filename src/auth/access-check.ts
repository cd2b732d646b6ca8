import type { IncomingHttpHeaders } from 'node:http';
import { matchesAnyDigest } from './constant-time.js';
import { presentedCredential } from './credentials.js';
import { createJwtVerifier, type JwtCheck } from './jwt.js';
import type { AccessSettings } from './settings.js';
import { verifySignedUrl } from './signed-url.js';
import { reachesTask } from './task-scope.js';

/** What the check needs of a request; no Fastify object, so it is testable alone. */
export interface AccessRequest {
  method: string;
  /** Raw path and query, as received. */
  url: string;
  headers: IncomingHttpHeaders;
  /** The route's raw `task_id` parameter. */
  taskId: string | undefined;
}

export type AccessVerdict =
  | { granted: true; via: 'signed-url' | 'api-key' | 'jwt'; pinnedEtag: string | undefined }
  | {
      granted: false;
      status: 401 | 403 | 431;
      /** Which check failed: for the log only, the client is never told. */
      check: string;
      /** More for the log (a claim's name), never a credential. */
      detail?: string;
      /** The failure is the server's (a JWKS that cannot be fetched), logged as a warning. */
      serverSide: boolean;
    };

type Denial = Extract<AccessVerdict, { granted: false }>;

function deny(status: Denial['status'], check: string, detail?: string): Denial {
  const serverSide = check === 'jwks-unavailable' || check === 'jwt-unverifiable';
  return detail === undefined
    ? { granted: false, status, check, serverSide }
    : { granted: false, status, check, detail, serverSide };
}

const GRANTED_API_KEY: AccessVerdict = { granted: true, via: 'api-key', pinnedEtag: undefined };

/** True when any access method is configured, so that `/tasks/...` needs a credential. */
export function accessControlEnabled(settings: AccessSettings): boolean {
  return (
    settings.apiKeyDigests.length > 0 ||
    settings.jwt !== undefined ||
    settings.signedUrlKeys.length > 0
  );
}

function judgeJwt(check: JwtCheck, taskId: string | undefined): AccessVerdict {
  if (!check.ok) return deny(401, check.failure, check.detail);
  if (check.scope === undefined) return deny(403, 'jwt-tasks-claim-missing-or-invalid');
  if (!reachesTask(check.scope, taskId)) return deny(403, 'jwt-task-out-of-scope');
  return { granted: true, via: 'jwt', pinnedEtag: undefined };
}

/**
 * Builds the check every `/tasks/...` request passes: one credential (see
 * `presentedCredential`), judged by its own verifier. 401 for a missing or invalid credential,
 * 403 for a valid one that does not reach the task, 431 for an oversized one.
 */
export function createAccessCheck(
  settings: AccessSettings,
  clock: () => number = Date.now,
): (request: AccessRequest) => Promise<AccessVerdict> {
  const verifyJwt = settings.jwt === undefined ? undefined : createJwtVerifier(settings.jwt);
  const apiKeyMatches = (value: string) =>
    settings.apiKeyDigests.length > 0 && matchesAnyDigest(value, settings.apiKeyDigests);

  return async (request) => {
    const presented = presentedCredential(request.url, request.headers);
    switch (presented.kind) {
      case 'none':
        return deny(401, 'no-credential');
      case 'malformed':
        return deny(401, 'credential-malformed');
      case 'too-large':
        return deny(431, 'credential-too-large');
      case 'signed-url': {
        if (settings.signedUrlKeys.length === 0) return deny(401, 'signed-url-not-configured');
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          return deny(401, 'signed-url-method-not-allowed');
        }
        const check = verifySignedUrl(request.url, settings.signedUrlKeys, clock());
        if (!check.ok) return deny(401, check.failure);
        return { granted: true, via: 'signed-url', pinnedEtag: check.etag };
      }
      case 'api-key':
        return apiKeyMatches(presented.value) ? GRANTED_API_KEY : deny(401, 'api-key-mismatch');
      case 'bearer':
        if (apiKeyMatches(presented.value)) return GRANTED_API_KEY;
        if (verifyJwt === undefined) return deny(401, 'api-key-mismatch');
        return judgeJwt(await verifyJwt(presented.value), request.taskId);
    }
  };
}
