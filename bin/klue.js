#!/usr/bin/env node
// Services are plain TypeScript modules loaded without a build step: tsx compiles them on import.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../dist/cli/main.js');
await main(process.argv);
