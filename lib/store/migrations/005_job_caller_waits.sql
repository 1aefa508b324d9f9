-- Whether a caller waits for the job's answer (the synchronous contract:
-- packageProject, publishProject and the REST shims). A publish's last step,
-- removing the staging folder and its receipt, is then that caller's, once the
-- answer has reached it; otherwise (startPackage, startPublish, and jobs queued
-- before this column) the replica running the job takes it once the job's end
-- is recorded.
ALTER TABLE cr8tor_platform.jobs ADD COLUMN caller_waits boolean NOT NULL DEFAULT false;
