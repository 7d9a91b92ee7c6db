import { ZodError } from 'zod';
import { WrongShardError } from '../../cluster/wrong-shard.error';
import { DomainError } from '../../conference/domain-error';
import type { Logger } from '../../observability/logger';
import { ErrorBody } from './protocol';

/**
 * Renders any failure as the ack's error body: domain errors keep their code, invalid
 * input becomes bad_request, and anything unexpected is logged and answered vaguely.
 */
export function toErrorBody(error: unknown, logger: Logger): ErrorBody {
  if (error instanceof WrongShardError) {
    return { code: error.code, message: error.message, shard: error.shard, url: error.url };
  }
  if (error instanceof DomainError) return { code: error.code, message: error.message };
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return { code: 'bad_request', message: `${where}${issue?.message ?? 'invalid request'}` };
  }
  // mediasoup rejects malformed or unsupported RTP/DTLS parameters with these.
  const isMediasoupRejection =
    error instanceof TypeError || (error instanceof Error && error.name === 'UnsupportedError');
  if (isMediasoupRejection) return { code: 'bad_request', message: error.message };
  logger.error({ err: error }, 'request failed');
  return { code: 'internal', message: 'internal error' };
}
