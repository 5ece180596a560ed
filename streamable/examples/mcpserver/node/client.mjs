// The official MCP TypeScript SDK client, unmodified, against the Go example
// server. Usage: node client.mjs <url> <sse|json>. Prints "ok <step> ..."
// lines that mcpserver's Go test checks; exits non-zero on any failure.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const [url, mode] = process.argv.slice(2);
if (!url || !mode) {
  console.error('usage: node client.mjs <url> <sse|json>');
  process.exit(2);
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  reconnectionOptions: { initialReconnectionDelay: 20, maxReconnectionDelay: 200, reconnectionDelayGrowFactor: 1.5, maxRetries: 5 },
});
const client = new Client({ name: 'streamkit-interop', version: '0.0.1' });

const timeout = setTimeout(() => { console.error('timed out'); process.exit(1); }, 45000);

await client.connect(transport);
if (!transport.sessionId) throw new Error('no session id after connect');
console.log(`ok connect session=${transport.sessionId.length > 0} version=${transport.protocolVersion}`);

const { tools } = await client.listTools();
if (!tools.some(t => t.name === 'count')) throw new Error('count tool missing: ' + JSON.stringify(tools));
console.log('ok list-tools');

await client.ping();
console.log('ok ping');

let seen = 0;
let res = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, { onprogress: () => { seen++; } });
if (res.content?.[0]?.text !== 'counted to 3') throw new Error('bad result ' + JSON.stringify(res));
console.log(`ok call progress=${seen}`);

seen = 0;
res = await client.callTool({ name: 'count', arguments: { n: 2, drop: true } }, undefined, { onprogress: () => { seen++; } });
if (res.content?.[0]?.text !== 'counted to 2') throw new Error('bad result ' + JSON.stringify(res));
console.log(`ok resume progress=${seen}`);

await transport.terminateSession();
if (transport.sessionId !== undefined) throw new Error('session id kept after terminate');
console.log('ok terminate');

transport.onerror = () => {}; // the GET stream's reconnect after the session ended is expected to fail
await client.close();
clearTimeout(timeout);
console.log('ok done');
