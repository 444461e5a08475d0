/* Learnt first-block size of decoded pods (podroom.h). */
#include "api/podroom.h"

static const uint32_t classes[CS_POD_ROOM_CLASSES] = {768,  896,  1024, 1280, 1536,
                                                       1792, 2048, 2560, 3072};

/* Where a new table starts (1 KiB): the learnt class moves down as well as up from there. */
#define START_CLASS 2u

#define ROOM_WINDOW 256u
#define ROOM_SHARE 0.9

void cs_pod_room_init(struct cs_pod_room *r)
{
    atomic_init(&r->cls, START_CLASS);
    for (int i = 0; i < CS_POD_ROOM_CLASSES; i++)
        atomic_init(&r->hist[i], 0);
    atomic_init(&r->reports, 0);
}

size_t cs_pod_room_size(const struct cs_pod_room *r)
{
    uint32_t c = r ? atomic_load_explicit(&r->cls, memory_order_relaxed) : START_CLASS;
    return classes[c < CS_POD_ROOM_CLASSES ? c : START_CLASS];
}

static void choose(struct cs_pod_room *r)
{
    uint32_t h[CS_POD_ROOM_CLASSES], total = 0;
    for (int i = 0; i < CS_POD_ROOM_CLASSES; i++) {
        h[i] = atomic_load_explicit(&r->hist[i], memory_order_relaxed);
        total += h[i];
    }
    if (total == 0)
        return;
    uint32_t want = (uint32_t)((double)total * ROOM_SHARE + 0.999), sum = 0;
    int c = 0;
    while (c < CS_POD_ROOM_CLASSES - 1 && (sum += h[c]) < want)
        c++;
    atomic_store_explicit(&r->cls, (uint32_t)c, memory_order_relaxed);
    for (int i = 0; i < CS_POD_ROOM_CLASSES; i++)
        atomic_fetch_sub_explicit(&r->hist[i], h[i] / 2, memory_order_relaxed);
}

void cs_pod_room_note(struct cs_pod_room *r, size_t bytes)
{
    if (r == NULL)
        return;
    int c = 0;
    while (c < CS_POD_ROOM_CLASSES - 1 && bytes > classes[c])
        c++;
    atomic_fetch_add_explicit(&r->hist[c], 1, memory_order_relaxed);
    if (atomic_fetch_add_explicit(&r->reports, 1, memory_order_relaxed) % ROOM_WINDOW ==
        ROOM_WINDOW - 1)
        choose(r);
}
