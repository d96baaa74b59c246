/* The one table of the APIs this broker implements: it drives both request dispatch and the
 * ApiVersions answer, so what is advertised can never drift from what is handled. The version
 * ranges come from the protocol definitions (core/proto/defs), through the generated headers. */
#ifndef ML_BROKER_API_H
#define ML_BROKER_API_H

#include <stddef.h>
#include <stdint.h>

#include "broker/request.h"

/* Returns 0 when the response was given (or will be, for a deferred request), or a negative
 * status when the request was malformed: the connection is then closed with a log line.
 * Contract: a handler returns non-zero only before it answers (the request, and its reader
 * position for the log line, must still be there). */
typedef int (*ml_api_handler)(ml_request *req);

typedef struct ml_api {
    int16_t key;
    int16_t min_version;
    int16_t max_version;
    int16_t first_flexible; /* 32767 when no version is flexible */
    const char *name;
    ml_api_handler handle;
} ml_api;

const ml_api *ml_api_find(int16_t key);
/* All APIs in key order, for ApiVersions. */
const ml_api *ml_api_all(size_t *count);

/* Handlers, one file each (core/broker/api_<name>.c). */
int ml_handle_api_versions(ml_request *req);
int ml_handle_metadata(ml_request *req);
int ml_handle_produce(ml_request *req);
int ml_handle_fetch(ml_request *req);
int ml_handle_list_offsets(ml_request *req);
int ml_handle_create_topics(ml_request *req);
int ml_handle_delete_topics(ml_request *req);
int ml_handle_create_partitions(ml_request *req);
int ml_handle_describe_configs(ml_request *req);
/* Consumer groups (group_coordinator.c decides; these decode and answer). */
int ml_handle_find_coordinator(ml_request *req);
int ml_handle_join_group(ml_request *req);
int ml_handle_sync_group(ml_request *req);
int ml_handle_heartbeat(ml_request *req);
int ml_handle_leave_group(ml_request *req);
int ml_handle_offset_commit(ml_request *req);
int ml_handle_offset_fetch(ml_request *req);
int ml_handle_describe_groups(ml_request *req);
int ml_handle_list_groups(ml_request *req);
int ml_handle_delete_groups(ml_request *req);

#endif
