import type { Observability } from '../../../lib/audit/track.js';
import type { ConnectorOptions } from '../../../lib/connectors/index.js';
import type { ValidationRecord } from '../../../lib/contract/index.js';
import type { JobEngine } from '../../../lib/jobs/engine.js';
import type { ProjectRecords } from '../../../lib/project-log.js';
import type { SecretProvider } from '../../../lib/secrets/index.js';
import type { CatalogApprovals } from './approvals/guard.js';
import type { Destinations } from './destinations/destination.js';
import type { Settlements } from './jobs/settlements.js';

/** One validation the service ran for a project (its schema: lib/contract/records.ts). */
export type { ValidationRecord };

/** What the publish service's operations work with. */
export interface PublishDeps {
  secrets: SecretProvider;
  connectorOptions: ConnectorOptions;
  destinations: Destinations;
  validations: ProjectRecords<ValidationRecord>;
  /** What validations approved, and how packages treat it (PACKAGE_ALLOW_CATALOG_DRIFT, PACKAGE_REQUIRE_VALIDATION). */
  approvals: CatalogApprovals;
  obs: Observability;
  /** The longest a package may take (PACKAGE_DEADLINE_MS). */
  packageDeadlineMs: number;
  /** Where packages and publications run as jobs (lib/jobs). */
  jobs: JobEngine;
  /** Publishes' last steps under way on this replica, which the project's next package or publish waits for. */
  settlements: Settlements;
}
