import { Readable } from 'node:stream';
import { catalogue, GatewayError, SourceError, type SourceErrorCodes } from './errors.js';
import {
  type Decision,
  decide,
  needsValidators,
  type RequestValidators,
} from './http/conditional.js';
import { type Presentation, responseHeaders } from './http/headers.js';
import type { ReadSharing } from './read-sharing.js';
import type { ByteRange, ObjectStream, Source } from './sources/source.js';
import type { StreamScope } from './stream/events.js';
import { firstBytes } from './stream/first-bytes.js';
import { type OpenPolicy, openObject, statObject } from './stream/open.js';
import { ParallelBody } from './stream/parallel-body.js';
import { type ParallelPolicy, type PartPlan, planParts } from './stream/parts.js';
import { type ResumePolicy, Resumer, strongEtag } from './stream/resume.js';
import { type BodyPolicy, SourceBody } from './stream/source-body.js';

/** What a route serves: an object of a source, how to present it and how to word failures. */
export interface ObjectTarget {
  source: Source;
  key: string;
  presentation: Presentation;
  errors: SourceErrorCodes;
  /** Names this request's stream and source attempts in their diagnostics events. */
  scope?: StreamScope | undefined;
}

export interface ServePolicy {
  open: OpenPolicy;
  resume: ResumePolicy;
  body: BodyPolicy;
  /** Large bodies in ranged parts over several connections; off when undefined. */
  parallel?: ParallelPolicy | undefined;
  /** Reads in flight and cached objects that requests share; none: every request reads alone. */
  sharing?: ReadSharing | undefined;
}

/** The request as far as the answer depends on it. */
export interface ObjectRequest {
  method: string;
  headers: RequestValidators;
}

/**
 * A decided answer for the caller to send: a streaming body, a whole body from memory (a cached
 * object: sent in one write, its stream events published by the sender), a short JSON detail,
 * or none.
 */
export interface ObjectAnswer {
  status: 200 | 206 | 304 | 412 | 416;
  headers: Record<string, string>;
  body: Readable | Buffer | { detail: string } | undefined;
}

const DETAIL_OF = {
  412: { detail: catalogue.PRECONDITION_FAILED.detail },
  416: { detail: catalogue.RANGE_NOT_SATISFIABLE.detail },
} as const;

/**
 * The one place that turns a source's answer into an HTTP answer. A plain GET opens the object
 * at once (one round trip); HEAD and requests with Range or If-* headers first read the
 * validators, decide the status, and only then open exactly the bytes to send. Aborting
 * `controller` ends every source request; the body aborts it itself when destroyed early.
 * A body is returned once it holds its first bytes (destroyed, if the request is aborted first),
 * so that a source failing before them is answered with an error status. Source failures are
 * thrown as the route's GatewayError.
 */
export async function serveObject(
  request: ObjectRequest,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): Promise<ObjectAnswer> {
  try {
    const answer = await answerOf(request, target, policy, controller);
    if (answer.body instanceof Readable)
      await firstBytesUnlessAborted(answer.body, controller.signal);
    return answer;
  } catch (error) {
    if (error instanceof SourceError) {
      throw new GatewayError(target.errors[error.failure], { cause: error });
    }
    throw error;
  }
}

/**
 * Waits for the body's first bytes, or ends the body if the request is aborted first (the client
 * left). Until the reply takes the body, which destroys it when the client leaves, nothing else
 * would: a shared read's body would wait for ever once its last member left, another would wait
 * for its source's idle timeout, or try to resume a source that ended its body on the abort and
 * fail with the abort's error.
 */
async function firstBytesUnlessAborted(body: Readable, signal: AbortSignal): Promise<void> {
  const end = () => body.destroy();
  if (signal.aborted) end();
  else signal.addEventListener('abort', end, { once: true });
  try {
    await firstBytes(body);
  } finally {
    signal.removeEventListener('abort', end);
  }
}

async function answerOf(
  request: ObjectRequest,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): Promise<ObjectAnswer> {
  if (request.method !== 'HEAD' && !needsValidators(request.headers)) {
    if (policy.sharing !== undefined) {
      const own = (opened: ObjectStream) =>
        streamingAnswer({ status: 200 }, opened, target, policy, controller);
      return await policy.sharing.plain(target, policy, controller, own);
    }
    const opened = await openObject(
      target.source,
      target.key,
      {},
      policy.open,
      controller.signal,
      observed(target),
    );
    return streamingAnswer({ status: 200 }, opened, target, policy, controller);
  }
  return await decideThenOpen(request, target, policy, controller);
}

async function decideThenOpen(
  request: ObjectRequest,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): Promise<ObjectAnswer> {
  const { source, key, presentation } = target;
  // Twice at most: the object may change between reading its validators and opening it.
  for (let attempt = 0; ; attempt++) {
    const info = policy.sharing
      ? await policy.sharing.stat(target, policy, controller.signal)
      : await statObject(source, key, policy.open, controller.signal, observed(target));
    const decision = decide(request.headers, info);
    if (decision.status === 412 || decision.status === 416) {
      const headers = responseHeaders(decision, info, presentation);
      return { status: decision.status, headers, body: DETAIL_OF[decision.status] };
    }
    if (request.method === 'HEAD' || decision.status === 304) {
      const headers = responseHeaders(decision, info, presentation);
      return { status: decision.status, headers, body: undefined };
    }
    const range = decision.status === 206 ? decision.range : undefined;
    try {
      const ifMatch = strongEtag(info);
      if (policy.sharing !== undefined) {
        const own = (opened: ObjectStream) =>
          streamingAnswer(decision, opened, target, policy, controller);
        const read = { range, ifMatch };
        return await policy.sharing.decided(decision, target, read, info, policy, controller, own);
      }
      const opened = await openObject(
        source,
        key,
        { range, ifMatch },
        policy.open,
        controller.signal,
        observed(target),
      );
      return streamingAnswer(decision, opened, target, policy, controller);
    } catch (error) {
      const changed = error instanceof SourceError && error.failure === 'precondition-failed';
      if (!changed || attempt > 0) throw error;
      policy.sharing?.forget(target);
    }
  }
}

function streamingAnswer(
  decision: Decision & { status: 200 | 206 },
  opened: ObjectStream,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): ObjectAnswer {
  const { info } = opened;
  const range = decision.status === 206 ? decision.range : undefined;
  // The one branch to parallel parts (docs/parallel-parts.md): the open answer is the first.
  const plan =
    target.source.parallelParts === false ? undefined : planParts(info, range, policy.parallel);
  if (plan !== undefined) return parallelAnswer(decision, opened, plan, target, policy, controller);
  const body = new SourceBody(opened.body, {
    length: range ? range.end - range.start + 1 : info.size,
    resumer: Resumer.for(info, range, reopener(target, policy.open), policy.resume),
    policy: policy.body,
    controller,
    scope: target.scope,
  });
  return {
    status: decision.status,
    headers: responseHeaders(decision, info, target.presentation),
    body,
  };
}

function parallelAnswer(
  decision: Decision & { status: 200 | 206 },
  opened: ObjectStream,
  plan: PartPlan,
  target: ObjectTarget,
  policy: ServePolicy,
  controller: AbortController,
): ObjectAnswer {
  const body = new ParallelBody(opened.body, {
    plan,
    info: opened.info,
    open: reopener(target, policy.open),
    resume: policy.resume,
    body: policy.body,
    controller,
    scope: target.scope,
    source: target.scope?.source,
    key: target.key,
  });
  return {
    status: decision.status,
    headers: responseHeaders(decision, opened.info, target.presentation),
    body,
  };
}

function observed({ scope }: ObjectTarget, resumedFrom?: number) {
  return scope === undefined ? undefined : { scope, resumedFrom };
}

function reopener(target: ObjectTarget, policy: OpenPolicy) {
  return async (range: ByteRange, ifMatch: string, signal: AbortSignal): Promise<Readable> => {
    const { source, key } = target;
    const observedResume = observed(target, range.start);
    return (await openObject(source, key, { range, ifMatch }, policy, signal, observedResume)).body;
  };
}
