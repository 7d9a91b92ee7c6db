import { hashPassword, verifyPassword } from '../../src/portal/users/password-hasher';

describe('password hasher', () => {
  it('salts every hash and accepts only the right password', async () => {
    const first = await hashPassword('correct horse');
    const second = await hashPassword('correct horse');
    expect(first).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain('correct horse');
    await expect(verifyPassword('correct horse', first)).resolves.toBe(true);
    await expect(verifyPassword('correct horse!', first)).resolves.toBe(false);
  });

  it('refuses malformed hashes', async () => {
    await expect(verifyPassword('x', 'plain')).resolves.toBe(false);
    await expect(verifyPassword('x', 'scrypt$16384$8$1$c2FsdA==$AAAA')).resolves.toBe(false);
  });
});
