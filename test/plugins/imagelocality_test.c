/*
 * ImageLocality: scores computed by hand from upstream's formula
 *   sum    = sum over the pod's images present on the node of int64(size * nodesWithImage/allNodes)
 *   max    = 1000MiB * (containers + init containers), min = 23MiB, sum clamped to [min, max]
 *   score  = 100 * (sum - min) / (max - min)
 * with tag normalisation (":latest" when no tag).
 */
#include "test/plugins/plugintest.h"

#define MB 1048576LL

static void env3(struct pt_env *e)
{
    char buf[1024];
    pt_env_init(e, &cs_plugin_imagelocality, NULL);
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'n0'},'status':{'images':["
             "{'names':['gcr.io/40:latest','gcr.io/40:v1'],'sizeBytes':%lld},"
             "{'names':['gcr.io/300:latest'],'sizeBytes':%lld}]}}",
             40 * MB, 300 * MB);
    pt_add_node(e, buf, PT_END);
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'n1'},'status':{'images':["
             "{'names':['gcr.io/300:latest'],'sizeBytes':%lld},"
             "{'names':['gcr.io/2000:latest'],'sizeBytes':%lld}]}}",
             300 * MB, 2000 * MB);
    pt_add_node(e, buf, PT_END);
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'n2'},'status':{'images':["
             "{'names':['localhost:5000/app:latest'],'sizeBytes':%lld},"
             "{'names':['nginx:latest'],'sizeBytes':%lld}]}}",
             500 * MB, 900 * MB);
    pt_add_node(e, buf, PT_END);
}

static void expect(struct pt_env *e, const char *spec, int64_t s0, int64_t s1, int64_t s2)
{
    char buf[1024];
    snprintf(buf, sizeof(buf), "{'metadata':{'name':'p','namespace':'ns'},'spec':{%s}}", spec);
    struct cs_pod *p = pt_pod(e, buf);
    int64_t s[PT_MAX_NODES];
    assert_int_equal(pt_score_all(e, p, s), CS_SUCCESS);
    if (s[0] != s0 || s[1] != s1 || s[2] != s2) {
        print_error("%s: got %lld %lld %lld\n", spec, (long long)s[0], (long long)s[1],
                    (long long)s[2]);
    }
    assert_int_equal(s[0], s0);
    assert_int_equal(s[1], s1);
    assert_int_equal(s[2], s2);
    cs_pod_unref(p);
}

static void test_scores(void **state)
{
    (void)state;
    struct pt_env e;
    env3(&e);
    /* two containers: gcr.io/40 (untagged -> :latest; on 1 of 3 nodes) and gcr.io/300:latest
     * (on 2 of 3). n0: int(40MiB/3) + int(300MiB*2/3) = 13981013 + 209715200; max 2000MiB:
     * 100*(223696213-24117248)/(2097152000-24117248) = 9. n1: 209715200 -> 8. n2: none -> 0. */
    expect(&e, "'containers':[{'name':'a','image':'gcr.io/40'},{'name':'b','image':'gcr.io/300:latest'}]",
           9, 8, 0);
    /* one container, 2000MiB on 1 of 3 nodes: int(2000MiB/3) = 699050666, below the 1000MiB cap:
     * 100*(699050666-24117248)/(1048576000-24117248) = 65 */
    expect(&e, "'containers':[{'name':'a','image':'gcr.io/2000:latest'}]", 0, 65, 0);
    /* init containers count for images and for the threshold: gcr.io/300 via the init container,
     * 2 containers in all -> same as the 300MiB-only sum above: 8, 8, 0 */
    expect(&e, "'initContainers':[{'name':'i','image':'gcr.io/300'}],"
               "'containers':[{'name':'a','image':'busybox:1.36'}]",
           8, 8, 0);
    /* a registry port is not a tag: localhost:5000/app -> localhost:5000/app:latest;
     * int(500MiB/3) = 174762666 -> 100*(174762666-24117248)/(1048576000-24117248) = 14 */
    expect(&e, "'containers':[{'name':'a','image':'localhost:5000/app'}]", 0, 0, 14);
    /* registries are not rewritten (as upstream): docker.io/library/nginx != nginx:latest;
     * small images stay at the 23MiB floor -> 0 */
    expect(&e, "'containers':[{'name':'a','image':'docker.io/library/nginx'}]", 0, 0, 0);
    expect(&e, "'containers':[{'name':'a','image':'gcr.io/40:v1'}]", 0, 0, 0);
    pt_env_destroy(&e);
}

static void test_max_threshold(void **state)
{
    (void)state;
    /* one node holding a 3000MiB image: spread 1/1, clamped to 1000MiB x 1 container -> 100 */
    char buf[512];
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_imagelocality, NULL);
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'n0'},'status':{'images':[{'names':['big:1'],'sizeBytes':%lld}]}}",
             3000 * MB);
    pt_add_node(&e, buf, PT_END);
    struct cs_pod *p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':"
                                  "[{'name':'a','image':'big:1'}]}}");
    int64_t s[PT_MAX_NODES];
    pt_score_all(&e, p, s);
    assert_int_equal(s[0], 100);
    cs_pod_unref(p);
    /* exactly 23MiB is the floor: score 0; 24MiB -> 100*(1MiB)/(977MiB) = 0 still;
     * 33MiB -> 100*10/977 = 1 */
    pt_env_destroy(&e);
    pt_env_init(&e, &cs_plugin_imagelocality, NULL);
    snprintf(buf, sizeof(buf),
             "{'metadata':{'name':'n0'},'status':{'images':[{'names':['a:1'],'sizeBytes':%lld},"
             "{'names':['b:1'],'sizeBytes':%lld}]}}",
             23 * MB, 33 * MB);
    pt_add_node(&e, buf, PT_END);
    p = pt_pod(&e, "{'metadata':{'name':'p','namespace':'ns'},'spec':{'containers':"
                   "[{'name':'a','image':'a:1'}]}}");
    pt_score_all(&e, p, s);
    assert_int_equal(s[0], 0);
    cs_pod_unref(p);
    p = pt_pod(&e, "{'metadata':{'name':'q','namespace':'ns'},'spec':{'containers':"
                   "[{'name':'a','image':'b:1'}]}}");
    pt_score_all(&e, p, s);
    assert_int_equal(s[0], 1);
    cs_pod_unref(p);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_scores),
                                       cmocka_unit_test(test_max_threshold)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
