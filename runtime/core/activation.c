#include "activation.h"
#include "status.h"

#include <math.h>
#include <string.h>

static const char *const names[] = {"linear", "relu", "sigmoid", "tanh", "softmax"};

int dn_activation_parse(const char *name, dn_activation *out, char *err, size_t errlen)
{
    for (int i = 0; i < (int)(sizeof names / sizeof names[0]); i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (dn_activation)i;
            return DN_OK;
        }
    }
    if (strcmp(name, "None") == 0 || strcmp(name, "none") == 0) {
        *out = DN_ACT_LINEAR;
        return DN_OK;
    }
    return dn_seterr(err, errlen,
                   "unknown activation '%s' (known: linear, relu, sigmoid, tanh, softmax)", name);
}

const char *dn_activation_name(dn_activation a)
{
    return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

static void softmax_rows(float *y, long rows, long dim)
{
    for (long r = 0; r < rows; r++) {
        float *v = y + r * dim;
        float mx = v[0];
        for (long j = 1; j < dim; j++)
            mx = v[j] > mx ? v[j] : mx;
        float s = 0.0f;
        for (long j = 0; j < dim; j++) {
            v[j] = expf(v[j] - mx);
            s += v[j];
        }
        float inv = 1.0f / s;
        for (long j = 0; j < dim; j++)
            v[j] *= inv;
    }
}

void dn_act_forward(dn_activation a, float *y, long rows, long dim)
{
    long n = rows * dim;
    switch (a) {
    case DN_ACT_LINEAR:
        break;
    case DN_ACT_RELU:
        for (long i = 0; i < n; i++)
            y[i] = y[i] > 0.0f ? y[i] : 0.0f;
        break;
    case DN_ACT_SIGMOID:
        for (long i = 0; i < n; i++)
            y[i] = 1.0f / (1.0f + expf(-y[i]));
        break;
    case DN_ACT_TANH:
        for (long i = 0; i < n; i++)
            y[i] = tanhf(y[i]);
        break;
    case DN_ACT_SOFTMAX:
        softmax_rows(y, rows, dim);
        break;
    }
}

void dn_act_backward(dn_activation a, const float *y, float *dy, long rows, long dim)
{
    long n = rows * dim;
    switch (a) {
    case DN_ACT_LINEAR:
        break;
    case DN_ACT_RELU:
        for (long i = 0; i < n; i++)
            dy[i] = y[i] > 0.0f ? dy[i] : 0.0f;
        break;
    case DN_ACT_SIGMOID:
        for (long i = 0; i < n; i++)
            dy[i] *= y[i] * (1.0f - y[i]);
        break;
    case DN_ACT_TANH:
        for (long i = 0; i < n; i++)
            dy[i] *= 1.0f - y[i] * y[i];
        break;
    case DN_ACT_SOFTMAX:
        for (long r = 0; r < rows; r++) {
            const float *p = y + r * dim;
            float *g = dy + r * dim;
            float dot = 0.0f;
            for (long j = 0; j < dim; j++)
                dot += p[j] * g[j];
            for (long j = 0; j < dim; j++)
                g[j] = p[j] * (g[j] - dot);
        }
        break;
    }
}

void dn_bias_act_forward(dn_activation a, float *y, const float *bias, long rows, long dim)
{
    if (!bias) {
        dn_act_forward(a, y, rows, dim);
        return;
    }
    if (a == DN_ACT_RELU) {
        for (long r = 0; r < rows; r++) {
            float *v = y + r * dim;
            for (long j = 0; j < dim; j++) {
                float t = v[j] + bias[j];
                v[j] = t > 0.0f ? t : 0.0f;
            }
        }
        return;
    }
    for (long r = 0; r < rows; r++) {
        float *v = y + r * dim;
        for (long j = 0; j < dim; j++)
            v[j] += bias[j];
    }
    dn_act_forward(a, y, rows, dim);
}
