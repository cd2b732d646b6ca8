import { channel } from 'node:diagnostics_channel';
import type { ByteRange } from '../sources/source.js';

/** Published on `streamgate:parts` once per part of a parallel download that was sent whole. */
export interface PartFetchedMessage {
  /** The source's name when the caller knows it (the route table's `source`). */
  source: string | undefined;
  key: string;
  range: ByteRange;
  bytes: number;
  /** Times the part was reopened after a break; 0 when it came in one piece. */
  resumed: number;
}

/**
 * The parts channel of `node:diagnostics_channel`; published only while it has subscribers,
 * never per chunk (docs/parallel-parts.md).
 */
export const partsChannel = channel('streamgate:parts');

/** Publishes `message` when someone listens. */
export function publishPart(message: PartFetchedMessage): void {
  if (partsChannel.hasSubscribers) partsChannel.publish(message);
}
