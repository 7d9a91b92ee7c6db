/**
 * Video Window browser client. `/` shows the landing form, `/r/<room>` joins the room
 * after the pre-join screen (camera preview, microphone level, devices, name); `?name=`
 * names the participant and joins at once, `?token=` passes a join token that names you
 * (a host who pressed Start in "My meetings" brings the meeting's token along).
 * `/login` and `/meetings` are the portal pages.
 */
import { ROOM_ID_PATTERN } from '../../conference/room';
import { BreakoutPanel } from './breakout-panel';
import { Call, type ReceiveStats, type Source } from './call';
import { type DeviceKind, listDevices } from './local-media';
import { showLogin, showMeetings } from './meetings-page';
import { preparedJoinToken } from './portal';
import { showPrejoin } from './prejoin';
import { askPassword, RoomView, showEnded, showLanding, showScreen, showWaiting } from './ui';

const NAME_KEY = 'videoWindow.displayName';
/** The devices last chosen, by kind (and the speaker), remembered for the next call. */
const DEVICE_KEY = (kind: DeviceKind | 'audiooutput') => `videoWindow.device.${kind}`;

/** A debugging and testing hook: `window.videoWindow`. */
export interface VideoWindowHook {
  readonly state: {
    phase: string;
    room: string;
    selfId?: string;
    activeSpeakerId?: string;
    micOn: boolean;
    cameraOn: boolean;
    sharingScreen: boolean;
    /** The devices in use, by kind. */
    deviceIds: Partial<Record<DeviceKind, string>>;
  };
  /** The id of the producer sending a source, if any. */
  producerId(source: Source): string | undefined;
  participants(): {
    id: string;
    displayName: string;
    isLocal: boolean;
    audioMuted: boolean;
    videoMuted: boolean;
  }[];
  stats(): { producers: number; consumers: number };
  /** The video consumers, and whether the server was told to send each (large rooms). */
  receivedVideos(): ReturnType<Call['receivedVideos']>;
  receiveStats(): Promise<Record<string, ReceiveStats>>;
  sendStats(): ReturnType<Call['sendStats']>;
}

declare global {
  interface Window {
    videoWindow?: VideoWindowHook;
  }
}

function roomFromPath(pathname: string): string | undefined {
  const match = /^\/r\/([^/]+)\/?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

async function enterRoom(room: string, params: URLSearchParams) {
  const token = params.get('token') ?? preparedJoinToken(room);
  const remembered = (kind: DeviceKind | 'audiooutput') =>
    localStorage.getItem(DEVICE_KEY(kind)) ?? undefined;
  // A link that names the participant (?name=) joins at once, with the devices as they are.
  let displayName = token ? undefined : params.get('name')?.trim() || undefined;
  const prepared =
    token || !displayName
      ? await showPrejoin(room, {
          askName: !token,
          initialName: localStorage.getItem(NAME_KEY) ?? '',
          remembered: {
            audioinput: remembered('audioinput'),
            videoinput: remembered('videoinput'),
            audiooutput: remembered('audiooutput'),
          },
          chosen: (kind, deviceId) => localStorage.setItem(DEVICE_KEY(kind), deviceId),
        })
      : undefined;
  displayName ??= prepared?.displayName;
  if (displayName) localStorage.setItem(NAME_KEY, displayName);

  const call: Call = new Call(
    {
      room,
      displayName,
      token,
      relayOnly: params.get('relay') === '1',
      receiveAllVideo: params.get('videos') === 'all',
      devices: { audioinput: remembered('audioinput'), videoinput: remembered('videoinput') },
    },
    {
      phase: (phase, detail) => {
        view.phase(phase);
        const again = () => location.reload();
        if (phase === 'waiting') showWaiting(room, () => void call.leave());
        if (phase === 'joined') showScreen('room');
        if (phase === 'rejected') showEnded('The host did not let you in', detail ?? '', again);
        if (phase === 'left') showEnded('You left the meeting', '', again);
        if (phase === 'removed')
          showEnded('You were removed from the meeting', detail ?? '', again);
        if (phase === 'failed') showEnded('Could not stay in the meeting', detail ?? '', again);
      },
      devices: () => view.setControls(call),
      hands: (hands) => {
        view.hands(hands);
        view.setControls(call);
      },
      memberAdded: (member) => {
        view.memberAdded(member);
        showBreakouts();
      },
      memberChanged: (member) => view.memberChanged(member),
      memberRemoved: (memberId) => {
        view.memberRemoved(memberId);
        showBreakouts();
      },
      breakouts: () => showBreakouts(),
      activeSpeaker: (memberId) => view.activeSpeaker(memberId),
      chat: (message, own) => view.chat(message, own),
      notice: (text) => view.notice(text),
      lobby: (waiting) => view.lobby(waiting),
      recording: (state, canControl) => view.recording(state, canControl),
      reaction: (memberId, emoji) => view.reaction(memberId, emoji),
      videoLimits: (limits) => view.videoLimits(limits),
      passwordNeeded: async (wrong) => {
        const password = await askPassword(room, wrong);
        showScreen('room');
        return password;
      },
    },
  );
  const report = (error: unknown) =>
    view.notice(error instanceof Error ? error.message : String(error));
  const view = new RoomView(
    room,
    {
      toggleMic: () => void call.setMic(!call.micOn).catch(report),
      toggleCamera: () => void call.setCamera(!call.cameraOn).catch(report),
      leave: () => void call.leave(),
      sendChat: (text) => call.sendChat(text),
      admit: (participantId) => call.admit(participantId),
      reject: (participantId) => call.reject(participantId),
      toggleRecording: () => call.toggleRecording(),
      toggleScreenShare: () =>
        void (call.sharingScreen ? call.stopScreenShare() : call.startScreenShare()).catch(
          (error: unknown) => {
            // Choosing nothing in the browser's picker is no failure to report.
            if (!(error instanceof DOMException && error.name === 'NotAllowedError')) report(error);
          },
        ),
      devices: async () => ({ available: await listDevices(), inUse: call.deviceIds }),
      switchDevice: async (kind, deviceId) => {
        await call.switchDevice(kind, deviceId);
        localStorage.setItem(DEVICE_KEY(kind), deviceId);
      },
      speakerChosen: (deviceId) => localStorage.setItem(DEVICE_KEY('audiooutput'), deviceId),
      toggleHand: () => void (call.handRaised ? call.lowerHand() : call.raiseHand()).catch(report),
      react: (emoji) => call.react(emoji),
      quality: () => call.connectionQuality(),
      showVideos: (shown) => call.showVideos(shown),
      mute: (participantId, kind) => call.muteParticipant(participantId, kind),
      kick: (participantId) => call.kickParticipant(participantId),
      lowerHand: (participantId) => call.lowerHand(participantId),
    },
    remembered('audiooutput') ?? '',
  );

  const breakoutPanel = new BreakoutPanel({
    create: (options) => call.createBreakouts(options),
    move: (participantId, to) => call.moveToBreakout(participantId, to),
    join: (to) => call.joinBreakout(to),
    broadcast: (text) => call.broadcastToBreakouts(text),
    closeAll: () => call.closeBreakouts(),
  });
  function showBreakouts() {
    breakoutPanel.update({
      room: call.options.room,
      isModerator: call.isModerator,
      selfId: call.selfId,
      people: [...call.members.values()].filter((member) => !member.isLocal),
      breakouts: call.breakouts,
    });
  }

  window.videoWindow = {
    get state() {
      return {
        phase: call.phase,
        /** The room we are in now (a breakout room after a move). */
        room: call.options.room,
        selfId: call.selfId,
        activeSpeakerId: call.activeSpeakerId,
        micOn: call.micOn,
        cameraOn: call.cameraOn,
        sharingScreen: call.sharingScreen,
        deviceIds: call.deviceIds,
      };
    },
    producerId: (source) => call.producerId(source),
    participants: () =>
      [...call.members.values()].map(({ id, displayName, isLocal, audioMuted, videoMuted }) => ({
        id,
        displayName,
        isLocal,
        audioMuted,
        videoMuted,
      })),
    stats: () => call.counts(),
    receivedVideos: () => call.receivedVideos(),
    receiveStats: () => call.receiveStats(),
    sendStats: () => call.sendStats(),
  };

  showScreen('room');
  view.setControls(call);
  window.addEventListener('pagehide', () => void call.leave());
  await call.start(prepared);
}

function main() {
  if (location.pathname === '/login') return showLogin();
  if (location.pathname === '/meetings') return void showMeetings();
  const room = roomFromPath(location.pathname);
  if (room === undefined || !ROOM_ID_PATTERN.test(room)) {
    showLanding(
      (name) => ROOM_ID_PATTERN.test(name),
      (name) => location.assign(`/r/${encodeURIComponent(name)}`),
    );
    return;
  }
  void enterRoom(room, new URLSearchParams(location.search));
}

main();
