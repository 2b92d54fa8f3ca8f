// The layering rule of eslint.config.js, run on fixtures: an import across
// layers fails the lint, the same import where it is allowed passes. The
// fixtures are linted as text under a path inside src/, never written there.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = join(import.meta.dirname, '..', '..');

async function layerErrors(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('lint layers', () => {
  it('lint layers - the agent importing the hub, the hub the agent, and link, domain or util the upper layers fail', async () => {
    const cases: [string, string][] = [
      ['src/agent/addons/engine.ts', "import type { HttpError } from '../../hub/errors.ts';\nexport type X = HttpError;\n"],
      ['src/hub/server.ts', "import type { AgentSettings } from '../agent/config.ts';\nexport type X = AgentSettings;\n"],
      ['src/link/protocol.ts', "import type { HubSettings } from '../hub/config.ts';\nexport type X = HubSettings;\n"],
      ['src/domain/addon-spec/spec.ts', "import type { KubeApiPath } from '../../kube/api-path.ts';\nexport type X = KubeApiPath;\n"],
      ['src/util/errors.ts', "import type { AddonSpec } from '../domain/addon-spec/spec.ts';\nexport type X = AddonSpec;\n"],
    ];
    for (const [file, code] of cases) {
      const errors = await layerErrors(file, code);
      assert.equal(errors.length, 1, `${file}: ${JSON.stringify(errors)}`);
      assert.match(errors[0] ?? '', /must not depend on src\/(hub|agent|kube|domain)/);
    }
  });

  it('lint layers - imports down the layers pass', async () => {
    const cases: [string, string][] = [
      ['src/agent/addons/engine.ts', "import type { AddonSpec } from '../../domain/addon-spec/spec.ts';\nexport type X = AddonSpec;\n"],
      ['src/hub/server.ts', "import type { KubeApiPath } from '../kube/api-path.ts';\nexport type X = KubeApiPath;\n"],
      ['src/link/protocol.ts', "import type { UplinkError } from '../util/errors.ts';\nexport type X = UplinkError;\n"],
    ];
    for (const [file, code] of cases) assert.deepEqual(await layerErrors(file, code), [], file);
  });
});
