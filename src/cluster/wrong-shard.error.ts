import { DomainError } from '../conference/domain-error';
import { ShardEntry } from './shard';

/** The room lives on another shard: the client joins it there (the doors redirect). */
export class WrongShardError extends DomainError {
  readonly shard: string;
  readonly url: string;

  constructor(roomId: string, owner: Pick<ShardEntry, 'id' | 'publicUrl'>) {
    super('wrong_shard', `room ${roomId} is on shard ${owner.id}`);
    this.shard = owner.id;
    this.url = owner.publicUrl;
  }
}
