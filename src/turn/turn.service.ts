import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { EmbeddedTurnService, turnPublicAddress } from './embedded-turn.service';
import { turnRestCredentials } from './turn-credentials';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** The STUN/TURN servers a participant is told to use, with fresh TURN credentials. */
@Injectable()
export class TurnService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly embedded: EmbeddedTurnService,
  ) {}

  iceServersFor(identity: string): IceServer[] {
    const { mode, urls, credentialTtlSeconds } = this.config.turn;
    const configured = this.config.ice.servers;
    const credentials = () =>
      turnRestCredentials(this.embedded.secret, identity, credentialTtlSeconds);
    if (mode === 'external') return [...configured, { urls, ...credentials() }];
    const ports = mode === 'embedded' ? this.embedded.ports() : undefined;
    if (!ports) return configured;
    const host = turnPublicAddress(this.config);
    const turnUrls = [
      `turn:${host}:${ports.port}?transport=udp`,
      `turn:${host}:${ports.port}?transport=tcp`,
    ];
    if (ports.tlsPort) turnUrls.push(`turns:${host}:${ports.tlsPort}?transport=tcp`);
    return [
      ...configured,
      { urls: [`stun:${host}:${ports.port}`] },
      { urls: turnUrls, ...credentials() },
    ];
  }
}
