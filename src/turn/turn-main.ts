/**
 * The embedded TURN server alone, in its own process: `node dist/turn/turn-main.js`.
 * Same configuration as the shard (turn.*; TURN_SECRET must be set). Used by the TURN
 * bench so that the server's CPU time is its own.
 */
import { loadConfig } from '../config/load-config';
import { createLogger } from '../observability/logger';
import { turnServerOptions } from './embedded-turn.service';
import { TurnServer } from './turn-server';

async function main() {
  const config = loadConfig();
  const logger = createLogger(config.log.level);
  if (!config.turn.secret) {
    logger.fatal('TURN_SECRET must be set for a standalone TURN server');
    process.exit(78);
  }
  const server = new TurnServer(turnServerOptions(config, config.turn.secret, logger));
  await server.start();
  logger.info({ port: server.port, tlsPort: server.tlsPort || undefined }, 'TURN server listening');
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
