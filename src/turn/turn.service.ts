import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { turnRestCredentials } from './turn-credentials';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The STUN/TURN servers a participant is told to use, with fresh TURN credentials. */
@Injectable()
export class TurnService {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  iceServersFor(identity: string): IceServer[] {
    const { mode, secret, urls, credentialTtlSeconds } = this.config.turn;
    const configured = this.config.ice.servers;
    if (mode === 'off') return configured;
    return [
      ...configured,
      { urls, ...turnRestCredentials(secret, identity, credentialTtlSeconds) },
    ];
  }
}
