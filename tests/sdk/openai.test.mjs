// The `openai` npm package, unchanged, pointed at basalt (builtin provider, offline).
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';

import {startBasalt} from './basalt_proc.mjs';

const API_KEY = 'sdk-test-key-0123456789abcdef';
const CONTEXT = 'The Seine flows through Paris and into the English Channel. ' +
    'Bananas are rich in potassium. The Loire is the longest river in France.';
const QUESTION = 'Which river flows through Paris?';

describe('openai SDK', () => {
  let srv;
  let client;

  before(async () => {
    srv = await startBasalt({sets: {'auth.api_keys': API_KEY}});
    client = new OpenAI({apiKey: API_KEY, baseURL: `${srv.url}/v1`, maxRetries: 0, timeout: 20000});
  });
  after(async () => { await srv?.stop(); });

  const messages = [
    {role: 'system', content: 'Answer from the context.'},
    {role: 'user', content: `${CONTEXT} ${QUESTION}`},
  ];

  test('chat.completions.create', async () => {
    const res = await client.chat.completions.create({model: 'gpt-4o-mini', messages});
    assert.equal(res.object, 'chat.completion');
    assert.equal(res.choices[0].message.role, 'assistant');
    assert.match(res.choices[0].message.content, /Seine/);
    assert.ok(res.usage.prompt_tokens > 0);
    assert.ok(res.usage.completion_tokens > 0);
  });

  test('chat.completions.create with stream: true (for await)', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini', messages, stream: true, stream_options: {include_usage: true},
    });
    let text = '';
    let finish = null;
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      assert.equal(chunk.object, 'chat.completion.chunk');
      for (const choice of chunk.choices) {
        text += choice.delta?.content ?? '';
        if (choice.finish_reason) finish = choice.finish_reason;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    assert.ok(chunks > 1, `only ${chunks} chunk(s)`);
    assert.match(text, /Seine/);
    assert.ok(finish === 'stop' || finish === 'length', `finish_reason ${finish}`);
    assert.ok(usage && usage.completion_tokens > 0, `usage ${JSON.stringify(usage)}`);
  });

  test('chat stream matches the plain answer', async () => {
    const plain = await client.chat.completions.create({model: 'x', messages});
    const stream = await client.chat.completions.create({model: 'x', messages, stream: true});
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, plain.choices[0].message.content);
  });

  test('embeddings.create (the SDK asks for base64 and decodes it)', async () => {
    const res = await client.embeddings.create({
      model: 'text-embedding-3-small', input: ['the Seine flows through Paris', 'bananas'],
    });
    assert.equal(res.data.length, 2);
    for (const d of res.data) {
      assert.ok(Array.isArray(d.embedding), typeof d.embedding);
      assert.equal(d.embedding.length, 384);
      const norm = Math.sqrt(d.embedding.reduce((s, x) => s + x * x, 0));
      assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
    }
    assert.notDeepEqual(res.data[0].embedding, res.data[1].embedding);
    const floats = await client.embeddings.create({
      model: 'text-embedding-3-small', input: 'the Seine flows through Paris', encoding_format: 'float',
    });
    floats.data[0].embedding.forEach((x, i) => assert.ok(Math.abs(x - res.data[0].embedding[i]) < 1e-6));
  });

  test('models.list', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.length > 0);
  });

  test('a bad request surfaces as BadRequestError', async () => {
    await assert.rejects(
        client.chat.completions.create({model: 'x', messages: [{role: 'nobody', content: 'hi'}]}),
        (err) => err instanceof OpenAI.BadRequestError && err.status === 400);
  });

  test('a wrong API key surfaces as AuthenticationError', async () => {
    const bad = new OpenAI({apiKey: 'wrong-key-0123456789abcdef', baseURL: `${srv.url}/v1`, maxRetries: 0});
    await assert.rejects(bad.chat.completions.create({model: 'x', messages}),
                         (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
  });
});
