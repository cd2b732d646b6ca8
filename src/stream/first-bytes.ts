import { finished, Readable } from 'node:stream';
import { discard } from './discard.js';

/**
 * The first `length` bytes of `source` as a stream of its own, with backpressure; the rest of
 * `source` is discarded as soon as they have been read. It owns `source`: destroying it early
 * discards `source` too. A source that ends or fails sooner ends or fails it the same way.
 */
export class FirstBytes extends Readable {
  readonly #source: Readable;
  #remaining: number;
  #detach: (() => void) | undefined;

  constructor(source: Readable, length: number) {
    super({ highWaterMark: 64 * 1024 });
    this.#source = source;
    this.#remaining = length;
    const onData = (chunk: Buffer) => this.#onData(chunk);
    source.on('data', onData);
    const stopWatching = finished(source, (error) => {
      this.#release();
      if (error) this.destroy(error);
      else this.push(null);
    });
    this.#detach = () => {
      source.off('data', onData);
      stopWatching();
    };
  }

  override _read(): void {
    this.#source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#release();
    callback(error);
  }

  #onData(chunk: Buffer): void {
    if (chunk.length >= this.#remaining) {
      const last = chunk.subarray(0, this.#remaining);
      this.#remaining = 0;
      this.#release();
      this.push(last);
      this.push(null);
      return;
    }
    this.#remaining -= chunk.length;
    if (!this.push(chunk)) this.#source.pause();
  }

  #release(): void {
    if (this.#detach === undefined) return;
    this.#detach();
    this.#detach = undefined;
    discard(this.#source);
  }
}
