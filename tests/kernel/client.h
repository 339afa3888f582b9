/* client.h — what a Jupyter client does, for the kernel tests: build signed requests and
 * read the kernel's messages back. */
#ifndef DN_TEST_CLIENT_H
#define DN_TEST_CLIENT_H

#include "wire.h"

#define CLIENT_KEY "test-key-0123456789"
#define CLIENT_ID "client-1"

/* The client's signer (same key as the kernel's in these tests). */
dn_signer *client_signer(void);
/* A signed request from CLIENT_ID; content is JSON text. Appends to out. */
void client_request(dn_frames *out, const char *msg_type, const char *msg_id, const char *content);
/* Raw frames: a chosen header/content text and signature choice (for malformed input). */
void client_raw(dn_frames *out, const char *header, const char *content, int sign_it);

#endif
