import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { AppConfig } from './config/config.schema';
import { ConfigError, loadConfig } from './config/load-config';
import { createLogger, Logger, NestPinoLogger } from './observability/logger';
import { LOGGER } from './observability/logging.module';
import { SocketIoAdapter } from './signaling/socketio/socketio.adapter';
import { WEB_ASSETS_DIR } from './web/web.controller';

export async function createShard(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forConfig(config), {
    logger: new NestPinoLogger(createLogger(config.log.level)),
  });
  // REST DTOs: unknown or invalid fields get a 400 naming each problem.
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  setUpOpenApi(app);
  app.useWebSocketAdapter(
    new SocketIoAdapter(app, config.signaling.maxMessageBytes, app.get<Logger>(LOGGER)),
  );
  app.useStaticAssets(WEB_ASSETS_DIR, { index: false, prefix: '/assets/' });
  app.enableShutdownHooks();
  return app;
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
  const app = await createShard(config);
  await app.listen(config.http.port, config.http.host);
  const { port } = app.getHttpServer().address() as AddressInfo;
  createLogger(config.log.level).info(
    { url: `http://localhost:${port}`, port, mode: config.mode },
    'Video Window shard listening',
  );
}

if (require.main === module) void main();
