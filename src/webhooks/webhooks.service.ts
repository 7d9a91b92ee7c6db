import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Counter } from 'prom-client';
import { APP_CONFIG } from '../config/config.module';
import { AppConfig } from '../config/config.schema';
import { BreakoutEndReason, BreakoutRooms } from '../conference/breakout-rooms';
import { LeaveReason } from '../conference/conference-events';
import { ConferenceService } from '../conference/conference.service';
import { Participant } from '../conference/participant';
import { InjectLogger } from '../observability/logging.module';
import type { Logger } from '../observability/logger';
import { MetricsService } from '../observability/metrics.service';
import {
  RecordingEndReason,
  RecordingInfo,
  StreamingEndReason,
  StreamingInfo,
} from '../recording/recording-info';
import { RecordingService } from '../recording/recording.service';
import { StreamingService } from '../recording/streaming.service';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature';

export type WebhookEventName =
  | 'room_started'
  | 'room_finished'
  | 'participant_joined'
  | 'participant_left'
  | 'recording_started'
  | 'recording_finished'
  | 'streaming_started'
  | 'streaming_finished'
  | 'breakout_started'
  | 'breakout_finished';

/** The JSON body of every webhook POST. */
export interface WebhookEvent {
  id: string;
  event: WebhookEventName;
  createdAt: string;
  room: { name: string };
  participant?: {
    id: string;
    identity: string;
    displayName: string;
    role: string;
    door: string;
  };
  reason?: LeaveReason | RecordingEndReason | StreamingEndReason | BreakoutEndReason;
  /** recording_started and recording_finished: the recording, its files once finished. */
  recording?: RecordingInfo;
  /** streaming_started and streaming_finished: the stream. */
  streaming?: StreamingInfo;
  /** breakout_started: the main room's (`room`) breakout rooms. */
  breakouts?: { rooms: { id: string; name: string }[]; endsAt?: string };
}

/** Deliveries waiting beyond this many (receivers down for long) are dropped, logged. */
const MAX_PENDING_DELIVERIES = 10_000;

/**
 * Posts conference events to the configured URLs, signed with HMAC-SHA256. Deliveries
 * run on their own after the event (signaling never waits) and failures are retried
 * with exponential backoff.
 */
@Injectable()
export class WebhooksService implements OnModuleDestroy {
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private pending = 0;
  private closed = false;
  private readonly attempts: Counter<'result'>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    conference: ConferenceService,
    recordings: RecordingService,
    streams: StreamingService,
    breakouts: BreakoutRooms,
    metrics: MetricsService,
    @InjectLogger() private readonly logger: Logger,
  ) {
    this.attempts = new Counter({
      name: 'videowindow_webhook_attempts_total',
      help: 'Webhook delivery attempts by result: delivered, retried (failed, will retry), dropped',
      labelNames: ['result'],
      registers: [metrics.registry],
    });
    if (config.webhooks.urls.length === 0) return;
    const events = conference.events;
    events.on('roomOpened', (roomId) => this.publish('room_started', roomId));
    events.on('roomClosed', (roomId) => this.publish('room_finished', roomId));
    events.on('participantJoined', (participant) =>
      this.publish('participant_joined', participant.roomId, { participant }),
    );
    events.on('participantLeft', (participant, reason) =>
      this.publish('participant_left', participant.roomId, { participant, reason }),
    );
    recordings.events.on('recordingStarted', (recording) =>
      this.publish('recording_started', recording.room, { recording }),
    );
    recordings.events.on('recordingFinished', (recording) =>
      this.publish('recording_finished', recording.room, { reason: recording.reason, recording }),
    );
    streams.events.on('streamingStarted', (streaming) =>
      this.publish('streaming_started', streaming.room, { streaming }),
    );
    streams.events.on('streamingFinished', (streaming) =>
      this.publish('streaming_finished', streaming.room, { reason: streaming.reason, streaming }),
    );
    breakouts.events.on('breakoutsStarted', ({ mainRoomId, rooms, endsAt }) =>
      this.publish('breakout_started', mainRoomId, {
        breakouts: {
          rooms: rooms.map(({ id, name }) => ({ id, name })),
          endsAt: endsAt?.toISOString(),
        },
      }),
    );
    breakouts.events.on('breakoutsFinished', (mainRoomId, reason) =>
      this.publish('breakout_finished', mainRoomId, { reason }),
    );
  }

  onModuleDestroy() {
    this.closed = true;
    this.retryTimers.forEach(clearTimeout);
    this.retryTimers.clear();
  }

  private publish(
    event: WebhookEventName,
    roomId: string,
    details: Pick<WebhookEvent, 'reason' | 'recording' | 'streaming' | 'breakouts'> & {
      participant?: Participant;
    } = {},
  ) {
    const { participant, reason, recording, streaming, breakouts } = details;
    const body: WebhookEvent = {
      id: randomUUID(),
      event,
      createdAt: new Date().toISOString(),
      room: { name: roomId },
    };
    if (participant) {
      const { id, identity, displayName, role, door } = participant;
      body.participant = { id, identity, displayName, role, door };
    }
    if (reason) body.reason = reason;
    if (recording) body.recording = recording;
    if (streaming) body.streaming = streaming;
    if (breakouts) body.breakouts = breakouts;
    const json = JSON.stringify(body);
    for (const url of this.config.webhooks.urls) {
      if (this.pending >= MAX_PENDING_DELIVERIES) {
        this.logger.warn({ url, event, id: body.id }, 'webhook dropped: too many pending');
        this.attempts.inc({ result: 'dropped' });
        continue;
      }
      this.pending += 1;
      setImmediate(() => void this.deliver(url, body, json, 1));
    }
  }

  private async deliver(url: string, event: WebhookEvent, json: string, attempt: number) {
    if (this.closed) return;
    const { secret, maxAttempts, retryBaseMs, timeoutMs } = this.config.webhooks;
    let failure: string;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [SIGNATURE_HEADER]: signWebhookBody(secret, json),
          'x-video-window-event': event.event,
          'x-video-window-delivery': event.id,
        },
        body: json,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.body?.cancel();
      if (response.ok) {
        this.pending -= 1;
        this.attempts.inc({ result: 'delivered' });
        return;
      }
      failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = (error as Error).message;
    }
    const log = { url, event: event.event, id: event.id, attempt, failure };
    if (attempt >= maxAttempts || this.closed) {
      this.pending -= 1;
      this.attempts.inc({ result: 'dropped' });
      this.logger.warn(log, 'webhook delivery failed for good');
      return;
    }
    this.attempts.inc({ result: 'retried' });
    const delayMs = retryBaseMs * 2 ** (attempt - 1);
    this.logger.info({ ...log, delayMs }, 'webhook delivery failed; retrying');
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      void this.deliver(url, event, json, attempt + 1);
    }, delayMs);
    this.retryTimers.add(timer);
  }
}
