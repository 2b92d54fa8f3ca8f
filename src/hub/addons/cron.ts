// Moved to src/domain/addon-spec/cron.ts, shared by the hub and the agent; re-exported here.
export * from '../../domain/addon-spec/cron.ts';
