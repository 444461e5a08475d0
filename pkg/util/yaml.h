#ifndef CS_PKG_UTIL_YAML_H
#define CS_PKG_UTIL_YAML_H
/*
 * YAML <-> JSON conversion (libyaml + jansson), typed the way Kubernetes' YAML decoding types
 * untyped scalars:
 *   - mappings -> objects, sequences -> arrays; keys are always strings (a mapping or sequence
 *     used as a key is an error); duplicate keys in one mapping are an error;
 *   - plain scalars: true/True/TRUE/false/False/FALSE -> bool; null/Null/NULL/~/empty -> null;
 *     decimal integers (optional sign, `_` separators), 0x hex and 0o octal -> integer (an
 *     integer outside int64 becomes a real); decimal floats and exponents -> real;
 *     everything else (including yes/no/on/off and .inf/.nan, which JSON cannot hold) -> string;
 *   - quoted (single, double) and block (| >) scalars are always strings; the tag !!str forces a
 *     string, !!int / !!float / !!bool / !!null are resolved like plain scalars;
 *   - anchors and aliases are expanded (with a size budget against alias bombs), and the merge
 *     key `<<` merges a mapping (or a sequence of mappings) without overriding explicit keys.
 * Errors are written into err as "line L column C: problem" (1-based) and the functions return
 * -1 with *out left NULL. On success they return 0 and *out is a new reference owned by the
 * caller (json_decref it). Reentrant; no shared state; any thread.
 */
#include <jansson.h>
#include <stddef.h>

#include "pkg/util/buf.h"

/* One YAML (or JSON, which is YAML) document. Empty input yields JSON null. More than one
 * document is an error (use cs_yaml_to_json_docs). */
int cs_yaml_to_json(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* Every document of a `---` separated stream, as a JSON array; documents that are empty (or
 * only null) are skipped, so an empty stream yields []. */
int cs_yaml_to_json_docs(const char *text, size_t len, json_t **out, char *err, size_t errlen);

/* Append v as block-style YAML (kubectl layout: sequences under a key are not indented) to b.
 * Strings that a YAML reader would not read back as the same string are double-quoted.
 * Output always ends with a newline. Reals print with 17 significant digits. */
void cs_json_to_yaml(const json_t *v, struct cs_buf *b);

#endif
