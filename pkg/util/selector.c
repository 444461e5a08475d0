/*
 * Label selectors: three front ends (string syntax, LabelSelector JSON, NodeSelectorRequirement
 * JSON) feed one builder that owns temporary heap arrays while parsing and, on success, lays the
 * finished selector out in an arena (the caller's, or a private one for heap selectors). The
 * finished form is flat, const and sorted, so matching is a few strcmp calls with no allocation.
 *
 * The string front end is a hand lexer over the bytes of the query: identifiers are maximal runs
 * of anything but whitespace and the symbols ! = ( ) , < >; `in` and `notin` are recognised only
 * where an operator is expected. Grammar:
 *   selector    := "" | req ("," req)*
 *   req         := "!" key | key | key ("="|"=="|"!="|"<"|">") [value] | key ("in"|"notin") set
 *   set         := "(" [value] ("," [value])* ")"          -- empty items are the value ""
 */
#include "pkg/util/selector.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pkg/util/alloc.h"

#define SEL_TEXT_MAX 120 /* how much of a bad selector string to quote in errors */

/* ---- validation ----------------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (errlen == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], length 1..63 (or 0 when allow_empty). */
static int check_name_part(const char *s, size_t len, int allow_empty, const char *what, char *err,
                           size_t errlen)
{
    if (len == 0) {
        if (allow_empty) {
            return 0;
        }
        set_err(err, errlen, "%s must be non-empty", what);
        return -1;
    }
    if (len > 63) {
        set_err(err, errlen, "%s must be no more than 63 characters", what);
        return -1;
    }
    if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1])) {
        set_err(err, errlen, "%s must begin and end with an alphanumeric character", what);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.') {
            set_err(err, errlen,
                    "%s may contain only alphanumerics, '-', '_' and '.' (found '%c')", what,
                    isprint(c) ? c : '?');
            return -1;
        }
    }
    return 0;
}

/* DNS-1123 subdomain: dot-separated labels of [a-z0-9-], each starting/ending alphanumeric. */
static int check_dns_subdomain(const char *s, size_t len, char *err, size_t errlen)
{
    if (len > 253) {
        set_err(err, errlen, "prefix must be no more than 253 characters");
        return -1;
    }
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            unsigned char c = (unsigned char)s[i];
            if (!(islower(c) || isdigit(c) || c == '-')) {
                set_err(err, errlen,
                        "prefix must be a lowercase DNS subdomain ([a-z0-9-.], found '%c')",
                        isprint(c) ? c : '?');
                return -1;
            }
            continue;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-') {
            set_err(err, errlen, "prefix must be a DNS subdomain (empty label or label "
                                 "starting/ending with '-')");
            return -1;
        }
        start = i + 1;
    }
    return 0;
}

int cs_selector_validate_key(const char *key, char *err, size_t errlen)
{
    const char *slash = strchr(key, '/');
    if (slash == NULL) {
        return check_name_part(key, strlen(key), 0, "key name", err, errlen);
    }
    if (strchr(slash + 1, '/') != NULL) {
        set_err(err, errlen, "key may contain at most one '/'");
        return -1;
    }
    if (slash == key) {
        set_err(err, errlen, "key prefix must be non-empty");
        return -1;
    }
    if (check_dns_subdomain(key, (size_t)(slash - key), err, errlen) < 0) {
        return -1;
    }
    return check_name_part(slash + 1, strlen(slash + 1), 0, "key name", err, errlen);
}

int cs_selector_validate_value(const char *value, char *err, size_t errlen)
{
    return check_name_part(value, strlen(value), 1, "value", err, errlen);
}

/* Strict base-10 int64 (optional sign, no spaces). No allocation. */
static int parse_i64(const char *s, long long *out)
{
    if (s[0] == '\0' || isspace((unsigned char)s[0])) {
        return -1;
    }
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return -1;
    }
    *out = v;
    return 0;
}

/* ---- builder -------------------------------------------------------------------------- */

struct sel_builder {
    struct cs_arena *a;            /* destination arena */
    struct cs_selector_req *reqs;  /* heap, grown */
    size_t n, cap;
    const char **vals;             /* heap, values of the requirement being built */
    size_t nv, capv;
};

static void sb_value(struct sel_builder *b, const char *s, size_t len)
{
    b->vals = cs_grow(b->vals, sizeof(*b->vals), b->nv + 1, &b->capv);
    b->vals[b->nv++] = cs_arena_strndup(b->a, s, len);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Close the current requirement: sorted, unique copy of the pending values into the arena. */
static void sb_req(struct sel_builder *b, const char *key, enum cs_selector_op op, long long num)
{
    if (b->nv > 1) {
        qsort(b->vals, b->nv, sizeof(*b->vals), cmp_str);
    }
    size_t u = 0;
    for (size_t i = 0; i < b->nv; i++) {
        if (u == 0 || strcmp(b->vals[u - 1], b->vals[i]) != 0) {
            b->vals[u++] = b->vals[i];
        }
    }
    const char **vals = NULL;
    if (u > 0) {
        vals = CS_ARENA_ARRAY(b->a, const char *, u);
        memcpy(vals, b->vals, u * sizeof(*vals));
    }
    b->reqs = cs_grow(b->reqs, sizeof(*b->reqs), b->n + 1, &b->cap);
    struct cs_selector_req *r = &b->reqs[b->n++];
    r->key = key;
    r->op = op;
    r->values = vals;
    r->nvalues = u;
    r->num = num;
    b->nv = 0;
}

static void sb_init(struct sel_builder *b, struct cs_arena *dest, struct cs_arena **own)
{
    memset(b, 0, sizeof(*b));
    *own = NULL;
    if (dest == NULL) {
        *own = cs_malloc(sizeof(**own));
        cs_arena_init(*own, 1024);
        dest = *own;
    }
    b->a = dest;
}

/* On success lay out the selector; on failure release the private arena. Frees heap temps. */
static int sb_finish(struct sel_builder *b, struct cs_arena *own, int ok, struct cs_selector **out)
{
    *out = NULL;
    if (ok) {
        /* Stable insertion sort by key: requirements stay in input order within one key. */
        for (size_t i = 1; i < b->n; i++) {
            struct cs_selector_req t = b->reqs[i];
            size_t j = i;
            while (j > 0 && strcmp(b->reqs[j - 1].key, t.key) > 0) {
                b->reqs[j] = b->reqs[j - 1];
                j--;
            }
            b->reqs[j] = t;
        }
        struct cs_selector *sel = CS_ARENA_NEW(b->a, struct cs_selector);
        if (b->n > 0) {
            struct cs_selector_req *reqs = CS_ARENA_ARRAY(b->a, struct cs_selector_req, b->n);
            memcpy(reqs, b->reqs, b->n * sizeof(*reqs));
            sel->reqs = reqs;
        }
        sel->nreqs = b->n;
        sel->own = own;
        *out = sel;
    } else if (own != NULL) {
        cs_arena_destroy(own);
        cs_free(own);
    }
    cs_free(b->reqs);
    cs_free(b->vals);
    b->reqs = NULL;
    b->vals = NULL;
    return ok ? 0 : -1;
}

void cs_selector_free(struct cs_selector *sel)
{
    if (sel == NULL || sel->own == NULL) {
        return;
    }
    struct cs_arena *own = sel->own;
    cs_arena_destroy(own); /* sel itself lives in this arena */
    cs_free(own);
}

/* ---- string syntax -------------------------------------------------------------------- */

enum tok_type { T_END, T_IDENT, T_COMMA, T_OPEN, T_CLOSE, T_NOT, T_EQ, T_DEQ, T_NEQ, T_GT, T_LT };

struct tok {
    enum tok_type type;
    const char *start;
    size_t len;
    size_t pos;
};

struct lexer {
    const char *s;
    size_t pos;
};

static int is_special(char c)
{
    return c == '!' || c == '=' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>';
}

static struct tok lex_next(struct lexer *l)
{
    const char *s = l->s;
    while (isspace((unsigned char)s[l->pos])) {
        l->pos++;
    }
    struct tok t = { T_END, s + l->pos, 0, l->pos };
    char c = s[l->pos];
    size_t w = 1;
    switch (c) {
    case '\0':
        return t;
    case ',':
        t.type = T_COMMA;
        break;
    case '(':
        t.type = T_OPEN;
        break;
    case ')':
        t.type = T_CLOSE;
        break;
    case '<':
        t.type = T_LT;
        break;
    case '>':
        t.type = T_GT;
        break;
    case '!':
        t.type = T_NOT;
        if (s[l->pos + 1] == '=') {
            t.type = T_NEQ;
            w = 2;
        }
        break;
    case '=':
        t.type = T_EQ;
        if (s[l->pos + 1] == '=') {
            t.type = T_DEQ;
            w = 2;
        }
        break;
    default:
        t.type = T_IDENT;
        w = 0;
        while (s[l->pos + w] != '\0' && !isspace((unsigned char)s[l->pos + w]) &&
               !is_special(s[l->pos + w])) {
            w++;
        }
    }
    t.len = w;
    l->pos += w;
    return t;
}

static struct tok lex_peek(struct lexer *l)
{
    size_t save = l->pos;
    struct tok t = lex_next(l);
    l->pos = save;
    return t;
}

static int tok_is(const struct tok *t, const char *word)
{
    return t->type == T_IDENT && t->len == strlen(word) && memcmp(t->start, word, t->len) == 0;
}

struct str_parser {
    struct lexer lx;
    struct sel_builder *b;
    char *err;
    size_t errlen;
};

static void sp_err(struct str_parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void sp_err(struct str_parser *p, size_t pos, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    set_err(p->err, p->errlen, "label selector \"%.*s%s\": at position %zu: %s", SEL_TEXT_MAX,
            p->lx.s, strlen(p->lx.s) > SEL_TEXT_MAX ? "..." : "", pos, msg);
}

static const char *tok_desc(const struct tok *t)
{
    switch (t->type) {
    case T_END:
        return "end of string";
    case T_IDENT:
        return "identifier";
    case T_COMMA:
        return "','";
    case T_OPEN:
        return "'('";
    case T_CLOSE:
        return "')'";
    case T_NOT:
        return "'!'";
    case T_EQ:
        return "'='";
    case T_DEQ:
        return "'=='";
    case T_NEQ:
        return "'!='";
    case T_GT:
        return "'>'";
    case T_LT:
        return "'<'";
    }
    return "?";
}

/* Copy an identifier token into the arena and validate it as a key. */
static const char *sp_key(struct str_parser *p, const struct tok *t)
{
    char why[160];
    const char *key = cs_arena_strndup(p->b->a, t->start, t->len);
    if (cs_selector_validate_key(key, why, sizeof(why)) < 0) {
        sp_err(p, t->pos, "invalid key \"%s\": %s", key, why);
        return NULL;
    }
    return key;
}

static int sp_value(struct str_parser *p, const struct tok *t, int validate)
{
    char why[160];
    sb_value(p->b, t->start, t->len);
    const char *v = p->b->vals[p->b->nv - 1];
    if (validate && cs_selector_validate_value(v, why, sizeof(why)) < 0) {
        sp_err(p, t->pos, "invalid value \"%s\": %s", v, why);
        return -1;
    }
    return 0;
}

static int sp_set(struct str_parser *p)
{
    struct tok t = lex_next(&p->lx);
    if (t.type != T_OPEN) {
        sp_err(p, t.pos, "expected '(' after in/notin, found %s", tok_desc(&t));
        return -1;
    }
    for (;;) {
        t = lex_peek(&p->lx);
        if (t.type == T_IDENT) {
            lex_next(&p->lx);
            if (sp_value(p, &t, 1) < 0) {
                return -1;
            }
        } else {
            sb_value(p->b, "", 0); /* "()", "(,a)", "(a,)" carry an empty value */
        }
        t = lex_next(&p->lx);
        if (t.type == T_CLOSE) {
            return 0;
        }
        if (t.type != T_COMMA) {
            sp_err(p, t.pos, "expected ',' or ')' in value set, found %s", tok_desc(&t));
            return -1;
        }
    }
}

static int sp_requirement(struct str_parser *p)
{
    struct tok t = lex_next(&p->lx);
    const char *key;
    if (t.type == T_NOT) {
        t = lex_next(&p->lx);
        if (t.type != T_IDENT) {
            sp_err(p, t.pos, "expected a key after '!', found %s", tok_desc(&t));
            return -1;
        }
        key = sp_key(p, &t);
        if (key == NULL) {
            return -1;
        }
        sb_req(p->b, key, CS_SEL_DOES_NOT_EXIST, 0);
        return 0;
    }
    if (t.type != T_IDENT) {
        sp_err(p, t.pos, "expected a key or '!', found %s", tok_desc(&t));
        return -1;
    }
    key = sp_key(p, &t);
    if (key == NULL) {
        return -1;
    }
    struct tok op = lex_peek(&p->lx);
    if (op.type == T_END || op.type == T_COMMA) {
        sb_req(p->b, key, CS_SEL_EXISTS, 0);
        return 0;
    }
    lex_next(&p->lx);
    enum cs_selector_op sop;
    switch (op.type) {
    case T_EQ:
        sop = CS_SEL_EQUALS;
        break;
    case T_DEQ:
        sop = CS_SEL_DOUBLE_EQUALS;
        break;
    case T_NEQ:
        sop = CS_SEL_NOT_EQUALS;
        break;
    case T_GT:
        sop = CS_SEL_GT;
        break;
    case T_LT:
        sop = CS_SEL_LT;
        break;
    default:
        if (tok_is(&op, "in") || tok_is(&op, "notin")) {
            sop = tok_is(&op, "in") ? CS_SEL_IN : CS_SEL_NOT_IN;
            if (sp_set(p) < 0) {
                return -1;
            }
            sb_req(p->b, key, sop, 0);
            return 0;
        }
        sp_err(p, op.pos, "expected an operator (=, ==, !=, in, notin, <, >) after key \"%s\", "
                          "found %s",
               key, tok_desc(&op));
        return -1;
    }
    t = lex_peek(&p->lx);
    long long num = 0;
    if (t.type == T_IDENT) {
        lex_next(&p->lx);
        if (sp_value(p, &t, sop != CS_SEL_GT && sop != CS_SEL_LT) < 0) {
            return -1;
        }
    } else if (t.type == T_END || t.type == T_COMMA) {
        sb_value(p->b, "", 0);
    } else {
        sp_err(p, t.pos, "expected a value after the operator, found %s", tok_desc(&t));
        return -1;
    }
    if (sop == CS_SEL_GT || sop == CS_SEL_LT) {
        if (parse_i64(p->b->vals[0], &num) < 0) {
            sp_err(p, t.pos, "the value of '%s' must be an integer, found \"%s\"",
                   sop == CS_SEL_GT ? ">" : "<", p->b->vals[0]);
            return -1;
        }
    }
    sb_req(p->b, key, sop, num);
    return 0;
}

int cs_selector_parse(const char *text, struct cs_arena *a, struct cs_selector **out, char *err,
                      size_t errlen)
{
    struct sel_builder b;
    struct cs_arena *own;
    struct str_parser p = { { text, 0 }, &b, err, errlen };
    int ok = 0;

    sb_init(&b, a, &own);
    struct tok t = lex_peek(&p.lx);
    if (t.type != T_END) {
        for (;;) {
            if (sp_requirement(&p) < 0) {
                goto done;
            }
            t = lex_next(&p.lx);
            if (t.type == T_END) {
                break;
            }
            if (t.type != T_COMMA) {
                sp_err(&p, t.pos, "expected ',' or end of string, found %s", tok_desc(&t));
                goto done;
            }
        }
    }
    ok = 1;
done:
    return sb_finish(&b, own, ok, out);
}

/* ---- JSON front ends ------------------------------------------------------------------ */

struct json_ctx {
    struct sel_builder *b;
    const char *path;
    char *err;
    size_t errlen;
};

static void jx_err(struct json_ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void jx_err(struct json_ctx *c, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int has_path = c->path != NULL && c->path[0] != '\0';
    set_err(c->err, c->errlen, "%s%s%s: %s", has_path ? c->path : "",
            has_path && field[0] != '[' ? "." : "", field, msg);
}

static const char *op_name(enum cs_selector_op op)
{
    static const char *const names[] = {
        [CS_SEL_IN] = "In",           [CS_SEL_NOT_IN] = "NotIn",  [CS_SEL_EXISTS] = "Exists",
        [CS_SEL_DOES_NOT_EXIST] = "DoesNotExist", [CS_SEL_GT] = "Gt", [CS_SEL_LT] = "Lt",
        [CS_SEL_EQUALS] = "=",        [CS_SEL_DOUBLE_EQUALS] = "==", [CS_SEL_NOT_EQUALS] = "!=",
    };
    return names[op];
}

/* One {key, operator, values} requirement at arrays[idx]; node=1 allows Gt/Lt and skips value
 * syntax validation (as NodeSelectorRequirement validation does). */
static int jx_requirement(struct json_ctx *c, const char *arrname, size_t idx, const json_t *r,
                          int node)
{
    char field[96];
    char why[160];
    snprintf(field, sizeof(field), "%s[%zu]", arrname, idx);
    if (!json_is_object(r)) {
        jx_err(c, field, "must be an object");
        return -1;
    }
    const json_t *jk = json_object_get(r, "key");
    const json_t *jo = json_object_get(r, "operator");
    const json_t *jv = json_object_get(r, "values");
    snprintf(field, sizeof(field), "%s[%zu].key", arrname, idx);
    if (!json_is_string(jk)) {
        jx_err(c, field, jk == NULL ? "required" : "must be a string");
        return -1;
    }
    const char *key = cs_arena_strdup(c->b->a, json_string_value(jk));
    if (cs_selector_validate_key(key, why, sizeof(why)) < 0) {
        jx_err(c, field, "invalid key \"%s\": %s", key, why);
        return -1;
    }
    snprintf(field, sizeof(field), "%s[%zu].operator", arrname, idx);
    if (!json_is_string(jo)) {
        jx_err(c, field, jo == NULL ? "required" : "must be a string");
        return -1;
    }
    const char *ops = json_string_value(jo);
    enum cs_selector_op op;
    if (strcmp(ops, "In") == 0) {
        op = CS_SEL_IN;
    } else if (strcmp(ops, "NotIn") == 0) {
        op = CS_SEL_NOT_IN;
    } else if (strcmp(ops, "Exists") == 0) {
        op = CS_SEL_EXISTS;
    } else if (strcmp(ops, "DoesNotExist") == 0) {
        op = CS_SEL_DOES_NOT_EXIST;
    } else if (node && strcmp(ops, "Gt") == 0) {
        op = CS_SEL_GT;
    } else if (node && strcmp(ops, "Lt") == 0) {
        op = CS_SEL_LT;
    } else {
        jx_err(c, field, "unsupported operator \"%s\" (want %s)", ops,
               node ? "In, NotIn, Exists, DoesNotExist, Gt or Lt"
                    : "In, NotIn, Exists or DoesNotExist");
        return -1;
    }
    snprintf(field, sizeof(field), "%s[%zu].values", arrname, idx);
    if (jv != NULL && !json_is_null(jv) && !json_is_array(jv)) {
        jx_err(c, field, "must be an array of strings");
        return -1;
    }
    size_t nv = json_array_size(jv); /* 0 for NULL / null */
    switch (op) {
    case CS_SEL_IN:
    case CS_SEL_NOT_IN:
        if (nv == 0) {
            jx_err(c, field, "must be non-empty when operator is %s", op_name(op));
            return -1;
        }
        break;
    case CS_SEL_EXISTS:
    case CS_SEL_DOES_NOT_EXIST:
        if (nv != 0) {
            jx_err(c, field, "must be empty when operator is %s", op_name(op));
            return -1;
        }
        break;
    default:
        if (nv != 1) {
            jx_err(c, field, "must have exactly one value when operator is %s", op_name(op));
            return -1;
        }
        break;
    }
    for (size_t i = 0; i < nv; i++) {
        const json_t *v = json_array_get(jv, i);
        snprintf(field, sizeof(field), "%s[%zu].values[%zu]", arrname, idx, i);
        if (!json_is_string(v)) {
            jx_err(c, field, "must be a string");
            return -1;
        }
        sb_value(c->b, json_string_value(v), strlen(json_string_value(v)));
        if (cs_selector_validate_value(json_string_value(v), why, sizeof(why)) < 0) {
            jx_err(c, field, "invalid value \"%s\": %s", json_string_value(v), why);
            return -1;
        }
    }
    long long num = 0;
    if ((op == CS_SEL_GT || op == CS_SEL_LT) && parse_i64(c->b->vals[0], &num) < 0) {
        snprintf(field, sizeof(field), "%s[%zu].values[0]", arrname, idx);
        jx_err(c, field, "must be an integer for operator %s, found \"%s\"", op_name(op),
               c->b->vals[0]);
        return -1;
    }
    sb_req(c->b, key, op, num);
    return 0;
}

int cs_selector_from_label_selector(const json_t *j, const char *path, struct cs_arena *a,
                                    struct cs_selector **out, char *err, size_t errlen)
{
    struct sel_builder b;
    struct cs_arena *own;
    struct json_ctx c = { &b, path, err, errlen };
    int ok = 0;
    char why[160];

    *out = NULL;
    if (j == NULL || json_is_null(j)) {
        return 0;
    }
    sb_init(&b, a, &own);
    if (!json_is_object(j)) {
        set_err(err, errlen, "%s: must be an object", path && path[0] ? path : "labelSelector");
        goto done;
    }
    const json_t *ml = json_object_get(j, "matchLabels");
    if (ml != NULL && !json_is_null(ml)) {
        if (!json_is_object(ml)) {
            jx_err(&c, "matchLabels", "must be an object of strings");
            goto done;
        }
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)(uintptr_t)ml, k, v) {
            char field[320];
            snprintf(field, sizeof(field), "matchLabels.%s", k);
            if (!json_is_string(v)) {
                jx_err(&c, field, "must be a string");
                goto done;
            }
            if (cs_selector_validate_key(k, why, sizeof(why)) < 0) {
                jx_err(&c, field, "invalid key: %s", why);
                goto done;
            }
            if (cs_selector_validate_value(json_string_value(v), why, sizeof(why)) < 0) {
                jx_err(&c, field, "invalid value \"%s\": %s", json_string_value(v), why);
                goto done;
            }
            sb_value(&b, json_string_value(v), strlen(json_string_value(v)));
            sb_req(&b, cs_arena_strdup(b.a, k), CS_SEL_EQUALS, 0);
        }
    }
    const json_t *me = json_object_get(j, "matchExpressions");
    if (me != NULL && !json_is_null(me)) {
        if (!json_is_array(me)) {
            jx_err(&c, "matchExpressions", "must be an array");
            goto done;
        }
        for (size_t i = 0; i < json_array_size(me); i++) {
            if (jx_requirement(&c, "matchExpressions", i, json_array_get(me, i), 0) < 0) {
                goto done;
            }
        }
    }
    ok = 1;
done:
    return sb_finish(&b, own, ok, out);
}

int cs_selector_from_node_requirements(const json_t *arr, const char *path, struct cs_arena *a,
                                       struct cs_selector **out, char *err, size_t errlen)
{
    struct sel_builder b;
    struct cs_arena *own;
    struct json_ctx c = { &b, path, err, errlen };
    int ok = 0;

    sb_init(&b, a, &own);
    if (arr != NULL && !json_is_null(arr)) {
        if (!json_is_array(arr)) {
            set_err(err, errlen, "%s: must be an array", path && path[0] ? path : "requirements");
            goto done;
        }
        for (size_t i = 0; i < json_array_size(arr); i++) {
            if (jx_requirement(&c, "", i, json_array_get(arr, i), 1) < 0) {
                goto done;
            }
        }
    }
    ok = 1;
done:
    return sb_finish(&b, own, ok, out);
}

/* ---- matching and printing ------------------------------------------------------------ */

static const char *find_label(const struct cs_label *labels, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(labels[i].key, key) == 0) {
            return labels[i].value ? labels[i].value : "";
        }
    }
    return NULL;
}

static int has_value(const struct cs_selector_req *r, const char *v)
{
    size_t lo = 0, hi = r->nvalues;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->values[mid], v);
        if (c == 0) {
            return 1;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return 0;
}

static int req_matches(const struct cs_selector_req *r, const struct cs_label *labels, size_t n)
{
    const char *v = find_label(labels, n, r->key);
    long long num;
    switch (r->op) {
    case CS_SEL_IN:
    case CS_SEL_EQUALS:
    case CS_SEL_DOUBLE_EQUALS:
        return v != NULL && has_value(r, v);
    case CS_SEL_NOT_IN:
    case CS_SEL_NOT_EQUALS:
        return v == NULL || !has_value(r, v);
    case CS_SEL_EXISTS:
        return v != NULL;
    case CS_SEL_DOES_NOT_EXIST:
        return v == NULL;
    case CS_SEL_GT:
        return v != NULL && parse_i64(v, &num) == 0 && num > r->num;
    case CS_SEL_LT:
        return v != NULL && parse_i64(v, &num) == 0 && num < r->num;
    }
    return 0;
}

int cs_selector_matches(const struct cs_selector *sel, const struct cs_label *labels, size_t n)
{
    if (sel == NULL) {
        return 0;
    }
    for (size_t i = 0; i < sel->nreqs; i++) {
        if (!req_matches(&sel->reqs[i], labels, n)) {
            return 0;
        }
    }
    return 1;
}

int cs_selector_is_empty(const struct cs_selector *sel)
{
    return sel != NULL && sel->nreqs == 0;
}

void cs_selector_to_string(const struct cs_selector *sel, struct cs_buf *b)
{
    if (sel == NULL) {
        return;
    }
    for (size_t i = 0; i < sel->nreqs; i++) {
        const struct cs_selector_req *r = &sel->reqs[i];
        if (i > 0) {
            cs_buf_putc(b, ',');
        }
        if (r->op == CS_SEL_DOES_NOT_EXIST) {
            cs_buf_putc(b, '!');
        }
        cs_buf_puts(b, r->key);
        switch (r->op) {
        case CS_SEL_EXISTS:
        case CS_SEL_DOES_NOT_EXIST:
            break;
        case CS_SEL_IN:
        case CS_SEL_NOT_IN:
            cs_buf_puts(b, r->op == CS_SEL_IN ? " in (" : " notin (");
            for (size_t k = 0; k < r->nvalues; k++) {
                if (k > 0) {
                    cs_buf_putc(b, ',');
                }
                cs_buf_puts(b, r->values[k]);
            }
            cs_buf_putc(b, ')');
            break;
        default:
            cs_buf_puts(b, r->op == CS_SEL_EQUALS         ? "="
                           : r->op == CS_SEL_DOUBLE_EQUALS ? "=="
                           : r->op == CS_SEL_NOT_EQUALS    ? "!="
                           : r->op == CS_SEL_GT            ? ">"
                                                           : "<");
            cs_buf_puts(b, r->nvalues > 0 ? r->values[0] : "");
        }
    }
}
