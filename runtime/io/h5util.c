/* h5util.c — HDF5 error words and Keras' string-list attributes (see h5util.h). */
#include "h5util.h"
#include "atomic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* h5py's limit for one attribute; Keras splits lists that would exceed it. */
#define HEADER_LIMIT 64512

typedef struct walk_ctx {
    char desc[256];
    int sys_errno;
} walk_ctx;

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    walk_ctx *w = data;
    if (n == 0 && e->desc)
        snprintf(w->desc, sizeof w->desc, "%s", e->desc);
    /* The POSIX drivers write "errno = 28, error message = ..." into the description. */
    const char *p = e->desc ? strstr(e->desc, "errno = ") : NULL;
    if (p && !w->sys_errno)
        w->sys_errno = atoi(p + 8);
    return 0;
}

/* Called by HDF5 instead of printing, as each failing API call returns. */
static herr_t capture(hid_t stack, void *data)
{
    dn_h5_quiet *q = data;
    walk_ctx w = {{0}, 0};
    H5Ewalk2(stack, H5E_WALK_UPWARD, walk_cb, &w);
    memcpy(q->desc, w.desc, sizeof q->desc);
    q->sys_errno = w.sys_errno;
    return 0;
}

void dn_h5_quiet_begin(dn_h5_quiet *q)
{
    memset(q, 0, sizeof *q);
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, capture, q);
}

void dn_h5_quiet_end(const dn_h5_quiet *q)
{
    H5Eclear2(H5E_DEFAULT);
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

void dn_h5_reason(const dn_h5_quiet *q, const char *dir, char *buf, size_t n)
{
    if (q->sys_errno > 0)
        dn_io_reason(q->sys_errno, dir ? dir : ".", buf, n);
    else if (q->desc[0])
        snprintf(buf, n, "HDF5 error: %s", q->desc);
    else
        snprintf(buf, n, "HDF5 error");
}

void dn_h5_strings_free(char **s, int n)
{
    if (!s)
        return;
    for (int i = 0; i < n; i++)
        free(s[i]);
    free(s);
}

/* Appends the strings of one attribute to *out. */
static int read_attr_strings(hid_t obj, const char *name, char ***out, int *n,
                             char *err, size_t errlen)
{
    int rc = -1;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t t = a >= 0 ? H5Aget_type(a) : -1;
    hid_t sp = a >= 0 ? H5Aget_space(a) : -1;
    hid_t mt = -1;
    char *fixed = NULL;
    char **vl = NULL;
    if (a < 0 || t < 0 || sp < 0) {
        snprintf(err, errlen, "cannot read attribute '%s'", name);
        goto out;
    }
    hssize_t cnt = H5Sget_simple_extent_npoints(sp);
    if (cnt < 0) {
        snprintf(err, errlen, "cannot read attribute '%s'", name);
        goto out;
    }
    if (H5Tget_class(t) != H5T_STRING) {
        if (cnt == 0) {     /* h5py stores Keras' empty list as an empty float array */
            rc = 0;
            goto out;
        }
        snprintf(err, errlen, "attribute '%s' does not hold strings", name);
        goto out;
    }
    char **grown = realloc(*out, (size_t)(*n + cnt + 1) * sizeof(char *));
    if (!grown) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    *out = grown;
    if (H5Tis_variable_str(t) > 0) {
        mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, H5T_VARIABLE);
        H5Tset_cset(mt, H5Tget_cset(t));    /* HDF5 does not convert UTF-8 to ASCII */
        vl = calloc((size_t)cnt + 1, sizeof(char *));
        if (!vl || H5Aread(a, mt, vl) < 0) {
            snprintf(err, errlen, "cannot read attribute '%s'", name);
            free(vl);
            vl = NULL;
            goto out;
        }
        for (hssize_t i = 0; i < cnt; i++)
            (*out)[(*n)++] = strdup(vl[i] ? vl[i] : "");
        H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, vl);
    } else {
        size_t sz = H5Tget_size(t);
        fixed = calloc((size_t)cnt * sz + 1, 1);
        if (!fixed || H5Aread(a, t, fixed) < 0) {
            snprintf(err, errlen, "cannot read attribute '%s'", name);
            goto out;
        }
        for (hssize_t i = 0; i < cnt; i++)
            (*out)[(*n)++] = strndup(fixed + (size_t)i * sz, sz);
    }
    for (int i = 0; i < *n; i++)
        if (!(*out)[i]) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    rc = 0;
out:
    free(vl);
    free(fixed);
    if (mt >= 0)
        H5Tclose(mt);
    if (sp >= 0)
        H5Sclose(sp);
    if (t >= 0)
        H5Tclose(t);
    if (a >= 0)
        H5Aclose(a);
    return rc;
}

int dn_h5_read_strings(hid_t obj, const char *name, char ***out, int *n, int *found,
                       char *err, size_t errlen)
{
    *out = NULL;
    *n = 0;
    *found = 0;
    if (H5Aexists(obj, name) > 0) {
        *found = 1;
        if (read_attr_strings(obj, name, out, n, err, errlen) != 0)
            goto bad;
        return 0;
    }
    char chunk[128];
    for (int k = 0;; k++) {
        snprintf(chunk, sizeof chunk, "%s%d", name, k);
        if (H5Aexists(obj, chunk) <= 0)
            break;
        *found = 1;
        if (read_attr_strings(obj, chunk, out, n, err, errlen) != 0)
            goto bad;
    }
    return 0;
bad:
    dn_h5_strings_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
}

int dn_h5_read_string(hid_t obj, const char *name, char *buf, size_t bufsize, int *found,
                      char *err, size_t errlen)
{
    char **s = NULL;
    int n = 0;
    buf[0] = 0;
    *found = 0;
    if (H5Aexists(obj, name) <= 0)
        return 0;
    *found = 1;
    if (read_attr_strings(obj, name, &s, &n, err, errlen) != 0) {
        dn_h5_strings_free(s, n);
        return -1;
    }
    if (n >= 1)
        snprintf(buf, bufsize, "%s", s[0]);
    dn_h5_strings_free(s, n);
    return 0;
}

static hid_t fixed_str_type(size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    if (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, H5T_CSET_ASCII) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

static int write_attr(hid_t obj, const char *name, hid_t type, hid_t space, const void *buf)
{
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0)
        return -1;
    int rc = H5Awrite(a, type, buf) < 0 ? -1 : 0;
    H5Aclose(a);
    return rc;
}

int dn_h5_write_strings(hid_t obj, const char *name, const char *const *s, int n)
{
    if (n == 0) {
        hsize_t zero = 0;
        hid_t sp = H5Screate_simple(1, &zero, NULL);
        if (sp < 0)
            return -1;
        double none = 0;    /* HDF5 wants a buffer even for no elements */
        int rc = write_attr(obj, name, H5T_IEEE_F64LE, sp, &none);
        H5Sclose(sp);
        return rc;
    }
    size_t len = 1;
    for (int i = 0; i < n; i++)
        if (strlen(s[i]) > len)
            len = strlen(s[i]);
    /* As numpy.array_split: k chunks, the first n % k one longer; the fewest that fit. */
    int k = 1;
    while ((size_t)((n + k - 1) / k) * len > HEADER_LIMIT && k < n)
        k++;
    hid_t t = fixed_str_type(len);
    if (t < 0)
        return -1;
    int rc = -1;
    char *buf = calloc((size_t)n, len);
    if (!buf)
        goto out;
    for (int i = 0; i < n; i++)
        memcpy(buf + (size_t)i * len, s[i], strlen(s[i]));
    int start = 0;
    for (int c = 0; c < k; c++) {
        int cnt = n / k + (c < n % k ? 1 : 0);
        hsize_t dim = (hsize_t)cnt;
        hid_t sp = H5Screate_simple(1, &dim, NULL);
        if (sp < 0)
            goto out;
        char cname[128];
        if (k == 1)
            snprintf(cname, sizeof cname, "%s", name);
        else
            snprintf(cname, sizeof cname, "%s%d", name, c);
        int w = write_attr(obj, cname, t, sp, buf + (size_t)start * len);
        H5Sclose(sp);
        if (w != 0)
            goto out;
        start += cnt;
    }
    rc = 0;
out:
    free(buf);
    H5Tclose(t);
    return rc;
}

int dn_h5_write_string(hid_t obj, const char *name, const char *s)
{
    size_t len = strlen(s);
    hid_t t = fixed_str_type(len);
    if (t < 0)
        return -1;
    hid_t sp = H5Screate(H5S_SCALAR);
    char *buf = calloc(1, len + 1);
    int rc = -1;
    if (sp >= 0 && buf) {
        memcpy(buf, s, len);
        rc = write_attr(obj, name, t, sp, buf);
    }
    free(buf);
    if (sp >= 0)
        H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int dn_h5_write_vlen_string(hid_t obj, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0)
        return -1;
    hid_t sp = -1;
    int rc = -1;
    if (H5Tset_size(t, H5T_VARIABLE) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0 &&
        (sp = H5Screate(H5S_SCALAR)) >= 0)
        rc = write_attr(obj, name, t, sp, &s);
    if (sp >= 0)
        H5Sclose(sp);
    H5Tclose(t);
    return rc;
}

int dn_h5_untimed_open(dn_h5_untimed *u)
{
    u->fcpl = H5Pcreate(H5P_FILE_CREATE);
    u->gcpl = H5Pcreate(H5P_GROUP_CREATE);
    u->dcpl = H5Pcreate(H5P_DATASET_CREATE);
    if (u->fcpl < 0 || u->gcpl < 0 || u->dcpl < 0 || H5Pset_obj_track_times(u->fcpl, 0) < 0
        || H5Pset_obj_track_times(u->gcpl, 0) < 0 || H5Pset_obj_track_times(u->dcpl, 0) < 0) {
        dn_h5_untimed_close(u);
        return -1;
    }
    return 0;
}

void dn_h5_untimed_close(dn_h5_untimed *u)
{
    if (u->fcpl >= 0) H5Pclose(u->fcpl);
    if (u->gcpl >= 0) H5Pclose(u->gcpl);
    if (u->dcpl >= 0) H5Pclose(u->dcpl);
    u->fcpl = u->gcpl = u->dcpl = -1;
}
