#include "broker/api.h"

#include "proto/api_versions.h"
#include "proto/create_partitions.h"
#include "proto/create_topics.h"
#include "proto/delete_groups.h"
#include "proto/delete_topics.h"
#include "proto/describe_configs.h"
#include "proto/describe_groups.h"
#include "proto/fetch.h"
#include "proto/find_coordinator.h"
#include "proto/heartbeat.h"
#include "proto/join_group.h"
#include "proto/leave_group.h"
#include "proto/list_groups.h"
#include "proto/list_offsets.h"
#include "proto/metadata.h"
#include "proto/offset_commit.h"
#include "proto/offset_fetch.h"
#include "proto/produce.h"
#include "proto/sync_group.h"

/* Each row takes its version range from the generated protocol header, so ApiVersions
 * advertises exactly what the codecs and handlers implement. Kept sorted by key. */
#define ML_API_ROW(NAME, name, label) \
    {ML_API_##NAME##_KEY, ML_API_##NAME##_MIN, ML_API_##NAME##_MAX, ML_API_##NAME##_FLEX, label, ml_handle_##name}

static const ml_api ml_apis[] = {
    ML_API_ROW(PRODUCE, produce, "Produce"),
    ML_API_ROW(FETCH, fetch, "Fetch"),
    ML_API_ROW(LIST_OFFSETS, list_offsets, "ListOffsets"),
    ML_API_ROW(METADATA, metadata, "Metadata"),
    ML_API_ROW(OFFSET_COMMIT, offset_commit, "OffsetCommit"),
    ML_API_ROW(OFFSET_FETCH, offset_fetch, "OffsetFetch"),
    ML_API_ROW(FIND_COORDINATOR, find_coordinator, "FindCoordinator"),
    ML_API_ROW(JOIN_GROUP, join_group, "JoinGroup"),
    ML_API_ROW(HEARTBEAT, heartbeat, "Heartbeat"),
    ML_API_ROW(LEAVE_GROUP, leave_group, "LeaveGroup"),
    ML_API_ROW(SYNC_GROUP, sync_group, "SyncGroup"),
    ML_API_ROW(DESCRIBE_GROUPS, describe_groups, "DescribeGroups"),
    ML_API_ROW(LIST_GROUPS, list_groups, "ListGroups"),
    ML_API_ROW(API_VERSIONS, api_versions, "ApiVersions"),
    ML_API_ROW(CREATE_TOPICS, create_topics, "CreateTopics"),
    ML_API_ROW(DELETE_TOPICS, delete_topics, "DeleteTopics"),
    ML_API_ROW(DESCRIBE_CONFIGS, describe_configs, "DescribeConfigs"),
    ML_API_ROW(CREATE_PARTITIONS, create_partitions, "CreatePartitions"),
    ML_API_ROW(DELETE_GROUPS, delete_groups, "DeleteGroups"),
};

#define ML_N_APIS (sizeof ml_apis / sizeof ml_apis[0])

const ml_api *ml_api_find(int16_t key) {
    for (size_t i = 0; i < ML_N_APIS; i++)
        if (ml_apis[i].key == key) return &ml_apis[i];
    return NULL;
}

const ml_api *ml_api_all(size_t *count) {
    *count = ML_N_APIS;
    return ml_apis;
}
