// The shapes the dashboard reads, taken from the hub's and the link's own
// type definitions, so a change there breaks the dashboard's type check.
export type { FleetFeedEvent, FleetItem, AddonSummary } from '../../src/hub/dashboard/fleet-feed.ts';
export type { AddonStatus, AddonRevision, AddonHealthStatus } from '../../src/link/addons.ts';
export type { ResourceRow, ResourceChange, ResourceKindsResponse, ResourceListResponse, ResourceObjectResponse, ResourceEventsResponse } from '../../src/link/resources.ts';
export type { AddonView, AddonOperationAnswer } from '../../src/hub/api/addons.ts';
export type { AuditView } from '../../src/hub/api/audit.ts';
export type { WhoamiView } from '../../src/hub/api/users.ts';
export type { Role } from '../../src/hub/store/index.ts';
export type { ExposureView } from '../../src/hub/api/exposures.ts';
