// Postern welcome page: a WebSocket round trip to the echo service, shown live.
// SPDX-License-Identifier: Apache-2.0
//
// The outcome is in the DOM for people and for automated tests alike:
// <output id="status" data-state="pending|ok|error">, with data-rtt-ms (the
// mean round trip) once it is "ok" and data-close-code on a failed close.
'use strict';

(function () {
  const MESSAGES = 3;
  const CONNECT_TIMEOUT_MS = 10000;
  const ECHO_TIMEOUT_MS = 5000;

  const status = document.getElementById('status');
  const log = document.getElementById('log');
  const urlView = document.getElementById('echo-url');
  const retry = document.getElementById('retry');

  let socket = null;
  let timer = 0;
  let run = 0;

  // Same host and port as this page, ws:// under http:// and wss:// under
  // https://, unless the page says otherwise in data-echo-port/-path.
  function echoUrl () {
    const body = document.body.dataset;
    const path = body.echoPath || '/echo';
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const port = body.echoPort || location.port;
    const host = location.hostname.includes(':') ? '[' + location.hostname + ']' : location.hostname;
    return scheme + '//' + host + (port ? ':' + port : '') + path;
  }

  function note (text) {
    const li = document.createElement('li');
    li.textContent = text;
    log.appendChild(li);
  }

  function setState (state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function fail (text, closeCode) {
    clearTimeout(timer);
    if (closeCode !== undefined) {
      status.dataset.closeCode = String(closeCode);
    }
    setState('error', text);
    note('error: ' + text);
    if (socket) {
      const s = socket;
      socket = null;
      s.onclose = s.onerror = s.onmessage = s.onopen = null;
      try { s.close(); } catch (e) { /* already closed */ }
    }
  }

  function closeReason (event) {
    const reason = event.reason ? ' (' + event.reason + ')' : '';
    switch (event.code) {
      case 1006:
        return location.protocol === 'https:'
          ? 'the connection was refused or dropped (code 1006): the browser may not ' +
            'trust the gateway\'s certificate for this port — see below'
          : 'the connection was refused or dropped (code 1006): is the echo service ' +
            'listening at this address?';
      case 1008:
        return 'the gateway refused this page\'s origin (code 1008)' + reason;
      case 1011:
        return 'the gateway could not serve the connection (code 1011)' + reason;
      default:
        return 'the connection closed with code ' + event.code + reason;
    }
  }

  function check () {
    const thisRun = ++run;
    const url = echoUrl();
    const rtts = [];
    let sentAt = 0;
    let expected = '';

    clearTimeout(timer);
    log.replaceChildren();
    delete status.dataset.rttMs;
    delete status.dataset.closeCode;
    urlView.textContent = url;
    setState('pending', 'Connecting…');

    if (location.protocol !== 'http:' && location.protocol !== 'https:') {
      fail('open this page from the gateway (http:// or https://), not from a file');
      return;
    }

    try {
      socket = new WebSocket(url);
    } catch (e) {
      fail('cannot open ' + url + ': ' + e.message);
      return;
    }
    const ws = socket;
    const openedAt = performance.now();

    timer = setTimeout(function () {
      if (thisRun === run) {
        fail('no answer from ' + url + ' within ' + CONNECT_TIMEOUT_MS / 1000 + ' s');
      }
    }, CONNECT_TIMEOUT_MS);

    function sendNext () {
      const n = rtts.length + 1;
      expected = 'postern check ' + n + '/' + MESSAGES + ' ' + Math.random().toString(36).slice(2);
      sentAt = performance.now();
      ws.send(expected);
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (thisRun === run) {
          fail('message ' + n + ' was not echoed within ' + ECHO_TIMEOUT_MS / 1000 + ' s');
        }
      }, ECHO_TIMEOUT_MS);
    }

    ws.onopen = function () {
      if (thisRun !== run) return;
      note('connected in ' + Math.round(performance.now() - openedAt) + ' ms');
      setState('pending', 'Connected, sending ' + MESSAGES + ' messages…');
      sendNext();
    };

    ws.onmessage = function (event) {
      if (thisRun !== run) return;
      if (event.data !== expected) {
        fail('the echo did not match what was sent');
        return;
      }
      const rtt = performance.now() - sentAt;
      rtts.push(rtt);
      note('message ' + rtts.length + ' echoed in ' + rtt.toFixed(1) + ' ms');
      if (rtts.length < MESSAGES) {
        sendNext();
        return;
      }
      clearTimeout(timer);
      const mean = rtts.reduce(function (a, b) { return a + b; }, 0) / rtts.length;
      status.dataset.rttMs = mean.toFixed(1);
      setState('ok', 'It works: ' + MESSAGES + ' messages echoed, round trip ' +
               mean.toFixed(1) + ' ms on average');
      socket = null;
      ws.onclose = null;
      ws.close(1000, 'check done');
    };

    ws.onerror = function () {
      // the close event that follows carries the code; nothing to add here
    };

    ws.onclose = function (event) {
      if (thisRun !== run) return;
      fail(closeReason(event), event.code);
    };
  }

  retry.addEventListener('click', check);
  check();
})();
