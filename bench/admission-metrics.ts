/**
 * The API server's own figures for the pod-creation benchmark: its `/metrics`, scraped before and
 * after each measurement, and the difference of the admission histograms' `_sum` and `_count`
 * (seconds and observations) over that measurement. Only the families about admission are kept.
 */
import * as http from 'http';
import * as https from 'https';

/** The histogram families kept (without the `apiserver_` prefix). */
const FAMILIES = [
  'admission_step_admission_duration_seconds',
  'admission_controller_admission_duration_seconds',
  'admission_webhook_admission_duration_seconds',
  'admission_match_condition_evaluation_seconds',
  'mutating_admission_policy_check_duration_seconds',
  'validating_admission_policy_check_duration_seconds',
];

/** `_sum` and `_count` of each kept series, by `family{labels}` (labels as the server wrote them). */
export type Scrape = Map<string, { sum: number; count: number }>;

/** What a series added between two scrapes. */
export interface SeriesDelta {
  readonly seconds: number;
  readonly count: number;
}

const LINE = /^apiserver_([a-z_]+)_(sum|count)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$/;

/** Parses the exposition text: the kept families' sums and counts. */
export function parseMetrics(text: string): Scrape {
  const scrape: Scrape = new Map();
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match || !FAMILIES.includes(match[1])) continue;
    const key = `${match[1]}${match[3] ?? ''}`;
    const entry = scrape.get(key) ?? { sum: 0, count: 0 };
    entry[match[2] as 'sum' | 'count'] = Number(match[4]);
    scrape.set(key, entry);
  }
  return scrape;
}

/** The body of a GET answered 200 (`what` names it in the error otherwise). */
function getText(get: (callback: (response: http.IncomingMessage) => void) => http.ClientRequest, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(response => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', chunk => (text += chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${what}: HTTP ${response.statusCode}`))));
    }).on('error', reject);
  });
}

/** GET /metrics with the agent's client certificate. */
export async function scrapeMetrics(server: string, agent: https.Agent): Promise<Scrape> {
  return parseMetrics(await getText(callback => https.get(`${server}/metrics`, { agent }, callback), '/metrics'));
}

/** Every series that changed between two scrapes. */
export function difference(before: Scrape, after: Scrape): Map<string, SeriesDelta> {
  const changed = new Map<string, SeriesDelta>();
  for (const [key, now] of after) {
    const then = before.get(key) ?? { sum: 0, count: 0 };
    if (now.count !== then.count) changed.set(key, { seconds: now.sum - then.sum, count: now.count - then.count });
  }
  return changed;
}

/** The series of a family whose labels hold every one of `labels` (`name="x"`), summed. */
export function seriesOf(deltas: ReadonlyMap<string, SeriesDelta>, family: string, labels: readonly string[] = []): SeriesDelta {
  let seconds = 0;
  let count = 0;
  for (const [key, delta] of deltas) {
    const brace = key.indexOf('{');
    if ((brace < 0 ? key : key.slice(0, brace)) !== family) continue;
    if (!labels.every(l => key.includes(l))) continue;
    seconds += delta.seconds;
    count += delta.count;
  }
  return { seconds, count };
}

/** A webhook server's own time so far: seconds from requests' headers to their answers, and requests. */
export interface ServerTime {
  readonly seconds: number;
  readonly count: number;
}

/** Our webhook server's own time: `cdk8s_shm_admission_duration_seconds` on its metrics port, summed over the histogram's series. */
export async function scrapeWebhookServer(port: number): Promise<ServerTime> {
  const text = await getText(callback => http.get(`http://127.0.0.1:${port}/metrics`, callback), '/metrics of the webhook');
  const total = { sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    const match = /^cdk8s_shm_admission_duration_seconds_(sum|count)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (match) total[match[1] as 'sum' | 'count'] += Number(match[2]);
  }
  return { seconds: total.sum, count: total.count };
}

/** The no-op webhook's own time (bench/floor-server.js, `GET /stats` on its serving port). */
export async function scrapeFloorServer(port: number, ca: string): Promise<ServerTime> {
  return JSON.parse(await getText(callback => https.get({ host: '127.0.0.1', port, path: '/stats', ca }, callback), '/stats of the no-op webhook')) as ServerTime;
}
