/* install.c — kernelspec installation without Python: the same folders jupyter_core
 * searches (user data dir, <prefix>/share/jupyter), the template and logos embedded. */
#include "install.h"

#include "assets.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int dn_install_valid_name(const char *name)
{
    if (!name || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static int mkdirs(char *path, char *err, size_t errlen)
{
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p) continue;
        char c = *p;
        *p = 0;
        int bad = mkdir(path, 0755) != 0 && errno != EEXIST;
        *p = c;
        if (bad) {
            snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
            return -1;
        }
        if (!c) return 0;
    }
}

/* The kernels folder: user data dir as jupyter_core finds it, or <prefix>/share/jupyter. */
static int kernels_dir(const dn_install_options *o, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *prefix = NULL;
    char buf[4096];
    switch (o->where) {
    case DN_INSTALL_USER: {
        const char *d = getenv("JUPYTER_DATA_DIR");
        if (d && *d) { snprintf(out, outlen, "%s/kernels", d); return 0; }
        const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
        if (xdg && *xdg) { snprintf(out, outlen, "%s/jupyter/kernels", xdg); return 0; }
        if (!home || !*home) {
            snprintf(err, errlen, "--user needs HOME (or JUPYTER_DATA_DIR) to be set");
            return -1;
        }
        snprintf(out, outlen, "%s/.local/share/jupyter/kernels", home);
        return 0;
    }
    case DN_INSTALL_PREFIX:
        prefix = o->prefix;
        break;
    case DN_INSTALL_SYS_PREFIX:
        prefix = getenv("VIRTUAL_ENV");
        if (!prefix || !*prefix) prefix = getenv("CONDA_PREFIX");
        if (!prefix || !*prefix) {
            /* no environment active: the prefix of the python3 that would run Jupyter */
            FILE *p = popen("python3 -c 'import sys; print(sys.prefix)' 2>/dev/null", "r");
            if (p && fgets(buf, sizeof buf, p)) {
                buf[strcspn(buf, "\n")] = 0;
                prefix = buf;
            }
            if (p) pclose(p);
        }
        if (!prefix || !*prefix) {
            snprintf(err, errlen, "--sys-prefix: no virtual environment active and no python3 found; use --prefix");
            return -1;
        }
        break;
    }
    if (!prefix || !*prefix) { snprintf(err, errlen, "--prefix needs a folder"); return -1; }
    if (snprintf(out, outlen, "%s/share/jupyter/kernels", prefix) >= (int)outlen) {
        snprintf(err, errlen, "prefix too long");
        return -1;
    }
    return 0;
}

static int write_file(const char *dir, const char *name, const void *data, size_t len,
                      char *err, size_t errlen)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

static char *kernel_json(const dn_install_options *o, const dn_asset *tmpl, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *spec = json_loadb((const char *)tmpl->data, tmpl->len, 0, &jerr);
    json_t *argv = json_object_get(spec, "argv");
    if (!json_is_array(argv) || json_array_size(argv) < 1) {
        snprintf(err, errlen, "the embedded kernel.json template is broken");
        json_decref(spec);
        return NULL;
    }
    json_array_set_new(argv, 0, json_string(o->executable));
    json_object_set_new(spec, "display_name", json_string(o->display_name ? o->display_name : "deepnb"));
    json_object_set_new(spec, "interrupt_mode", json_string(o->interrupt_mode ? o->interrupt_mode : "signal"));
    char *text = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(spec);
    if (!text) snprintf(err, errlen, "out of memory");
    return text;
}

int dn_install_kernelspec(const dn_install_options *o, char *dir, size_t dirlen, char *err, size_t errlen)
{
    const char *name = o->name ? o->name : "deepnb";
    if (!dn_install_valid_name(name)) {
        snprintf(err, errlen, "kernel name \"%s\" may hold only ASCII letters, digits, '.', '_' and '-'", name);
        return -1;
    }
    char kdir[4096];
    if (kernels_dir(o, kdir, sizeof kdir, err, errlen)) return -1;
    snprintf(dir, dirlen, "%s/%s", kdir, name);
    if (mkdirs(dir, err, errlen)) return -1;
    for (const dn_asset *a = dn_kernelspec_assets; a->name; a++) {
        if (strcmp(a->name, "kernel.json.in") == 0) {
            char *text = kernel_json(o, a, err, errlen);
            if (!text) return -1;
            int rc = write_file(dir, "kernel.json", text, strlen(text), err, errlen);
            free(text);
            if (rc) return -1;
        } else if (write_file(dir, a->name, a->data, a->len, err, errlen)) {
            return -1;
        }
    }
    return 0;
}
