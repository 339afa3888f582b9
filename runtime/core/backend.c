/* backend.c — parameters on a device: their copies and which side is newer (backend.h). */
#include "backend.h"
#include "status.h"

#include <stdlib.h>

static void free_device(dn_param *p, const dn_backend *b)
{
    b->release(p->dev_data);
    b->release(p->dev_grad);
    b->release(p->dev_slot[0]);
    b->release(p->dev_slot[1]);
    p->dev_data = p->dev_grad = p->dev_slot[0] = p->dev_slot[1] = NULL;
}

int dn_param_attach(dn_param *p, const dn_backend *b, char *err, size_t errlen)
{
    size_t bytes = (size_t)p->size * sizeof(float);
    if (b->alloc((void **)&p->dev_data, bytes, err, errlen) ||
        (p->grad && b->alloc((void **)&p->dev_grad, bytes, err, errlen)))
        goto fail;
    for (int s = 0; s < 2; s++) {
        if (!p->slot[s])
            continue;
        if (b->alloc((void **)&p->dev_slot[s], bytes, err, errlen) ||
            b->upload(p->dev_slot[s], p->slot[s], bytes, err, errlen))
            goto fail;
    }
    p->newer = DN_HOST_NEWER;
    return DN_OK;
fail:
    free_device(p, b);
    return DN_ERROR;
}

int dn_param_detach(dn_param *p, const dn_backend *b, char *err, size_t errlen)
{
    if (!p->dev_data)
        return DN_OK;
    size_t bytes = (size_t)p->size * sizeof(float);
    if (p->newer == DN_DEVICE_NEWER && b->download(p->data, p->dev_data, bytes, err, errlen))
        return DN_ERROR;
    for (int s = 0; s < 2; s++) {
        if (!p->dev_slot[s])
            continue;
        if (!p->slot[s] && !(p->slot[s] = malloc(bytes)))
            return dn_seterr(err, errlen, "out of memory for the optimiser's state of %s", p->name);
        if (b->download(p->slot[s], p->dev_slot[s], bytes, err, errlen))
            return DN_ERROR;
    }
    free_device(p, b);
    p->newer = DN_SYNCED;
    return DN_OK;
}

int dn_param_pull(dn_param *p, const dn_backend *b, char *err, size_t errlen)
{
    if (!p->dev_data)
        return DN_OK;
    if (p->newer == DN_DEVICE_NEWER &&
        b->download(p->data, p->dev_data, (size_t)p->size * sizeof(float), err, errlen))
        return DN_ERROR;
    p->newer = DN_HOST_NEWER;
    return DN_OK;
}

int dn_param_push(dn_param *p, const dn_backend *b, char *err, size_t errlen)
{
    if (!p->dev_data || p->newer != DN_HOST_NEWER)
        return DN_OK;
    if (b->upload(p->dev_data, p->data, (size_t)p->size * sizeof(float), err, errlen))
        return DN_ERROR;
    p->newer = DN_SYNCED;
    return DN_OK;
}
