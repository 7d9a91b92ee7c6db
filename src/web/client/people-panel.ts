import type { LobbyEntryView, RaisedHandView } from '../../signaling/socketio/protocol';
import type { Member } from './call';
import { actionButton, create, element } from './ui-elements';

/** What a moderator (or anyone, for their own hand) can do from the list. */
export interface PeopleActions {
  mute(participantId: string, kind: 'audio' | 'video'): Promise<void>;
  kick(participantId: string): Promise<void>;
  lowerHand(participantId: string): Promise<void>;
  admit(participantId: string): Promise<void>;
  reject(participantId: string): Promise<void>;
}

const ROLE_TAG: Record<Member['role'], string> = {
  moderator: 'Host',
  participant: '',
  guest: 'Guest',
};

/**
 * The people in the room: raised hands first, in the order they were raised, then
 * everyone else in the order they came; each with microphone and camera state, and for
 * moderators the buttons to mute, stop the video, remove, lower a hand and admit.
 */
/** Someone waiting in the lobby, with Admit and Reject (the lobby panel and this list). */
export function waitingItem(
  entry: LobbyEntryView,
  actions: Pick<PeopleActions, 'admit' | 'reject'>,
  className?: string,
): HTMLLIElement {
  const item = create('li', className);
  item.dataset.participantId = entry.id;
  item.append(
    create('span', 'name', entry.displayName),
    actionButton('Admit', 'primary admit', entry.displayName, () => actions.admit(entry.id)),
    actionButton('Reject', 'ghost reject', entry.displayName, () => actions.reject(entry.id)),
  );
  return item;
}

export class PeoplePanel {
  private readonly members = new Map<string, Member>();
  private hands: RaisedHandView[] = [];
  private waiting: LobbyEntryView[] = [];
  private selfModerates = false;

  constructor(private readonly actions: PeopleActions) {}

  set(member: Member): void {
    this.members.set(member.id, { ...member });
    if (member.isLocal) this.selfModerates = member.role === 'moderator';
    this.render();
  }

  remove(memberId: string): void {
    this.members.delete(memberId);
    this.render();
  }

  setHands(hands: RaisedHandView[]): void {
    this.hands = hands;
    this.render();
  }

  setWaiting(waiting: LobbyEntryView[]): void {
    this.waiting = waiting;
    this.render();
  }

  private render() {
    const place = new Map(this.hands.map((hand, index) => [hand.participantId, index + 1]));
    const order = (member: Member) => place.get(member.id) ?? Number.MAX_SAFE_INTEGER;
    const members = [...this.members.values()].sort((a, b) => order(a) - order(b));
    element('people-list').replaceChildren(...members.map((m) => this.item(m, place.get(m.id))));
    element('people-title').textContent = `People (${members.length})`;

    const waiting = this.selfModerates ? this.waiting : [];
    element('people-waiting').hidden = waiting.length === 0;
    element('people-waiting-list').replaceChildren(
      ...waiting.map((entry) => waitingItem(entry, this.actions, 'person')),
    );
    const badge = element('hands-badge');
    badge.textContent = `✋${this.hands.length}`;
    badge.hidden = this.hands.length === 0;
  }

  private item(member: Member, handPlace: number | undefined) {
    const item = create('li', 'person');
    item.dataset.participantId = member.id;
    item.dataset.name = member.displayName;
    item.append(create('span', 'name', member.displayName));
    const tag = member.isLocal ? 'You' : ROLE_TAG[member.role];
    if (tag) item.append(create('span', 'tag', tag));
    if (handPlace !== undefined) item.append(create('span', 'hand', `✋ ${handPlace}`));
    const state = [member.audioMuted && 'muted', member.videoMuted && 'no video'].filter(Boolean);
    if (state.length) item.append(create('span', 'state', state.join(', ')));
    const name = member.displayName;
    if (handPlace !== undefined && (member.isLocal || this.selfModerates)) {
      item.append(
        actionButton('Lower hand', 'ghost lower-hand', name, () =>
          this.actions.lowerHand(member.id),
        ),
      );
    }
    if (this.selfModerates && !member.isLocal) {
      if (!member.audioMuted) {
        item.append(
          actionButton('Mute', 'ghost mute', name, () => this.actions.mute(member.id, 'audio')),
        );
      }
      if (!member.videoMuted) {
        item.append(
          actionButton('Stop video', 'ghost stop-video', name, () =>
            this.actions.mute(member.id, 'video'),
          ),
        );
      }
      item.append(actionButton('Remove', 'ghost kick', name, () => this.actions.kick(member.id)));
    }
    return item;
  }
}
