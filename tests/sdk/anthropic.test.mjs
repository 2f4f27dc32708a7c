// The `@anthropic-ai/sdk` npm package, unchanged, pointed at basalt (builtin provider).
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';

import {startBasalt} from './basalt_proc.mjs';

const API_KEY = 'sdk-test-key-0123456789abcdef';
const PROMPT = 'The Seine flows through Paris. Bananas are rich in potassium. ' +
    'Which river flows through Paris?';

describe('@anthropic-ai/sdk', () => {
  let srv;
  let client;

  before(async () => {
    srv = await startBasalt({sets: {'auth.api_keys': API_KEY}});
    client = new Anthropic({apiKey: API_KEY, baseURL: srv.url, maxRetries: 0, timeout: 20000});
  });
  after(async () => { await srv?.stop(); });

  const request = {
    model: 'claude-3-5-haiku-latest', max_tokens: 200, system: 'Answer from the context.',
    messages: [{role: 'user', content: PROMPT}],
  };

  test('messages.create', async () => {
    const msg = await client.messages.create(request);
    assert.equal(msg.type, 'message');
    assert.equal(msg.role, 'assistant');
    assert.equal(msg.content[0].type, 'text');
    assert.match(msg.content[0].text, /Seine/);
    assert.ok(['end_turn', 'max_tokens', 'stop_sequence'].includes(msg.stop_reason), msg.stop_reason);
    assert.ok(msg.usage.input_tokens > 0 && msg.usage.output_tokens > 0);
  });

  test('messages.create with stream: true (raw events)', async () => {
    const stream = await client.messages.create({...request, stream: true});
    const types = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
    }
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.ok(types.includes('message_delta'));
    assert.match(text, /Seine/);
  });

  test('messages.stream helper and finalMessage()', async () => {
    const stream = client.messages.stream(request);
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(final.content[0].text, text);
    assert.match(text, /Seine/);
    assert.ok(final.usage.output_tokens > 0);
  });

  test('a wrong API key surfaces as AuthenticationError', async () => {
    const bad = new Anthropic({apiKey: 'wrong-key-0123456789abcdef', baseURL: srv.url, maxRetries: 0});
    await assert.rejects(bad.messages.create(request),
                         (err) => err instanceof Anthropic.AuthenticationError && err.status === 401);
  });
});
