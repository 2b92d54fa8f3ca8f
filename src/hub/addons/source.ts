// Moved to src/domain/addon-spec/source.ts, shared by the hub and the agent; re-exported here.
export * from '../../domain/addon-spec/source.ts';
