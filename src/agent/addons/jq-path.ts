// Moved to src/domain/addon-spec/jq-path.ts: the hub compiles jq rules when they are written, too.
export * from '../../domain/addon-spec/jq-path.ts';
