// @aws-sdk/client-bedrock-runtime, unchanged, pointed at basalt with real SigV4
// verification (auth.sigv4_keys) and the builtin provider behind it.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {
  BedrockRuntimeClient, ConverseCommand, ConverseStreamCommand, GetAsyncInvokeCommand,
  InvokeModelCommand, InvokeModelWithResponseStreamCommand, ListAsyncInvokesCommand,
  StartAsyncInvokeCommand,
} from '@aws-sdk/client-bedrock-runtime';

import {NodeHttpHandler} from '@smithy/node-http-handler';

import {startBasalt} from './basalt_proc.mjs';

const AKID = 'AKIDSDKTEST0000001';
const SECRET = 'sdkTestSecret/0123456789+abcdefghijklmnopq';
const MODEL_ID = 'anthropic.claude-3-haiku-20240307-v1:0';  // ':' exercises SigV4 path encoding
const PROMPT = 'The Seine flows through Paris. Bananas are rich in potassium. ' +
    'Which river flows through Paris?';

// Since it gained bidirectional streaming, this client's default request handler
// is HTTP/2 (NodeHttp2Handler; h2c with prior knowledge on an http:// endpoint).
// Most tests pin the HTTP/1.1 handler, a documented client option, so that they
// test the Bedrock API itself; 'the default request handler' tests the default.
function client(port, {secretAccessKey = SECRET, http1 = true} = {}) {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: {accessKeyId: AKID, secretAccessKey},
    maxAttempts: 1,
    ...(http1 ? {requestHandler: new NodeHttpHandler()} : {}),
  });
}

describe('@aws-sdk/client-bedrock-runtime', () => {
  let srv;
  let bedrock;

  before(async () => {
    srv = await startBasalt({sets: {'auth.sigv4_keys': `${AKID}:${SECRET}`}});
    bedrock = client(srv.port);
  });
  after(async () => {
    bedrock?.destroy();
    await srv?.stop();
  });

  const messages = [{role: 'user', content: [{text: PROMPT}]}];

  test('Converse', async () => {
    const res = await bedrock.send(new ConverseCommand({
      modelId: MODEL_ID, messages, system: [{text: 'Answer from the context.'}],
      inferenceConfig: {maxTokens: 200},
    }));
    assert.equal(res.$metadata.httpStatusCode, 200);
    assert.equal(res.output.message.role, 'assistant');
    assert.match(res.output.message.content[0].text, /Seine/);
    assert.ok(['end_turn', 'max_tokens'].includes(res.stopReason), res.stopReason);
    assert.ok(res.usage.inputTokens > 0 && res.usage.outputTokens > 0);
    assert.equal(typeof res.metrics.latencyMs, 'number');
  });

  test('ConverseStream (for await over response.stream)', async () => {
    const res = await bedrock.send(new ConverseStreamCommand({modelId: MODEL_ID, messages}));
    const kinds = [];
    let text = '';
    let usage = null;
    for await (const event of res.stream) {
      const kind = Object.keys(event).find((k) => event[k] !== undefined && k !== '$unknown');
      kinds.push(kind);
      if (event.contentBlockDelta) text += event.contentBlockDelta.delta.text ?? '';
      if (event.metadata) usage = event.metadata.usage;
    }
    assert.equal(kinds[0], 'messageStart');
    assert.ok(kinds.includes('contentBlockDelta'));
    assert.ok(kinds.includes('contentBlockStop'));
    assert.ok(kinds.includes('messageStop'));
    assert.equal(kinds.at(-1), 'metadata');
    assert.match(text, /Seine/);
    assert.ok(usage && usage.outputTokens > 0, JSON.stringify(usage));
  });

  test('InvokeModel with an Anthropic Messages body', async () => {
    const res = await bedrock.send(new InvokeModelCommand({
      modelId: MODEL_ID, contentType: 'application/json', accept: 'application/json',
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31', max_tokens: 200,
        messages: [{role: 'user', content: PROMPT}],
      }),
    }));
    const answer = JSON.parse(new TextDecoder().decode(res.body));
    assert.equal(answer.type, 'message');
    assert.match(answer.content[0].text, /Seine/);
    assert.ok(answer.usage.input_tokens > 0 && answer.usage.output_tokens > 0);
  });

  test('InvokeModelWithResponseStream', async () => {
    const res = await bedrock.send(new InvokeModelWithResponseStreamCommand({
      modelId: MODEL_ID, contentType: 'application/json', accept: 'application/json',
      body: JSON.stringify({
        anthropic_version: 'bedrock-2023-05-31', max_tokens: 200,
        messages: [{role: 'user', content: PROMPT}],
      }),
    }));
    const types = [];
    let text = '';
    for await (const event of res.body) {
      assert.ok(event.chunk, `unexpected event ${JSON.stringify(Object.keys(event))}`);
      const e = JSON.parse(new TextDecoder().decode(event.chunk.bytes));
      types.push(e.type);
      if (e.type === 'content_block_delta') text += e.delta.text ?? '';
    }
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.match(text, /Seine/);
  });

  test('the default request handler (HTTP/2) works unchanged', async () => {
    const h2 = client(srv.port, {http1: false});
    try {
      const res = await h2.send(new ConverseCommand({modelId: MODEL_ID, messages}));
      assert.match(res.output.message.content[0].text, /Seine/);
      const stream = await h2.send(new ConverseStreamCommand({modelId: MODEL_ID, messages}));
      let text = '';
      for await (const event of stream.stream) text += event.contentBlockDelta?.delta?.text ?? '';
      assert.match(text, /Seine/);
    } finally {
      h2.destroy();
    }
  });

  test('StartAsyncInvoke, GetAsyncInvoke and ListAsyncInvokes', async () => {
    const started = await bedrock.send(new StartAsyncInvokeCommand({
      modelId: MODEL_ID,
      clientRequestToken: 'sdk-async-token-1',
      modelInput: {
        anthropic_version: 'bedrock-2023-05-31', max_tokens: 64,
        messages: [{role: 'user', content: PROMPT}],
      },
      outputDataConfig: {s3OutputDataConfig: {s3Uri: 's3://bucket/prefix/'}},
    }));
    assert.match(started.invocationArn, /^arn:aws:bedrock:local:default:async-invoke\/inv_/);
    const again = await bedrock.send(new StartAsyncInvokeCommand({
      modelId: MODEL_ID,
      clientRequestToken: 'sdk-async-token-1',
      modelInput: {
        anthropic_version: 'bedrock-2023-05-31', max_tokens: 64,
        messages: [{role: 'user', content: PROMPT}],
      },
      outputDataConfig: {s3OutputDataConfig: {s3Uri: 's3://bucket/prefix/'}},
    }));
    assert.equal(again.invocationArn, started.invocationArn, 'the token makes it idempotent');
    let got;
    for (let i = 0; i < 100; i++) {
      got = await bedrock.send(new GetAsyncInvokeCommand({invocationArn: started.invocationArn}));
      if (got.status !== 'InProgress') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(got.status, 'Completed');
    assert.equal(got.invocationArn, started.invocationArn);
    assert.equal(got.clientRequestToken, 'sdk-async-token-1');
    assert.equal(got.outputDataConfig.s3OutputDataConfig.s3Uri, 's3://bucket/prefix/');
    assert.ok(got.submitTime instanceof Date && got.endTime instanceof Date);
    const list = await bedrock.send(new ListAsyncInvokesCommand({statusEquals: 'Completed'}));
    assert.ok(list.asyncInvokeSummaries.some((s) => s.invocationArn === started.invocationArn));
  });

  test('a wrong secret is refused with 403', async () => {
    const bad = client(srv.port, {secretAccessKey: 'not-the-right-secret-0123456789'});
    try {
      await assert.rejects(
          bad.send(new ConverseCommand({modelId: MODEL_ID, messages})),
          (err) => {
            assert.equal(err.$metadata?.httpStatusCode, 403, `${err.name}: ${err.message}`);
            assert.ok(['AccessDeniedException', 'UnrecognizedClientException',
              'InvalidSignatureException'].includes(err.name), err.name);
            return true;
          });
    } finally {
      bad.destroy();
    }
  });
});
