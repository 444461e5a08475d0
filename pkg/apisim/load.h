#ifndef CS_PKG_APISIM_LOAD_H
#define CS_PKG_APISIM_LOAD_H
/*
 * Loading objects into the store at start (--cluster FILE): a JSON or YAML document that is a
 * List (`kubectl get -o json` output), a JSON array of objects, a single object, or a YAML
 * stream of several documents. Objects are stored as given (status kept, no admission except
 * node allocatable defaulting); namespaces referenced by objects are created when missing;
 * CRDs are loaded first so their kinds can follow in the same file.
 * Thread context: main thread, before serving (takes the store lock itself).
 */
#include <stddef.h>

struct cs_apisim_store;

/* Returns the number of objects loaded, or -1 with err naming the file and object. */
int cs_apisim_load_file(struct cs_apisim_store *s, const char *path, char *err, size_t errlen);

#endif
