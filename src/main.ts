import 'reflect-metadata';
import { ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { AddressInfo } from 'node:net';
import { AppModule } from './app.module';
import { AppConfig } from './config/config.schema';
import { ConfigError, loadConfig } from './config/load-config';
import { createLogger, NestPinoLogger } from './observability/logger';
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
  app.useWebSocketAdapter(new SocketIoAdapter(app, config.signaling.maxMessageBytes));
  app.useStaticAssets(WEB_ASSETS_DIR, { index: false, prefix: '/assets/' });
  app.enableShutdownHooks();
  return app;
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
