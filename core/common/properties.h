/* A reader of Java .properties files (the format of Kafka's server.properties), keeping the line
 * where each entry starts so that later errors can say "server.properties:12: log.segment.bytes:
 * 'abc' is not an integer".
 *
 * The format, as java.util.Properties.load reads it:
 *   - lines end with \n, \r or \r\n; a line whose first non-blank character is # or ! is a comment
 *     (a backslash at its end does not continue it); blank lines are skipped
 *   - `key=value`, `key: value` and `key value`: the key ends at the first unescaped '=', ':' or
 *     blank (space, tab, form feed); blanks around the separator are skipped
 *   - a line ending with an odd number of backslashes continues on the next one, whose leading
 *     blanks are dropped
 *   - escapes in keys and values: \t \n \r \f \uXXXX (written out as UTF-8, surrogate pairs joined),
 *     and a backslash before any other character stands for that character (\\ \= \: \# \ )
 * Bytes are kept as they are (UTF-8 text stays UTF-8; Java reads the file as ISO-8859-1).
 * One difference, on purpose: trailing blanks of a value are dropped (Java keeps them; Kafka trims
 * every value it parses, so the result is the same), unless escaped ("a\ ").
 * The same key given twice keeps its first position and takes the later value and line. */
#ifndef ML_COMMON_PROPERTIES_H
#define ML_COMMON_PROPERTIES_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct ml_props ml_props;

/* An empty set; `name` (may be NULL) is what messages call its source. NULL when out of memory. */
ml_props *ml_props_new(const char *name);
/* Reads and parses a file; its name in messages is `path`. ML_EIO when it cannot be read. */
int ml_props_load(const char *path, ml_props **out, ml_err *err);
/* Parses `len` bytes of text (NUL bytes not allowed); ML_EINVAL "name:line: ..." for a malformed \u escape. */
int ml_props_parse(const char *text, size_t len, const char *name, ml_props **out, ml_err *err);
void ml_props_free(ml_props *p);

const char *ml_props_name(const ml_props *p);
/* Entries in the order their keys first appeared: 0 <= i < count. */
int ml_props_count(const ml_props *p);
const char *ml_props_key(const ml_props *p, int i);
const char *ml_props_value(const ml_props *p, int i);
/* The 1-based line where the entry (its last setting) starts; 0 when set by ml_props_set. */
int ml_props_line(const ml_props *p, int i);
/* The value of `key`, NULL when absent. */
const char *ml_props_get(const ml_props *p, const char *key);
/* Adds or replaces an entry (copies both strings); `line` 0 when it comes from no file. ML_ENOMEM. */
int ml_props_set(ml_props *p, const char *key, const char *value);
int ml_props_set_line(ml_props *p, const char *key, const char *value, int line);

/* Typed values. ml_parse_int64: an optional sign and decimal digits, nothing else (no blanks);
 * ML_EINVAL when `s` is not an integer, ML_ERANGE when it is one outside [min, max]. */
int ml_parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);
/* "true" or "false" in any case (as Kafka's ConfigDef); ML_EINVAL otherwise. */
int ml_parse_bool(const char *s, int *out);

#endif
