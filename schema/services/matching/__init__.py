"""Matching jobs as the domain sees them, around the pure optimiser in `matching/`:

- `jobs`: a job's life (start, run, progress, succeed, fail, cancel, commit, stale jobs); the
  one writer of its status, through `schema.workflow.JOB_TRANSITIONS`;
- `loader`: the database to a `matching.problem.Problem`, a `Result` back to proposals;
- `runner`: a job run start to end (synchronous; the API runs it in a worker thread);
- `proposals`: a coordinator's decisions on the proposals, and committing them.
"""
