-- fixed: every retriable error is retried after the same delay, retry.backoff.ms (given to the
-- plugin as moonlog.config["retry.backoff.ms"], 100 when absent), until retries or
-- delivery.timeout.ms run out (the producer enforces both).
local backoff = tonumber(moonlog.config and moonlog.config["retry.backoff.ms"]) or 100

return {
  api = 1,
  kind = "retry_policy",
  decide = function(attempt, err, elapsed_ms, record)
    if not err.retriable then return nil end
    return backoff
  end,
}
