#include "common/properties.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct ml_prop {
    char *key;
    char *value;
    int line;
} ml_prop;

struct ml_props {
    char *name;
    ml_prop *v;
    int n, cap;
};

ml_props *ml_props_new(const char *name) {
    ml_props *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->name = strdup(name ? name : "properties");
    if (!p->name) {
        free(p);
        return NULL;
    }
    return p;
}

void ml_props_free(ml_props *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    free(p->name);
    free(p);
}

const char *ml_props_name(const ml_props *p) { return p->name; }
int ml_props_count(const ml_props *p) { return p->n; }
const char *ml_props_key(const ml_props *p, int i) { return i >= 0 && i < p->n ? p->v[i].key : NULL; }
const char *ml_props_value(const ml_props *p, int i) { return i >= 0 && i < p->n ? p->v[i].value : NULL; }
int ml_props_line(const ml_props *p, int i) { return i >= 0 && i < p->n ? p->v[i].line : 0; }

static int find(const ml_props *p, const char *key) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0) return i;
    return -1;
}

const char *ml_props_get(const ml_props *p, const char *key) {
    int i = find(p, key);
    return i < 0 ? NULL : p->v[i].value;
}

int ml_props_set_line(ml_props *p, const char *key, const char *value, int line) {
    char *v = strdup(value);
    if (!v) return ML_ENOMEM;
    int i = find(p, key);
    if (i >= 0) {
        free(p->v[i].value);
        p->v[i].value = v;
        p->v[i].line = line;
        return ML_OK;
    }
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        ml_prop *nv = realloc(p->v, (size_t)cap * sizeof *nv);
        if (!nv) {
            free(v);
            return ML_ENOMEM;
        }
        p->v = nv;
        p->cap = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(v);
        return ML_ENOMEM;
    }
    p->v[p->n++] = (ml_prop){k, v, line};
    return ML_OK;
}

int ml_props_set(ml_props *p, const char *key, const char *value) { return ml_props_set_line(p, key, value, 0); }

/* ---- parsing ------------------------------------------------------------------------------ */

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }
static int is_eol(char c) { return c == '\n' || c == '\r'; }

/* Steps over one line end (\n, \r or \r\n) at *pos, if there is one. */
static void skip_eol(const char *s, size_t len, size_t *pos) {
    if (*pos < len && s[*pos] == '\r') (*pos)++;
    else if (*pos < len && s[*pos] == '\n') {
        (*pos)++;
        return;
    } else return;
    if (*pos < len && s[*pos] == '\n') (*pos)++;
}

/* Copies one logical line (continuations joined, escapes kept) into buf; *pos is at its first
 * non-blank character and ends after its line end; *line counts the natural lines consumed. */
static void read_logical_line(const char *s, size_t len, size_t *pos, int *line, char *buf, size_t *n) {
    size_t i = *pos;
    *n = 0;
    while (i < len && !is_eol(s[i])) {
        if (s[i] != '\\') {
            buf[(*n)++] = s[i++];
            continue;
        }
        if (i + 1 >= len) { /* a backslash at the very end stands for nothing */
            i++;
            break;
        }
        if (is_eol(s[i + 1])) { /* continuation */
            i++;
            skip_eol(s, len, &i);
            (*line)++;
            while (i < len && is_blank(s[i])) i++;
            continue;
        }
        buf[(*n)++] = s[i++];
        buf[(*n)++] = s[i++];
    }
    skip_eol(s, len, &i);
    (*line)++;
    *pos = i;
}

static int hex_value(const char *p, size_t left, uint32_t *out) {
    if (left < 4) return -1;
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Decodes the escapes of raw[0..n) into out (never longer than the input: \uXXXX is 6 bytes and
 * at most 3 of UTF-8, a pair 12 bytes and 4); with `trim`, unescaped trailing blanks go. */
static int unescape(const char *raw, size_t n, int trim, char *out) {
    size_t o = 0, keep = 0; /* keep: length up to the last character that is not a plain blank */
    for (size_t i = 0; i < n;) {
        if (raw[i] != '\\') {
            out[o++] = raw[i];
            if (!is_blank(raw[i])) keep = o;
            i++;
            continue;
        }
        char c = raw[i + 1]; /* read_logical_line keeps escapes whole */
        i += 2;
        if (c == 'u') {
            uint32_t cp, lo;
            if (hex_value(raw + i, n - i, &cp) < 0) return -1;
            i += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && n - i >= 6 && raw[i] == '\\' && raw[i + 1] == 'u' &&
                hex_value(raw + i + 2, n - i - 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd; /* a lone surrogate has no UTF-8 form */
            }
            o += put_utf8(out + o, cp);
        } else {
            out[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == 'f' ? '\f' : c;
        }
        keep = o;
    }
    out[trim ? keep : o] = '\0';
    return 0;
}

/* Splits a logical line into key and value and stores them. */
static int parse_entry(ml_props *p, const char *l, size_t n, int line, char *scratch, ml_err *err) {
    size_t k = 0;
    while (k < n && l[k] != '=' && l[k] != ':' && !is_blank(l[k])) k += l[k] == '\\' ? 2 : 1;
    size_t v = k;
    while (v < n && is_blank(l[v])) v++;
    if (v < n && (l[v] == '=' || l[v] == ':')) {
        v++;
        while (v < n && is_blank(l[v])) v++;
    }
    char *key = scratch, *value = scratch + k + 1;
    if (unescape(l, k, 0, key) < 0 || unescape(l + v, n - v, 1, value) < 0)
        return ml_err_set(err, ML_EINVAL, "%s:%d: malformed \\uXXXX escape", p->name, line);
    if (ml_props_set_line(p, key, value, line) < 0) return ml_err_set(err, ML_ENOMEM, "%s: out of memory", p->name);
    return ML_OK;
}

int ml_props_parse(const char *text, size_t len, const char *name, ml_props **out, ml_err *err) {
    *out = NULL;
    ml_props *p = ml_props_new(name);
    char *buf = malloc(2 * len + 2); /* the logical line, then its key and value decoded */
    if (!p || !buf) {
        ml_props_free(p);
        free(buf);
        return ml_err_set(err, ML_ENOMEM, "%s: out of memory", name ? name : "properties");
    }
    size_t pos = 0;
    int line = 1, rc = ML_OK;
    while (pos < len) {
        while (pos < len && is_blank(text[pos])) pos++;
        if (pos == len) break;
        if (is_eol(text[pos])) {
            skip_eol(text, len, &pos);
            line++;
            continue;
        }
        if (text[pos] == '#' || text[pos] == '!') {
            while (pos < len && !is_eol(text[pos])) pos++;
            skip_eol(text, len, &pos);
            line++;
            continue;
        }
        int first = line;
        size_t n;
        read_logical_line(text, len, &pos, &line, buf, &n);
        if (memchr(buf, '\0', n)) {
            rc = ml_err_set(err, ML_EINVAL, "%s:%d: NUL byte in the text", p->name, first);
            break;
        }
        if ((rc = parse_entry(p, buf, n, first, buf + n, err)) < 0) break;
    }
    free(buf);
    if (rc < 0) {
        ml_props_free(p);
        return rc;
    }
    *out = p;
    return ML_OK;
}

int ml_props_load(const char *path, ml_props **out, ml_err *err) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return ml_err_set(err, ML_EIO, "cannot open %s: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    int rc = ML_OK;
    for (;;) {
        if (cap - len < 4096) {
            size_t ncap = cap ? cap * 2 : 8192;
            char *t = realloc(text, ncap);
            if (!t) {
                rc = ml_err_set(err, ML_ENOMEM, "%s: out of memory", path);
                break;
            }
            text = t;
            cap = ncap;
        }
        size_t got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) rc = ml_err_set(err, ML_EIO, "cannot read %s: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc == ML_OK) rc = ml_props_parse(text, len, path, out, err);
    free(text);
    return rc;
}

/* ---- typed values ------------------------------------------------------------------------- */

int ml_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return ML_EINVAL;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9') return ML_EINVAL;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < min || v > max) return ML_ERANGE;
    *out = v;
    return ML_OK;
}

int ml_parse_bool(const char *s, int *out) {
    if (strcasecmp(s, "true") == 0) *out = 1;
    else if (strcasecmp(s, "false") == 0) *out = 0;
    else return ML_EINVAL;
    return ML_OK;
}
