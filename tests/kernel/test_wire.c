/* test_wire.c — the wire format: build/parse round trip with identities and buffers, every
 * malformed-frame case, UTF-8 repair and ISO dates. */
#include "check.h"
#include "client.h"
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static int parse_rc(const dn_frames *f, char *err, size_t errlen)
{
    dn_msg m;
    int rc = dn_wire_parse(f, client_signer(), &m, err, errlen);
    if (rc != DN_WIRE_DROP) dn_msg_fini(&m);
    return rc;
}

int main(void)
{
    char err[256];
    /* round trip */
    dn_msg m = { 0 };
    dn_frames_push(&m.ids, "id-a", 4);
    dn_frames_push(&m.ids, "id-b", 4);
    m.header = json_pack("{s:s, s:s}", "msg_id", "m1", "msg_type", "execute_request");
    m.parent = json_object();
    m.metadata = json_pack("{s:i}", "x", 1);
    m.content = json_pack("{s:s}", "code", "caf\xc3\xa9");
    dn_frames_push(&m.buffers, "\x00\x01\x02", 3);
    dn_frames f = { 0 };
    CHECK(dn_wire_build(&m, client_signer(), &f) == 0, "build");
    CHECK(f.n == 2 + 1 + 1 + 4 + 1, "ids + delimiter + signature + 4 JSON + 1 buffer = %zu frames", f.n);
    CHECK(f.v[2].len == 9 && memcmp(f.v[2].data, "<IDS|MSG>", 9) == 0, "delimiter after the identities");
    CHECK(f.v[3].len == 64, "64 hex digits of signature");
    dn_msg back;
    CHECK(dn_wire_parse(&f, client_signer(), &back, err, sizeof err) == DN_WIRE_OK, "parse back");
    CHECK(back.ids.n == 2 && memcmp(back.ids.v[1].data, "id-b", 4) == 0, "identities kept");
    CHECK(strcmp(json_string_value(json_object_get(back.content, "code")), "caf\xc3\xa9") == 0, "UTF-8 content kept");
    CHECK(back.buffers.n == 1 && back.buffers.v[0].len == 3 && back.buffers.v[0].data[2] == 2, "binary buffer kept");
    CHECK(json_integer_value(json_object_get(back.metadata, "x")) == 1, "metadata kept");
    dn_msg_fini(&back);

    /* tampering */
    f.v[7].data[0] = ' ';  /* the content frame changes: signature no longer matches */
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_DROP && strstr(err, "signature"), "changed body: %s", err);
    dn_frames_clear(&f);
    dn_msg_fini(&m);

    /* a kernel without a key accepts unsigned messages */
    char e2[64];
    dn_signer *none = dn_signer_new("", "", 0, e2, sizeof e2);
    client_raw(&f, "{\"msg_id\":\"a\",\"msg_type\":\"kernel_info_request\"}", "{}", 0);
    CHECK(dn_wire_parse(&f, none, &back, err, sizeof err) == DN_WIRE_OK, "empty key: no signature check");
    dn_msg_fini(&back);
    dn_frames_clear(&f);
    dn_signer_free(none);

    /* malformed frames */
    dn_frames_push(&f, "just one frame", 14);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_DROP && strstr(err, "delimiter"), "no delimiter: %s", err);
    dn_frames_clear(&f);
    dn_frames_push(&f, "id", 2);
    dn_frames_push(&f, DN_DELIMITER, 9);
    dn_frames_push(&f, "sig", 3);
    dn_frames_push(&f, "{}", 2);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_DROP && strstr(err, "too few"), "too few frames: %s", err);
    dn_frames_clear(&f);
    client_raw(&f, "{not json", "{}", 1);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_DROP && strstr(err, "header is not valid JSON"), "invalid JSON header: %s", err);
    dn_frames_clear(&f);
    client_raw(&f, "[1]", "{}", 1);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_DROP && strstr(err, "not a JSON object"), "non-object header: %s", err);
    dn_frames_clear(&f);
    client_raw(&f, "{\"msg_id\":\"a\"}", "{}", 1);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_DROP && strstr(err, "msg_type"), "header without msg_type: %s", err);
    dn_frames_clear(&f);
    client_raw(&f, "{\"msg_id\":\"a\",\"msg_type\":\"execute_request\"}", "{\"code\": ", 1);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_BAD_BODY && strstr(err, "content"), "invalid content, usable header: %s", err);
    dn_frames_clear(&f);
    client_raw(&f, "{\"msg_id\":\"a\",\"msg_type\":\"execute_request\"}", "\"text\"", 1);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_BAD_BODY, "non-object content: %s", err);
    dn_frames_clear(&f);
    client_raw(&f, "{\"msg_id\":\"a\",\"msg_type\":\"x\"}", "{\"v\":\"\xff\"}", 1);
    CHECK(parse_rc(&f, err, sizeof err) == DN_WIRE_BAD_BODY, "invalid UTF-8 in JSON: %s", err);
    dn_frames_clear(&f);

    /* UTF-8 repair */
    size_t n;
    char *s = dn_utf8_sanitize("a\xff" "b\xc3\xa9\xe2\x82", 7, &n);
    CHECK(strcmp(s, "a\xef\xbf\xbd" "b\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd") == 0 && n == 13, "each bad byte becomes U+FFFD");
    free(s);
    s = dn_utf8_sanitize("\xed\xa0\x80", 3, &n);
    CHECK(n == 9, "UTF-16 surrogates are not UTF-8");
    free(s);
    s = dn_utf8_sanitize("\xf0\x9f\x98\x80", 4, &n);
    CHECK(n == 4, "4-byte characters kept");
    free(s);

    char date[40];
    dn_iso_now(date);
    CHECK(strlen(date) == 27 && date[4] == '-' && date[10] == 'T' && date[19] == '.' && date[26] == 'Z',
          "ISO 8601 date %s", date);
    dn_signer_free(client_signer());
    return CHECK_DONE();
}
