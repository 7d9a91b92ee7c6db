import type { IncomingHttpHeaders } from 'node:http';
import type { LocateOptions } from './room-placement.service';

/** The header the proxy sets from its map of client networks to regions. */
export const REGION_HEADER = 'x-region';

/**
 * What a client's connection tells the placement of a room it opens: its region (only
 * from a trusted proxy, which overwrites what clients send), and whether the proxy
 * brought it here although it asked for another shard (`?shard=`): then that shard may
 * be down.
 */
export function placementHint(
  headers: IncomingHttpHeaders,
  askedShard: unknown,
  selfId: string,
  behindTrustedProxy: boolean,
): LocateOptions {
  const region = headers[REGION_HEADER];
  return {
    region: behindTrustedProxy && typeof region === 'string' ? region : undefined,
    ownerSuspect: typeof askedShard === 'string' && askedShard !== '' && askedShard !== selfId,
  };
}
