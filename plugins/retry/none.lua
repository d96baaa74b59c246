-- none: never retry; the first error fails the record (like retries=0).
return {
  api = 1,
  kind = "retry_policy",
  decide = function(attempt, err, elapsed_ms, record)
    return nil
  end,
}
