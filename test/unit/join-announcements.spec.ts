import pino from 'pino';
import { JoinAnnouncements } from '../../src/signaling/socketio/join-announcements';

describe('JoinAnnouncements', () => {
  let sent: [string, string[]][];
  let announcements: JoinAnnouncements<string>;

  beforeEach(() => {
    jest.useFakeTimers();
    sent = [];
    announcements = new JoinAnnouncements<string>(
      50,
      (roomId, joined) => sent.push([roomId, joined]),
      pino({ level: 'silent' }),
    );
  });
  afterEach(() => {
    announcements.clear();
    jest.useRealTimers();
  });

  it('announces a lone join at once and a burst in few messages', () => {
    announcements.add('a', 'alice');
    expect(sent).toEqual([['a', ['alice']]]);
    for (const name of ['bob', 'carol', 'dave']) announcements.add('a', name);
    announcements.add('b', 'erin'); // another room has its own window
    expect(sent).toEqual([
      ['a', ['alice']],
      ['b', ['erin']],
    ]);
    jest.advanceTimersByTime(49);
    expect(sent).toHaveLength(2);
    jest.advanceTimersByTime(1);
    expect(sent[2]).toEqual(['a', ['bob', 'carol', 'dave']]);
    jest.advanceTimersByTime(1000);
    expect(sent).toHaveLength(3);
    announcements.add('a', 'frank'); // quiet again: at once
    expect(sent[3]).toEqual(['a', ['frank']]);
  });

  it('sends what waits when flushed, so that later events to the room keep their order', () => {
    announcements.add('a', 'alice');
    announcements.add('a', 'bob');
    announcements.flush('a');
    expect(sent).toEqual([
      ['a', ['alice']],
      ['a', ['bob']],
    ]);
    announcements.flush('a'); // nothing waits: nothing is sent
    jest.advanceTimersByTime(1000);
    expect(sent).toHaveLength(2);
  });

  it('drops what waits when cleared', () => {
    announcements.add('a', 'alice');
    announcements.add('a', 'bob');
    announcements.clear();
    jest.advanceTimersByTime(1000);
    expect(sent).toEqual([['a', ['alice']]]);
  });

  it('logs an announcement that fails from its timer, and goes on announcing', () => {
    const logger = pino({ level: 'silent' });
    const logged = jest.spyOn(logger, 'error');
    let failing = false;
    const flaky = new JoinAnnouncements<string>(
      50,
      (roomId, joined) => {
        if (failing) throw new Error('door broke');
        sent.push([roomId, joined]);
      },
      logger,
    );
    flaky.add('a', 'alice'); // at once
    failing = true;
    flaky.add('a', 'bob'); // from the timer
    expect(() => jest.advanceTimersByTime(50)).not.toThrow();
    expect(logged).toHaveBeenCalledWith(
      expect.objectContaining({ roomId: 'a' }),
      expect.any(String),
    );
    failing = false;
    jest.advanceTimersByTime(1000);
    flaky.add('a', 'carol');
    expect(sent).toEqual([
      ['a', ['alice']],
      ['a', ['carol']],
    ]);
    flaky.clear();
  });
});
