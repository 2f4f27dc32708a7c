// Multi-tenancy through unchanged SDKs: @aws-sdk/client-bedrock-runtime's
// ApplyGuardrailCommand against a tenant's guardrail (SigV4 key bound to the tenant
// by auth.sigv4_keys "AKID:SECRET:TENANT"), and the openai SDK's RateLimitError from
// a tenant with requests_per_minute 1. Tenants are declared in a config file.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import path from 'node:path';
import {ApplyGuardrailCommand, BedrockRuntimeClient} from '@aws-sdk/client-bedrock-runtime';
import {NodeHttpHandler} from '@smithy/node-http-handler';
import OpenAI from 'openai';

import {startBasalt} from './basalt_proc.mjs';

const AKID_GUARDED = 'AKIDSDKGUARDED0001';
const AKID_PLAIN = 'AKIDSDKPLAIN000001';
const SECRET = 'sdkTenancySecret/0123456789+abcdefghijk';
const LIMITED_KEY = 'sdk-limited-key-0123456789abcdef';
const EMAIL = 'carol.jones@example.com';
const BLOCKED = 'Blocked by the tenant policy.';

function bedrockClient(port, accessKeyId) {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    credentials: {accessKeyId, secretAccessKey: SECRET},
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });
}

describe('tenancy through the SDKs', () => {
  let srv;
  let dir;
  let guarded;
  let plain;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'basalt-sdk-tenancy-'));
    const config = path.join(dir, 'basalt.yaml');
    writeFileSync(config, JSON.stringify({  // JSON is YAML
      auth: {
        api_keys: [`limited:${LIMITED_KEY}`],
        sigv4_keys: [`${AKID_GUARDED}:${SECRET}:guarded`, `${AKID_PLAIN}:${SECRET}:plain`],
      },
      tenants: [
        {name: 'guarded', guardrail: {
          pii: {EMAIL: 'ANONYMIZE', CREDIT_DEBIT_CARD_NUMBER: 'BLOCK'},
          blocked_input_message: BLOCKED, blocked_output_message: BLOCKED,
        }},
        {name: 'plain'},
        {name: 'limited', limits: {requests_per_minute: 1}},
      ],
    }));
    srv = await startBasalt({args: ['--config', config]});
    guarded = bedrockClient(srv.port, AKID_GUARDED);
    plain = bedrockClient(srv.port, AKID_PLAIN);
  });
  after(async () => {
    guarded?.destroy();
    plain?.destroy();
    await srv?.stop();
    if (dir) rmSync(dir, {recursive: true, force: true});
  });

  test('ApplyGuardrail anonymizes an email', async () => {
    const res = await guarded.send(new ApplyGuardrailCommand({
      guardrailIdentifier: 'default', guardrailVersion: '1', source: 'INPUT',
      content: [{text: {text: `Please write to ${EMAIL} tomorrow.`}}],
    }));
    assert.equal(res.$metadata.httpStatusCode, 200);
    assert.equal(res.action, 'GUARDRAIL_INTERVENED');
    assert.equal(res.outputs.length, 1);
    assert.match(res.outputs[0].text, /\{EMAIL\}/);
    assert.ok(!res.outputs[0].text.includes(EMAIL), res.outputs[0].text);
    const pii = res.assessments[0].sensitiveInformationPolicy.piiEntities;
    assert.deepEqual(pii.map((p) => [p.type, p.action]), [['EMAIL', 'ANONYMIZED']]);
  });

  test('ApplyGuardrail blocks a card number', async () => {
    const res = await guarded.send(new ApplyGuardrailCommand({
      guardrailIdentifier: 'guarded', guardrailVersion: 'DRAFT', source: 'INPUT',
      content: [{text: {text: 'My card is 4111 1111 1111 1111.'}}],
    }));
    assert.equal(res.action, 'GUARDRAIL_INTERVENED');
    assert.equal(res.outputs[0].text, BLOCKED);
  });

  test('ApplyGuardrail with nothing to do: action NONE', async () => {
    const res = await guarded.send(new ApplyGuardrailCommand({
      guardrailIdentifier: 'default', guardrailVersion: '1', source: 'OUTPUT',
      content: [{text: {text: 'The Seine flows through Paris.'}}],
    }));
    assert.equal(res.action, 'NONE');
  });

  test('ApplyGuardrail for a tenant without a guardrail: ResourceNotFoundException', async () => {
    await assert.rejects(
        plain.send(new ApplyGuardrailCommand({
          guardrailIdentifier: 'default', guardrailVersion: '1', source: 'INPUT',
          content: [{text: {text: 'hello'}}],
        })),
        (err) => {
          assert.equal(err.name, 'ResourceNotFoundException');
          assert.equal(err.$metadata.httpStatusCode, 404);
          return true;
        });
  });

  test('openai SDK: RateLimitError from a tenant with requests_per_minute 1', async () => {
    const client = new OpenAI({apiKey: LIMITED_KEY, baseURL: `${srv.url}/v1`, maxRetries: 0,
                               timeout: 20000});
    const body = {model: 'builtin', messages: [{role: 'user', content:
        'The Seine flows through Paris. Which river flows through Paris?'}]};
    const first = await client.chat.completions.create(body);
    assert.match(first.choices[0].message.content, /Seine/);
    await assert.rejects(client.chat.completions.create(body), (err) => {
      assert.ok(err instanceof OpenAI.RateLimitError, `${err.constructor.name}: ${err.message}`);
      assert.equal(err.status, 429);
      assert.equal(err.code, 'rate_limit_exceeded');
      assert.ok(Number(err.headers.get('retry-after')) >= 1, err.headers.get('retry-after'));
      assert.equal(err.headers.get('x-ratelimit-limit-requests'), '1');
      return true;
    });
  });
});
