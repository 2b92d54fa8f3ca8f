import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyHelmError, MAX_HELM_DETAIL_CHARS, redactHelmText, type HelmFailureCode } from './helm-errors.ts';

// Samples in helm v4's words: the render, values and source errors were
// printed by helm v4.2.4 here; the cluster-side ones follow helm's and the
// API server's messages (helm/helm pkg/action, apimachinery field errors).
const DEBUG_HINT = '\nUse --debug flag to render out invalid YAML\n';

interface Sample { name: string; stderr: string; code: HelmFailureCode; message?: RegExp }

const samples: Sample[] = [
  {
    name: 'undefined template function',
    stderr: `Error: parse error at (webapp/templates/broken.yaml:4): function "nope" not defined${DEBUG_HINT}`,
    code: 'RENDER_FAILED', message: /^The chart's templates failed to render: parse error at \(webapp\/templates\/broken\.yaml:4\): function "nope" not defined$/,
  },
  {
    name: 'required value missing',
    stderr: `Error: execution error at (webapp/templates/broken.yaml:4:11): name is required${DEBUG_HINT}`,
    code: 'RENDER_FAILED', message: /broken\.yaml:4:11\): name is required$/,
  },
  {
    name: 'unclosed action',
    stderr: `Error: parse error at (webapp/templates/broken.yaml:5): unclosed action started at webapp/templates/broken.yaml:4${DEBUG_HINT}`,
    code: 'RENDER_FAILED',
  },
  {
    name: 'rendered YAML that does not parse',
    stderr: `Error: YAML parse error on webapp/templates/broken.yaml: error converting YAML to JSON: yaml: line 5: mapping values are not allowed in this context${DEBUG_HINT}`,
    code: 'RENDER_FAILED', message: /YAML parse error on webapp\/templates\/broken\.yaml/,
  },
  {
    name: 'helm v4 multi-line execution error',
    stderr: `Error: webapp/templates/f.yaml:1:13\n  executing "webapp/templates/f.yaml" at <.Values.image.repository.foo.bar>:\n    can't evaluate field foo in type interface {}${DEBUG_HINT}`,
    code: 'RENDER_FAILED', message: /webapp\/templates\/f\.yaml:1:13 executing .* can't evaluate field foo/,
  },
  {
    name: 'missing named template',
    stderr: `Error: webapp/templates/f.yaml:1:3\n  executing "webapp/templates/f.yaml" at <include "nope" .>:\n    error calling include:\ntemplate: no template "nope" associated with template "gotpl"${DEBUG_HINT}`,
    code: 'RENDER_FAILED', message: /no template "nope"/,
  },
  {
    name: 'chart version not in the repository',
    stderr: 'Error: chart "webapp" version "9.9.9" not found in http://127.0.0.1:18777 repository\n',
    code: 'CHART_NOT_FOUND', message: /^The chart could not be fetched from its source: chart "webapp" version "9\.9\.9" not found/,
  },
  {
    name: 'repository index 404',
    stderr: 'Error: looks like "http://127.0.0.1:18777/sub" is not a valid chart repository or cannot be reached: failed to fetch http://127.0.0.1:18777/sub/index.yaml : 404 File not found\n',
    code: 'CHART_NOT_FOUND',
  },
  {
    name: 'repository refusing connections is a source problem',
    stderr: 'Error: looks like "http://127.0.0.1:1/" is not a valid chart repository or cannot be reached: Get "http://127.0.0.1:1/index.yaml": dial tcp 127.0.0.1:1: connect: connection refused\n',
    code: 'CHART_NOT_FOUND',
  },
  {
    name: 'OCI tag not found',
    stderr: 'Error: failed to perform "FetchReference" on source: registry.example.com/charts/webapp:9.9.9: not found\n',
    code: 'CHART_NOT_FOUND',
  },
  {
    name: 'no version matches a range',
    stderr: 'Error: INSTALLATION FAILED: no chart version found for webapp-^7.0\n',
    code: 'CHART_NOT_FOUND', message: /: no chart version found for webapp-\^7\.0$/,
  },
  {
    name: 'values against the schema',
    stderr: "Error: values don't meet the specifications of the schema(s) in the following chart(s):\nwebapp:\n- at '/replicaCount': got string, want integer\n",
    code: 'INVALID_VALUES', message: /^The values do not fit the chart: .*at '\/replicaCount': got string, want integer$/,
  },
  {
    name: 'values file that is not YAML',
    stderr: 'Error: failed to parse /tmp/uplink-values-1/values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: line 1: did not find expected node content\n',
    code: 'INVALID_VALUES',
  },
  {
    name: 'immutable selector, rolled back',
    stderr: 'Error: UPGRADE FAILED: release web failed, and has been rolled back due to rollback-on-failure being set: cannot patch "web" with kind Deployment: Deployment.apps "web" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web2", "token":"s3cr3t"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable\n',
    code: 'IMMUTABLE_FIELD', message: /\(helm rolled the release back\): cannot patch "web" with kind Deployment: Deployment\.apps "web" is invalid: spec\.selector: Invalid value: <redacted>: field is immutable$/,
  },
  {
    name: 'service cluster IP changed under server-side apply, rolled back (helm 4.2 on Kubernetes 1.36)',
    stderr: 'level=WARN msg="upgrade failed" name=imm error="server-side apply failed"\nError: UPGRADE FAILED: release imm failed, and has been rolled back due to rollback-on-failure being set: server-side apply failed for object shop/imm-webapp /v1, Kind=Service: Service "imm-webapp" is invalid: spec.clusterIPs[0]: Invalid value: ["10.96.200.200"]: may not change once set\n',
    code: 'IMMUTABLE_FIELD', message: /\(helm rolled the release back\): .*spec\.clusterIPs\[0\]: Invalid value: <redacted>: may not change once set$/,
  },
  {
    name: 'immutable job template',
    stderr: 'Error: UPGRADE FAILED: cannot patch "migrate" with kind Job: Job.batch "migrate" is invalid: spec.template: Invalid value: core.PodTemplateSpec{ObjectMeta:v1.ObjectMeta{Name:"", Labels:map[string]string{"job-name":"migrate"}}}: field is immutable\n',
    code: 'IMMUTABLE_FIELD',
  },
  {
    name: 'statefulset forbidden update',
    stderr: 'Error: UPGRADE FAILED: cannot patch "db" with kind StatefulSet: StatefulSet.apps "db" is invalid: spec: Forbidden: updates to statefulset spec for fields other than \'replicas\', \'ordinals\', \'template\', \'updateStrategy\', \'persistentVolumeClaimRetentionPolicy\' and \'minReadySeconds\' are forbidden\n',
    code: 'IMMUTABLE_FIELD',
  },
  {
    name: 'object owned by nobody',
    stderr: 'Error: INSTALLATION FAILED: Unable to continue with install: ConfigMap "web" in namespace "shop" exists and cannot be imported into the current release: invalid ownership metadata; label validation error: missing key "app.kubernetes.io/managed-by": must be set to "Helm"; annotation validation error: missing key "meta.helm.sh/release-name": must be set to "web"\n',
    code: 'OWNERSHIP', message: /^An object of the chart already exists and belongs to another release or was created outside Helm: Unable to continue with install: ConfigMap "web" in namespace "shop"/,
  },
  {
    name: 'server-side apply conflict',
    stderr: 'Error: UPGRADE FAILED: conflict occurred while applying object shop/web apps/v1, Kind=Deployment: Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1: .spec.replicas\n',
    code: 'CONFLICT', message: /kubectl-edit/,
  },
  {
    name: 'release locked by a pending operation',
    stderr: 'Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n',
    code: 'PENDING_OPERATION',
  },
  {
    name: 'wait deadline',
    stderr: 'Error: UPGRADE FAILED: resource Deployment/shop/web not ready. status: InProgress, message: Available: 0/2\ncontext deadline exceeded\n',
    code: 'TIMEOUT', message: /^Helm timed out waiting for the release's resources to become ready: resource Deployment\/shop\/web not ready/,
  },
  {
    name: 'legacy wait timeout',
    stderr: 'Error: INSTALLATION FAILED: timed out waiting for the condition\n',
    code: 'TIMEOUT',
  },
  {
    name: 'RBAC refusal',
    stderr: 'Error: INSTALLATION FAILED: secrets is forbidden: User "system:serviceaccount:uplink:uplink-agent" cannot list resource "secrets" in API group "" in the namespace "shop"\n',
    code: 'FORBIDDEN', message: /cannot list resource "secrets" in API group "" in the namespace "shop"$/,
  },
  {
    name: 'API server down',
    stderr: 'Error: kubernetes cluster unreachable: Get "https://127.0.0.1:1/version": dial tcp 127.0.0.1:1: connect: connection refused\n',
    code: 'UNREACHABLE', message: /^Helm could not reach the Kubernetes API server: /,
  },
  {
    name: 'API server name does not resolve, even with a deadline',
    stderr: 'Error: kubernetes cluster unreachable: Get "https://api.example.invalid:6443/version": dial tcp: lookup api.example.invalid: no such host: context deadline exceeded\n',
    code: 'UNREACHABLE',
  },
  {
    name: 'connection reset mid-upgrade',
    stderr: 'Error: UPGRADE FAILED: failed to create resource: Post "https://10.96.0.1:443/api/v1/namespaces/shop/services": read tcp 10.0.0.5:41234->10.96.0.1:443: read: connection reset by peer\n',
    code: 'UNREACHABLE',
  },
  {
    name: 'pre-install hook job failed',
    stderr: 'Error: INSTALLATION FAILED: failed pre-install: 1 error occurred:\n\t* job migrate failed: BackoffLimitExceeded\n',
    code: 'HOOK_FAILED', message: /^A chart hook failed: failed pre-install: 1 error occurred: \* job migrate failed: BackoffLimitExceeded$/,
  },
  {
    name: 'hook that timed out is a hook failure',
    stderr: 'Error: UPGRADE FAILED: pre-upgrade hooks failed: resource Job/shop/migrate not ready. status: InProgress\ncontext deadline exceeded\n',
    code: 'HOOK_FAILED',
  },
  {
    name: 'unknown kind',
    stderr: 'Error: INSTALLATION FAILED: unable to build kubernetes objects from release manifest: resource mapping not found for name: "w" namespace: "" from "": no matches for kind "Widget" in version "example.com/v1"\nensure CRDs are installed first\n',
    code: 'MANIFEST_INVALID',
  },
  {
    name: 'status of a release that does not exist',
    stderr: 'Error: release: not found\n',
    code: 'RELEASE_NOT_FOUND',
  },
  {
    name: 'warnings before the error are ignored',
    stderr: 'WARNING: Kubernetes configuration file is group-readable. This is insecure. Location: /tmp/kc\nlevel=WARN msg="connection refused while probing"\nError: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n',
    code: 'PENDING_OPERATION',
  },
  {
    name: 'anything else: the last line',
    stderr: 'something odd happened\nError: plugin "diff" exited with error\n',
    code: 'UNKNOWN', message: /^helm failed: plugin "diff" exited with error$/,
  },
];

describe('classifyHelmError', () => {
  for (const sample of samples) {
    it(`helm-errors - ${sample.name}`, () => {
      const failure = classifyHelmError(sample.stderr, 1);
      assert.equal(failure.code, sample.code, failure.message);
      if (sample.message) assert.match(failure.message, sample.message);
      assert.ok(!failure.message.includes('\n'), 'one line');
    });
  }

  it('helm-errors - says when helm rolled back', () => {
    assert.equal(classifyHelmError(samples.find((s) => s.name.startsWith('immutable selector'))?.stderr ?? '', 1).rolledBack, true);
    assert.equal(classifyHelmError('Error: UPGRADE FAILED: timed out waiting for the condition', 1).rolledBack, false);
  });

  it('helm-errors - empty stderr names the exit', () => {
    assert.deepEqual(classifyHelmError('', 2), { code: 'UNKNOWN', message: 'helm exited with code 2 and printed no error', rolledBack: false });
    assert.match(classifyHelmError('  \n', null).message, /killed by a signal/);
  });

  it('helm-errors - long errors are cut', () => {
    const failure = classifyHelmError(`Error: ${'word '.repeat(500)}`, 1);
    assert.ok(failure.message.length <= 'helm failed: '.length + MAX_HELM_DETAIL_CHARS, `${failure.message.length} chars`);
    assert.ok(failure.message.endsWith('…'));
  });

  it('helm-errors - a values or manifest dump never reaches the message', () => {
    const stderr = [
      'Error: UPGRADE FAILED: something unexpected',
      'USER-SUPPLIED VALUES:',
      'password: hunter2',
      'COMPUTED VALUES:',
      'password: hunter2',
      '---',
      '# Source: webapp/templates/secret.yaml',
      'data:',
      '  password: aHVudGVyMg==',
    ].join('\n');
    const failure = classifyHelmError(stderr, 1);
    assert.equal(failure.message, 'helm failed: something unexpected');
  });
});

describe('redactHelmText', () => {
  const table: [string, string, string][] = [
    ['a quoted echoed value', 'data[password]: Invalid value: "hunter2": must be base64', 'data[password]: Invalid value: <redacted>: must be base64'],
    ['an escaped quote inside', 'env[0].value: Invalid value: "a\\"b": bad', 'env[0].value: Invalid value: <redacted>: bad'],
    ['a bare echoed value', 'spec.replicas: Invalid value: -1: must be greater', 'spec.replicas: Invalid value: <redacted>: must be greater'],
    ['an unsupported value', 'spec.type: Unsupported value: "Foo": supported values: "ClusterIP"', 'spec.type: Unsupported value: <redacted>: supported values: "ClusterIP"'],
    ['a JSON object', 'failed to patch: {"data":{"token":"s3cr3t"}} rejected', 'failed to patch: <redacted> rejected'],
    ['a Go map', 'values map[password:hunter2 user:admin] not allowed', 'values <redacted> not allowed'],
    ['a backquoted YAML snippet', 'cannot unmarshal !!str `hunter2` into map', 'cannot unmarshal !!str `<redacted>` into map'],
    ['base64 data', 'bad data c3VwZXJzZWNyZXRwYXNzd29yZDEyMzQ1Njc4OTBhYmNkZWY= here', 'bad data <redacted> here'],
    ['a long template path is kept', 'at (mychart/charts/subchart/templates/deployment.yaml:3)', 'at (mychart/charts/subchart/templates/deployment.yaml:3)'],
    ['a sha256 digest is kept', 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'],
  ];
  for (const [name, input, expected] of table) {
    it(`helm-errors - redacts ${name}`, () => {
      assert.equal(redactHelmText(input), expected);
    });
  }
});
