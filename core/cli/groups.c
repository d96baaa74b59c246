/* moonlog groups: list, describe and delete consumer groups, like kafka-consumer-groups.
 *
 *   moonlog groups [--bootstrap-server H:P] [--command-config FILE] ACTION
 *     --list
 *     --describe --group G | --all-groups [--members [--verbose]]
 *     --delete --group G
 * --describe prints one row per partition the group committed or a member owns:
 *   GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
 * (CURRENT-OFFSET and LAG "-" where nothing was committed; the member columns "-" where no
 * member owns the partition). --members prints GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS
 * (and ASSIGNMENT with --verbose). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/admin_cmd.h"
#include "cli/cli.h"

enum { A_NONE /* 0, as ml_cli_admin has it */, A_LIST, A_DESCRIBE, A_DELETE };

typedef struct gopts {
    ml_cli_admin base; /* first: the callbacks cast back */
    int members, verbose, all;
    const char *group;
} gopts;

static int parse_flag(gopts *o, const char *a) {
    if (strcmp(a, "--list") == 0) return ml_cli_admin_action(&o->base, A_LIST, a);
    if (strcmp(a, "--describe") == 0) return ml_cli_admin_action(&o->base, A_DESCRIBE, a);
    if (strcmp(a, "--delete") == 0) return ml_cli_admin_action(&o->base, A_DELETE, a);
    if (strcmp(a, "--members") == 0) return o->members = 1, 0;
    if (strcmp(a, "--verbose") == 0) return o->verbose = 1, 0;
    if (strcmp(a, "--all-groups") == 0) return o->all = 1, 0;
    return 1; /* not a flag */
}

static const char *const value_options[] = {"--bootstrap-server", "--group", "--command-config", NULL};

static int parse(ml_cli_admin *base, int argc, char **argv) {
    gopts *o = (gopts *)base;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int rc = parse_flag(o, a);
        if (rc == 1) {
            const char *v = ml_cli_known_value(argc, argv, &i, ml_cli_one_of(a, value_options));
            if (!v) return -1;
            rc = strcmp(a, "--group") == 0 ? (o->group = v, 0) : ml_cli_admin_option(base, a, v);
        }
        if (rc != 0) return -1;
    }
    if (ml_cli_admin_need_action(base, "groups") != 0) return -1;
    if (base->action != A_LIST && !o->group && !(o->all && base->action == A_DESCRIBE)) {
        fprintf(stderr, "moonlog: --group is required (or --all-groups with --describe)\n");
        return -1;
    }
    return 0;
}

/* ---- A table whose columns are as wide as their widest cell -------------------------------- */

#define MAX_COLS 9
#define CELL 512

typedef struct table {
    int cols;
    char (*cells)[MAX_COLS][CELL];
    int rows, cap;
} table;

static char *cell(table *t, int row, int col) { return t->cells[row][col]; }

static int add_row(table *t) {
    if (t->rows == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        void *n = realloc(t->cells, (size_t)cap * sizeof *t->cells);
        if (!n) return -1;
        t->cells = n;
        t->cap = cap;
    }
    memset(t->cells[t->rows], 0, sizeof *t->cells);
    return t->rows++;
}

static void print_table(const table *t) {
    size_t w[MAX_COLS] = {0};
    for (int r = 0; r < t->rows; r++)
        for (int c = 0; c < t->cols; c++)
            if (strlen(t->cells[r][c]) > w[c]) w[c] = strlen(t->cells[r][c]);
    for (int r = 0; r < t->rows; r++) {
        for (int c = 0; c + 1 < t->cols; c++) printf("%-*s ", (int)w[c], t->cells[r][c]);
        printf("%s", t->cells[r][t->cols - 1]);
        printf("\n");
    }
}

/* ---- describe ------------------------------------------------------------------------------ */

typedef struct row {
    const char *topic;
    int32_t partition;
    int64_t committed; /* -1: none */
    const moonlog_group_member *owner;
} row;

static int cmp_row(const void *x, const void *y) {
    const row *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition < b->partition ? -1 : a->partition > b->partition);
}

static row *find_row(row *rows, int n, const char *topic, int32_t partition) {
    for (int i = 0; i < n; i++)
        if (rows[i].partition == partition && strcmp(rows[i].topic, topic) == 0) return &rows[i];
    return NULL;
}

/* Rows of the committed partitions and of the partitions members own. */
static row *gather(const moonlog_group_info *g, int *count) {
    int n = g->n_committed;
    for (int i = 0; i < g->n_members; i++) n += g->members[i].n_assignment;
    row *rows = calloc((size_t)(n ? n : 1), sizeof *rows);
    if (!rows) return NULL;
    int k = 0;
    for (int i = 0; i < g->n_committed; i++)
        rows[k++] = (row){g->committed[i].topic, g->committed[i].partition, g->committed[i].offset, NULL};
    for (int i = 0; i < g->n_members; i++)
        for (int j = 0; j < g->members[i].n_assignment; j++) {
            const moonlog_topic_partition *tp = &g->members[i].assignment[j];
            row *r = find_row(rows, k, tp->topic, tp->partition);
            if (!r) rows[k++] = (row){tp->topic, tp->partition, -1, NULL}, r = &rows[k - 1];
            r->owner = &g->members[i];
        }
    if (k) qsort(rows, (size_t)k, sizeof *rows, cmp_row);
    *count = k;
    return rows;
}

static int describe_offsets(const moonlog_group_info *g, moonlog_admin *a) {
    int n;
    row *rows = gather(g, &n);
    moonlog_topic_partition *tps = calloc((size_t)(n ? n : 1), sizeof *tps);
    int64_t *ends = calloc((size_t)(n ? n : 1), sizeof *ends);
    table t = {9, NULL, 0, 0};
    moonlog_error e;
    int rc = 1;
    if (!rows || !tps || !ends) {
        fprintf(stderr, "moonlog: out of memory\n");
        goto out;
    }
    for (int i = 0; i < n; i++) tps[i] = (moonlog_topic_partition){rows[i].topic, rows[i].partition};
    if (moonlog_admin_end_offsets(a, tps, n, ends, &e) != 0) {
        fprintf(stderr, "moonlog: log end offsets of group '%s': %s\n", g->group_id, e.message);
        goto out;
    }
    if (g->n_members == 0) printf("\nConsumer group '%s' has no active members.\n", g->group_id);
    printf("\n");
    const char *heads[9] = {"GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID",
                            "HOST", "CLIENT-ID"};
    int h = add_row(&t);
    for (int c = 0; h >= 0 && c < 9; c++) snprintf(cell(&t, h, c), CELL, "%s", heads[c]);
    for (int i = 0; h >= 0 && i < n; i++) {
        int r = add_row(&t);
        if (r < 0) break;
        const row *x = &rows[i];
        snprintf(cell(&t, r, 0), CELL, "%s", g->group_id);
        snprintf(cell(&t, r, 1), CELL, "%s", x->topic);
        snprintf(cell(&t, r, 2), CELL, "%" PRId32, x->partition);
        if (x->committed >= 0) snprintf(cell(&t, r, 3), CELL, "%" PRId64, x->committed);
        else snprintf(cell(&t, r, 3), CELL, "-");
        snprintf(cell(&t, r, 4), CELL, "%" PRId64, ends[i]);
        if (x->committed >= 0) snprintf(cell(&t, r, 5), CELL, "%" PRId64, ends[i] - x->committed);
        else snprintf(cell(&t, r, 5), CELL, "-");
        snprintf(cell(&t, r, 6), CELL, "%s", x->owner ? x->owner->member_id : "-");
        snprintf(cell(&t, r, 7), CELL, "%s", x->owner ? x->owner->client_host : "-");
        snprintf(cell(&t, r, 8), CELL, "%s", x->owner ? x->owner->client_id : "-");
    }
    print_table(&t);
    rc = 0;
out:
    free(t.cells);
    free(rows);
    free(tps);
    free(ends);
    return rc;
}

static void assignment_text(const moonlog_group_member *m, char *out, size_t cap) {
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < m->n_assignment && len < cap; i++) {
        int first = i == 0 || strcmp(m->assignment[i - 1].topic, m->assignment[i].topic) != 0;
        int last = i + 1 == m->n_assignment || strcmp(m->assignment[i + 1].topic, m->assignment[i].topic) != 0;
        len += (size_t)snprintf(out + len, cap - len, "%s%s%s%" PRId32 "%s", first && i ? "," : "",
                                first ? m->assignment[i].topic : "", first ? "(" : ",", m->assignment[i].partition,
                                last ? ")" : "");
    }
    if (!m->n_assignment) snprintf(out, cap, "-");
}

static int describe_members(const moonlog_group_info *g, int verbose) {
    table t = {verbose ? 6 : 5, NULL, 0, 0};
    if (g->n_members == 0) printf("\nConsumer group '%s' has no active members.\n", g->group_id);
    printf("\n");
    const char *heads[6] = {"GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"};
    int h = add_row(&t);
    for (int c = 0; h >= 0 && c < t.cols; c++) snprintf(cell(&t, h, c), CELL, "%s", heads[c]);
    for (int i = 0; h >= 0 && i < g->n_members; i++) {
        const moonlog_group_member *m = &g->members[i];
        int r = add_row(&t);
        if (r < 0) break;
        snprintf(cell(&t, r, 0), CELL, "%s", g->group_id);
        snprintf(cell(&t, r, 1), CELL, "%s", m->member_id);
        snprintf(cell(&t, r, 2), CELL, "%s", m->client_host);
        snprintf(cell(&t, r, 3), CELL, "%s", m->client_id);
        snprintf(cell(&t, r, 4), CELL, "%d", m->n_assignment);
        if (verbose) assignment_text(m, cell(&t, r, 5), CELL);
    }
    print_table(&t);
    free(t.cells);
    return 0;
}

static int cmp_tp(const void *x, const void *y) {
    const moonlog_topic_partition *a = x, *b = y;
    int c = strcmp(a->topic, b->topic);
    return c ? c : (a->partition < b->partition ? -1 : a->partition > b->partition);
}

static int describe(gopts *o, moonlog_admin *a, const char *group) {
    moonlog_group_info *g;
    moonlog_error e;
    if (moonlog_admin_describe_group(a, group, &g, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    int rc;
    if (strcmp(g->state, "Dead") == 0 && g->n_committed == 0) {
        fprintf(stderr, "moonlog: consumer group '%s' does not exist\n", group);
        rc = 1;
    } else {
        for (int i = 0; i < g->n_members; i++)
            if (g->members[i].n_assignment)
                qsort(g->members[i].assignment, (size_t)g->members[i].n_assignment, sizeof *g->members[i].assignment, cmp_tp);
        rc = o->members ? describe_members(g, o->verbose) : describe_offsets(g, a);
    }
    moonlog_admin_group_info_free(g);
    return rc;
}

/* --describe --all-groups: each listed group in turn. */
static int describe_all(gopts *o, moonlog_admin *a) {
    moonlog_group_list *l;
    moonlog_error e;
    if (moonlog_admin_list_groups(a, &l, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    int rc = 0;
    for (int i = 0; i < l->n; i++) rc |= describe(o, a, l->groups[i].group_id);
    moonlog_admin_group_list_free(l);
    return rc;
}

/* ---- list, delete -------------------------------------------------------------------------- */

static int list(moonlog_admin *a) {
    moonlog_group_list *l;
    moonlog_error e;
    if (moonlog_admin_list_groups(a, &l, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    for (int i = 0; i < l->n; i++) printf("%s\n", l->groups[i].group_id);
    moonlog_admin_group_list_free(l);
    return 0;
}

static int delete_group(gopts *o, moonlog_admin *a) {
    moonlog_error e;
    if (moonlog_admin_delete_group(a, o->group, &e) != 0) {
        fprintf(stderr, "moonlog: %s\n", e.message);
        return 1;
    }
    printf("Deletion of requested consumer groups ('%s') was successful.\n", o->group);
    return 0;
}

static int act(ml_cli_admin *base, moonlog_admin *a) {
    gopts *o = (gopts *)base;
    if (base->action == A_LIST) return list(a);
    if (base->action == A_DESCRIBE) return o->group ? describe(o, a, o->group) : describe_all(o, a);
    return delete_group(o, a);
}

int ml_cli_groups(int argc, char **argv) {
    gopts o = {.base = {"--list, --describe, --delete", parse, act}};
    return ml_cli_admin_main(&o.base, argc, argv);
}
