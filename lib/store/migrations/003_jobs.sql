-- Durable package and publication jobs (lib/jobs/postgres, docs/state-store.md "Jobs"): one row per job, kept
-- after it ends; pg-boss (schema cr8tor_queue, migration 002) only carries each job to a replica, under the
-- same id. `request` and `result` are `json`, not `jsonb`, as in 001: kept as written, and a source's text may
-- hold characters jsonb refuses (U+0000). `request` is the request as the contract parsed it: it names secrets,
-- never holds their values.
CREATE TABLE cr8tor_platform.jobs (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('package', 'publish')),
  project_name text NOT NULL,
  project_start_time text NOT NULL,
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
  fingerprint text NOT NULL,
  request json NOT NULL,
  started_by text NOT NULL,
  request_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  replica text,
  heartbeat_at timestamptz,
  cancel_requested_at timestamptz,
  cancel_requested_by text,
  progress jsonb NOT NULL DEFAULT '[]',
  result json,
  error jsonb,
  CHECK ((state IN ('queued', 'running')) = (finished_at IS NULL)),
  CHECK (state <> 'running' OR (replica IS NOT NULL AND started_at IS NOT NULL AND heartbeat_at IS NOT NULL))
);

-- At most one queued or running job per project and start time, whatever its kind: a second submission conflicts here.
CREATE UNIQUE INDEX jobs_one_active_per_project ON cr8tor_platform.jobs (project_name, project_start_time) WHERE state IN ('queued', 'running');
-- A project's jobs, newest first, in pages (the cursor is created_at and id).
CREATE INDEX jobs_newest_per_project ON cr8tor_platform.jobs (project_name, project_start_time, created_at DESC, id DESC);
-- The sweep for abandoned jobs, and counts by state.
CREATE INDEX jobs_running_heartbeat ON cr8tor_platform.jobs (heartbeat_at) WHERE state = 'running';
CREATE INDEX jobs_state ON cr8tor_platform.jobs (state);

-- Every replica LISTENs on cr8tor_jobs: a job queued (wake a worker), cancelled (stop it where it runs), ended (answer waiters).
CREATE FUNCTION cr8tor_platform.jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('cr8tor_jobs', json_build_object('id', NEW.id, 'state', NEW.state, 'cancel', NEW.cancel_requested_at IS NOT NULL)::text);
  RETURN NULL;
END
$$;
CREATE TRIGGER jobs_notify_insert AFTER INSERT ON cr8tor_platform.jobs FOR EACH ROW EXECUTE FUNCTION cr8tor_platform.jobs_notify();
CREATE TRIGGER jobs_notify_update AFTER UPDATE ON cr8tor_platform.jobs FOR EACH ROW
  WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.cancel_requested_at IS DISTINCT FROM NEW.cancel_requested_at)
  EXECUTE FUNCTION cr8tor_platform.jobs_notify();

-- The queue (pg-boss's create_queue): never retried (a failed job is reported, not silently run again); a job a
-- worker holds longer than 23 hours (pg-boss allows under 24) is expired by pg-boss's maintenance; finished
-- entries are kept 14 days at most (the jobs table above is the record).
SELECT cr8tor_queue.create_queue('publish_jobs', '{"policy":"standard","retryLimit":0,"retryDelay":0,"retryBackoff":false,"expireInSeconds":82800,"retentionMinutes":20160}');
