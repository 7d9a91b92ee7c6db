import { TokenBucket } from '../../src/signaling/token-bucket';

describe('TokenBucket', () => {
  afterEach(() => jest.useRealTimers());

  it('allows a burst, then refills at its rate', () => {
    jest.useFakeTimers();
    const bucket = new TokenBucket(10, 3);
    expect([bucket.take(), bucket.take(), bucket.take(), bucket.take()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    jest.advanceTimersByTime(100); // one token at 10 per second
    expect([bucket.take(), bucket.take()]).toEqual([true, false]);
    jest.advanceTimersByTime(10_000); // never more than the burst
    expect([1, 2, 3, 4].map(() => bucket.take())).toEqual([true, true, true, false]);
  });
});
