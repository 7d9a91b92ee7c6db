/** A shard as the rest of the cluster sees it: what it announces with every heartbeat. */
export interface ShardEntry {
  id: string;
  region: string;
  /** How the other shards reach this one (admin forwarding, liveness probes). */
  internalUrl: string;
  /** How clients outside the proxy reach it; redirects name it. */
  publicUrl: string;
  /** Where the other shards send media piped to this one (rooms spanning shards). */
  pipeAddress?: string;
  /** A draining shard takes no new rooms but keeps its live ones. */
  state: ShardState;
  load: ShardLoad;
  /** When the shard announced itself last (epoch ms). */
  seenAt: number;
}

export type ShardState = 'active' | 'draining';

export interface ShardLoad {
  rooms: number;
  participants: number;
  /** mediasoup workers' CPU over the last heartbeat, in cores (1.5: one and a half). */
  workerCpu: number;
}

export const NO_LOAD: ShardLoad = { rooms: 0, participants: 0, workerCpu: 0 };
