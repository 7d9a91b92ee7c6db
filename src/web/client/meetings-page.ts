/** The portal pages: sign-in (/login) and the signed-in user's meetings (/meetings). */
import {
  createMeeting,
  deleteMeeting,
  listMeetings,
  type MeetingView,
  PortalError,
  prepareToJoin,
  profile,
  signIn,
  signOut,
} from './portal';
import { showError, showScreen } from './ui';
import { create, element, toast } from './ui-elements';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export function showLogin(): void {
  showScreen('login');
  document.title = 'Sign in · Video Window';
  const form = element<HTMLFormElement>('login-form');
  element('login-email').focus();
  form.onsubmit = (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const button = form.querySelector('button')!;
    button.disabled = true;
    signIn(String(data.get('email')), String(data.get('password')))
      .then(() => location.assign('/meetings'))
      .catch((error: unknown) => {
        button.disabled = false;
        const refused = error instanceof PortalError && error.status === 401;
        showError('login-error', refused ? 'Wrong e-mail or password.' : messageOf(error));
      });
  };
}

export async function showMeetings(): Promise<void> {
  document.title = 'My meetings · Video Window';
  let me;
  try {
    me = await profile();
  } catch {
    location.replace('/login');
    return;
  }
  showScreen('meetings');
  element('signed-in-as').textContent = me.displayName;
  element('sign-out').onclick = () =>
    void signOut()
      .catch(() => undefined)
      .then(() => location.assign('/login'));

  const form = element<HTMLFormElement>('meeting-form');
  form.onsubmit = (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const text = (name: string) => String(data.get(name) ?? '').trim() || undefined;
    const cap = text('maxParticipants');
    createMeeting({
      title: text('title') ?? '',
      room: text('room'),
      password: String(data.get('password') ?? '') || undefined,
      lobby: data.get('lobby') === 'on',
      maxParticipants: cap === undefined ? undefined : Number(cap),
    })
      .then(async () => {
        form.reset();
        showError('meeting-error', undefined);
        await renderList();
      })
      .catch((error: unknown) => showError('meeting-error', messageOf(error)));
  };
  await renderList();
}

async function renderList() {
  const meetings = await listMeetings();
  element('meeting-empty').hidden = meetings.length > 0;
  element('meeting-list').replaceChildren(...meetings.map(meetingItem));
}

function meetingItem(meeting: MeetingView): HTMLLIElement {
  const link = `${location.origin}${meeting.link}`;
  const item = create('li', 'meeting');
  item.dataset.room = meeting.room;
  const details = [
    link,
    meeting.hasPassword ? 'password' : undefined,
    meeting.lobby ? 'lobby' : undefined,
    meeting.maxParticipants ? `up to ${meeting.maxParticipants}` : undefined,
  ].filter(Boolean);
  const actions = create('div', 'actions');
  const button = (label: string, className: string, onClick: () => void) => {
    const node = create('button', className, label);
    node.type = 'button';
    node.setAttribute('aria-label', `${label}: ${meeting.title}`);
    node.addEventListener('click', onClick);
    actions.append(node);
  };
  button('Start', 'primary start', () => {
    prepareToJoin(meeting).then(
      () => location.assign(meeting.link),
      (error: unknown) => toast(`Could not start: ${messageOf(error)}`),
    );
  });
  button('Copy link', 'ghost copy', () => {
    navigator.clipboard?.writeText(link).then(
      () => toast('Link copied'),
      () => toast(link),
    );
  });
  button('Delete', 'ghost delete', () => {
    if (!confirm(`Delete "${meeting.title}"?`)) return;
    deleteMeeting(meeting.id).then(renderList, (error: unknown) => toast(messageOf(error)));
  });
  item.append(
    create('div', 'title', meeting.title),
    create('div', 'details', details.join(' · ')),
    actions,
  );
  return item;
}
