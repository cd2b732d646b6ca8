import type { Readable } from 'node:stream';

function ignore(): void {}

/**
 * Destroys a source body nobody will read. undici turns a plain `destroy()` of an unread body
 * into an 'error' event, which would crash the process without a listener.
 */
export function discard(body: Readable): void {
  body.on('error', ignore);
  body.destroy();
}
