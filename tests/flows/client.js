// client.js: a node-ws (Debian's /usr/share/nodejs/ws) WebSocket client for
// flow 4 of issue 6.  Usage: node client.js URL [CA.pem] [TAG]
// With CA.pem it verifies the gateway against that file only (ws's `ca:`
// option, host name checked as usual).  Sends a text message, a binary
// message with every byte value (100,000 bytes) and requires each back
// identical and of the same type, then closes with 1000 and requires 1000.
// Prints "OK …" and exits 0, or "FAIL code=… message" and exits 1.
// SPDX-License-Identifier: Apache-2.0
'use strict';
const fs = require('fs');
const crypto = require('crypto');
const WebSocket = require('/usr/share/nodejs/ws');

const [url, cafile, tag = 'node'] = process.argv.slice(2);
const text = tag + ': héllo ✓ 🔒';
const bin = Buffer.alloc(100000);
for (let i = 0; i < bin.length; i++) bin[i] = (i * 131 + 7) & 0xff;
const expected = [[false, Buffer.from(text)], [true, bin]];

function fail (err) {
  console.log('FAIL code=' + (err && err.code ? err.code : '-') + ' ' + (err && err.message ? err.message : String(err)));
  process.exit(1);
}

const timer = setTimeout(() => fail(new Error('timed out after 20 s')), 20000);
const opts = { perMessageDeflate: false, handshakeTimeout: 10000 };
if (cafile) opts.ca = fs.readFileSync(cafile);
const ws = new WebSocket(url, opts);
let n = 0;
const digests = [];

ws.on('open', () => ws.send(text));
ws.on('message', (data, isBinary) => {
  const [wantBinary, want] = expected[n];
  if (isBinary !== wantBinary) return fail(new Error('message ' + (n + 1) + ': type differs'));
  if (!Buffer.from(data).equals(want)) return fail(new Error('message ' + (n + 1) + ': payload differs'));
  digests.push(crypto.createHash('sha256').update(data).digest('hex'));
  n++;
  if (n < expected.length) ws.send(expected[n][1], { binary: true });
  else ws.close(1000, 'done');
});
ws.on('close', (code) => {
  clearTimeout(timer);
  if (n !== expected.length) return fail(new Error('closed with ' + code + ' after ' + n + ' messages'));
  if (code !== 1000) return fail(new Error('close code ' + code));
  console.log('OK messages=' + n + ' text=' + digests[0] + ' binary=' + digests[1] + ' close=' + code);
  process.exit(0);
});
ws.on('error', fail);
