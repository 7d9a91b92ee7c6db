import type {
  ChatMessageView,
  LobbyEntryView,
  RaisedHandView,
  Reaction,
  RecordingStateView,
  VideoLimits,
} from '../../signaling/socketio/protocol';
import { REACTIONS } from '../../conference/room';
import type { CallListener, ConnectionQuality, Member, Phase } from './call';
import type { DeviceKind } from './local-media';
import { PeopleActions, PeoplePanel, waitingItem } from './people-panel';
import { TilePages } from './tile-pages';
import { create, element, toast } from './ui-elements';
import { MIN_PAGE_TILE } from './visible-tiles';

const SCREENS = ['landing', 'login', 'meetings', 'prejoin', 'waiting', 'room', 'ended'] as const;
type Screen = (typeof SCREENS)[number];

/** Must match the gap of `.tiles` in styles.css. */
const TILE_GAP_PX = 12;
/** How long a reaction floats over its sender's tile. */
const REACTION_MS = 4_000;

/** The tiles beside a shared screen. */
const STRIP_TILE = { width: 200, height: 112 };
/** How often the tiles' connection quality is read from WebRTC statistics. */
const QUALITY_INTERVAL_MS = 2_000;
const QUALITY_LABEL: Record<ConnectionQuality, string> = {
  good: 'Good connection',
  fair: 'Fair connection',
  poor: 'Poor connection',
  unknown: '',
};

/** The side panels beside the stage (one at a time). */
type Side = 'chat' | 'people' | 'none';

const MIC_OFF_ICON =
  '<svg viewBox="0 0 24 24"><path d="M12 14a3 3 0 0 0 3-3V5a3 3 0 0 0-6 0v6a3 3 0 0 0 3 3zm5-3a5 5 0 0 1-10 0H5a7 7 0 0 0 6 6.92V21h2v-3.08A7 7 0 0 0 19 11h-2z"/><path d="M4 3 21 20" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/></svg>';

export function showScreen(screen: Screen): void {
  for (const id of SCREENS) element(id).hidden = id !== screen;
}

/** The landing form; `open` receives a valid room name. */
export function showLanding(isValidRoom: (room: string) => boolean, open: (room: string) => void) {
  showScreen('landing');
  const input = element<HTMLInputElement>('room-input');
  input.value = `room-${Math.random().toString(36).slice(2, 8)}`;
  input.select();
  element<HTMLFormElement>('landing-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const room = input.value.trim();
    if (isValidRoom(room)) open(room);
    else
      toast('Room names use letters, digits, ".", "-" and "_" and start with a letter or digit.');
  });
}

/** Shows or hides an error line (a role="alert" element). */
export function showError(id: string, text: string | undefined): void {
  const line = element(id);
  line.textContent = text ?? '';
  line.hidden = !text;
}

/** What the form before joining asks for: a name, the meeting password, or nothing more. */
export type PrejoinAsk = 'name' | 'password' | 'nothing';

/**
 * The form before joining; resolves with the name or password given ('' when it asks
 * for nothing). `withMedia` shows the camera preview and device choice above it.
 */
export function prejoinForm(
  room: string,
  ask: PrejoinAsk,
  {
    initial = '',
    error,
    withMedia = false,
  }: { initial?: string; error?: string; withMedia?: boolean },
): Promise<string> {
  showScreen('prejoin');
  element('prejoin-room').textContent = room;
  element('prejoin-media').hidden = !withMedia;
  element('name-field').hidden = ask !== 'name';
  element('password-field').hidden = ask !== 'password';
  showError('prejoin-error', error);
  const name = element<HTMLInputElement>('name-input');
  const password = element<HTMLInputElement>('password-input');
  name.required = ask === 'name';
  password.required = ask === 'password';
  const input = ask === 'name' ? name : ask === 'password' ? password : undefined;
  if (input) {
    input.value = initial;
    input.focus();
  }
  return new Promise<string>((resolve) => {
    element<HTMLFormElement>('name-form').onsubmit = (event) => {
      event.preventDefault();
      const value = ask === 'name' ? name.value.trim() : ask === 'password' ? password.value : '';
      if (value || ask === 'nothing') resolve(value);
    };
  });
}

/** Asks for the meeting password (again, after a wrong one). */
export const askPassword = (room: string, wrong: boolean) =>
  prejoinForm(room, 'password', { error: wrong ? 'Wrong password: try again.' : undefined });

/** The lobby screen of someone waiting to be let in; `leave` gives up. */
export function showWaiting(room: string, leave: () => void): void {
  showScreen('waiting');
  element('waiting-room').textContent = room;
  element('waiting-leave').onclick = leave;
}

export function showEnded(title: string, detail: string, rejoin: () => void): void {
  showScreen('ended');
  element('ended-title').textContent = title;
  element('ended-detail').textContent = detail;
  element('rejoin-button').onclick = rejoin;
}

const initials = (name: string) =>
  name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((word) => [...word][0]?.toUpperCase() ?? '')
    .join('') || '?';

/** Shows a track in a media element, replacing the stream only when the track changed. */
function attach(media: HTMLMediaElement, track: MediaStreamTrack | undefined) {
  const current = (media.srcObject as MediaStream | null)?.getTracks()[0];
  if (current === track) return;
  media.srcObject = track ? new MediaStream([track]) : null;
  if (track) media.play().catch(() => undefined);
}

export interface RoomActions extends PeopleActions {
  toggleMic(): void;
  toggleCamera(): void;
  leave(): void;
  sendChat(text: string): Promise<void>;
  admit(participantId: string): Promise<void>;
  reject(participantId: string): Promise<void>;
  toggleRecording(): Promise<void>;
  toggleScreenShare(): void;
  /** The devices to offer and the ones in use (speaker: the view's own choice). */
  devices(): Promise<{ available: MediaDeviceInfo[]; inUse: Partial<Record<DeviceKind, string>> }>;
  switchDevice(kind: DeviceKind, deviceId: string): Promise<void>;
  /** Remembers the speaker chosen (the view plays remote audio there). */
  speakerChosen(deviceId: string): void;
  toggleHand(): void;
  react(emoji: Reaction): Promise<void>;
  quality(): Promise<Record<string, ConnectionQuality>>;
  /** The remote videos shown now: member id → tile height in device pixels, in tile order. */
  showVideos(shown: Map<string, number>): void;
}

/** The controls' view of the call's local media. */
export interface ControlsState {
  hasMic: boolean;
  micOn: boolean;
  hasCamera: boolean;
  cameraOn: boolean;
  sharingScreen: boolean;
  handRaised: boolean;
}

type SinkableAudio = HTMLAudioElement & { setSinkId?(id: string): Promise<void> };

/** The room screen: tiles, controls and chat. It renders what the call reports. */
export class RoomView implements Omit<CallListener, 'devices' | 'passwordNeeded'> {
  private readonly tiles = new Map<string, HTMLElement>();
  private readonly grid = element('tiles');
  private readonly messages = element<HTMLOListElement>('chat-messages');
  /** Who shares a screen, the latest last: the latest is shown large. */
  private readonly screens = new Map<string, { name: string; track: MediaStreamTrack }>();
  private readonly people: PeoplePanel;
  private readonly pages: TilePages;
  private activeSpeakerId?: string;
  /** The tile shown large in speaker view: whoever spoke last (not ourselves). */
  private featuredId?: string;
  private speakerView = false;
  private unread = 0;

  constructor(
    room: string,
    private readonly actions: RoomActions,
    private speakerId = '',
  ) {
    element('room-name').textContent = room;
    document.title = `${room} · Video Window`;
    element('mic-button').addEventListener('click', () => actions.toggleMic());
    element('camera-button').addEventListener('click', () => actions.toggleCamera());
    element('leave-button').addEventListener('click', () => actions.leave());
    this.people = new PeoplePanel(actions);
    this.pages = new TilePages(
      (shown) => actions.showVideos(shown),
      () => this.layout(),
    );
    element('chat-button').addEventListener('click', () => this.toggleSide('chat'));
    element('people-button').addEventListener('click', () => this.toggleSide('people'));
    element('hand-button').addEventListener('click', () => actions.toggleHand());
    element('view-button').addEventListener('click', () => this.toggleSpeakerView());
    const bar = element('reactions-bar');
    bar.replaceChildren(
      ...REACTIONS.map((emoji) => {
        const button = create('button', 'ghost', emoji);
        button.type = 'button';
        button.setAttribute('aria-label', `React ${emoji}`);
        button.addEventListener('click', () => {
          bar.hidden = true;
          actions.react(emoji).catch((error: unknown) => toast(String(error)));
        });
        return button;
      }),
    );
    element('reactions-button').addEventListener('click', () => (bar.hidden = !bar.hidden));
    element('screen-button').addEventListener('click', () => actions.toggleScreenShare());
    element('devices-button').addEventListener('click', () => void this.toggleDevices());
    const chooser = (id: string, kind: DeviceKind) =>
      element<HTMLSelectElement>(id).addEventListener('change', (event) => {
        const select = event.target as HTMLSelectElement;
        actions.switchDevice(kind, select.value).catch((error: unknown) => {
          toast(`Could not switch: ${error instanceof Error ? error.message : String(error)}`);
          void this.showDevices();
        });
      });
    chooser('camera-select', 'videoinput');
    chooser('mic-select', 'audioinput');
    element<HTMLSelectElement>('speaker-select').addEventListener('change', (event) => {
      this.speakerId = (event.target as HTMLSelectElement).value;
      actions.speakerChosen(this.speakerId);
      for (const audio of this.grid.querySelectorAll('audio')) this.playOnSpeaker(audio);
    });
    element('record-button').addEventListener('click', () => {
      actions
        .toggleRecording()
        .catch((error: unknown) => toast(error instanceof Error ? error.message : String(error)));
    });
    element('copy-link').addEventListener('click', () => {
      const link = `${location.origin}/r/${encodeURIComponent(room)}`;
      navigator.clipboard?.writeText(link).then(
        () => toast('Link copied'),
        () => toast(link),
      );
    });
    const input = element<HTMLInputElement>('chat-input');
    element<HTMLFormElement>('chat-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = '';
      actions.sendChat(text).catch((error: unknown) => {
        input.value = text;
        toast(`Message not sent: ${error instanceof Error ? error.message : String(error)}`);
      });
    });
    new ResizeObserver(() => this.layout()).observe(this.grid);
    this.setSide(window.innerWidth >= 900 ? 'chat' : 'none');
    setInterval(() => void this.showQuality(), QUALITY_INTERVAL_MS);
  }

  /** Reflects the local devices in the control buttons. */
  setControls(state: ControlsState) {
    const set = (id: string, present: boolean, on: boolean, what: string) => {
      const button = element<HTMLButtonElement>(id);
      button.disabled = !present;
      button.classList.toggle('off', !on);
      button.setAttribute('aria-pressed', String(on));
      button.title = present ? `Turn ${what} ${on ? 'off' : 'on'}` : `No ${what}`;
    };
    set('mic-button', state.hasMic, state.micOn, 'microphone');
    set('camera-button', state.hasCamera, state.cameraOn, 'camera');
    const screen = element<HTMLButtonElement>('screen-button');
    screen.disabled = !navigator.mediaDevices?.getDisplayMedia;
    screen.classList.toggle('active', state.sharingScreen);
    screen.setAttribute('aria-pressed', String(state.sharingScreen));
    screen.title = state.sharingScreen ? 'Stop sharing your screen' : 'Share your screen';
    const hand = element('hand-button');
    hand.classList.toggle('active', state.handRaised);
    hand.setAttribute('aria-pressed', String(state.handRaised));
    hand.title = state.handRaised ? 'Lower your hand' : 'Raise your hand';
  }

  phase(phase: Phase): void {
    const status = element('status');
    const label: Partial<Record<Phase, string>> = {
      joining: 'Joining…',
      reconnecting: 'Reconnecting…',
    };
    status.textContent = label[phase] ?? '';
    status.hidden = !label[phase];
  }

  memberAdded(member: Member): void {
    const tile = create('div', member.isLocal ? 'tile local' : 'tile');
    tile.dataset.participantId = member.id;
    tile.dataset.name = member.displayName;
    const video = create('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    tile.append(video);
    if (!member.isLocal) {
      const audio = create('audio');
      audio.autoplay = true;
      this.playOnSpeaker(audio);
      tile.append(audio);
    }
    const avatar = create('div', 'avatar');
    avatar.append(create('span', undefined, initials(member.displayName)));
    const label = create('div', 'label');
    const micOff = create('span', 'mic-off');
    micOff.title = 'Muted';
    micOff.innerHTML = MIC_OFF_ICON; // a constant, never user data
    label.append(micOff, create('span', 'name', member.displayName));
    if (member.isLocal) label.append(create('span', 'you', '(You)'));
    const hand = create('span', 'hand');
    hand.setAttribute('aria-label', 'Hand raised');
    const quality = create('span', 'quality');
    quality.dataset.level = 'unknown';
    quality.append(create('i'), create('i'), create('i'));
    tile.append(avatar, label, hand, quality);
    if (!member.isLocal) {
      const pin = create('button', 'pin', '📌');
      pin.type = 'button';
      pin.setAttribute('aria-label', `Pin ${member.displayName}`);
      pin.addEventListener('click', () => {
        this.pages.togglePin(member.id);
        pin.setAttribute('aria-pressed', String(this.pages.isPinned(member.id)));
      });
      tile.append(pin);
    }
    if (member.isLocal) this.grid.prepend(tile);
    else this.grid.append(tile);
    this.tiles.set(member.id, tile);
    this.pages.add(member.id, tile, member.isLocal);
    this.memberChanged(member);
    this.feature();
    this.layout();
  }

  memberChanged(member: Member): void {
    const tile = this.tiles.get(member.id);
    if (!tile) return;
    tile.classList.toggle('video-off', !member.videoTrack || member.videoMuted);
    tile.classList.toggle('audio-muted', member.audioMuted);
    tile.classList.toggle('speaking', member.id === this.activeSpeakerId);
    attach(tile.querySelector('video')!, member.videoTrack);
    this.people.set(member);
    const audio = tile.querySelector('audio');
    if (audio) attach(audio, member.audioTrack);
    const shown = this.screens.get(member.id)?.track;
    if (shown !== member.screenTrack) {
      this.screens.delete(member.id);
      if (member.screenTrack) {
        this.screens.set(member.id, { name: member.displayName, track: member.screenTrack });
      }
      this.showPresentation();
    }
  }

  memberRemoved(memberId: string): void {
    const tile = this.tiles.get(memberId);
    if (!tile) return;
    for (const media of tile.querySelectorAll<HTMLMediaElement>('video, audio')) {
      media.srcObject = null;
    }
    tile.remove();
    this.tiles.delete(memberId);
    this.pages.remove(memberId);
    this.people.remove(memberId);
    if (this.screens.delete(memberId)) this.showPresentation();
    this.feature();
    this.layout();
  }

  /** Shows each raised hand on its tile with its place in the queue. */
  hands(hands: RaisedHandView[]): void {
    const places = new Map(hands.map((hand, index) => [hand.participantId, index + 1]));
    for (const [id, tile] of this.tiles) {
      const place = places.get(id);
      tile.classList.toggle('hand-raised', place !== undefined);
      tile.querySelector('.hand')!.textContent = place === undefined ? '' : `✋ ${place}`;
    }
    this.people.setHands(hands);
  }

  /** Floats the emoji over the sender's tile for a few seconds. */
  reaction(memberId: string, emoji: Reaction): void {
    const tile = this.tiles.get(memberId);
    if (!tile) return;
    const bubble = create('span', 'reaction', emoji);
    tile.append(bubble);
    setTimeout(() => bubble.remove(), REACTION_MS);
  }

  activeSpeaker(memberId: string | undefined): void {
    this.activeSpeakerId = memberId;
    for (const [id, tile] of this.tiles) tile.classList.toggle('speaking', id === memberId);
    this.pages.spoke(memberId);
    this.feature();
  }

  videoLimits(limits: VideoLimits): void {
    this.pages.setLimits(limits);
  }

  chat(message: ChatMessageView, own: boolean): void {
    const item = create('li', own ? 'chat-message own' : 'chat-message');
    const meta = create('div', 'meta');
    const time = create(
      'time',
      undefined,
      new Date(message.sentAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    );
    time.dateTime = message.sentAt;
    meta.append(create('span', 'from', own ? 'You' : message.from.displayName), time);
    item.append(meta, create('p', 'text', message.text));
    this.messages.append(item);
    this.messages.scrollTop = this.messages.scrollHeight;
    if (!own && element('room').dataset.side !== 'chat') {
      this.unread += 1;
      this.showUnread();
    }
  }

  notice(text: string): void {
    toast(text);
  }

  /** The recording indicator for everyone; the record button for moderators. */
  recording(state: RecordingStateView, canControl: boolean): void {
    element('recording-indicator').hidden = !state.active;
    const button = element<HTMLButtonElement>('record-button');
    button.hidden = !canControl;
    button.classList.toggle('active', state.active);
    button.title = state.active ? 'Stop recording' : 'Record';
  }

  /** Moderators: the people waiting in the lobby, each with Admit and Reject. */
  lobby(waiting: LobbyEntryView[]): void {
    this.people.setWaiting(waiting);
    const list = element('lobby-list');
    list.replaceChildren(...waiting.map((entry) => waitingItem(entry, this.actions)));
    element('lobby-panel').hidden = waiting.length === 0;
  }

  /** The latest screen shared, large beside the tiles; none: the grid alone. */
  private showPresentation() {
    const latest = [...this.screens.entries()].pop();
    const presentation = element('presentation');
    presentation.hidden = !latest;
    presentation.dataset.participantId = latest?.[0] ?? '';
    element('stage').classList.toggle('presenting', !!latest);
    element('presenter-name').textContent = latest?.[1].name ?? '';
    attach(presentation.querySelector('video')!, latest?.[1].track);
    this.layout();
  }

  private async toggleDevices() {
    const panel = element('devices-panel');
    panel.hidden = !panel.hidden;
    element('devices-button').classList.toggle('active', !panel.hidden);
    if (!panel.hidden) await this.showDevices();
  }

  /** Fills the device choices with what the browser offers, the ones in use selected. */
  private async showDevices() {
    const { available, inUse } = await this.actions.devices();
    const fill = (id: string, kind: MediaDeviceKind, current: string | undefined) => {
      const select = element<HTMLSelectElement>(id);
      const devices = available.filter((device) => device.kind === kind);
      select.replaceChildren(
        ...devices.map((device, index) => {
          const option = create('option', undefined, device.label || `${kind} ${index + 1}`);
          option.value = device.deviceId;
          option.selected = device.deviceId === current;
          return option;
        }),
      );
      select.disabled = devices.length === 0;
    };
    fill('camera-select', 'videoinput', inUse.videoinput);
    fill('mic-select', 'audioinput', inUse.audioinput);
    fill('speaker-select', 'audiooutput', this.speakerId);
    // Browsers that cannot pick a speaker (no setSinkId) play on the default one.
    element('speaker-select').hidden = !('setSinkId' in HTMLAudioElement.prototype);
  }

  private playOnSpeaker(audio: SinkableAudio) {
    if (this.speakerId && audio.setSinkId) {
      audio.setSinkId(this.speakerId).catch(() => toast('That speaker is not available'));
    }
  }

  private toggleSide(side: Side) {
    this.setSide(element('room').dataset.side === side ? 'none' : side);
  }

  private setSide(side: Side) {
    element('room').dataset.side = side;
    element('chat-button').classList.toggle('active', side === 'chat');
    element('people-button').classList.toggle('active', side === 'people');
    if (side === 'chat') {
      this.unread = 0;
      this.showUnread();
      element('chat-input').focus();
    }
  }

  private toggleSpeakerView() {
    this.speakerView = !this.speakerView;
    this.grid.classList.toggle('speaker', this.speakerView);
    const button = element('view-button');
    button.textContent = this.speakerView ? 'Grid view' : 'Speaker view';
    button.setAttribute('aria-pressed', String(this.speakerView));
    this.feature();
    this.layout();
  }

  /**
   * Speaker view: the last one who spoke other than ourselves (else the first one there)
   * gets the large tile; a listener sees the speaker, never itself.
   */
  private feature() {
    const remote = [...this.tiles.entries()].filter(
      ([, tile]) => !tile.classList.contains('local'),
    );
    const speaker = this.activeSpeakerId;
    if (speaker && remote.some(([id]) => id === speaker)) this.featuredId = speaker;
    // Ourselves only while alone: a remote tile takes over as soon as there is one.
    if (!remote.some(([id]) => id === this.featuredId)) {
      this.featuredId = (remote[0] ?? [...this.tiles.entries()][0])?.[0];
    }
    for (const [id, tile] of this.tiles) {
      tile.classList.toggle('featured', this.speakerView && id === this.featuredId);
    }
    this.pages.queueReport();
  }

  private async showQuality() {
    if (this.tiles.size === 0 || element('room').hidden) return;
    const quality = await this.actions.quality().catch(() => ({}) as Record<string, never>);
    for (const [id, tile] of this.tiles) {
      const level: ConnectionQuality = quality[id] ?? 'unknown';
      const indicator = tile.querySelector<HTMLElement>('.quality')!;
      indicator.dataset.level = level;
      indicator.title = QUALITY_LABEL[level];
    }
  }

  private showUnread() {
    const badge = element('unread');
    badge.textContent = String(this.unread);
    badge.hidden = this.unread === 0;
  }

  /**
   * Sizes the tiles: 16:9, as large as the stage allows, with the column count that
   * gives them the most room (1, 2, 2×2, 3×2… on a wide screen; a column on a tall one).
   * The grid shows a page of as many tiles as fit at MIN_PAGE_TILE or larger (and the
   * server lets us receive); the strips beside a screen or below the speaker scroll.
   */
  private layout() {
    element('member-count').textContent =
      this.tiles.size === 1 ? '1 participant' : `${this.tiles.size} participants`;
    if (element('stage').classList.contains('presenting') || this.speakerView) {
      this.grid.style.setProperty('--tile-width', `${STRIP_TILE.width}px`);
      this.grid.style.setProperty('--tile-height', `${STRIP_TILE.height}px`);
      this.pages.paginate(undefined);
      return;
    }
    const { width, height } = this.grid.getBoundingClientRect();
    const tileWidth = (count: number) => {
      let best = 0;
      for (let cols = 1; cols <= count; cols += 1) {
        const rows = Math.ceil(count / cols);
        best = Math.max(
          best,
          Math.min(
            (width - TILE_GAP_PX * (cols - 1)) / cols,
            ((height - TILE_GAP_PX * (rows - 1)) / rows) * (16 / 9),
          ),
        );
      }
      return best;
    };
    let perPage = 2;
    while (perPage <= this.pages.maxVideos && tileWidth(perPage + 1) >= MIN_PAGE_TILE.width) {
      perPage += 1;
    }
    this.pages.paginate(perPage);
    const best = tileWidth(Math.max(this.pages.shownCount, 1));
    this.grid.style.setProperty('--tile-width', `${Math.max(Math.floor(best), 160)}px`);
    this.grid.style.setProperty('--tile-height', `${Math.max(Math.floor(best * (9 / 16)), 90)}px`);
  }
}
