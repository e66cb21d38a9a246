/**
 * The execution environment of a local function version, in a worker thread (loaded by path from
 * function-version.ts): loads the bundle once (the init phase), then runs one invocation at a time.
 * Console output carries the request id and level, as Lambda writes it.
 */
'use strict';
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');
const tls = require('node:tls');
const { pathToFileURL } = require('node:url');
const util = require('node:util');
const { parentPort, workerData } = require('node:worker_threads');

const data = workerData;
let requestId;
const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
for (const [method, level] of Object.entries(levels)) {
  console[method] = (...args) => {
    const line = [new Date().toISOString(), requestId || 'undefined', level, util.format(...args)];
    process.stdout.write(`${line.join('\t')}\n`);
  };
}

function describe(error) {
  if (error !== null && typeof error === 'object') {
    return {
      errorType: String(error.name || (error.constructor && error.constructor.name) || 'Error'),
      errorMessage: String(error.message === undefined ? '' : error.message),
      trace: typeof error.stack === 'string' ? error.stack.split('\n') : [],
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}

/** Runs an async handler or a callback-style one; settles once, whichever way it answers first. */
function call(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const callback = (error, result) => {
      if (settled) return;
      settled = true;
      if (error !== undefined && error !== null) reject(error);
      else resolve(result);
    };
    context.done = callback;
    context.succeed = (result) => callback(null, result);
    context.fail = (error) => callback(error === undefined || error === null ? new Error('handled') : error);
    let returned;
    try {
      returned = handler(event, context, callback);
    } catch (error) {
      callback(error);
      return;
    }
    if (returned && typeof returned.then === 'function') {
      returned.then(
        (result) => callback(null, result),
        (error) =>
          callback(error === undefined || error === null ? new Error('the promise was rejected') : error),
      );
    } else if (handler.length < 3) {
      callback(null, returned);
    }
  });
}

async function invoke(handler, message) {
  requestId = message.requestId;
  const deadline = message.deadline;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: data.functionVersion,
    invokedFunctionArn: message.invokedFunctionArn,
    memoryLimitInMB: String(data.memoryMb),
    awsRequestId: message.requestId,
    logGroupName: data.logGroupName,
    logStreamName: data.logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  try {
    const result = await call(handler, JSON.parse(message.payload), context);
    let payload;
    try {
      payload = result === undefined ? undefined : JSON.stringify(result);
    } catch (error) {
      const serialization = {
        errorType: 'Runtime.ResultSerializationError',
        errorMessage: describe(error).errorMessage,
      };
      parentPort.postMessage({ type: 'done', id: message.id, error: { ...serialization, trace: [] } });
      return;
    }
    parentPort.postMessage({ type: 'done', id: message.id, payload });
  } catch (error) {
    parentPort.postMessage({ type: 'done', id: message.id, error: describe(error) });
  }
}

function initError(errorType, errorMessage, trace) {
  parentPort.postMessage({ type: 'init-error', errorType, errorMessage, trace });
}

/**
 * NODE_EXTRA_CA_CERTS is read once, when a Node process starts, and a worker thread shares its process's
 * CA store: the function's own setting (the local AWS endpoints' certificate) is applied to this thread's
 * TLS connections here, as it would be to a Lambda process's.
 */
function trustExtraCertificates() {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return;
  const ca = [...tls.rootCertificates, fs.readFileSync(file, 'utf8')];
  const create = tls.createSecureContext;
  tls.createSecureContext = (options = {}) => create(options.ca === undefined ? { ...options, ca } : options);
}

async function init() {
  const started = performance.now();
  let mod;
  try {
    trustExtraCertificates();
    mod = /\.mjs$/.test(data.handlerFile)
      ? await import(pathToFileURL(data.handlerFile).href)
      : require(data.handlerFile);
  } catch (error) {
    const d = describe(error);
    initError('Runtime.ImportModuleError', `${d.errorType}: ${d.errorMessage}`, d.trace);
    return;
  }
  const handler = mod && mod[data.handlerExport];
  if (typeof handler !== 'function') {
    initError(
      'Runtime.HandlerNotFound',
      `${data.handlerModule}.${data.handlerExport} is undefined or not exported`,
      [],
    );
    return;
  }
  parentPort.on('message', (message) => void invoke(handler, message));
  parentPort.postMessage({ type: 'ready', moduleMs: performance.now() - started });
}

init().catch((error) => {
  const d = describe(error);
  initError('Runtime.Unknown', d.errorMessage, d.trace);
});
