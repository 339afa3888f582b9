/* client.c — see client.h. */
#include "client.h"

#include <string.h>

dn_signer *client_signer(void)
{
    static dn_signer *s;
    char err[100];
    if (!s) s = dn_signer_new("hmac-sha256", CLIENT_KEY, strlen(CLIENT_KEY), err, sizeof err);
    return s;
}

void client_request(dn_frames *out, const char *msg_type, const char *msg_id, const char *content)
{
    dn_msg m = { 0 };
    char date[40];
    dn_iso_now(date);
    dn_frames_push(&m.ids, CLIENT_ID, strlen(CLIENT_ID));
    m.header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", msg_id, "session", "client-session",
                         "username", "test", "date", date, "msg_type", msg_type, "version", "5.3");
    m.parent = json_object();
    m.metadata = json_object();
    m.content = json_loads(content, 0, NULL);
    dn_wire_build(&m, client_signer(), out);
    dn_msg_fini(&m);
}

void client_raw(dn_frames *out, const char *header, const char *content, int sign_it)
{
    const char *body[4] = { header, "{}", "{}", content };
    size_t lens[4];
    for (int i = 0; i < 4; i++) lens[i] = strlen(body[i]);
    char sig[DN_SIG_HEX_LEN + 1];
    dn_signer_sign(client_signer(), (const void *const *)body, lens, 4, sig);
    if (!sign_it) memset(sig, '0', DN_SIG_HEX_LEN);
    dn_frames_push(out, CLIENT_ID, strlen(CLIENT_ID));
    dn_frames_push(out, DN_DELIMITER, strlen(DN_DELIMITER));
    dn_frames_push(out, sig, strlen(sig));
    for (int i = 0; i < 4; i++) dn_frames_push(out, body[i], lens[i]);
}
