// CustomResourceDefinitions and custom resources compared on twins: each side
// creates its own CRD (its group differs only in the `-api`/`-hub` ending),
// waits for it, and creates, reads, patches, scales and deletes custom
// resources of it through its own discovery.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { kubectl } from '../../helpers/cluster.ts';
import { compare, eachSide, runSide, startCompat, twinName, type Compat, type Side } from '../../helpers/kubectl-compare.ts';
import { ages, identity } from '../../helpers/kubectl-normalise.ts';
import { eventually, suiteContext } from '../../helpers/uplink.ts';

const { t: suite, runCleanups } = suiteContext('compat-crd');

function group(env: Compat, side: Side): string {
  return `${twinName(env, side, 'crd')}.example.com`;
}

/** A namespaced Widget with a schema, printer columns and the status and scale subresources. */
function definition(env: Compat, side: Side): string {
  const spec = {
    type: 'object',
    properties: {
      colour: { type: 'string', enum: ['red', 'green', 'blue'] },
      replicas: { type: 'integer', minimum: 0, description: 'How many widgets.' },
    },
  };
  return JSON.stringify({
    apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition',
    metadata: { name: `widgets.${group(env, side)}` },
    spec: {
      group: group(env, side), scope: 'Namespaced',
      names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: { openAPIV3Schema: { type: 'object', properties: { spec, status: { type: 'object', properties: { replicas: { type: 'integer' }, phase: { type: 'string' } } } } } },
        subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' } },
        additionalPrinterColumns: [
          { name: 'Colour', type: 'string', jsonPath: '.spec.colour' },
          { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
          { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
      }],
    },
  });
}

function widget(env: Compat, side: Side, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: `${group(env, side)}/v1`, kind: 'Widget', metadata: { name }, spec });
}

describe('kubectl compared: custom resources', () => {
  let env: Compat;
  /** `widgets.<group>`: the plural alone would be ambiguous between the twins' groups. */
  const widgets = (side: Side): string => `widgets.${group(env, side)}`;

  before(async () => {
    env = await startCompat(suite, 'crd', { twins: true });
    suite.after(async () => {
      for (const side of [env.api, env.hub]) await kubectl(['delete', 'crd', widgets(side), '--ignore-not-found', '--wait=false']);
    });
  });

  after(async () => {
    await runCleanups();
  });

  it('compat - create a CRD, wait until it is established, read it and its API', async () => {
    const created = await compare(env, ['apply', '-f', '-'], { input: (side) => definition(env, side) });
    assert.match(created.api.stdout, /^customresourcedefinition\.apiextensions\.k8s\.io\/widgets\.compat-crd-\w+-<twin>\.example\.com created\n$/);
    await compare(env, (side) => ['wait', '--for=condition=Established', `crd/${widgets(side)}`, '--timeout=60s']);
    await compare(env, (side) => ['get', 'crd', widgets(side), '-o', 'yaml'], { normalise: [identity] });
    await compare(env, (side) => ['get', 'crd', widgets(side)], { normalise: [identity, ages] });
    const resources = await compare(env, (side) => ['api-resources', `--api-group=${group(env, side)}`]);
    assert.match(resources.api.stdout, /widgets\s+compat-crd-\w+-<twin>\.example\.com\/v1\s+true\s+Widget/);
    // The API server publishes a new group's OpenAPI a moment after the CRD
    // is established: explain waits for that on both sides, then compares.
    const explain = (side: Side): string[] => ['explain', `${widgets(side)}.spec.replicas`];
    await eventually('the CRDs\' OpenAPI', 60_000, async () =>
      ((await eachSide(env, (side) => runSide(side, explain(side)))).every((r) => r.code === 0) ? true : undefined));
    const explained = await compare(env, explain);
    assert.match(explained.api.stdout, /How many widgets\./);
  });

  it('compat - custom resources: create, printer columns, validation, each patch type, status and scale, delete', async () => {
    const created = await compare(env, ['create', '-f', '-'], { input: (side) => widget(env, side, 'w1', { colour: 'red', replicas: 1 }) });
    assert.match(created.api.stdout, /^widget\.compat-crd-\w+-<twin>\.example\.com\/w1 created\n$/);
    const invalid = await compare(env, ['create', '-f', '-'], { input: (side) => widget(env, side, 'w2', { colour: 'pink' }), code: 1 });
    assert.match(invalid.api.stderr, /spec\.colour: Unsupported value: "pink"/);
    const table = await compare(env, (side) => ['get', widgets(side)], { normalise: [ages] });
    assert.match(table.api.stdout, /^NAME\s+COLOUR\s+REPLICAS\s+PHASE\s+AGE\nw1\s+red\s+1\s+<age>\n$/);
    await compare(env, (side) => ['get', widgets(side), 'w1', '-o', 'yaml'], { normalise: [identity] });
    await compare(env, (side) => ['patch', widgets(side), 'w1', '--type=merge', '-p', '{"spec":{"colour":"green"}}']);
    await compare(env, (side) => ['patch', widgets(side), 'w1', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":2}]']);
    // Custom resources have no strategic merge patch: the API server's refusal, on both sides.
    const strategic = await compare(env, (side) => ['patch', widgets(side), 'w1', '--type=strategic', '-p', '{"spec":{"colour":"blue"}}'], { code: 1 });
    assert.match(strategic.api.stderr, /application\/strategic-merge-patch\+json is not supported by/);
    await compare(env, (side) => ['patch', widgets(side), 'w1', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Ready","replicas":2}}']);
    const scaled = await compare(env, (side) => ['scale', widgets(side), 'w1', '--replicas=4']);
    assert.match(scaled.api.stdout, /^widget\.compat-crd-\w+-<twin>\.example\.com\/w1 scaled\n$/);
    const after = await compare(env, (side) => ['get', widgets(side), 'w1', '-o', 'custom-columns=COLOUR:.spec.colour,WANT:.spec.replicas,HAVE:.status.replicas,PHASE:.status.phase']);
    assert.match(after.api.stdout, /^COLOUR\s+WANT\s+HAVE\s+PHASE\ngreen\s+4\s+2\s+Ready\n$/);
    await compare(env, ['apply', '--server-side', '-f', '-'], { input: (side) => widget(env, side, 'w3', { colour: 'blue', replicas: 0 }) });
    await compare(env, (side) => ['describe', widgets(side), 'w3'], { normalise: [identity] });
    const deleted = await compare(env, (side) => ['delete', widgets(side), 'w1', 'w3', '--wait=true', '--timeout=60s']);
    assert.match(deleted.api.stdout, /widget\.compat-crd-\w+-<twin>\.example\.com "w1" deleted/);
  });

  it('compat - delete the CRD with --wait', async () => {
    const deleted = await compare(env, (side) => ['delete', 'crd', widgets(side), '--wait=true', '--timeout=120s']);
    assert.match(deleted.api.stdout, /customresourcedefinition\.apiextensions\.k8s\.io "widgets\.compat-crd-\w+-<twin>\.example\.com" deleted/);
    const gone = await compare(env, (side) => ['get', widgets(side)], { code: 1 });
    assert.match(gone.api.stderr, /the server doesn't have a resource type/);
  });
});
