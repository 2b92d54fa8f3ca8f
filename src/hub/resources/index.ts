// The public surface of the live-resource machinery, for api/resources.ts.
export { ClientGoneError, getJson, openAgentStream } from './agent-call.ts';
export { relayFeed } from './feed.ts';
export { relayLogs } from './log-stream.ts';
export {
  ClusterParams, DEFAULT_LOG_NAMESPACE, KindParams, ListQuery, LogsQuery, NoQuery, ObjectParams, ObjectQuery, WatchQuery,
  agentPath, checkLogsQuery, checkedQuery, isSecretKind, namesSecrets,
} from './params.ts';
export {
  ResourceAnswerError, acquireSlot, findReadableCluster, linkTo, resolveTarget, summarizeCluster,
  type ClusterSummary, type ResourceTarget, type WithCluster,
} from './target.ts';
