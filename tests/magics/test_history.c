/* test_history.c — history_request answers: tail, range, search (glob, n, unique), with
 * and without output, in jupyter_client's shape. */
#include "check.h"
#include "history.h"

static dn_history *h;

static void query(const char *request_json, const char *want)
{
    json_error_t e;
    json_t *req = json_loads(request_json, 0, &e);
    json_t *r = dn_history_query(h, req);
    char *got = json_dumps(r, JSON_COMPACT);
    CHECK(got && !strcmp(got, want), "%s -> %s", request_json, got ? got : "(null)");
    if (!got || strcmp(got, want)) printf("      wanted %s\n", want);
    free(got);
    json_decref(r);
    json_decref(req);
}

int main(void)
{
    h = dn_history_new(1);
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"tail\",\"n\":3}", "{\"history\":[]}");
    dn_history_add(h, 1, "%seed 1", NULL);
    dn_history_add(h, 2, "%pwd", "'/tmp'");
    dn_history_add(h, 3, "!ls data", NULL);
    dn_history_add(h, 4, "%pwd", NULL);
    dn_history_set_output(h, 4, "'/home'");
    dn_history_add(h, 5, "!ls", NULL);

    printf("# tail\n");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"tail\",\"n\":2}",
          "{\"history\":[[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");
    query("{\"output\":true,\"raw\":true,\"hist_access_type\":\"tail\",\"n\":2}",
          "{\"history\":[[1,4,[\"%pwd\",\"'/home'\"]],[1,5,[\"!ls\",null]]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"tail\",\"n\":99}",
          "{\"history\":[[1,1,\"%seed 1\"],[1,2,\"%pwd\"],[1,3,\"!ls data\"],[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");

    printf("# numbers out of int's range are clamped, not cut or undefined\n");
    query("{\"hist_access_type\":\"tail\",\"n\":1e300}",
          "{\"history\":[[1,1,\"%seed 1\"],[1,2,\"%pwd\"],[1,3,\"!ls data\"],[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");
    query("{\"hist_access_type\":\"tail\",\"n\":4294967298}",
          "{\"history\":[[1,1,\"%seed 1\"],[1,2,\"%pwd\"],[1,3,\"!ls data\"],[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");
    query("{\"hist_access_type\":\"tail\",\"n\":-1e300}", "{\"history\":[]}");
    query("{\"hist_access_type\":\"range\",\"session\":0,\"start\":-1e19,\"stop\":3}",
          "{\"history\":[[1,1,\"%seed 1\"],[1,2,\"%pwd\"]]}");
    query("{\"hist_access_type\":\"range\",\"session\":-9223372036854775807,\"start\":1}", "{\"history\":[]}");

    printf("# range (stop exclusive; session 0 is this one, -1 the one before)\n");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"range\",\"session\":1,\"start\":2,\"stop\":3}",
          "{\"history\":[[1,2,\"%pwd\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"range\",\"session\":0,\"start\":4}",
          "{\"history\":[[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"range\",\"session\":-1,\"start\":1,\"stop\":3}",
          "{\"history\":[]}");
    query("{\"output\":true,\"raw\":true,\"hist_access_type\":\"range\",\"session\":1,\"start\":1,\"stop\":3}",
          "{\"history\":[[1,1,[\"%seed 1\",null]],[1,2,[\"%pwd\",\"'/tmp'\"]]]}");

    printf("# search\n");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"search\",\"pattern\":\"!ls*\"}",
          "{\"history\":[[1,3,\"!ls data\"],[1,5,\"!ls\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"search\",\"pattern\":\"%p?d\"}",
          "{\"history\":[[1,2,\"%pwd\"],[1,4,\"%pwd\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"search\",\"pattern\":\"%p?d\",\"unique\":true}",
          "{\"history\":[[1,4,\"%pwd\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"search\",\"pattern\":\"*\",\"n\":2}",
          "{\"history\":[[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"search\",\"pattern\":\"*\",\"n\":3,\"unique\":true}",
          "{\"history\":[[1,3,\"!ls data\"],[1,4,\"%pwd\"],[1,5,\"!ls\"]]}");
    query("{\"output\":false,\"raw\":true,\"hist_access_type\":\"search\",\"pattern\":\"PWD\"}",
          "{\"history\":[]}");
    dn_history_free(h);
    printf("%s\n", check_failures ? "FAILED" : "all passed");
    return check_failures != 0;
}
