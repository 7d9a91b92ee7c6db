/** A webhook receiver for the e2e suites: keeps every delivery's body, answers 204. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { WebhookEvent } from '../../src/webhooks/webhooks.service';

export interface WebhookReceiver {
  /** The bodies received so far, in order of arrival. */
  hooks: WebhookEvent[];
  /** Where to send them (WEBHOOK_URLS). */
  url: string;
  close(): void;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const hooks: WebhookEvent[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      hooks.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookEvent);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { hooks, url: `http://127.0.0.1:${port}/hooks`, close: () => server.close() };
}
