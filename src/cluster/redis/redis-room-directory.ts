import { RoomDirectory } from '../room-directory';
import { RedisConnection } from './redis-connection';

// Each script reads and writes one room's lease atomically (Redis runs scripts alone).
// KEYS[1]: the lease; the value is the owner's id, the key's expiry the lease's end.

/** ARGV: shard, lease ms. The owner after the claim. */
const CLAIM = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return owner end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]`;

/** KEYS: leases; ARGV: shard, lease ms. The indexes (1-based) of leases others hold. */
const RENEW = `
local lost = {}
for i, key in ipairs(KEYS) do
  local owner = redis.call('GET', key)
  if owner and owner ~= ARGV[1] then
    lost[#lost + 1] = i
  else
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  end
end
return lost`;

/** ARGV: shard. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

/** ARGV: dead owner, heir, lease ms. The owner afterwards. */
const TAKE_OVER = `
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return owner end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return ARGV[2]`;

const HOSTS_TTL_MS = 86_400_000;

/** Room leases as Redis keys that expire unless their owner renews them. */
export class RedisRoomDirectory extends RoomDirectory {
  constructor(
    private readonly redis: RedisConnection,
    private readonly leaseMs: number,
  ) {
    super();
  }

  async claim(roomId: string, shardId: string) {
    return this.eval<string>(CLAIM, [this.lease(roomId)], [shardId, this.leaseMs]);
  }

  async renew(shardId: string, roomIds: string[]) {
    if (!roomIds.length) return [];
    const keys = roomIds.map((roomId) => this.lease(roomId));
    const lost = await this.eval<number[]>(RENEW, keys, [shardId, this.leaseMs]);
    return lost.map((index) => roomIds[index - 1]);
  }

  async release(roomId: string, shardId: string) {
    await this.eval(RELEASE, [this.lease(roomId)], [shardId]);
  }

  async takeOver(roomId: string, from: string, to: string) {
    return this.eval<string>(TAKE_OVER, [this.lease(roomId)], [from, to, this.leaseMs]);
  }

  async ownerOf(roomId: string) {
    return (await this.redis.commands.get(this.lease(roomId))) ?? undefined;
  }

  async setHost(roomId: string, shardId: string, participants: number) {
    const key = this.hostTable(roomId);
    // A host table outlives no room by more than a day, whoever forgets to remove itself.
    await this.redis.commands
      .multi()
      .hset(key, shardId, participants)
      .pexpire(key, HOSTS_TTL_MS)
      .exec();
  }

  async removeHost(roomId: string, shardId: string) {
    await this.redis.commands.hdel(this.hostTable(roomId), shardId);
  }

  async hostsOf(roomId: string) {
    const table = await this.redis.commands.hgetall(this.hostTable(roomId));
    return Object.fromEntries(Object.entries(table).map(([shard, n]) => [shard, Number(n)]));
  }

  private hostTable(roomId: string) {
    return this.redis.key('hosts', roomId);
  }

  private lease(roomId: string) {
    return this.redis.key('room', roomId);
  }

  private async eval<T>(script: string, keys: string[], args: (string | number)[]): Promise<T> {
    return (await this.redis.commands.eval(script, keys.length, ...keys, ...args)) as T;
  }
}
