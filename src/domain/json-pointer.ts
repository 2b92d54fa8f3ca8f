// RFC 6901 JSON pointers, the one reading of them: the spec parser checks an
// ignore rule's pointer with it at the hub, the agent's drift code splits and
// builds pointers with it.
import type { PathSegment } from './addon-spec/jq-path.ts';

/** A pointer that is not RFC 6901. */
export class JsonPointerError extends Error {}

/** RFC 6901: `''` is the whole document; each `/`-separated token unescapes `~1` to `/`, then `~0` to `~`. Throws JsonPointerError. */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPointerError(`${JSON.stringify(pointer)} does not start with "/"`);
  return pointer.slice(1).split('/').map((token) => {
    if (/~(?![01])/.test(token)) throw new JsonPointerError(`${JSON.stringify(pointer)} has "~" that is not "~0" or "~1"`);
    return token.replaceAll('~1', '/').replaceAll('~0', '~');
  });
}

/** Whether `pointer` is an RFC 6901 pointer. */
export function isPointer(pointer: string): boolean {
  try {
    parsePointer(pointer);
    return true;
  } catch {
    return false;
  }
}

/** The JSON pointer of a path: the inverse of parsePointer. */
export function formatPointer(path: readonly PathSegment[]): string {
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
