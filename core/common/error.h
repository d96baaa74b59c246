/* Kafka protocol error codes, their names and whether a client may retry them
 * (facts from Kafka's Errors.java), plus the internal status convention.
 *
 * Internal functions return 0 on success and a negative ML_E* on failure, writing a message
 * into an ml_err the caller passes; protocol handlers turn failures into Kafka codes. */
#ifndef ML_COMMON_ERROR_H
#define ML_COMMON_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* X(code, NAME, retriable) */
#define ML_KAFKA_ERRORS(X)                                \
    X(-1, UNKNOWN_SERVER_ERROR, 0)                        \
    X(0, NONE, 0)                                         \
    X(1, OFFSET_OUT_OF_RANGE, 0)                          \
    X(2, CORRUPT_MESSAGE, 1)                              \
    X(3, UNKNOWN_TOPIC_OR_PARTITION, 1)                   \
    X(4, INVALID_FETCH_SIZE, 0)                           \
    X(5, LEADER_NOT_AVAILABLE, 1)                         \
    X(6, NOT_LEADER_OR_FOLLOWER, 1)                       \
    X(7, REQUEST_TIMED_OUT, 1)                            \
    X(8, BROKER_NOT_AVAILABLE, 0)                         \
    X(9, REPLICA_NOT_AVAILABLE, 1)                        \
    X(10, MESSAGE_TOO_LARGE, 0)                           \
    X(11, STALE_CONTROLLER_EPOCH, 0)                      \
    X(12, OFFSET_METADATA_TOO_LARGE, 0)                   \
    X(13, NETWORK_EXCEPTION, 1)                           \
    X(14, COORDINATOR_LOAD_IN_PROGRESS, 1)                \
    X(15, COORDINATOR_NOT_AVAILABLE, 1)                   \
    X(16, NOT_COORDINATOR, 1)                             \
    X(17, INVALID_TOPIC_EXCEPTION, 0)                     \
    X(18, RECORD_LIST_TOO_LARGE, 0)                       \
    X(19, NOT_ENOUGH_REPLICAS, 1)                         \
    X(20, NOT_ENOUGH_REPLICAS_AFTER_APPEND, 1)            \
    X(21, INVALID_REQUIRED_ACKS, 0)                       \
    X(22, ILLEGAL_GENERATION, 0)                          \
    X(23, INCONSISTENT_GROUP_PROTOCOL, 0)                 \
    X(24, INVALID_GROUP_ID, 0)                            \
    X(25, UNKNOWN_MEMBER_ID, 0)                           \
    X(26, INVALID_SESSION_TIMEOUT, 0)                     \
    X(27, REBALANCE_IN_PROGRESS, 0)                       \
    X(28, INVALID_COMMIT_OFFSET_SIZE, 0)                  \
    X(29, TOPIC_AUTHORIZATION_FAILED, 0)                  \
    X(30, GROUP_AUTHORIZATION_FAILED, 0)                  \
    X(31, CLUSTER_AUTHORIZATION_FAILED, 0)                \
    X(32, INVALID_TIMESTAMP, 0)                           \
    X(33, UNSUPPORTED_SASL_MECHANISM, 0)                  \
    X(34, ILLEGAL_SASL_STATE, 0)                          \
    X(35, UNSUPPORTED_VERSION, 0)                         \
    X(36, TOPIC_ALREADY_EXISTS, 0)                        \
    X(37, INVALID_PARTITIONS, 0)                          \
    X(38, INVALID_REPLICATION_FACTOR, 0)                  \
    X(39, INVALID_REPLICA_ASSIGNMENT, 0)                  \
    X(40, INVALID_CONFIG, 0)                              \
    X(41, NOT_CONTROLLER, 1)                              \
    X(42, INVALID_REQUEST, 0)                             \
    X(43, UNSUPPORTED_FOR_MESSAGE_FORMAT, 0)              \
    X(44, POLICY_VIOLATION, 0)                            \
    X(45, OUT_OF_ORDER_SEQUENCE_NUMBER, 0)                \
    X(46, DUPLICATE_SEQUENCE_NUMBER, 0)                   \
    X(47, INVALID_PRODUCER_EPOCH, 0)                      \
    X(48, INVALID_TXN_STATE, 0)                           \
    X(49, INVALID_PRODUCER_ID_MAPPING, 0)                 \
    X(50, INVALID_TRANSACTION_TIMEOUT, 0)                 \
    X(51, CONCURRENT_TRANSACTIONS, 1)                     \
    X(52, TRANSACTION_COORDINATOR_FENCED, 0)              \
    X(53, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 0)       \
    X(54, SECURITY_DISABLED, 0)                           \
    X(55, OPERATION_NOT_ATTEMPTED, 0)                     \
    X(56, KAFKA_STORAGE_ERROR, 1)                         \
    X(57, LOG_DIR_NOT_FOUND, 0)                           \
    X(58, SASL_AUTHENTICATION_FAILED, 0)                  \
    X(59, UNKNOWN_PRODUCER_ID, 0)                         \
    X(60, REASSIGNMENT_IN_PROGRESS, 0)                    \
    X(67, INVALID_PRINCIPAL_TYPE, 0)                      \
    X(68, NON_EMPTY_GROUP, 0)                             \
    X(69, GROUP_ID_NOT_FOUND, 0)                          \
    X(70, FETCH_SESSION_ID_NOT_FOUND, 1)                  \
    X(71, INVALID_FETCH_SESSION_EPOCH, 1)                 \
    X(72, LISTENER_NOT_FOUND, 1)                          \
    X(73, TOPIC_DELETION_DISABLED, 0)                     \
    X(74, FENCED_LEADER_EPOCH, 1)                         \
    X(75, UNKNOWN_LEADER_EPOCH, 1)                        \
    X(76, UNSUPPORTED_COMPRESSION_TYPE, 0)                \
    X(77, STALE_BROKER_EPOCH, 0)                          \
    X(78, OFFSET_NOT_AVAILABLE, 1)                        \
    X(79, MEMBER_ID_REQUIRED, 0)                          \
    X(80, PREFERRED_LEADER_NOT_AVAILABLE, 1)              \
    X(81, GROUP_MAX_SIZE_REACHED, 0)                      \
    X(82, FENCED_INSTANCE_ID, 0)                          \
    X(86, GROUP_SUBSCRIBED_TO_TOPIC, 0)                   \
    X(87, INVALID_RECORD, 0)                              \
    X(88, UNSTABLE_OFFSET_COMMIT, 1)

enum ml_kafka_error {
#define ML_X(code, name, retriable) ML_KERR_##name = code,
    ML_KAFKA_ERRORS(ML_X)
#undef ML_X
};

/* Name of a Kafka error code ("UNKNOWN_ERROR_<n>" style text for codes we do not list). */
const char *ml_kafka_error_name(int16_t code);
int ml_kafka_error_retriable(int16_t code);

/* Internal status codes: 0 is success, failures are negative. */
enum ml_status {
    ML_OK = 0,
    ML_EINVAL = -1,   /* bad argument or configuration value */
    ML_EIO = -2,      /* a system call failed; the message carries errno's text */
    ML_ENOMEM = -3,
    ML_ECORRUPT = -4, /* data on disk or on the wire failed a check */
    ML_ENOENT = -5,
    ML_EEXIST = -6,
    ML_ERANGE = -7,   /* an offset or size outside what exists */
    ML_ETOOBIG = -8,
};

#define ML_ERR_MSG_SIZE 256

typedef struct ml_err {
    int code;
    char msg[ML_ERR_MSG_SIZE];
} ml_err;

/* Records a failure in `err` (which may be NULL) and returns `code` so callers can write
 * `return ml_err_set(err, ML_EIO, "open %s: %s", path, strerror(errno));` */
int ml_err_set(ml_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
