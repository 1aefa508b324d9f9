-- What each successful validation approved (subgraphs/publish/src/approvals):
-- one row per validation in `approvals`, one row per approved table in
-- `approved_tables` with its columns and their logical types as the JSON text
-- of [[name, type], …]. A package compares the source's catalog with the
-- newest approval of each table it reads. The newest 20 approvals of each
-- project and start time are kept; older ones go with their tables.
CREATE TABLE cr8tor_platform.approvals (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  project_name text NOT NULL,
  project_start_time text NOT NULL,
  validated_at timestamptz NOT NULL,
  source text NOT NULL,
  catalog text NOT NULL,
  schema_name text NOT NULL,
  fingerprint text NOT NULL,
  table_count integer NOT NULL,
  column_count integer NOT NULL
);

CREATE INDEX approvals_newest ON cr8tor_platform.approvals (project_name, project_start_time, source, schema_name, id DESC);

CREATE TABLE cr8tor_platform.approved_tables (
  approval_id bigint NOT NULL REFERENCES cr8tor_platform.approvals (id) ON DELETE CASCADE,
  table_name text NOT NULL,
  columns json NOT NULL,
  PRIMARY KEY (approval_id, table_name)
);
