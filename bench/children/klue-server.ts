// The klue server under test: the fixture service, request logging off (as the bare servers).
import { childArgs, fixtureDir, toParent } from '../lib/common.js';
import { answerProfileRequests } from '../lib/profiler.js';
import { createRootLogger, loadConfig, serve } from '../lib/klue.js';

const { logRequests = false } = childArgs<{ logRequests?: boolean }>();
const config = await loadConfig({ dir: fixtureDir });
const logger = createRootLogger({ service: config.name, role: 'server' });
const server = await serve(config, { port: 0, host: '127.0.0.1', logger, logRequests });
answerProfileRequests();
toParent({ type: 'ready', url: server.url });
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
