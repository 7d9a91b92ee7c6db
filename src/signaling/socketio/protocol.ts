/**
 * The socket.io door's wire protocol, shared by the server and the web client (types
 * only). A client sends `socket.emit('request', { method, data }, ack)`; the ack gets
 * `{ data }` or `{ error: { code, message } }`. The server pushes the events below.
 */
import type { Reaction } from '../../conference/room';
import type { ProducerInfo } from '../../media/media-events';
import type { IceServer } from '../../turn/turn.service';

export type { IceServer, ProducerInfo, Reaction };

/**
 * mediasoup's RTP, DTLS, ICE and SCTP structures as JSON. The server (mediasoup) and
 * the clients (mediasoup-client) each type them with their own library's definitions.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type MediasoupJson = any;

export interface WebRtcTransportParams {
  id: string;
  iceParameters: MediasoupJson;
  iceCandidates: MediasoupJson[];
  dtlsParameters: MediasoupJson;
  sctpParameters?: MediasoupJson;
}

export interface ConsumerParams {
  id: string;
  producerId: string;
  /** The participant whose producer this consumer receives. */
  participantId: string;
  kind: 'audio' | 'video';
  rtpParameters: MediasoupJson;
  type: 'simple' | 'simulcast' | 'svc' | 'pipe';
  producerPaused: boolean;
  /**
   * Paused by the receiver: `consume` makes consumers paused; a join with DTLS parameters
   * makes them resumed, except videos beyond VideoLimits.maxVideos.
   */
  paused: boolean;
}

/**
 * Large rooms: what a receiver may ask of the server's video. A client resumes only the
 * videos it shows (pauseConsumer/resumeConsumer), asks for the simulcast layer that fits
 * each tile (setPreferredLayers) and keeps the lastN most recent speakers in view.
 */
export interface VideoLimits {
  /** Video consumers resumed at once; resuming one more answers too_many_videos. */
  maxVideos: number;
  /** How many of the most recent speakers a client keeps in view. */
  lastN: number;
}

export interface ParticipantView {
  id: string;
  displayName: string;
  role: 'moderator' | 'participant' | 'guest';
  producers: ProducerInfo[];
}

/** A raised hand; the room's hands come as a list, first raised first. */
export interface RaisedHandView {
  participantId: string;
  raisedAt: string;
}

export interface ChatMessageView {
  id: string;
  from: { participantId: string; displayName: string };
  text: string;
  sentAt: string;
}

export interface JoinResult {
  participantId: string;
  /** The shard that runs the room: reconnect with `?shard=` to come back to it. */
  shard: string;
  displayName: string;
  role: ParticipantView['role'];
  /**
   * Left out when the join carried `receive`, whose capabilities the client made from
   * them (getRouterRtpCapabilities); a fifth of the answer.
   */
  routerRtpCapabilities?: MediasoupJson;
  participants: ParticipantView[];
  /**
   * With `resumable`: resumes this participant after the connection drops (the `resume`
   * request), while the server keeps it for the resume grace period. A secret: it resumes
   * only this participant.
   */
  resumeToken?: string;
  /** Who is talking right now, if anyone (later changes arrive as activeSpeaker). */
  activeSpeakerId?: string;
  iceServers: IceServer[];
  /** Raised hands, first raised first (later changes arrive as `hands`). */
  hands: RaisedHandView[];
  /** Moderators only: who waits in the lobby (later changes arrive as lobby events). */
  waiting?: LobbyEntryView[];
  /** Present when the join asked to receive (JoinRequest.receive). */
  receive?: ReceiveSetup;
  /** Present while the room is being recorded (later changes arrive as recording). */
  recording?: RecordingStateView;
  videoLimits: VideoLimits;
  /**
   * Present while the room has breakout rooms or is one (later changes arrive as
   * `breakouts`).
   */
  breakouts?: BreakoutsView;
}

/** Whether the room is being recorded: every client shows it. */
export interface RecordingStateView {
  active: boolean;
  startedAt?: string;
  /** Why a recording ended (stopped, room_closed, disk_full, media_lost, shutdown). */
  reason?: string;
}

/**
 * Receiving set up within the join, which saves a client the createWebRtcTransport and
 * consume round trips before its first packet.
 */
export interface ReceiveRequest {
  /** The client's RTP capabilities (mediasoup-client: `device.rtpCapabilities`). */
  rtpCapabilities: MediasoupJson;
  /**
   * The client's DTLS parameters, when it knows them before seeing the transport's: the
   * transport is then connected at once and the consumers start unpaused (the client
   * learns them from the answer, before ICE and DTLS can complete). Without them the
   * client connects the transport and resumes the consumers as after `consume`.
   */
  dtlsParameters?: MediasoupJson;
}

export interface ReceiveSetup {
  transport: WebRtcTransportParams;
  /** One per producer of the participants in the join answer that the client can decode. */
  consumers: ConsumerParams[];
}

export interface JoinRequest {
  room: string;
  displayName?: string;
  password?: string;
  /** The client resumes after a dropped connection: it gets a resumeToken. */
  resumable?: boolean;
  /** Set up receiving in the same round trip. Kept until admitted when there is a lobby. */
  receive?: ReceiveRequest;
  /** After `moveToRoom`: its pass, which lets the mover in without lobby or password. */
  pass?: string;
}

/** Someone waiting in the lobby, as moderators see them. */
export interface LobbyEntryView {
  id: string;
  displayName: string;
  knockedAt: string;
}

/**
 * The answer to a join when the room has a lobby: wait for `admitted` (a JoinResult,
 * then go on as after a join) or `rejected`.
 */
export interface WaitingInLobby {
  lobby: true;
  /** The id the participant gets once admitted. */
  participantId: string;
  displayName: string;
}

// ---- Breakout rooms -------------------------------------------------------------------

export interface BreakoutRoomView {
  /** A room of its own: `<main>.breakout-<n>`. */
  id: string;
  name: string;
  participants: { id: string; displayName: string }[];
}

/** A main room's breakout rooms, seen from the main room or any of them. */
export interface BreakoutsView {
  mainRoom: string;
  /** Participants may go into a breakout room of their choice (joinBreakout). */
  allowChoice: boolean;
  /** When the rooms close and everyone returns, if there is a timer. */
  endsAt?: string;
  rooms: BreakoutRoomView[];
}

/** The breakout rooms' requests (part of Requests). */
export interface BreakoutRequests {
  /**
   * Moderators, in the main room: opens breakout rooms (a count, or their names);
   * `assign` 'evenly' or 'randomly' sends everyone but moderators at once.
   */
  createBreakouts: [
    {
      rooms: number | string[];
      assign?: 'manual' | 'evenly' | 'randomly';
      allowChoice?: boolean;
      durationSeconds?: number;
    },
    BreakoutsView,
  ];
  /** Moderators: moves someone into a breakout room or back to the main room. */
  moveToBreakout: [{ participantId: string; room: string }, object];
  /** Goes into a breakout room (when participants may choose) or back to the main room. */
  joinBreakout: [{ room: string }, object];
  /** Moderators: a message to the main room and every breakout room (`breakoutMessage`). */
  broadcastToBreakouts: [{ text: string }, object];
  /** Moderators: closes the breakout rooms; everyone returns to the main room. */
  closeBreakouts: [Record<string, never>, object];
}

/** The breakout rooms' server events (part of ServerEvents). */
export interface BreakoutServerEvents {
  /**
   * The server took this participant out of its room for another (a breakout room or
   * back to the main room): close the media, then `join` `room` with `pass` on this
   * same connection.
   */
  moveToRoom: (event: { room: string; pass: string }) => void;
  /** The breakout rooms changed (undefined: they closed). */
  breakouts: (event: { breakouts?: BreakoutsView }) => void;
  /** A moderator's broadcast to the main room and every breakout room. */
  breakoutMessage: (event: {
    from: { participantId: string; displayName: string };
    text: string;
  }) => void;
}

/** Requests: method name → [request data, response data]. */
export interface Requests extends BreakoutRequests {
  /**
   * What every router of this shard offers, before joining: a client that loads its
   * device with them can state its capabilities in the join (JoinRequest.receive).
   */
  getRouterRtpCapabilities: [Record<string, never>, { routerRtpCapabilities: MediasoupJson }];
  join: [JoinRequest, JoinResult | WaitingInLobby];
  /**
   * After a dropped connection, on a new one: the same participant again, its media
   * objects kept (restart ICE on its transports). Answers the room as it is now.
   */
  resume: [{ participantId: string; resumeToken: string }, JoinResult];
  createWebRtcTransport: [{ direction: 'send' | 'recv'; sctp?: boolean }, WebRtcTransportParams];
  connectWebRtcTransport: [{ transportId: string; dtlsParameters: MediasoupJson }, object];
  restartIce: [{ transportId: string }, { iceParameters: MediasoupJson }];
  produce: [
    {
      transportId: string;
      kind: 'audio' | 'video';
      rtpParameters: MediasoupJson;
      source?: 'mic' | 'camera' | 'screen';
    },
    { producerId: string },
  ];
  closeProducer: [{ producerId: string }, object];
  pauseProducer: [{ producerId: string }, object];
  resumeProducer: [{ producerId: string }, object];
  consume: [
    { transportId: string; producerId: string; rtpCapabilities: MediasoupJson },
    ConsumerParams,
  ];
  pauseConsumer: [{ consumerId: string }, object];
  /** A video beyond VideoLimits.maxVideos answers too_many_videos (pause one first). */
  resumeConsumer: [{ consumerId: string }, object];
  /**
   * The simulcast/SVC layer a consumer should forward (the highest it may); layers the
   * consumer does not have are bad_request.
   */
  setPreferredLayers: [
    { consumerId: string; spatialLayer: number; temporalLayer?: number },
    object,
  ];
  chat: [{ text: string }, ChatMessageView];
  /** Leaves the room, or the lobby while waiting there. */
  leave: [Record<string, never>, object];
  /** Moderators: let someone in from the lobby, or turn them away. */
  lobbyAdmit: [{ participantId: string }, object];
  lobbyReject: [{ participantId: string }, object];
  /** Moderators: record every track of the room, or stop recording it. */
  startRecording: [Record<string, never>, RecordingStateView];
  stopRecording: [Record<string, never>, RecordingStateView];
  /** Moderators: pause someone's microphone or camera on the server (they get `muted`). */
  muteParticipant: [{ participantId: string; kind: 'audio' | 'video' }, object];
  /** Moderators: remove someone from the room (they get `removed`, reason 'kicked'). */
  kickParticipant: [{ participantId: string }, object];
  /** Joins the end of the room's queue of raised hands; answers the queue. */
  raiseHand: [Record<string, never>, { hands: RaisedHandView[] }];
  /** Lowers one's own hand, or (moderators) someone else's; answers the queue. */
  lowerHand: [{ participantId?: string }, { hands: RaisedHandView[] }];
  /** An emoji reaction to everyone in the room (one of REACTIONS). */
  react: [{ emoji: Reaction }, object];
}

export type Method = keyof Requests;

export interface ErrorBody {
  code: string;
  message: string;
  /**
   * With `wrong_shard`: the shard that runs the room. Reconnect with `?shard=<shard>`
   * through the proxy (it routes there), or to `url` when there is no proxy, and join again.
   */
  shard?: string;
  url?: string;
}

export type Ack<M extends Method> = { data: Requests[M][1] } | { error: ErrorBody };

/** Server → client events. */
export interface ServerEvents extends BreakoutServerEvents {
  /**
   * Participants who joined; joins close together come in one event. It may name the
   * client itself or participants its join answer listed: those are known already.
   */
  participantsJoined: (participants: ParticipantView[]) => void;
  participantLeft: (event: { participantId: string; reason: string }) => void;
  newProducer: (producer: ProducerInfo) => void;
  producerClosed: (producer: ProducerInfo) => void;
  producerPaused: (producer: ProducerInfo) => void;
  producerResumed: (producer: ProducerInfo) => void;
  consumerClosed: (event: { consumerId: string }) => void;
  consumerPaused: (event: { consumerId: string }) => void;
  consumerResumed: (event: { consumerId: string }) => void;
  activeSpeaker: (event: { participantId: string }) => void;
  chat: (message: ChatMessageView) => void;
  /** The room's media restarted: leave and join again. */
  rejoin: (event: { reason: string }) => void;
  /**
   * The server removed this participant from the room; reason 'kicked' (by a
   * moderator or the admin API) or 'room_ended' (the room was ended).
   */
  removed: (event: { reason: string }) => void;
  /** To moderators: someone knocked; `waiting` is the whole lobby now. */
  lobbyKnock: (event: { entry: LobbyEntryView; waiting: LobbyEntryView[] }) => void;
  /** To moderators: someone left the lobby (admitted, rejected, left, disconnected). */
  lobbyLeft: (event: { participantId: string; reason: string; waiting: LobbyEntryView[] }) => void;
  /** To the one waiting: a moderator let them in; set up media as after a join. */
  admitted: (result: JoinResult) => void;
  /** To the one waiting: a moderator turned them away (or the room closed). */
  rejected: (event: { reason: string }) => void;
  /**
   * A moderator paused this participant's producers of one kind on the server (the
   * others get producerPaused for each). The client should show itself muted; it may
   * resume the producers itself (resumeProducer).
   */
  muted: (event: { kind: 'audio' | 'video'; producerIds: string[] }) => void;
  /** To everyone: the room's recording started or ended (by a moderator or the admin API). */
  recording: (event: RecordingStateView) => void;
  /** The room's raised hands changed: the whole queue, first raised first. */
  hands: (event: { hands: RaisedHandView[] }) => void;
  /** Someone reacted (the sender gets it too). */
  reaction: (event: { participantId: string; emoji: Reaction }) => void;
}
