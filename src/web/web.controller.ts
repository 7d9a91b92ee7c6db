import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOM_ID_PATTERN } from '../conference/room';

/**
 * Where scripts/build-web.mjs puts the bundled client (dist/public): beside the compiled
 * server, or the checkout's build when the server runs from its TypeScript (tests).
 */
const BESIDE_SERVER = join(__dirname, '..', 'public');
export const WEB_ASSETS_DIR = existsSync(BESIDE_SERVER)
  ? BESIDE_SERVER
  : join(__dirname, '..', '..', 'dist', 'public');

/** Serves the browser client's page: landing, portal pages and every room link. */
@ApiExcludeController()
@Controller()
export class WebController {
  @Get()
  landing(@Res() response: Response) {
    response.sendFile(join(WEB_ASSETS_DIR, 'index.html'));
  }

  @Get(['login', 'meetings'])
  portal(@Res() response: Response) {
    response.sendFile(join(WEB_ASSETS_DIR, 'index.html'));
  }

  @Get('r/:room')
  room(@Param('room') room: string, @Res() response: Response) {
    if (!ROOM_ID_PATTERN.test(room)) {
      response.status(400).json({ statusCode: 400, message: 'invalid room name' });
      return;
    }
    response.sendFile(join(WEB_ASSETS_DIR, 'index.html'));
  }
}
