-- Sign-in failures are pruned by age on every failure (see accounts_throttle.rs).
CREATE INDEX signin_failures_last ON signin_failures (last_failure_at);
