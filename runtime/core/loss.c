#include "loss.h"
#include "activation.h"
#include "status.h"

#include <math.h>
#include <string.h>

int dn_loss_parse(const char *name, dn_loss *out, char *err, size_t errlen)
{
    if (!strcmp(name, "mse") || !strcmp(name, "mean_squared_error"))
        *out = DN_LOSS_MSE;
    else if (!strcmp(name, "binary_crossentropy"))
        *out = DN_LOSS_BINARY_CE;
    else if (!strcmp(name, "categorical_crossentropy"))
        *out = DN_LOSS_CATEGORICAL_CE;
    else
        return dn_seterr(err, errlen, "unknown loss '%s' (known: mse, binary_crossentropy, "
                       "categorical_crossentropy)", name);
    return DN_OK;
}

const char *dn_loss_name(dn_loss l)
{
    switch (l) {
    case DN_LOSS_MSE: return "mse";
    case DN_LOSS_BINARY_CE: return "binary_crossentropy";
    case DN_LOSS_CATEGORICAL_CE: return "categorical_crossentropy";
    }
    return "?";
}

int dn_loss_fuses(dn_loss loss, int act)
{
    return (loss == DN_LOSS_CATEGORICAL_CE && act == DN_ACT_SOFTMAX) ||
           (loss == DN_LOSS_BINARY_CE && act == DN_ACT_SIGMOID);
}

static float clipp(float p)
{
    const float lo = DN_LOSS_EPSILON, hi = 1.0f - DN_LOSS_EPSILON;
    return p < lo ? lo : (p > hi ? hi : p);
}

double dn_loss_eval(dn_loss loss, const float *p, const float *y, long n, long dim,
                    int fused_logits, float *grad)
{
    const long total = n * dim;
    double sum = 0.0;
    switch (loss) {
    case DN_LOSS_MSE: {
        const float s = 2.0f / (float)total;
        for (long i = 0; i < total; i++) {
            float d = p[i] - y[i];
            sum += (double)d * d;
            if (grad)
                grad[i] = s * d;
        }
        return sum / (double)total;
    }
    case DN_LOSS_BINARY_CE: {
        const float s = 1.0f / (float)total;
        for (long i = 0; i < total; i++) {
            float q = clipp(p[i]);
            sum -= y[i] * log(q) + (1.0f - y[i]) * log(1.0f - q);
            if (!grad)
                continue;
            if (fused_logits)
                grad[i] = s * (p[i] - y[i]);
            else if (q != p[i])
                grad[i] = 0.0f;   /* the clip is flat there */
            else
                grad[i] = s * (p[i] - y[i]) / (p[i] * (1.0f - p[i]));
        }
        return sum / (double)total;
    }
    case DN_LOSS_CATEGORICAL_CE: {
        const float s = 1.0f / (float)n;
        for (long i = 0; i < total; i++) {
            float q = clipp(p[i]);
            if (y[i] != 0.0f)
                sum -= y[i] * log(q);
            if (!grad)
                continue;
            if (fused_logits)
                grad[i] = s * (p[i] - y[i]);
            else if (q != p[i])
                grad[i] = 0.0f;
            else
                grad[i] = -s * y[i] / p[i];
        }
        return sum / (double)n;
    }
    }
    return 0.0;
}

dn_accuracy dn_accuracy_for(dn_loss loss, long dim)
{
    if (loss == DN_LOSS_BINARY_CE || dim == 1)
        return DN_ACC_BINARY;
    return DN_ACC_CATEGORICAL;
}

double dn_accuracy_sum(dn_accuracy kind, const float *p, const float *y, long n, long dim)
{
    double sum = 0.0;
    if (kind == DN_ACC_BINARY) {
        for (long r = 0; r < n; r++) {
            long hit = 0;
            for (long j = 0; j < dim; j++)
                hit += (p[r * dim + j] > 0.5f) == (y[r * dim + j] > 0.5f);
            sum += (double)hit / (double)dim;
        }
    } else if (kind == DN_ACC_CATEGORICAL) {
        for (long r = 0; r < n; r++) {
            const float *pr = p + r * dim, *yr = y + r * dim;
            long ap = 0, ay = 0;
            for (long j = 1; j < dim; j++) {
                if (pr[j] > pr[ap])
                    ap = j;
                if (yr[j] > yr[ay])
                    ay = j;
            }
            sum += ap == ay;
        }
    }
    return sum;
}
