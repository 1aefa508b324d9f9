-- What the services keep of what they did for each project (metadata reports,
-- validations): summaries as the contract defines them (lib/contract/records.ts),
-- the newest few per project and start time (lib/store/project-records.ts).
-- `json`, not `jsonb`: the text is kept as written, and a report may quote a
-- source's text with characters jsonb refuses (U+0000).
CREATE TABLE cr8tor_platform.project_records (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('metadata_report', 'validation')),
  project_name text NOT NULL,
  project_start_time text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  record json NOT NULL
);

CREATE INDEX project_records_newest ON cr8tor_platform.project_records (kind, project_name, project_start_time, id DESC);
