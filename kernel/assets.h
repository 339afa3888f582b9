/* assets.h — the kernelspec files (kernelspec/), embedded at build time by embed.c. */
#ifndef DN_ASSETS_H
#define DN_ASSETS_H

#include <stddef.h>

typedef struct dn_asset {
    const char *name;            /* base name, e.g. "logo-64x64.png"; NULL ends the table */
    const unsigned char *data;
    size_t len;
} dn_asset;

extern const dn_asset dn_kernelspec_assets[];

#endif
