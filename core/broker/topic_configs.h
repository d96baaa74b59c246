/* A topic's configuration as the admin APIs show it (CreateTopics v5, DescribeConfigs): every
 * topic property with its value and where the value comes from. */
#ifndef ML_BROKER_TOPIC_CONFIGS_H
#define ML_BROKER_TOPIC_CONFIGS_H

#include "broker/request.h"
#include "storage/log_config.h"

/* Kafka's ConfigSource values. */
enum ml_config_source {
    ML_CONFIG_SOURCE_UNKNOWN = 0,
    ML_CONFIG_SOURCE_TOPIC = 1,
    ML_CONFIG_SOURCE_STATIC_BROKER = 4,
    ML_CONFIG_SOURCE_DEFAULT = 5,
};

typedef struct ml_topic_config_entry {
    ml_slice name;
    ml_slice value;
    int8_t source;
} ml_topic_config_entry;

/* Fills up to the number of topic properties into an arena array; `names`/`values` are the
 * topic's overrides (their properties get source TOPIC). Returns the count, or -1 out of memory. */
int ml_topic_configs_list(ml_request *req, const ml_log_config *cfg, const char *const *names, int n_names,
                          ml_topic_config_entry **out);

#endif
