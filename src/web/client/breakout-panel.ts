import type { BreakoutRequests, BreakoutsView } from '../../signaling/socketio/protocol';
import { actionButton, create, element, toast } from './ui-elements';

export interface BreakoutActions {
  create(options: BreakoutRequests['createBreakouts'][0]): Promise<void>;
  move(participantId: string, room: string): Promise<void>;
  join(room: string): Promise<void>;
  broadcast(text: string): Promise<void>;
  closeAll(): Promise<void>;
}

/** What the panel shows of the call: where we are, whether we moderate, who is with us. */
export interface BreakoutContext {
  room: string;
  isModerator: boolean;
  selfId?: string;
  /** The people in our room (others than ourselves), when it is the main room. */
  people: { id: string; displayName: string }[];
  breakouts?: BreakoutsView;
}

const MAIN_ROOM_NAME = 'Main room';

const timeLeft = (endsAt: string) => {
  const seconds = Math.max(0, Math.round((Date.parse(endsAt) - Date.now()) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')} left`;
};

/**
 * Breakout rooms in the web client: the panel (moderators create them, move people,
 * broadcast and return everyone; participants pick one when allowed) and, inside a
 * breakout room, the banner with its name, the time left and "Back to main room".
 */
export class BreakoutPanel {
  private context?: BreakoutContext;

  constructor(private readonly actions: BreakoutActions) {
    const panel = element('breakouts-panel');
    element('breakouts-button').addEventListener('click', () => {
      panel.hidden = !panel.hidden;
      element('breakouts-button').classList.toggle('active', !panel.hidden);
    });
    element<HTMLFormElement>('breakouts-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const count = Number(element<HTMLInputElement>('breakouts-count').value);
      const minutes = Number(element<HTMLInputElement>('breakouts-minutes').value);
      const assign = element<HTMLSelectElement>('breakouts-assign').value as 'manual';
      const allowChoice = element<HTMLInputElement>('breakouts-choice').checked;
      const options = { rooms: count, assign, allowChoice };
      this.act(
        actions.create(minutes > 0 ? { ...options, durationSeconds: minutes * 60 } : options),
      );
    });
    const broadcast = element<HTMLInputElement>('breakouts-message');
    element<HTMLFormElement>('breakouts-broadcast').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = broadcast.value.trim();
      if (!text) return;
      broadcast.value = '';
      this.act(actions.broadcast(text));
    });
    element('breakouts-close').addEventListener('click', () => this.act(actions.closeAll()));
    element('breakout-back').addEventListener('click', () => {
      const main = this.context?.breakouts?.mainRoom;
      if (main) this.act(actions.join(main));
    });
    setInterval(() => this.showTimer(), 1000);
  }

  update(context: BreakoutContext): void {
    this.context = context;
    const { breakouts, isModerator, room } = context;
    element('breakouts-button').hidden = !isModerator && !breakouts;
    const inBreakout = breakouts?.rooms.find((r) => r.id === room);
    element('breakout-banner').hidden = !inBreakout;
    element('breakout-name').textContent = inBreakout?.name ?? '';
    element('breakouts-form').hidden = !isModerator || !!breakouts;
    element('breakouts-moderation').hidden = !isModerator || !breakouts;
    element('breakouts-rooms').replaceChildren(...this.roomItems(context));
    this.showTimer();
  }

  private roomItems({ breakouts, isModerator, room, people, selfId }: BreakoutContext) {
    if (!breakouts) return [];
    const targets = [
      { id: breakouts.mainRoom, name: MAIN_ROOM_NAME },
      ...breakouts.rooms.map(({ id, name }) => ({ id, name })),
    ];
    const mainPeople = room === breakouts.mainRoom ? people : [];
    const rooms = [
      { id: breakouts.mainRoom, name: MAIN_ROOM_NAME, participants: mainPeople },
      ...breakouts.rooms,
    ];
    return rooms.map((entry) => {
      const item = create('li', 'breakout-room');
      item.dataset.room = entry.id;
      const heading = create('div', 'breakout-heading');
      heading.append(create('span', 'name', entry.name));
      const here = entry.id === room;
      if (here) heading.append(create('span', 'tag', 'You are here'));
      const mayJoin = isModerator || breakouts.allowChoice || entry.id === breakouts.mainRoom;
      if (!here && mayJoin) {
        heading.append(
          actionButton('Join', 'ghost join-breakout', entry.name, () =>
            this.actions.join(entry.id),
          ),
        );
      }
      const list = create('ul', 'breakout-people');
      for (const person of entry.participants) {
        if (person.id === selfId) continue;
        const line = create('li', 'person');
        line.dataset.name = person.displayName;
        line.append(create('span', 'name', person.displayName));
        if (isModerator) line.append(this.mover(person, entry.id, targets));
        list.append(line);
      }
      item.append(heading, list);
      return item;
    });
  }

  /** Moderators: where to send someone (their room chosen). */
  private mover(
    person: { id: string; displayName: string },
    current: string,
    targets: { id: string; name: string }[],
  ) {
    const select = create('select', 'move-to');
    select.setAttribute('aria-label', `Move ${person.displayName}`);
    for (const target of targets) {
      const option = create('option', undefined, target.name);
      option.value = target.id;
      option.selected = target.id === current;
      select.append(option);
    }
    select.addEventListener('change', () => this.act(this.actions.move(person.id, select.value)));
    return select;
  }

  private showTimer() {
    const endsAt = this.context?.breakouts?.endsAt;
    const text = endsAt ? timeLeft(endsAt) : '';
    element('breakout-timer').textContent = text;
    element('breakouts-timer').textContent = text;
  }

  private act(action: Promise<void>) {
    action.catch((error: unknown) => toast(error instanceof Error ? error.message : String(error)));
  }
}
