import type { Dispatcher } from 'undici';
import dispatcherRequest from 'undici/lib/api/api-request.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Pool from 'undici/lib/dispatcher/pool.js';

/**
 * The parts of undici the sources use, each from its own module. undici's index requires all of
 * undici at once (fetch, WebSocket, EventSource, cache stores, mocks: over 1 MB of source) and
 * so costs every process about 5 MiB of idle memory for code the gateway never runs. undici
 * declares no `exports` map: these are the paths its own index requires, and undici.test.ts
 * checks that they are the very classes and function the index exports. Types still come from
 * the index (`import type`), which loads nothing.
 */
export { Agent, Pool };

/** `dispatcher.request(options)`, without the index that adds `request` to every dispatcher. */
export function request(
  dispatcher: Dispatcher,
  options: Dispatcher.RequestOptions,
): Promise<Dispatcher.ResponseData> {
  return dispatcherRequest.call(dispatcher, options);
}
