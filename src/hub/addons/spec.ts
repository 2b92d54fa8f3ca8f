// Moved to src/domain/addon-spec/spec.ts, shared by the hub and the agent; re-exported here.
export * from '../../domain/addon-spec/spec.ts';
