-- The shipped retry policies (plugins/retry/) through the hook API, without a broker.
local client = require "client"
local moonlog = client.moonlog

local NOT_LEADER, TOO_LARGE = 6, 10

describe("retry policy fixed", function()
  it("retries a retriable error after retry.backoff.ms", function()
    local r = assert(moonlog.plugin("retry_policy", "fixed", { config = { ["retry.backoff.ms"] = 250 } }))
    assert.are.equal(250, r:retry(1, NOT_LEADER, 0))
    assert.are.equal(250, r:retry(9, NOT_LEADER, 5000))
    assert.is_false(r:retry(1, TOO_LARGE, 0))
  end)
end)

describe("retry policy exponential_jitter", function()
  it("doubles from retry.backoff.ms up to retry.backoff.max.ms, within 20% jitter", function()
    local r = assert(moonlog.plugin("retry_policy", "exponential_jitter",
      { config = { ["retry.backoff.ms"] = 100, ["retry.backoff.max.ms"] = 1000 } }))
    for attempt, base in ipairs({ 100, 200, 400, 800, 1000, 1000 }) do
      for _ = 1, 20 do
        local d = r:retry(attempt, NOT_LEADER, 0)
        assert.is_true(d >= base * 0.8 - 1 and d <= base * 1.2 + 1, attempt .. ": " .. d)
      end
    end
    assert.is_false(r:retry(1, TOO_LARGE, 0))
  end)
end)

describe("retry policy none", function()
  it("never retries", function()
    local r = assert(moonlog.plugin("retry_policy", "none"))
    assert.is_false(r:retry(1, NOT_LEADER, 0))
  end)
end)
