import { DomainError } from '../../../conference/domain-error';
import { ErrorType, StanzaErrorCondition } from '../core/stanza-errors';

/**
 * The XEP-0045 section 7.2 error for a refused room entry: a missing or wrong meeting
 * password is not-authorized (7.2.5), a full room service-unavailable (7.2.9), a room
 * its token does not cover forbidden, a malformed room name jid-malformed, a locked room
 * not-allowed, a room the cluster cannot place right now recipient-unavailable, a
 * breakout room that is not open item-not-found.
 */
export function joinError(error: unknown): [ErrorType, StanzaErrorCondition, string] | null {
  if (!(error instanceof DomainError)) return null;
  switch (error.code) {
    case 'password_required':
    case 'unauthorized':
      return ['auth', 'not-authorized', error.message];
    case 'forbidden':
      // A wrong meeting password, or a breakout room of a room one was not let into.
      return ['auth', 'not-authorized', error.message];
    case 'not_found':
      return ['cancel', 'item-not-found', error.message];
    case 'room_locked':
      return ['cancel', 'not-allowed', error.message];
    case 'too_many_requests':
      return ['wait', 'resource-constraint', error.message];
    case 'room_full':
      return ['wait', 'service-unavailable', error.message];
    case 'bad_request':
      return ['modify', 'jid-malformed', error.message];
    case 'conflict':
      return ['wait', 'resource-constraint', error.message];
    // The cluster cannot place the room now (or it moved while a join was forwarded).
    case 'unavailable':
    case 'wrong_shard':
      return ['wait', 'recipient-unavailable', error.message];
    default:
      return ['cancel', 'internal-server-error', error.message];
  }
}
