/**
 * The portal's REST API (/api/v1) from the browser. The signed-in session (access and
 * refresh token) lives in sessionStorage: it ends with the tab and never reaches a URL.
 */
import type { TokenPair } from '../../portal/auth/auth.dto';
import type { MeetingJoinToken, MeetingView } from '../../portal/meetings/meeting.dto';
import type { UserProfile } from '../../portal/users/users.service';

export type { MeetingView };

const SESSION_KEY = 'videoWindow.session';
const JOIN_TOKEN_KEY = 'videoWindow.joinToken.';

interface Session {
  accessToken: string;
  refreshToken: string;
}

/** A refused call: the HTTP status and the server's message. */
export class PortalError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'PortalError';
  }
}

/** Nest's error bodies carry a message or a list of them. */
function messageOf(body: unknown, status: number): string {
  const message = (body as { message?: unknown } | undefined)?.message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : `request failed (${status})`;
}

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed: unknown = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new PortalError(response.status, messageOf(parsed, response.status));
  return parsed as T;
}

function loadSession(): Session | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
    return stored?.accessToken && stored.refreshToken ? stored : undefined;
  } catch {
    return undefined;
  }
}

function saveSession(pair: TokenPair) {
  const session: Session = { accessToken: pair.accessToken, refreshToken: pair.refreshToken };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

export const isSignedIn = () => loadSession() !== undefined;

export async function signIn(email: string, password: string): Promise<void> {
  saveSession(await call<TokenPair>('POST', '/auth/login', { email, password }));
}

export async function signOut(): Promise<void> {
  const session = loadSession();
  sessionStorage.removeItem(SESSION_KEY);
  if (session) await call('POST', '/auth/logout', { refreshToken: session.refreshToken });
}

/**
 * A call as the signed-in user. An expired access token is renewed once with the
 * refresh token; when that fails too the session is over.
 */
async function authorized<T>(method: string, path: string, body?: unknown): Promise<T> {
  const session = loadSession();
  if (!session) throw new PortalError(401, 'please sign in');
  try {
    return await call<T>(method, path, body, session.accessToken);
  } catch (error) {
    if (!(error instanceof PortalError && error.status === 401)) throw error;
  }
  try {
    const pair = await call<TokenPair>('POST', '/auth/refresh', {
      refreshToken: session.refreshToken,
    });
    saveSession(pair);
    return await call<T>(method, path, body, pair.accessToken);
  } catch (error) {
    if (error instanceof PortalError && error.status === 401) {
      sessionStorage.removeItem(SESSION_KEY);
    }
    throw error;
  }
}

export const profile = () => authorized<UserProfile>('GET', '/me');

export const listMeetings = () => authorized<MeetingView[]>('GET', '/meetings');

export interface NewMeeting {
  title: string;
  room?: string;
  password?: string;
  lobby: boolean;
  maxParticipants?: number;
}

export const createMeeting = (meeting: NewMeeting) =>
  authorized<MeetingView>('POST', '/meetings', meeting);

export const deleteMeeting = (id: string) => authorized<void>('DELETE', `/meetings/${id}`);

/** Fetches the caller's join token for a meeting and keeps it for the room page. */
export async function prepareToJoin(meeting: MeetingView): Promise<void> {
  const { token } = await authorized<MeetingJoinToken>(
    'POST',
    `/meetings/${meeting.id}/join-token`,
  );
  sessionStorage.setItem(JOIN_TOKEN_KEY + meeting.room, token);
}

/** The join token prepared for a room, if any. */
export const preparedJoinToken = (room: string) =>
  sessionStorage.getItem(JOIN_TOKEN_KEY + room) ?? undefined;
