/*
 * NodePorts: Skip without host ports; conflicts by (IP, protocol, port) with 0.0.0.0 as the
 * wildcard, following kube-scheduler's HostPortInfo rules.
 */
#include "test/plugins/plugintest.h"

struct row {
    const char *name;
    const char *want_ports; /* the new pod's container ports (JSON array) */
    const char *used_ports; /* ports of a pod already on the node */
    enum cs_code want;
};

static const struct row rows[] = {
    {"no host ports: prefilter skip", "[{'containerPort':80}]", "[{'containerPort':80,'hostPort':80}]",
     CS_SUCCESS},
    {"free node", "[{'containerPort':80,'hostPort':8080}]", "[]", CS_SUCCESS},
    {"same port, same protocol", "[{'containerPort':80,'hostPort':8080}]",
     "[{'containerPort':81,'hostPort':8080}]", CS_UNSCHEDULABLE},
    {"same port, other protocol", "[{'containerPort':80,'hostPort':8080,'protocol':'UDP'}]",
     "[{'containerPort':80,'hostPort':8080,'protocol':'TCP'}]", CS_SUCCESS},
    {"same port UDP both", "[{'containerPort':53,'hostPort':53,'protocol':'UDP'}]",
     "[{'containerPort':53,'hostPort':53,'protocol':'UDP'}]", CS_UNSCHEDULABLE},
    {"SCTP vs TCP", "[{'containerPort':9,'hostPort':9,'protocol':'SCTP'}]",
     "[{'containerPort':9,'hostPort':9}]", CS_SUCCESS},
    {"other port", "[{'containerPort':80,'hostPort':8081}]",
     "[{'containerPort':80,'hostPort':8080}]", CS_SUCCESS},
    {"different specific IPs", "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.1'}]",
     "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.2'}]", CS_SUCCESS},
    {"same specific IP", "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.1'}]",
     "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.1'}]", CS_UNSCHEDULABLE},
    {"wanted wildcard vs used specific", "[{'containerPort':80,'hostPort':8080,'hostIP':'0.0.0.0'}]",
     "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.1'}]", CS_UNSCHEDULABLE},
    {"wanted specific vs used wildcard (empty hostIP)",
     "[{'containerPort':80,'hostPort':8080,'hostIP':'10.0.0.1'}]",
     "[{'containerPort':80,'hostPort':8080}]", CS_UNSCHEDULABLE},
    {"second wanted port conflicts",
     "[{'containerPort':80,'hostPort':8080},{'containerPort':81,'hostPort':9090}]",
     "[{'containerPort':1,'hostPort':9090}]", CS_UNSCHEDULABLE},
};

static void test_rows(void **state)
{
    (void)state;
    char node[256], used[1024], want[1024];
    snprintf(node, sizeof(node), "{'metadata':{'name':'n1'}}");
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct row *r = &rows[i];
        struct pt_env e;
        pt_env_init(&e, &cs_plugin_nodeports, NULL);
        snprintf(used, sizeof(used),
                 "{'metadata':{'name':'old','namespace':'ns'},'spec':{'nodeName':'n1',"
                 "'containers':[{'name':'c','ports':%s}]}}",
                 r->used_ports);
        struct cs_node_info *ni = pt_add_node(&e, node, used, PT_END);
        snprintf(want, sizeof(want),
                 "{'metadata':{'name':'new','namespace':'ns'},'spec':{'containers':["
                 "{'name':'c','ports':%s}]}}",
                 r->want_ports);
        struct cs_pod *pod = pt_pod(&e, want);
        struct cs_status st;
        enum cs_code got = pt_filter(&e, pod, ni, &st);
        if (got != r->want) {
            print_error("row %zu (%s): got %d want %d\n", i, r->name, got, r->want);
        }
        assert_int_equal(got, r->want);
        if (r->want == CS_SUCCESS) {
            assert_int_equal(st.n_reasons, 0);
        } else {
            const char *reasons[] = {"node(s) didn't have free ports for the requested pod ports",
                                     NULL};
            pt_assert_reasons(&st, reasons);
        }
        cs_pod_unref(pod);
        pt_env_destroy(&e);
    }
}

static void test_prefilter_skip(void **state)
{
    (void)state;
    struct pt_env e;
    pt_env_init(&e, &cs_plugin_nodeports, NULL);
    struct cs_pod *pod = pt_pod(&e, "{'metadata':{'name':'a','namespace':'ns'},'spec':{"
                                    "'containers':[{'name':'c','ports':[{'containerPort':80}]}]}}");
    struct cs_status st;
    memset(&st, 0, sizeof(st));
    assert_int_equal(e.pl->pre_filter(&e.call, pod, &st), CS_SKIP);
    cs_pod_unref(pod);
    pod = pt_pod(&e, "{'metadata':{'name':'b','namespace':'ns'},'spec':{"
                     "'containers':[{'name':'c','ports':[{'containerPort':80,'hostPort':80}]}]}}");
    assert_int_equal(e.pl->pre_filter(&e.call, pod, &st), CS_SUCCESS);
    cs_pod_unref(pod);
    pt_env_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_rows),
                                       cmocka_unit_test(test_prefilter_skip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
