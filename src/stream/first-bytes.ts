import type { Readable } from 'node:stream';

/**
 * Resolves once `body` holds bytes to send, has ended or was destroyed without an error; rejects
 * with its error if it fails first. An answer waits for it before its headers go out, so a source
 * that fails before its first byte is answered with the route's status and detail instead of a
 * 200 cut short. It reads nothing: the bytes stay in the body for whoever sends it.
 */
export async function firstBytes(body: Readable): Promise<void> {
  if (body.readableLength > 0 || body.readableEnded) return;
  if (body.errored) throw body.errored;
  if (body.destroyed) return;
  await new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      body.off('readable', onReady);
      body.off('close', onReady);
      body.off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    const onReady = () => settle();
    body.once('readable', onReady);
    body.once('close', onReady);
    body.once('error', settle);
  });
}
