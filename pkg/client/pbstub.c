/* TEMPORARY (removed once api/pbjson.c lands): weak stand-ins so the tree links meanwhile. */
#include <stdio.h>

#include "api/pbjson.h"

__attribute__((weak)) bool cs_pb_known(const char *api_version, const char *kind)
{
    (void)api_version;
    (void)kind;
    return false;
}

__attribute__((weak)) json_t *cs_pb_decode_object(const void *buf, size_t len, char *err,
                                                  size_t errlen)
{
    (void)buf;
    (void)len;
    snprintf(err, errlen, "protobuf decoding not built");
    return NULL;
}

__attribute__((weak)) json_t *cs_pb_decode_watch_event(const void *buf, size_t len, char *err,
                                                       size_t errlen)
{
    return cs_pb_decode_object(buf, len, err, errlen);
}

__attribute__((weak)) int cs_pb_encode_object(const json_t *obj, struct cs_buf *out, char *err,
                                              size_t errlen)
{
    (void)obj;
    (void)out;
    snprintf(err, errlen, "protobuf encoding not built");
    return -1;
}
