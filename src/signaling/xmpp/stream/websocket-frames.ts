/** RFC 6455 section 5.2: FIN and the text opcode; a server's frames are not masked. */
const FINAL_TEXT_FRAME = 0x81;

/** The bytes of an unmasked WebSocket text frame carrying `payloadBytes` bytes. */
export function textFrameLength(payloadBytes: number): number {
  if (payloadBytes < 126) return 2 + payloadBytes;
  return (payloadBytes < 0x10000 ? 4 : 10) + payloadBytes;
}

/**
 * Writes one complete, unmasked WebSocket text frame (RFC 6455 section 5.2) carrying
 * `text` (`payloadBytes` long in UTF-8) at `offset`; returns the offset after it.
 */
export function writeTextFrame(
  buffer: Buffer,
  offset: number,
  text: string,
  payloadBytes: number,
): number {
  buffer[offset++] = FINAL_TEXT_FRAME;
  if (payloadBytes < 126) buffer[offset++] = payloadBytes;
  else if (payloadBytes < 0x10000) {
    buffer[offset++] = 126;
    offset = buffer.writeUInt16BE(payloadBytes, offset);
  } else {
    buffer[offset++] = 127;
    offset = buffer.writeBigUInt64BE(BigInt(payloadBytes), offset);
  }
  return offset + buffer.write(text, offset);
}
