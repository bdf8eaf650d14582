-- A run in a final status never resumes, so its checkpoint (the image and the
-- optimiser's state in float32: 2.4 MB at 256 px, about 9 MB at 512 px) is
-- dead weight. RunLifecycle drops it with the status change from now on;
-- this removes those that finished runs left before.
DELETE FROM "run_lbfgs_pairs" WHERE "runId" IN (SELECT id FROM "runs" WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELED'));
DELETE FROM "run_checkpoints" WHERE "runId" IN (SELECT id FROM "runs" WHERE status IN ('SUCCEEDED', 'FAILED', 'CANCELED'));
