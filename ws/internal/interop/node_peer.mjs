// node_peer.mjs BASE_URL: drives the npm `ws` client against the Go server
// started by interop_test.go and prints one "ok <step>" line per passed step.
// Any failure exits non-zero with the reason on stderr.
import WebSocket from 'ws';

const base = process.argv[2];
if (!base) {
  console.error('usage: node node_peer.mjs ws://127.0.0.1:PORT');
  process.exit(2);
}

function open(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + path);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function next(ws, event) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timeout waiting for ${event}`)), 10000);
    ws.once(event, (...args) => {
      clearTimeout(t);
      resolve(args);
    });
  });
}

function expectClose(ws, code, step) {
  return next(ws, 'close').then(([got, reason]) => {
    if (got !== code) throw new Error(`${step}: close code ${got} (${reason}), want ${code}`);
    console.log(`ok ${step}`);
  });
}

// A protobuf google.protobuf.StringValue: field 1, wire type 2 (length-delimited).
function stringValue(s) {
  const b = Buffer.from(s, 'utf8');
  if (b.length > 127) throw new Error('short strings only');
  return Buffer.concat([Buffer.from([0x0a, b.length]), b]);
}

function parseStringValue(buf) {
  if (buf[0] !== 0x0a || buf[1] !== buf.length - 2) throw new Error(`not a short StringValue: ${buf.toString('hex')}`);
  return buf.subarray(2).toString('utf8');
}

async function main() {
  // 1. JSON text echo.
  let ws = await open('/json');
  const msg = next(ws, 'message');
  ws.send(JSON.stringify({ n: 1, s: 'héllo' }));
  const [data, isBinary] = await msg;
  const got = JSON.parse(data.toString());
  if (isBinary || got.n !== 1 || got.s !== 'héllo') throw new Error(`echo: ${data} binary=${isBinary}`);
  console.log('ok text-echo');

  // 2. Control-frame pings from the server (answered by the library), and
  //    our ping answered with a pong.
  let pings = 0;
  ws.on('ping', () => pings++);
  await new Promise((r) => setTimeout(r, 700));
  if (pings < 2) throw new Error(`server pings: got ${pings}, want >= 2`);
  console.log('ok server-ping');
  const pong = next(ws, 'pong');
  ws.ping(Buffer.from('p1'));
  const [pongData] = await pong;
  if (pongData.toString() !== 'p1') throw new Error(`pong data ${pongData}`);
  console.log('ok client-ping');

  // 3. Server closes with the code a handler chose.
  const closed = expectClose(ws, 4001, 'server-close-code');
  ws.send(JSON.stringify({ cmd: 'close', code: 4001, reason: 'bye' }));
  await closed;

  // 4. We close with 1000; the Go test checks its OnClose saw it.
  ws = await open('/json?tag=node-1000');
  ws.close(1000, 'done');
  await expectClose(ws, 1000, 'client-close-1000');

  // 5. Binary protobuf through the protobuf codec.
  ws = await open('/proto');
  const reply = next(ws, 'message');
  ws.send(stringValue('hi'), { binary: true });
  const [bin, wasBinary] = await reply;
  if (!wasBinary) throw new Error('proto reply was not binary');
  const text = parseStringValue(Buffer.from(bin));
  if (text !== 'echo:hi') throw new Error(`proto reply ${text}`);
  console.log('ok proto-binary');
  ws.close(1000);
  await next(ws, 'close');

  // 6. A binary frame to the JSON server: unsupported data.
  ws = await open('/json');
  const c1003 = expectClose(ws, 1003, 'binary-to-json-1003');
  ws.send(Buffer.from([1, 2, 3]), { binary: true });
  await c1003;

  // 7. Invalid UTF-8 in a text frame.
  ws = await open('/json');
  const c1007 = expectClose(ws, 1007, 'invalid-utf8-1007');
  ws.send(Buffer.from([0x22, 0xff, 0xfe, 0x22]), { binary: false });
  await c1007;

  // 8. Over the read limit.
  ws = await open('/json');
  const c1009 = expectClose(ws, 1009, 'oversize-1009');
  ws.send(JSON.stringify('x'.repeat(10000)));
  await c1009;
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error('node peer failed:', err && err.stack ? err.stack : err);
    process.exit(1);
  },
);
