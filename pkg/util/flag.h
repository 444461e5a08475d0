#ifndef CS_PKG_UTIL_FLAG_H
#define CS_PKG_UTIL_FLAG_H
/*
 * Command-line flags spelled as kube-scheduler's (pflag) are: "-name", "--name", "--name=value"
 * and "--name value". The programs keep their own tables of names and meanings; this file only
 * splits arguments and reports malformed ones on stderr, prefixed with the program's name.
 */
#include <stdbool.h>
#include <stddef.h>

struct cs_flag {
    const char *arg;             /* the argument as given (borrowed from argv) */
    char key[64];                /* its name without dashes and "=value" */
    const char *val;             /* the text after '=', or NULL */
};

/* Split arg into f. Returns 1 for a flag, 0 for -h/--help, -1 (message on stderr) for an
 * argument that is not a flag. */
int cs_flag_parse(const char *prog, const char *arg, struct cs_flag *f);
/* A flag given without "=value" takes the next argument as its value (advancing *i); returns
 * -1 with a message on stderr when there is none. A flag with "=value" is left as it is. */
int cs_flag_take_value(const char *prog, int argc, char **argv, int *i, struct cs_flag *f);
/* Whether key is one of names (NULL-terminated). */
bool cs_flag_listed(const char *const *names, const char *key);

#endif
