-- exponential_jitter: Kafka's backoff since KIP-580: retry.backoff.ms * 2^(attempt-1), at most
-- retry.backoff.max.ms, with +-20% random jitter. The producer's built-in default does the same.
local base = tonumber(moonlog.config and moonlog.config["retry.backoff.ms"]) or 100
local max = tonumber(moonlog.config and moonlog.config["retry.backoff.max.ms"]) or 1000

return {
  api = 1,
  kind = "retry_policy",
  decide = function(attempt, err, elapsed_ms, record)
    if not err.retriable then return nil end
    local d = base * 2 ^ (attempt - 1)
    if d > max then d = max end
    local jitter = d * 0.2 * (2 * math.random() - 1)
    return math.floor(math.max(0, d + jitter))
  end,
}
