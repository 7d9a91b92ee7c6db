export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'password_required'
  | 'not_found'
  | 'conflict'
  | 'room_full'
  | 'room_locked'
  | 'not_joined'
  | 'unknown_request'
  | 'too_many_requests'
  | 'too_many_videos'
  | 'wrong_shard'
  | 'unavailable'
  | 'internal';

/** An error a client caused or may see; each door renders it in its own protocol. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}
