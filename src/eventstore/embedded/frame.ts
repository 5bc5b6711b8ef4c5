import { crc32c } from '@node-rs/crc32';

/**
 * One record of the log:
 *
 *   u32 payload length | u32 CRC-32C of the payload | payload
 *   payload = u16 stream-name length | stream name (UTF-8) | JSON [id, type, data, metadata]
 *
 * The stream name sits before the JSON so that opening the log can rebuild the per-stream
 * index without parsing any JSON.
 */
const FRAME_HEADER_BYTES = 8;
/** A record larger than this is refused on append and treated as damage when scanning. */
const MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export interface RecordBody {
  readonly id: string;
  readonly type: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

export const encodeFrame = (stream: string, body: RecordBody): Buffer => {
  const json = JSON.stringify([body.id, body.type, body.data, body.metadata]);
  const streamBytes = Buffer.byteLength(stream);
  const jsonBytes = Buffer.byteLength(json);
  const payloadBytes = 2 + streamBytes + jsonBytes;
  if (payloadBytes > MAX_PAYLOAD_BYTES)
    throw new RangeError(`record of ${payloadBytes} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadBytes);
  frame.writeUInt32LE(payloadBytes, 0);
  frame.writeUInt16LE(streamBytes, FRAME_HEADER_BYTES);
  frame.write(stream, FRAME_HEADER_BYTES + 2, 'utf8');
  frame.write(json, FRAME_HEADER_BYTES + 2 + streamBytes, 'utf8');
  frame.writeUInt32LE(crc32c(frame.subarray(FRAME_HEADER_BYTES)), 4);
  return frame;
};

export type FrameCheck =
  | { readonly ok: true; readonly length: number; readonly stream: string }
  | { readonly ok: false; readonly reason: string };

/** Checks the frame starting at `offset` of `buffer` (which holds the file from `bufferStart`). */
export const checkFrame = (buffer: Buffer, offset: number): FrameCheck => {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return { ok: false, reason: 'incomplete record header' };
  const payloadBytes = buffer.readUInt32LE(offset);
  if (payloadBytes < 2 || payloadBytes > MAX_PAYLOAD_BYTES)
    return { ok: false, reason: `implausible record length ${payloadBytes}` };
  const end = offset + FRAME_HEADER_BYTES + payloadBytes;
  if (end > buffer.length) return { ok: false, reason: 'record runs past the end of the file' };
  const payload = buffer.subarray(offset + FRAME_HEADER_BYTES, end);
  if (crc32c(payload) !== buffer.readUInt32LE(offset + 4)) return { ok: false, reason: 'checksum mismatch' };
  const streamBytes = payload.readUInt16LE(0);
  if (2 + streamBytes > payloadBytes) return { ok: false, reason: 'stream name runs past the record' };
  return { ok: true, length: FRAME_HEADER_BYTES + payloadBytes, stream: payload.toString('utf8', 2, 2 + streamBytes) };
};

/** Decodes the body of the frame at `offset` of `buffer`, which the index vouches for. */
export const decodeBodyAt = (buffer: Buffer, offset: number): RecordBody => {
  const payloadBytes = buffer.readUInt32LE(offset);
  const streamBytes = buffer.readUInt16LE(offset + FRAME_HEADER_BYTES);
  const json = buffer.toString(
    'utf8',
    offset + FRAME_HEADER_BYTES + 2 + streamBytes,
    offset + FRAME_HEADER_BYTES + payloadBytes,
  );
  const [id, type, data, metadata] = JSON.parse(json) as [string, string, unknown, unknown];
  return { id, type, data, metadata };
};

/** Whether any whole, valid record starts anywhere after `offset`: tells damage from a torn tail. */
export const findValidFrameAfter = (buffer: Buffer, offset: number): number | undefined => {
  for (let candidate = offset + 1; candidate + FRAME_HEADER_BYTES < buffer.length; candidate++) {
    if (checkFrame(buffer, candidate).ok) return candidate;
  }
  return undefined;
};
