import { ShardEntry } from './shard';

/** When a room spreads to another shard (config `cluster.span`). */
export interface SpanLimits {
  /** Participants of one room a shard serves before joiners go elsewhere. */
  shardRoomSize: number;
  /** Worker cores busy beyond which a shard takes no more joiners of spanning rooms. */
  maxShardCpu: number;
}

/** A shard that serves a room, and how many of the room's participants it serves. */
export interface RoomHost {
  shard: ShardEntry;
  participants: number;
}

/**
 * Which shard serves a joiner of a live room: a host of the joiner's region with room to
 * spare; else a shard of its region that joins the room; else any host with room to
 * spare; else the least loaded shard that can take more; else the emptiest host (one
 * that is not draining if there is one).
 *
 * Hosts are filled in their order (the home first) rather than evened out: a room on
 * fewer shards pipes fewer streams, and a shard whose participants leave is not refilled
 * while another has room, so a room that shrinks collapses back onto its first shards.
 */
export function servingShard(
  hosts: RoomHost[],
  candidates: ShardEntry[],
  region: string | undefined,
  limits: SpanLimits,
): ShardEntry {
  const notBusy = (shard: ShardEntry) =>
    shard.state === 'active' && shard.load.workerCpu < limits.maxShardCpu;
  const roomy = hosts.filter(
    (host) => host.participants < limits.shardRoomSize && notBusy(host.shard),
  );
  const hosting = new Set(hosts.map((host) => host.shard.id));
  const newcomers = candidates.filter((shard) => !hosting.has(shard.id) && notBusy(shard));
  const inRegion = (shard: ShardEntry) => region !== undefined && shard.region === region;
  const choice =
    roomy.find((host) => inRegion(host.shard))?.shard ??
    leastLoaded(newcomers.filter(inRegion)) ??
    roomy[0]?.shard ??
    leastLoaded(newcomers) ??
    emptiest(hosts.filter((host) => host.shard.state === 'active')) ??
    emptiest(hosts)!;
  return choice;
}

function emptiest(hosts: RoomHost[]): ShardEntry | undefined {
  if (!hosts.length) return undefined;
  return hosts.reduce((best, host) => (host.participants < best.participants ? host : best)).shard;
}

function leastLoaded(shards: ShardEntry[]): ShardEntry | undefined {
  if (!shards.length) return undefined;
  return shards.reduce((best, shard) => {
    const lighter =
      shard.load.participants - best.load.participants ||
      shard.load.workerCpu - best.load.workerCpu;
    return lighter < 0 ? shard : best;
  });
}
