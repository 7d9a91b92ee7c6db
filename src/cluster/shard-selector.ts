import { ShardEntry } from './shard';

/** What placement knows of the first joiner of a new room. */
export interface PlacementHint {
  /** The joiner's region, from the proxy's map of client networks (X-Region). */
  region?: string;
}

/** Picks the shard for a new room among the live, active shards (never empty). */
export abstract class ShardSelector {
  abstract select(candidates: ShardEntry[], hint: PlacementHint): ShardEntry;
}

/**
 * The least loaded shard of the joiner's region, or of all regions when none of its
 * shards is active; load is participants first, then rooms, then worker CPU.
 */
export class RegionAwareLeastLoadedSelector extends ShardSelector {
  select(candidates: ShardEntry[], { region }: PlacementHint): ShardEntry {
    const local = candidates.filter((shard) => shard.region === region);
    const pool = local.length ? local : candidates;
    return pool.reduce((best, shard) => (compareLoad(shard, best) < 0 ? shard : best));
  }
}

function compareLoad(a: ShardEntry, b: ShardEntry): number {
  return (
    a.load.participants - b.load.participants ||
    a.load.rooms - b.load.rooms ||
    a.load.workerCpu - b.load.workerCpu
  );
}
