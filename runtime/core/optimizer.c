#include "optimizer.h"
#include "status.h"

#include <math.h>
#include <stdlib.h>
#include <strings.h>

void dn_optimizer_defaults(dn_optimizer *o, dn_optimizer_kind kind)
{
    *o = (dn_optimizer){
        .kind = kind,
        .lr = kind == DN_OPT_SGD ? 0.01f : 0.001f,
        .momentum = 0.0f,
        .nesterov = 0,
        .rho = 0.9f,
        .beta1 = 0.9f,
        .beta2 = 0.999f,
        .epsilon = 1e-7f,
    };
}

int dn_optimizer_parse(const char *name, dn_optimizer_kind *out, char *err, size_t errlen)
{
    if (!strcasecmp(name, "sgd"))
        *out = DN_OPT_SGD;
    else if (!strcasecmp(name, "rmsprop"))
        *out = DN_OPT_RMSPROP;
    else if (!strcasecmp(name, "adam"))
        *out = DN_OPT_ADAM;
    else
        return dn_seterr(err, errlen, "unknown optimizer '%s' (known: SGD, RMSprop, Adam)", name);
    return DN_OK;
}

const char *dn_optimizer_name(dn_optimizer_kind kind)
{
    switch (kind) {
    case DN_OPT_SGD: return "SGD";
    case DN_OPT_RMSPROP: return "RMSprop";
    case DN_OPT_ADAM: return "Adam";
    }
    return "?";
}

static int in01(float v) { return v >= 0.0f && v < 1.0f; }

int dn_optimizer_check(const dn_optimizer *o, char *err, size_t errlen)
{
    if (!(o->lr >= 0.0f) || !isfinite(o->lr))
        return dn_seterr(err, errlen, "%s: the learning rate must be >= 0, got %g",
                       dn_optimizer_name(o->kind), (double)o->lr);
    if (!in01(o->momentum) || !in01(o->rho) || !in01(o->beta1) || !in01(o->beta2))
        return dn_seterr(err, errlen, "%s: momentum, rho, beta_1 and beta_2 must be in [0, 1)",
                       dn_optimizer_name(o->kind));
    if (!(o->epsilon >= 0.0f))
        return dn_seterr(err, errlen, "%s: epsilon must be >= 0", dn_optimizer_name(o->kind));
    return DN_OK;
}

int dn_optimizer_slots(const dn_optimizer *o)
{
    switch (o->kind) {
    case DN_OPT_SGD: return o->momentum > 0.0f ? 1 : 0;
    case DN_OPT_RMSPROP: return 1;
    case DN_OPT_ADAM: return 2;
    }
    return 0;
}

int dn_optimizer_prepare(const dn_optimizer *o, dn_param *p, char *err, size_t errlen)
{
    for (int s = 0; s < dn_optimizer_slots(o); s++) {
        if (p->slot[s])
            continue;
        p->slot[s] = calloc((size_t)p->size, sizeof(float));
        if (!p->slot[s])
            return dn_seterr(err, errlen, "out of memory for the optimiser's state of %s",
                           p->name);
    }
    return DN_OK;
}

void dn_optimizer_apply(const dn_optimizer *o, dn_param *p)
{
    float *w = p->data;
    const float *g = p->grad;
    const long n = p->size;
    const float lr = o->lr;
    switch (o->kind) {
    case DN_OPT_SGD:
        if (o->momentum <= 0.0f) {
            for (long i = 0; i < n; i++)
                w[i] -= lr * g[i];
        } else {
            float *v = p->slot[0];
            const float m = o->momentum;
            for (long i = 0; i < n; i++) {
                v[i] = m * v[i] - lr * g[i];
                w[i] += o->nesterov ? m * v[i] - lr * g[i] : v[i];
            }
        }
        break;
    case DN_OPT_RMSPROP: {
        float *a = p->slot[0];
        const float rho = o->rho;
        for (long i = 0; i < n; i++) {
            a[i] = rho * a[i] + (1.0f - rho) * g[i] * g[i];
            w[i] -= lr * g[i] / (sqrtf(a[i]) + o->epsilon);
        }
        break;
    }
    case DN_OPT_ADAM: {
        float *m = p->slot[0], *v = p->slot[1];
        const double t = (double)o->iterations;
        const float lr_t = (float)(lr * sqrt(1.0 - pow(o->beta2, t)) / (1.0 - pow(o->beta1, t)));
        const float b1 = o->beta1, b2 = o->beta2;
        for (long i = 0; i < n; i++) {
            m[i] = b1 * m[i] + (1.0f - b1) * g[i];
            v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
            w[i] -= lr_t * m[i] / (sqrtf(v[i]) + o->epsilon);
        }
        break;
    }
    }
}
