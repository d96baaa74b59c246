#include "storage/retention.h"

static int by_time(ml_partition_log *pl, int64_t now_ms) {
    if (pl->config.retention_ms < 0) return 0;
    int n = 0;
    while (n < pl->n_segs - 1 && now_ms - ml_segment_largest_timestamp(pl->segs[n]) > pl->config.retention_ms) n++;
    return n;
}

/* Kafka's rule: delete while what remains is still at least retention.bytes. */
static int by_size(const ml_partition_log *pl) {
    if (pl->config.retention_bytes < 0) return 0;
    int64_t excess = ml_partition_log_size(pl) - pl->config.retention_bytes;
    int n = 0;
    while (n < pl->n_segs - 1 && excess - (int64_t)pl->segs[n]->size >= 0) excess -= pl->segs[n++]->size;
    return n;
}

static int by_start_offset(const ml_partition_log *pl) {
    int n = 0;
    while (n < pl->n_segs - 1 && pl->segs[n + 1]->base_offset <= pl->log_start_offset) n++;
    return n;
}

int ml_retention_expired_segments(ml_partition_log *pl, int64_t now_ms) {
    int n = by_start_offset(pl);
    if (!(pl->config.cleanup_policy & ML_CLEANUP_DELETE)) return n;
    int t = by_time(pl, now_ms), s = by_size(pl);
    if (t > n) n = t;
    if (s > n) n = s;
    return n;
}

int ml_retention_run(ml_partition_log *pl, int64_t now_ms, ml_err *err) {
    int n = ml_retention_expired_segments(pl, now_ms);
    if (n == 0) return 0;
    int rc = ml_partition_log_delete_oldest(pl, n, err);
    return rc < 0 ? rc : n;
}
