import { Element } from 'ltx';
import { Role } from '../../../conference/participant';
import { NS } from '../core/namespaces';
import { MUC } from './muc-namespaces';
import { mediaState, MucRoom, Occupant } from './muc-room';

/** XEP-0045 affiliation and role of a conference role. */
const MUC_STANDING: Record<Role, { affiliation: string; role: string }> = {
  moderator: { affiliation: 'owner', role: 'moderator' },
  participant: { affiliation: 'member', role: 'participant' },
  guest: { affiliation: 'none', role: 'participant' },
};

export interface PresenceOptions {
  unavailable?: boolean;
  /** Status codes (XEP-0045 section 15.6), e.g. 110 self, 201 created, 307 kicked. */
  codes?: number[];
  /** Moderators see occupants' real JIDs (a semi-anonymous room). */
  showRealJid?: boolean;
  reason?: string;
}

/** The presence of `occupant` in `room`, as the service sends it to other occupants. */
export function occupantPresence(
  room: MucRoom,
  occupant: Occupant,
  options: PresenceOptions = {},
): Element {
  const presence = new Element('presence', {
    xmlns: NS.client,
    from: `${room.jid}/${occupant.nick}`,
  });
  if (options.unavailable) presence.attrs.type = 'unavailable';
  else
    for (const child of occupant.presence?.getChildElements() ?? [])
      if (child.getNS() !== MUC.base && child.getNS() !== MUC.media) presence.cnode(child);
  const x = presence.c('x', { xmlns: MUC.user });
  const standing = MUC_STANDING[occupant.participant.role];
  const item = x.c('item', {
    affiliation: standing.affiliation,
    role: options.unavailable ? 'none' : standing.role,
  });
  if (options.showRealJid && occupant.session) item.attrs.jid = occupant.session.full;
  if (options.reason) item.c('reason').t(options.reason);
  for (const code of options.codes ?? []) x.c('status', { code: String(code) });
  // The other door's participants are named by their nick, and their mute state told as
  // Jitsi Meet clients read it; XMPP occupants tell both themselves.
  if (!occupant.session && !options.unavailable) {
    presence.c('nick', { xmlns: MUC.nick }).t(occupant.participant.displayName);
    presence.c('audiomuted').t(String(mediaState(occupant, 'audio') !== 'on'));
    presence.c('videomuted').t(String(mediaState(occupant, 'video') !== 'on'));
    jitsiSourceInfo(presence, occupant);
  }
  presence.c('media', {
    xmlns: MUC.media,
    audio: mediaState(occupant, 'audio'),
    video: mediaState(occupant, 'video'),
  });
  return presence;
}

/**
 * What Jitsi Meet clients read of another door's occupant's sources: `<SourceInfo>` (by
 * the source names the focus signals: `<nick>-a0`, `<nick>-v0` for the camera, `-v1` for
 * a shared screen) and, for clients before source names, `<videoType>`, desktop while
 * it shares its screen (such a client shows one video per participant: the newest).
 */
function jitsiSourceInfo(presence: Element, occupant: Occupant) {
  const sources: Record<string, { muted: boolean; videoType?: string }> = {};
  let sharing = false;
  for (const { kind, source, paused } of occupant.producers.values()) {
    if (kind === 'audio') sources[`${occupant.nick}-a0`] = { muted: paused };
    else {
      const screen = source === 'screen';
      sharing ||= screen;
      sources[`${occupant.nick}-v${screen ? 1 : 0}`] = {
        muted: paused,
        videoType: screen ? 'desktop' : 'camera',
      };
    }
  }
  presence.c('SourceInfo').t(JSON.stringify(sources));
  presence.c('videoType').t(sharing ? 'desktop' : 'camera');
}

export function isModeratorOccupant(occupant: Occupant): boolean {
  return occupant.participant.role === 'moderator';
}
