#include "pkg/util/flag.h"

#include <stdio.h>
#include <string.h>

int cs_flag_parse(const char *prog, const char *arg, struct cs_flag *f)
{
    f->arg = arg;
    f->val = NULL;
    f->key[0] = '\0';
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        return 0;
    }
    if (arg[0] != '-') {
        fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, arg);
        return -1;
    }
    const char *name = arg + (arg[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    if (eq) {
        snprintf(f->key, sizeof(f->key), "%.*s", (int)(eq - name), name);
        f->val = eq + 1;
    } else {
        snprintf(f->key, sizeof(f->key), "%s", name);
    }
    return 1;
}

int cs_flag_take_value(const char *prog, int argc, char **argv, int *i, struct cs_flag *f)
{
    if (f->val) {
        return 0;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: flag needs an argument: %s\n", prog, f->arg);
        return -1;
    }
    f->val = argv[++*i];
    return 0;
}

bool cs_flag_listed(const char *const *names, const char *key)
{
    for (int k = 0; names[k]; k++) {
        if (strcmp(names[k], key) == 0) {
            return true;
        }
    }
    return false;
}
