import type { FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, SourceError, type SourceErrorCodes } from './errors.js';
import {
  type Decision,
  decide,
  needsValidators,
  type RequestValidators,
} from './http/conditional.js';
import { isWeak } from './http/etag.js';
import { type Presentation, responseHeaders } from './http/headers.js';
import type { ByteRange, ObjectInfo, ObjectStream, Source } from './sources/source.js';
import { discard } from './stream/discard.js';
import { type OpenPolicy, openObject, statObject } from './stream/open.js';
import { type BodyPolicy, type Reopen, SourceBody } from './stream/source-body.js';

/** What a route serves: an object of a source, how to present it and how to word failures. */
export interface ObjectTarget {
  source: Source;
  key: string;
  presentation: Presentation;
  errors: SourceErrorCodes;
}

export interface ServePolicy {
  open: OpenPolicy;
  body: BodyPolicy;
}

const NO_BODY_DETAIL = {
  412: 'Precondition Failed',
  416: 'Range Not Satisfiable',
} as const;

/**
 * The one place that turns a source's answer into an HTTP response. A plain GET opens the
 * object at once (one round trip); HEAD and requests with Range or If-* headers first read the
 * validators, decide the status, and only then open exactly the bytes to send.
 */
export async function serveObject(
  request: FastifyRequest,
  reply: FastifyReply,
  target: ObjectTarget,
  policy: ServePolicy,
): Promise<void> {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  const validators = request.headers as RequestValidators;
  try {
    if (request.method !== 'HEAD' && !needsValidators(validators)) {
      const opened = await openObject(
        target.source,
        target.key,
        {},
        policy.open,
        controller.signal,
      );
      return send(reply, { status: 200 }, opened, target, policy, controller);
    }
    return await serveDecided(
      request.method === 'HEAD',
      validators,
      reply,
      target,
      policy,
      controller,
    );
  } catch (error) {
    throw toGatewayError(error, target.errors);
  }
}

async function serveDecided(
  head: boolean,
  validators: RequestValidators,
  reply: FastifyReply,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): Promise<void> {
  const { source, key, presentation } = target;
  // Twice at most: the object may change between reading its validators and opening it.
  for (let attempt = 0; ; attempt++) {
    const info = await statObject(source, key, policy.open, controller.signal);
    const decision = decide(validators, info);
    if (head || decision.status === 304 || decision.status === 412 || decision.status === 416) {
      reply.code(decision.status).headers(responseHeaders(decision, info, presentation));
      const detail = decision.status === 412 || decision.status === 416;
      return reply.send(detail ? { detail: NO_BODY_DETAIL[decision.status] } : undefined);
    }
    const range = decision.status === 206 ? decision.range : undefined;
    try {
      const opened = await openObject(
        source,
        key,
        { range, ifMatch: strongEtag(info) },
        policy.open,
        controller.signal,
      );
      return send(reply, decision, opened, target, policy, controller);
    } catch (error) {
      const changed = error instanceof SourceError && error.failure === 'precondition-failed';
      if (!changed || attempt > 0) throw error;
    }
  }
}

function strongEtag(info: ObjectInfo): string | undefined {
  return info.etag !== undefined && !isWeak(info.etag) ? info.etag : undefined;
}

function send(
  reply: FastifyReply,
  decision: Decision & { status: 200 | 206 },
  opened: ObjectStream,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): void {
  if (controller.signal.aborted) {
    discard(opened.body);
    return;
  }
  const { info } = opened;
  const range = decision.status === 206 ? decision.range : undefined;
  const body = new SourceBody(opened.body, {
    length: range ? range.end - range.start + 1 : info.size,
    reopen: resumer(target, info, range, policy.open),
    policy: policy.body,
    controller,
  });
  reply.code(decision.status).headers(responseHeaders(decision, info, target.presentation));
  reply.send(body);
}

/**
 * Resuming is safe only when the source can prove it serves the same bytes: byte ranges and a
 * strong ETag to send as If-Match.
 */
function resumer(
  target: ObjectTarget,
  info: ObjectInfo,
  range: ByteRange | undefined,
  policy: OpenPolicy,
): Reopen | undefined {
  const etag = strongEtag(info);
  if (etag === undefined || info.size === undefined || !info.acceptRanges) return undefined;
  const first = range?.start ?? 0;
  const last = range?.end ?? info.size - 1;
  return async (offset, signal) => {
    const next = { range: { start: first + offset, end: last }, ifMatch: etag };
    return (await openObject(target.source, target.key, next, policy, signal)).body;
  };
}

function toGatewayError(error: unknown, codes: SourceErrorCodes): unknown {
  if (error instanceof SourceError) return new GatewayError(codes[error.failure], { cause: error });
  return error;
}
