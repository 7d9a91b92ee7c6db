/**
 * Mints a join token for operators:
 *   npm run token -- --room demo --name Alice [--identity alice] [--role moderator] [--ttl 3600]
 * Prints the token and the room link that carries it.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config/load-config';
import { ROLES, Role } from '../conference/participant';
import { JoinTokenService } from '../portal/join-token.service';

const USAGE =
  'usage: npm run token -- --room ROOM --name NAME [--identity ID] [--role ' +
  `${ROLES.join('|')}] [--ttl SECONDS] [--base-url URL]`;

function main() {
  const { values } = parseArgs({
    options: {
      room: { type: 'string' },
      name: { type: 'string' },
      identity: { type: 'string' },
      role: { type: 'string', default: 'participant' },
      ttl: { type: 'string' },
      'base-url': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.room || !values.name) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 64);
  }
  if (!ROLES.includes(values.role as Role)) {
    console.error(`--role must be one of ${ROLES.join(', ')}`);
    process.exit(64);
  }
  const config = loadConfig();
  const ttl = values.ttl ? Number(values.ttl) : undefined;
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) {
    console.error('--ttl must be a positive number of seconds');
    process.exit(64);
  }
  const token = new JoinTokenService(config).mint(
    {
      room: values.room,
      name: values.name,
      identity: values.identity ?? values.name.toLowerCase().replace(/\s+/g, '-'),
      role: values.role as Role,
    },
    ttl,
  );
  const baseUrl = values['base-url'] ?? `http://localhost:${config.http.port}`;
  console.log(token);
  console.error(`${baseUrl}/r/${encodeURIComponent(values.room)}?token=${token}`);
}

try {
  main();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : String(error));
  process.exit(1);
}
