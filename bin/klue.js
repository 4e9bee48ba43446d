#!/usr/bin/env node
// Services are plain TypeScript modules loaded without a build step: tsx compiles them on
// import. It is installed when the first one is imported (see src/service/module-loader.ts).
const { setTypeScriptLoader } = await import('../dist/service/module-loader.js');
setTypeScriptLoader(async () => (await import('tsx/esm/api')).register());
const { main } = await import('../dist/cli/main.js');
await main(process.argv);
