import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { AppConfig } from './config/config.schema';
import { ConfigError, loadConfig } from './config/load-config';
import { ShardDrain } from './cluster/shard-drain.service';
import { createLogger, Logger, NestPinoLogger } from './observability/logger';
import { LOGGER } from './observability/logging.module';
import { RequestValidationPipe } from './portal/request-validation';
import { SocketIoAdapter } from './signaling/socketio/socketio.adapter';
import { WEB_ASSETS_DIR } from './web/web.controller';

export async function createShard(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), {
    logger: new NestPinoLogger(createLogger(config.log.level)),
  });
  // Behind HAProxy every client would share the proxy's address (rate limits, logs).
  if (config.http.trustProxy) app.set('trust proxy', config.http.trustProxy);
  app.useGlobalPipes(new RequestValidationPipe());
  setUpOpenApi(app);
  app.useWebSocketAdapter(
    new SocketIoAdapter(app, config.signaling.maxMessageBytes, app.get<Logger>(LOGGER)),
  );
  app.useStaticAssets(WEB_ASSETS_DIR, { index: false, prefix: '/assets/' });
  // In a cluster SIGTERM drains the shard first (see handleSignals).
  app.enableShutdownHooks(config.cluster.redisUrl ? ['SIGINT', 'SIGHUP'] : undefined);
  return app;
}

/**
 * A drained shard exits. In a cluster SIGTERM starts the drain (its live rooms go on
 * until they end or the drain deadline, others shards take new ones); a second SIGTERM
 * exits at once.
 */
function handleSignals(app: NestExpressApplication, config: AppConfig, logger: Logger) {
  const drain = app.get(ShardDrain);
  const exit = async () => {
    await app.close();
    process.exit(0);
  };
  void drain.drained.then(exit);
  if (!config.cluster.redisUrl) return;
  process.once('SIGTERM', () => {
    logger.warn('SIGTERM: draining (a second SIGTERM exits at once)');
    process.once('SIGTERM', () => void exit());
    void drain.start();
  });
}

/** Swagger UI at /api/docs and the OpenAPI document at /api/docs-json, from the DTOs. */
function setUpOpenApi(app: NestExpressApplication) {
  const document = new DocumentBuilder()
    .setTitle('Video Window')
    .setDescription(
      'Portal and admin REST API of a Video Window shard. Users send their access token ' +
        '(Authorization: Bearer); servers send an API key as HTTP Basic credentials ' +
        '(key id as the user name, secret as the password).',
    )
    .setVersion('1')
    .addBearerAuth()
    .addBasicAuth({ type: 'http', scheme: 'basic', description: 'API key id : secret' }, 'apiKey')
    .build();
  SwaggerModule.setup('api/docs', app, () => SwaggerModule.createDocument(app, document), {
    jsonDocumentUrl: 'api/docs-json',
  });
}

async function main() {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(78); // EX_CONFIG
  }
  const logger = createLogger(config.log.level);
  let app: NestExpressApplication;
  try {
    app = await createShard(config);
    await app.listen(config.http.port, config.http.host);
  } catch (error) {
    // One clear line (Redis or the database unreachable, a port taken), not a stack dump.
    logger.fatal({ err: error }, `the shard could not start: ${(error as Error).message}`);
    process.exit(1);
  }
  const { port } = app.getHttpServer().address() as AddressInfo;
  handleSignals(app, config, logger);
  logger.info(
    { url: `http://localhost:${port}`, port, mode: config.mode },
    'Video Window shard listening',
  );
}

if (require.main === module) void main();
