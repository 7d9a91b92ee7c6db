import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ENVIRONMENT_VARIABLES } from '../../src/config/environment-variables';

describe('README configuration table', () => {
  it('documents every environment variable the loader reads', () => {
    const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
    const undocumented = Object.entries(ENVIRONMENT_VARIABLES).filter(
      ([name, path]) => !readme.includes(`\`${name}\``) || !readme.includes(path),
    );
    expect(undocumented).toEqual([]);
  });
});
