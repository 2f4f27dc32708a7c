// @aws-sdk/client-bedrock-agent and @aws-sdk/client-bedrock-agent-runtime,
// unchanged, pointed at basalt (real SigV4 verification, builtin provider and
// builtin embedder): knowledge bases, data sources, inline documents with
// metadata, Retrieve with filters, RetrieveAndGenerate with citations and a
// session, the event stream, deletes, pagination and errors.
import {after, before, describe, test} from 'node:test';
import assert from 'node:assert/strict';
import {
  BedrockAgentClient, CreateDataSourceCommand, CreateKnowledgeBaseCommand, DeleteDataSourceCommand,
  DeleteKnowledgeBaseCommand, DeleteKnowledgeBaseDocumentsCommand, GetDataSourceCommand,
  GetIngestionJobCommand, GetKnowledgeBaseCommand, GetKnowledgeBaseDocumentsCommand,
  IngestKnowledgeBaseDocumentsCommand, ListDataSourcesCommand, ListIngestionJobsCommand,
  ListKnowledgeBaseDocumentsCommand, ListKnowledgeBasesCommand, StartIngestionJobCommand,
  UpdateKnowledgeBaseCommand,
} from '@aws-sdk/client-bedrock-agent';
import {
  BedrockAgentRuntimeClient, RetrieveAndGenerateCommand, RetrieveAndGenerateStreamCommand,
  RetrieveCommand,
} from '@aws-sdk/client-bedrock-agent-runtime';
import {NodeHttpHandler} from '@smithy/node-http-handler';

import {startBasalt} from './basalt_proc.mjs';

const AKID = 'AKIDSDKKBTEST00001';
const SECRET = 'sdkKbTestSecret/0123456789+abcdefghijklmno';
const EMBED_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0';
const MODEL_ARN = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';
const ROLE_ARN = 'arn:aws:iam::123456789012:role/kb-role';

const config = (port) => ({
  region: 'us-east-1',
  endpoint: `http://127.0.0.1:${port}`,
  credentials: {accessKeyId: AKID, secretAccessKey: SECRET},
  maxAttempts: 1,
  requestHandler: new NodeHttpHandler(),
});

const str = (v) => ({type: 'STRING', stringValue: v});
const num = (v) => ({type: 'NUMBER', numberValue: v});
const bool = (v) => ({type: 'BOOLEAN', booleanValue: v});
const list = (v) => ({type: 'STRING_LIST', stringListValue: v});

function textDoc(id, text, attributes) {
  return {
    content: {
      dataSourceType: 'CUSTOM',
      custom: {customDocumentIdentifier: {id}, sourceType: 'IN_LINE',
        inlineContent: {type: 'TEXT', textContent: {data: text}}},
    },
    metadata: {type: 'IN_LINE_ATTRIBUTE',
      inlineAttributes: Object.entries(attributes).map(([key, value]) => ({key, value}))},
  };
}

function byteDoc(id, mimeType, text, attributes) {
  const doc = textDoc(id, '', attributes);
  doc.content.custom.inlineContent = {
    type: 'BYTE', byteContent: {mimeType, data: new TextEncoder().encode(text)},
  };
  return doc;
}

const PARIS = 'The Seine flows through Paris. Paris is the capital of France. ' +
    'The Eiffel Tower in Paris was completed in 1889.';
const BANANAS = 'Bananas are rich in potassium. A banana plant is a giant herb, not a tree.';
const HTML = '<html><head><title>Rocks</title></head><body><h1>Volcanic rocks</h1>' +
    '<p>Basalt is a volcanic rock formed from cooling lava.</p></body></html>';

async function expectError(promise, name, status, messageRe) {
  await assert.rejects(promise, (err) => {
    assert.equal(err.name, name, `${err.name}: ${err.message}`);
    assert.equal(err.$metadata?.httpStatusCode, status);
    if (messageRe) assert.match(err.message, messageRe);
    return true;
  });
}

describe('@aws-sdk/client-bedrock-agent and -runtime (Knowledge Bases)', () => {
  let srv;
  let agent;
  let runtime;
  let kbId;
  let dsId;

  const poll = async (fn, done, what, ms = 30000) => {
    const deadline = Date.now() + ms;
    let last;
    while (Date.now() < deadline) {
      last = await fn();
      if (done(last)) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`${what} not reached within ${ms} ms: ${JSON.stringify(last)}`);
  };
  const docStatuses = async (ids) => {
    const res = await agent.send(new GetKnowledgeBaseDocumentsCommand({
      knowledgeBaseId: kbId, dataSourceId: dsId,
      documentIdentifiers: ids.map((id) => ({dataSourceType: 'CUSTOM', custom: {id}})),
    }));
    return Object.fromEntries(res.documentDetails.map((d) => [d.identifier.custom.id, d]));
  };
  const retrieve = (text, vectorSearchConfiguration = {}) => runtime.send(new RetrieveCommand({
    knowledgeBaseId: kbId, retrievalQuery: {text},
    retrievalConfiguration: {vectorSearchConfiguration: {numberOfResults: 5, ...vectorSearchConfiguration}},
  }));
  const answerConfig = () => ({
    type: 'KNOWLEDGE_BASE',
    knowledgeBaseConfiguration: {
      knowledgeBaseId: kbId, modelArn: MODEL_ARN,
      retrievalConfiguration: {vectorSearchConfiguration: {numberOfResults: 3}},
      generationConfiguration: {inferenceConfig: {textInferenceConfig: {maxTokens: 300, temperature: 0}}},
    },
  });

  before(async () => {
    srv = await startBasalt({sets: {'auth.sigv4_keys': `${AKID}:${SECRET}`}});
    agent = new BedrockAgentClient(config(srv.port));
    runtime = new BedrockAgentRuntimeClient(config(srv.port));
  });
  after(async () => {
    agent?.destroy();
    runtime?.destroy();
    await srv?.stop();
  });

  test('CreateKnowledgeBase, GetKnowledgeBase, UpdateKnowledgeBase', async () => {
    const started = Date.now();
    const created = await agent.send(new CreateKnowledgeBaseCommand({
      name: 'sdk-docs', description: 'SDK test knowledge base', roleArn: ROLE_ARN,
      knowledgeBaseConfiguration: {type: 'VECTOR', vectorKnowledgeBaseConfiguration: {embeddingModelArn: EMBED_ARN}},
    }));
    assert.equal(created.$metadata.httpStatusCode, 202);
    const kb = created.knowledgeBase;
    kbId = kb.knowledgeBaseId;
    assert.match(kbId, /^[0-9a-zA-Z]{10}$/);
    assert.match(kb.knowledgeBaseArn, new RegExp(`^arn:aws:bedrock:[a-z0-9-]*:\\d{12}:knowledge-base/${kbId}$`));
    assert.equal(kb.status, 'ACTIVE');
    assert.equal(kb.roleArn, ROLE_ARN);
    assert.equal(kb.knowledgeBaseConfiguration.vectorKnowledgeBaseConfiguration.embeddingModelArn, EMBED_ARN);
    assert.ok(kb.createdAt instanceof Date && kb.updatedAt instanceof Date);
    assert.ok(Math.abs(kb.createdAt.getTime() - started) < 60000, kb.createdAt.toISOString());

    const got = await agent.send(new GetKnowledgeBaseCommand({knowledgeBaseId: kbId}));
    assert.equal(got.knowledgeBase.name, 'sdk-docs');
    assert.equal(got.knowledgeBase.createdAt.getTime(), kb.createdAt.getTime());

    const updated = await agent.send(new UpdateKnowledgeBaseCommand({
      knowledgeBaseId: kbId, name: 'sdk-docs', description: 'renamed', roleArn: ROLE_ARN,
      knowledgeBaseConfiguration: kb.knowledgeBaseConfiguration,
    }));
    assert.equal(updated.$metadata.httpStatusCode, 202);
    assert.equal(updated.knowledgeBase.description, 'renamed');
  });

  test('CreateDataSource (CUSTOM, with chunking) and GetDataSource', async () => {
    const chunkingConfiguration = {
      chunkingStrategy: 'FIXED_SIZE', fixedSizeChunkingConfiguration: {maxTokens: 60, overlapPercentage: 10},
    };
    const created = await agent.send(new CreateDataSourceCommand({
      knowledgeBaseId: kbId, name: 'api-docs', dataSourceConfiguration: {type: 'CUSTOM'},
      vectorIngestionConfiguration: {chunkingConfiguration},
    }));
    dsId = created.dataSource.dataSourceId;
    assert.equal(created.dataSource.status, 'AVAILABLE');
    assert.equal(created.dataSource.knowledgeBaseId, kbId);
    const got = await agent.send(new GetDataSourceCommand({knowledgeBaseId: kbId, dataSourceId: dsId}));
    assert.equal(got.dataSource.dataSourceConfiguration.type, 'CUSTOM');
    assert.deepEqual(got.dataSource.vectorIngestionConfiguration.chunkingConfiguration, chunkingConfiguration);
    assert.ok(got.dataSource.createdAt instanceof Date);
  });

  test('IngestKnowledgeBaseDocuments (text and bytes, with metadata) until INDEXED', async () => {
    const res = await agent.send(new IngestKnowledgeBaseDocumentsCommand({
      knowledgeBaseId: kbId, dataSourceId: dsId,
      documents: [
        textDoc('paris', PARIS, {
          'team': str('geo'), 'year': num(2024), 'public': bool(true), 'tags': list(['europe', 'rivers']),
          'x-amz-bedrock-kb-source-uri': str('s3://docs/paris.txt'),
        }),
        textDoc('bananas', BANANAS, {
          'team': str('food'), 'year': num(2023), 'x-amz-bedrock-kb-source-uri': str('https://example.test/bananas'),
        }),
        byteDoc('rocks', 'text/html', HTML, {team: str('geo'), year: num(2022)}),
      ],
    }));
    assert.equal(res.$metadata.httpStatusCode, 202);
    assert.equal(res.documentDetails.length, 3);
    for (const d of res.documentDetails) {
      assert.ok(['PENDING', 'IN_PROGRESS', 'INDEXED'].includes(d.status), d.status);
      assert.equal(d.identifier.dataSourceType, 'CUSTOM');
      assert.equal(d.dataSourceId, dsId);
    }
    const states = await poll(() => docStatuses(['paris', 'bananas', 'rocks']),
        (s) => Object.values(s).every((d) => ['INDEXED', 'FAILED'].includes(d.status)), 'INDEXED');
    for (const d of Object.values(states)) assert.equal(d.status, 'INDEXED', JSON.stringify(d));
    assert.ok(states.paris.updatedAt instanceof Date);

    const listed = await agent.send(new ListKnowledgeBaseDocumentsCommand({knowledgeBaseId: kbId, dataSourceId: dsId}));
    assert.deepEqual(listed.documentDetails.map((d) => d.identifier.custom.id).sort(), ['bananas', 'paris', 'rocks']);
  });

  test('Retrieve: locations, scores and metadata keys', async () => {
    const res = await retrieve('Which river flows through Paris?');
    assert.ok(res.retrievalResults.length > 0);
    const top = res.retrievalResults[0];
    assert.match(top.content.text, /Seine/);
    assert.equal(top.content.type, 'TEXT');
    assert.deepEqual(top.location, {type: 'S3', s3Location: {uri: 's3://docs/paris.txt'}});
    assert.equal(typeof top.score, 'number');
    const m = top.metadata;
    assert.equal(m['x-amz-bedrock-kb-source-uri'], 's3://docs/paris.txt');
    assert.equal(m['x-amz-bedrock-kb-data-source-id'], dsId);
    assert.match(m['x-amz-bedrock-kb-chunk-id'], /^\d+$/);
    assert.equal(m.team, 'geo');
    assert.equal(m.year, 2024);
    assert.equal(m.public, true);
    assert.deepEqual(m.tags, ['europe', 'rivers']);
    const web = res.retrievalResults.find((r) => r.location.type === 'WEB');
    if (web) assert.equal(web.location.webLocation.url, 'https://example.test/bananas');
    const rocks = await retrieve('volcanic rock lava', {overrideSearchType: 'SEMANTIC'});
    const html = rocks.retrievalResults.find((r) => r.location.type === 'CUSTOM');
    assert.ok(html, JSON.stringify(rocks.retrievalResults.map((r) => r.location)));
    assert.deepEqual(html.location, {type: 'CUSTOM', customDocumentLocation: {id: 'rocks'}});
    assert.match(html.content.text, /Basalt is a volcanic rock/);
    assert.doesNotMatch(html.content.text, /<p>/);
  });

  test('Retrieve with filters (equals, andAll) applied inside the search', async () => {
    const food = await retrieve('Which river flows through Paris?', {filter: {equals: {key: 'team', value: 'food'}}});
    assert.ok(food.retrievalResults.length > 0);
    for (const r of food.retrievalResults) assert.equal(r.metadata.team, 'food');
    const recentGeo = await retrieve('rock river Paris lava', {
      filter: {andAll: [{equals: {key: 'team', value: 'geo'}}, {greaterThan: {key: 'year', value: 2023}}]},
    });
    assert.ok(recentGeo.retrievalResults.length > 0);
    for (const r of recentGeo.retrievalResults) {
      assert.equal(r.metadata['x-amz-bedrock-kb-source-uri'], 's3://docs/paris.txt');
    }
    const none = await retrieve('Paris', {filter: {equals: {key: 'team', value: 'nobody'}}});
    assert.deepEqual(none.retrievalResults, []);
  });

  let sessionId;
  test('RetrieveAndGenerate: citations point at the text and the document', async () => {
    const res = await runtime.send(new RetrieveAndGenerateCommand({
      input: {text: 'Which river flows through Paris?'}, retrieveAndGenerateConfiguration: answerConfig(),
    }));
    assert.match(res.output.text, /Seine/);
    assert.match(res.sessionId, /^[0-9a-zA-Z._:-]+$/);
    sessionId = res.sessionId;
    assert.ok(res.citations.length > 0, JSON.stringify(res));
    for (const c of res.citations) {
      const part = c.generatedResponsePart.textResponsePart;
      assert.equal(res.output.text.slice(part.span.start, part.span.end), part.text);
      assert.ok(c.retrievedReferences.length > 0);
    }
    const seine = res.citations.find((c) => /Seine/.test(c.generatedResponsePart.textResponsePart.text));
    assert.ok(seine, JSON.stringify(res.citations));
    const ref = seine.retrievedReferences[0];
    assert.deepEqual(ref.location, {type: 'S3', s3Location: {uri: 's3://docs/paris.txt'}});
    assert.match(ref.content.text, /Seine/);
    assert.equal(ref.metadata.team, 'geo');
    const span = ref.metadata['x-basalt-cited-span'];
    assert.match(ref.content.text.slice(span.start, span.end), /Seine/);
  });

  test('RetrieveAndGenerate follow-up with the returned sessionId', async () => {
    const res = await runtime.send(new RetrieveAndGenerateCommand({
      input: {text: 'When was the Eiffel Tower completed?'}, sessionId,
      retrieveAndGenerateConfiguration: answerConfig(),
    }));
    assert.equal(res.sessionId, sessionId);
    assert.match(res.output.text, /1889/);
    await expectError(runtime.send(new RetrieveAndGenerateCommand({
      input: {text: 'Paris?'}, sessionId: 'no-such-session', retrieveAndGenerateConfiguration: answerConfig(),
    })), 'ResourceNotFoundException', 404, /sessionId/);
  });

  test('RetrieveAndGenerateStream: output text, then citations', async () => {
    const res = await runtime.send(new RetrieveAndGenerateStreamCommand({
      input: {text: 'Which river flows through Paris?'}, retrieveAndGenerateConfiguration: answerConfig(),
    }));
    assert.match(res.sessionId, /^[0-9a-zA-Z._:-]+$/);
    const kinds = [];
    let text = '';
    const citations = [];
    for await (const event of res.stream) {
      const kind = Object.keys(event).find((k) => event[k] !== undefined && k !== '$unknown');
      kinds.push(kind);
      if (event.output) text += event.output.text;
      if (event.citation) citations.push(event.citation);
    }
    assert.equal(kinds[0], 'output');
    const firstCitation = kinds.indexOf('citation');
    assert.ok(firstCitation > 0, kinds.join(','));
    assert.ok(kinds.slice(firstCitation).every((k) => k === 'citation'), kinds.join(','));
    assert.match(text, /Seine/);
    for (const c of citations) {
      const part = c.generatedResponsePart.textResponsePart;
      assert.equal(text.slice(part.span.start, part.span.end), part.text);
      assert.ok(c.retrievedReferences.length > 0);
    }
  });

  test('DeleteKnowledgeBaseDocuments: the document is no longer retrieved', async () => {
    const res = await agent.send(new DeleteKnowledgeBaseDocumentsCommand({
      knowledgeBaseId: kbId, dataSourceId: dsId,
      documentIdentifiers: [{dataSourceType: 'CUSTOM', custom: {id: 'bananas'}}],
    }));
    assert.equal(res.$metadata.httpStatusCode, 202);
    assert.ok(['DELETING', 'DELETE_IN_PROGRESS'].includes(res.documentDetails[0].status));
    const food = await retrieve('bananas potassium', {filter: {equals: {key: 'team', value: 'food'}}});
    assert.deepEqual(food.retrievalResults, []);
    const any = await retrieve('bananas potassium herb');
    for (const r of any.retrievalResults) assert.notEqual(r.metadata.team, 'food');
    await poll(() => docStatuses(['bananas']), (s) => s.bananas.status === 'NOT_FOUND', 'NOT_FOUND');
  });

  test('StartIngestionJob, GetIngestionJob, ListIngestionJobs', async () => {
    const started = await agent.send(new StartIngestionJobCommand({knowledgeBaseId: kbId, dataSourceId: dsId}));
    assert.equal(started.$metadata.httpStatusCode, 202);
    const job = started.ingestionJob;
    assert.ok(['STARTING', 'IN_PROGRESS', 'COMPLETE'].includes(job.status), job.status);
    assert.ok(job.startedAt instanceof Date);
    const got = await poll(() => agent.send(new GetIngestionJobCommand({
      knowledgeBaseId: kbId, dataSourceId: dsId, ingestionJobId: job.ingestionJobId,
    })), (r) => ['COMPLETE', 'FAILED'].includes(r.ingestionJob.status), 'COMPLETE');
    assert.equal(got.ingestionJob.status, 'COMPLETE');
    assert.equal(got.ingestionJob.statistics.numberOfDocumentsScanned, 2);
    const listed = await agent.send(new ListIngestionJobsCommand({knowledgeBaseId: kbId, dataSourceId: dsId}));
    assert.ok(listed.ingestionJobSummaries.some((s) => s.ingestionJobId === job.ingestionJobId));
  });

  test('ListKnowledgeBases and ListDataSources paginate', async () => {
    const more = [];
    for (const name of ['sdk-page-a', 'sdk-page-b']) {
      const r = await agent.send(new CreateKnowledgeBaseCommand({
        name, roleArn: ROLE_ARN,
        knowledgeBaseConfiguration: {type: 'VECTOR', vectorKnowledgeBaseConfiguration: {embeddingModelArn: EMBED_ARN}},
      }));
      more.push(r.knowledgeBase.knowledgeBaseId);
    }
    const seen = [];
    let nextToken;
    let pages = 0;
    do {
      const page = await agent.send(new ListKnowledgeBasesCommand({maxResults: 1, nextToken}));
      assert.ok(page.knowledgeBaseSummaries.length <= 1);
      for (const s of page.knowledgeBaseSummaries) {
        seen.push(s.knowledgeBaseId);
        assert.ok(s.updatedAt instanceof Date);
      }
      nextToken = page.nextToken;
      pages++;
    } while (nextToken && pages < 20);
    for (const id of [kbId, ...more]) assert.ok(seen.includes(id), `${id} not in ${seen}`);
    assert.equal(new Set(seen).size, seen.length, 'no knowledge base twice');

    const sources = [];
    nextToken = undefined;
    do {
      const page = await agent.send(new ListDataSourcesCommand({knowledgeBaseId: kbId, maxResults: 1, nextToken}));
      sources.push(...page.dataSourceSummaries.map((s) => s.dataSourceId));
      nextToken = page.nextToken;
    } while (nextToken && sources.length < 20);
    assert.ok(sources.includes(dsId), sources.join(','));
    assert.equal(new Set(sources).size, sources.length);
    for (const id of more) await agent.send(new DeleteKnowledgeBaseCommand({knowledgeBaseId: id}));
  });

  test('errors: unknown knowledge base, bad filter, S3 content', async () => {
    await expectError(agent.send(new GetKnowledgeBaseCommand({knowledgeBaseId: 'ZZZZZZZZZZ'})),
        'ResourceNotFoundException', 404);
    await expectError(runtime.send(new RetrieveCommand({knowledgeBaseId: 'ZZZZZZZZZZ', retrievalQuery: {text: 'q'}})),
        'ResourceNotFoundException', 404);
    await expectError(retrieve('Paris', {filter: {equals: {key: 'team'}}}), 'ValidationException', 400, /filter/);
    await expectError(retrieve('Paris', {filter: {andAll: [{equals: {key: 'a', value: 'b'}}]}}),
        'ValidationException', 400, /filter\.andAll/);
    await expectError(agent.send(new IngestKnowledgeBaseDocumentsCommand({
      knowledgeBaseId: kbId, dataSourceId: dsId,
      documents: [{content: {dataSourceType: 'S3', s3: {s3Location: {uri: 's3://b/k'}}}}],
    })), 'ValidationException', 400, /documents\[0\]\.content\.dataSourceType/);
  });

  test('the runtime client with its default request handler', async () => {
    const plain = new BedrockAgentRuntimeClient({...config(srv.port), requestHandler: undefined});
    try {
      const res = await plain.send(new RetrieveCommand({knowledgeBaseId: kbId, retrievalQuery: {text: 'Paris'}}));
      assert.ok(res.retrievalResults.length > 0);
    } finally {
      plain.destroy();
    }
  });

  test('DeleteDataSource and DeleteKnowledgeBase', async () => {
    const ds = await agent.send(new DeleteDataSourceCommand({knowledgeBaseId: kbId, dataSourceId: dsId}));
    assert.equal(ds.$metadata.httpStatusCode, 202);
    assert.equal(ds.status, 'DELETING');
    await expectError(agent.send(new GetDataSourceCommand({knowledgeBaseId: kbId, dataSourceId: dsId})),
        'ResourceNotFoundException', 404);
    const kb = await agent.send(new DeleteKnowledgeBaseCommand({knowledgeBaseId: kbId}));
    assert.equal(kb.$metadata.httpStatusCode, 202);
    assert.equal(kb.status, 'DELETING');
    await expectError(agent.send(new GetKnowledgeBaseCommand({knowledgeBaseId: kbId})),
        'ResourceNotFoundException', 404);
  });
});
