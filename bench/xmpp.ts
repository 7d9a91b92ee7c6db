/**
 * xmpp: one harness against Prosody 0.12 and Video Window side by side, each server in
 * turn (alone on the machine: started for its turn, stopped after it) with the same light
 * clients (a worker thread, SASL ANONYMOUS, raw frames):
 * - MUC fan-out: 1 sender and 5 or 50 occupants; the sender keeps 20 groupchat messages
 *   in flight; delivered stanzas per second and delivery latency percentiles, counted
 *   after 1,000 warm-up messages.
 * - Join burst: N occupants (default 500) send their join presence at once; the time
 *   until every occupant has seen every occupant's presence.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { startProsody } from '../test/support/prosody';
import { startShard } from '../test/support/shard';
import { percentile } from './join-latency';
import { debianPackage } from './prerequisites';
import type { Bench, Row } from './run';
import type { ClientsCommand, ClientsReport, Target } from './xmpp-clients';

const BURST_TIMEOUT_MS = 120_000;

function startClients(): Worker {
  const register = join(__dirname, 'register-ts.js');
  const clients = join(__dirname, 'xmpp-clients.ts');
  return new Worker(`require(${JSON.stringify(register)}); require(${JSON.stringify(clients)});`, {
    eval: true,
  });
}

async function runScenario<T extends ClientsReport['type']>(
  clients: Worker,
  command: ClientsCommand,
  expected: T,
  progress: (message: string) => void,
): Promise<Extract<ClientsReport, { type: T }>> {
  clients.postMessage(command);
  while (true) {
    const [message] = (await once(clients, 'message')) as [ClientsReport];
    if (message.type === 'progress') progress(message.message);
    else if (message.type === 'failed') throw new Error(message.error);
    else if (message.type === expected) return message as Extract<ClientsReport, { type: T }>;
  }
}

interface Server {
  name: string;
  target: Target;
  stop(): Promise<void>;
}

/**
 * The servers, each started when its turn comes and stopped after it: a server still
 * busy with the previous one's aftermath (Prosody takes many seconds over the 125,000
 * unavailable presences of a burst's 500 leaves) would share the machine's two cores
 * with the one being measured.
 */
const SERVERS: { name: string; start(): Promise<Omit<Server, 'name'>> }[] = [
  {
    name: 'prosody',
    async start() {
      const prosody = await startProsody({ extraConfig: 'authentication = "anonymous"' });
      return {
        target: { url: prosody.websocketUrl, domain: prosody.domain },
        stop: () => prosody.stop(),
      };
    },
  },
  {
    name: 'videowindow',
    async start() {
      const shard = await startShard({
        LOG_LEVEL: 'warn',
        MAX_PARTICIPANTS_PER_ROOM: '5000',
        // Prosody has no per-connection stanza limit by default; neither does this run.
        XMPP_STANZAS_PER_SECOND: '1000000',
        XMPP_STANZA_BURST: '1000000',
      });
      return {
        target: {
          url: `${shard.baseUrl.replace('http', 'ws')}/xmpp-websocket`,
          domain: shard.config.xmpp.domain,
        },
        stop: () => shard.close(),
      };
    },
  },
];

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

export const xmppBench: Bench = {
  needs: [debianPackage('prosody', ['prosody'])],
  async run(args, progress) {
    const { values } = parseArgs({
      args,
      options: {
        occupants: { type: 'string', default: '5,50' },
        messages: { type: 'string', default: '10000' },
        burst: { type: 'string', default: '500' },
        // Prosody's burst of 500 takes 40 s or more; 0 leaves it out (the goal is Video Window's).
        'prosody-burst': { type: 'string' },
        tiny: { type: 'boolean' },
      },
    });
    const fanoutSizes = values.tiny ? [2] : values.occupants.split(',').map(Number);
    const messages = values.tiny ? 20 : Number(values.messages);
    const burstSize = values.tiny ? 5 : Number(values.burst);
    const prosodyBurst =
      values['prosody-burst'] === undefined ? burstSize : Number(values['prosody-burst']);
    if ([...fanoutSizes, messages, burstSize].some((n) => !Number.isInteger(n) || n < 1))
      throw new Error('--occupants, --messages and --burst take positive integers');
    if (!Number.isInteger(prosodyBurst) || prosodyBurst < 0)
      throw new Error('--prosody-burst takes an integer, 0 for none');

    const clients = startClients();
    const rows: Row[] = [];
    let server: Server | undefined;
    try {
      for (const { name, start } of SERVERS) {
        progress(`starting ${name}`);
        server = { name, ...(await start()) };
        for (const occupants of fanoutSizes) {
          progress(`${server.name}: fan-out to ${occupants} occupants`);
          const result = await runScenario(
            clients,
            {
              type: 'fanout',
              target: server.target,
              room: `fanout-${occupants}`,
              occupants,
              messages,
            },
            'fanout',
            progress,
          );
          const sorted = result.latenciesMs.sort((a, b) => a - b);
          rows.push({
            server: server.name,
            scenario: `fan-out 1→${occupants}`,
            'delivered/s': Math.round(result.delivered / result.seconds),
            'p50 ms': round(percentile(sorted, 50)),
            'p99 ms': round(percentile(sorted, 99)),
            delivered: result.delivered,
            expected: messages * occupants,
          });
        }
        const occupants = server.name === 'prosody' ? prosodyBurst : burstSize;
        if (occupants > 0) {
          progress(`${server.name}: join burst of ${occupants}`);
          const burst = await runScenario(
            clients,
            {
              type: 'burst',
              target: server.target,
              room: 'burst',
              occupants,
              timeoutMs: BURST_TIMEOUT_MS,
            },
            'burst',
            progress,
          );
          rows.push({
            server: server.name,
            scenario: `join burst ${occupants}`,
            'all presences s': burst.complete
              ? round(burst.seconds, 2)
              : `>${BURST_TIMEOUT_MS / 1000}`,
            delivered: burst.presencesSeen,
            expected: occupants * occupants,
          });
        }
        await server.stop();
        server = undefined;
      }
    } finally {
      await clients.terminate();
      await server?.stop();
    }
    return [...rows, ...ratios(rows)];
  },
};

/** Video Window's figures over Prosody's, scenario by scenario. */
function ratios(rows: Row[]): Row[] {
  const of = (server: string, scenario: string) =>
    rows.find((row) => row.server === server && row.scenario === scenario);
  const scenarios = [...new Set(rows.map((row) => String(row.scenario)))];
  return scenarios.flatMap((scenario) => {
    const [ours, theirs] = [of('videowindow', scenario), of('prosody', scenario)];
    if (!ours || !theirs) return [];
    const ratio: Row = { server: 'videowindow / prosody', scenario };
    for (const column of ['delivered/s', 'p99 ms', 'all presences s'])
      if (typeof ours[column] === 'number' && typeof theirs[column] === 'number')
        ratio[column] = round((ours[column] as number) / (theirs[column] as number), 2);
    return [ratio];
  });
}
