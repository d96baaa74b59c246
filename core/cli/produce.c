/* moonlog produce: lines of stdin as records, like Kafka's console producer.
 *
 *   moonlog produce --bootstrap-server H:P --topic T [options]
 *
 *   --bootstrap-server H:P[,H:P]   (default 127.0.0.1:9092)
 *   --producer-property k=v        any producer property (repeatable)
 *   --producer.config FILE         producer properties from a .properties file
 *   --partitioner NAME|PATH, --key-serializer NAME|PATH, --value-serializer NAME|PATH,
 *   --retry-policy NAME|PATH       plugins (shortcuts for the properties of the same names)
 *   --property parse.key=true      each line is key<separator>value
 *   --property key.separator=SEP   (default a tab, as Kafka's console producer) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/producer_cmd.h"

static atomic_long produce_failed;

static void produce_cb(const moonlog_record_metadata *md, const moonlog_error *err, void *opaque) {
    (void)opaque;
    if (err) {
        if (atomic_fetch_add(&produce_failed, 1) < 20)
            fprintf(stderr, "moonlog: record to %s failed: %s: %s\n", md->topic, err->name, err->message);
    }
}

static int produce(ml_cli_popts *o) {
    moonlog_producer *p;
    moonlog_error e;
    if (moonlog_producer_new(o->cfg, &p, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long refused = 0;
    size_t seplen = strlen(o->key_sep);
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        moonlog_record r = {o->topic, MOONLOG_PARTITION_ANY, NULL, 0, line, (int32_t)n, NULL, 0,
                            MOONLOG_TIMESTAMP_NOW};
        if (o->parse_key) {
            char *sep = seplen ? strstr(line, o->key_sep) : NULL;
            if (!sep) {
                fprintf(stderr, "moonlog: no key separator '%s' in line: %s\n", o->key_sep, line);
                refused++;
                continue;
            }
            r.key = line;
            r.key_len = (int32_t)(sep - line);
            r.value = sep + seplen;
            r.value_len = (int32_t)(n - (sep - line) - (ssize_t)seplen);
        }
        if (moonlog_producer_send(p, &r, produce_cb, NULL, &e) != 0) {
            fprintf(stderr, "moonlog: %s: %s\n", e.name, e.message);
            refused++;
        }
    }
    free(line);
    moonlog_producer_close(p);
    long failed = atomic_load(&produce_failed) + refused;
    if (failed) fprintf(stderr, "moonlog: %ld record(s) not delivered\n", failed);
    return failed ? 1 : 0;
}

int ml_cli_produce(int argc, char **argv) { return ml_cli_popts_main(argc, argv, 0, produce); }
