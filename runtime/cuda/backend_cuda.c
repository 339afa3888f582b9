/* backend_cuda.c — the CUDA backend (core/backend.h): device memory, one stream, cuBLAS
 * and cuDNN handles made at first use, errors as sentences, losses and optimisers by our
 * kernels (kernels.cu). Deterministic by default: cuDNN algorithms are filtered for
 * CUDNN_DETERMINISTIC (layers), cuBLAS runs on one stream with a set workspace, our sums
 * run in a fixed order; gpu fast lets layers time cuDNN's algorithms and take the
 * fastest. */
#include "cuda/cuda_impl.h"
#include "cuda/gpu.h"
#include "core/backend.h"
#include "core/status.h"

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

static dn_cuda_state st;
static int ready;             /* 1 after a successful init */
static char init_why[512];    /* why init failed, for every later asker */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char first_err[512];   /* the first failure since the last sync */

dn_cuda_state *dn_cuda(void) { return &st; }

static void keep(const char *msg)
{
    if (!first_err[0])
        snprintf(first_err, sizeof first_err, "%s", msg);
}

void dn_cuda_fail(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    keep(buf);
}

/* errors after which the context is unusable: say what to do */
static int sticky(cudaError_t e)
{
    return e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure ||
           e == cudaErrorHardwareStackError || e == cudaErrorIllegalInstruction ||
           e == cudaErrorMisalignedAddress || e == cudaErrorInvalidPc ||
           e == cudaErrorAssert || e == cudaErrorECCUncorrectable;
}

int dn_cuda_ok(cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 1;
    if (e == cudaErrorMemoryAllocation) {
        size_t fr = 0, tot = 0;
        cudaGetLastError();
        cudaMemGetInfo(&fr, &tot);
        dn_cuda_fail("the GPU ran out of memory in %s (%.0f MiB of %.0f MiB free)", what,
                     fr / MIB, tot / MIB);
        return 0;
    }
    dn_cuda_fail("the GPU failed in %s: %s (%s)%s", what, cudaGetErrorString(e),
                 cudaGetErrorName(e),
                 sticky(e) ? "; the GPU context cannot recover from this: %device cpu "
                             "carries on without it, a kernel restart brings it back" : "");
    return 0;
}

int dn_cublas_ok(cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return 1;
    dn_cuda_fail("cuBLAS failed in %s: %s (%s)", what, dn_cublas.status_string(s),
                 dn_cublas.status_name(s));
    return 0;
}

int dn_cudnn_ok(cudnnStatus_t s, const char *what)
{
    if (s == CUDNN_STATUS_SUCCESS)
        return 1;
    char detail[256] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    dn_cuda_fail("cuDNN failed in %s: %s%s%s", what, cudnnGetErrorString(s),
                 detail[0] ? ": " : "", detail);
    return 0;
}

static int cuda_sync(char *err, size_t errlen)
{
    if (ready)
        dn_cuda_ok(cudaStreamSynchronize(st.stream), "a queued operation");
    if (ready)
        dn_cuda_ok(cudaGetLastError(), "a kernel launch");
    if (!first_err[0])
        return DN_OK;
    dn_seterr(err, errlen, "%s", first_err);
    first_err[0] = 0;
    return DN_ERROR;
}

int dn_cuda_malloc(void **out, size_t bytes, char *err, size_t errlen)
{
    *out = NULL;
    cudaError_t e = cudaMalloc(out, bytes ? bytes : 256);
    if (e == cudaSuccess)
        return DN_OK;
    *out = NULL;
    cudaGetLastError();
    if (e == cudaErrorMemoryAllocation) {
        size_t fr = 0, tot = 0;
        cudaMemGetInfo(&fr, &tot);
        return dn_seterr(err, errlen, "out of GPU memory: asked for %.1f MiB, %.1f MiB of "
                         "%.0f MiB free (a smaller batch_size needs less; %%device cpu computes "
                         "on the CPU)", bytes / MIB, fr / MIB, tot / MIB);
    }
    return dn_seterr(err, errlen, "the GPU could not allocate %.1f MiB: %s", bytes / MIB,
                     cudaGetErrorString(e));
}

static int cuda_alloc(void **out, size_t bytes, char *err, size_t errlen)
{
    return dn_cuda_malloc(out, bytes, err, errlen);
}

/* memory queued work may still use: the stream drains first (a non-blocking stream is
 * not ordered with cudaFree) */
void dn_cuda_free(void *p)
{
    if (!p)
        return;
    cudaStreamSynchronize(st.stream);
    cudaFree(p);
}

static void cuda_release(void *p) { dn_cuda_free(p); }

static int transfer(void *dst, const void *src, size_t bytes, enum cudaMemcpyKind kind,
                    const char *what, char *err, size_t errlen)
{
    if (bytes && (!dn_cuda_ok(cudaMemcpyAsync(dst, src, bytes, kind, st.stream), what) ||
                  !dn_cuda_ok(cudaStreamSynchronize(st.stream), what)))
        return cuda_sync(err, errlen);
    return DN_OK;
}

static int cuda_upload(void *dst, const void *src, size_t bytes, char *err, size_t errlen)
{
    return transfer(dst, src, bytes, cudaMemcpyHostToDevice, "a copy to the GPU", err, errlen);
}

static int cuda_download(void *dst, const void *src, size_t bytes, char *err, size_t errlen)
{
    int rc = transfer(dst, src, bytes, cudaMemcpyDeviceToHost, "a copy from the GPU", err,
                      errlen);
    /* callers that cannot report (dn_layer_param) leave it for the next step */
    if (rc)
        keep(err);
    return rc;
}

static void cuda_copy(void *dst, const void *src, size_t bytes)
{
    if (bytes)
        dn_cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, st.stream),
                   "a copy on the GPU");
}

static void cuda_zero(void *p, size_t bytes)
{
    if (bytes)
        dn_cuda_ok(cudaMemsetAsync(p, 0, bytes, st.stream), "zeroing GPU memory");
}

int dn_cuda_grow(void **p, size_t *cap, size_t bytes)
{
    if (bytes <= *cap)
        return 1;
    char err[512];
    void *q = NULL;
    if (dn_cuda_malloc(&q, bytes, err, sizeof err)) {
        keep(err);
        return 0;
    }
    cuda_release(*p);
    *p = q;
    *cap = bytes;
    return 1;
}

void *dn_cuda_workspace(size_t bytes)
{
    if (!dn_cuda_grow(&st.ws, &st.ws_bytes, bytes))
        return NULL;
    return st.ws;
}

size_t dn_cuda_workspace_budget(void)
{
    /* cuDNN's fastest algorithms may want a lot: at most 1 GiB, at most half what is free */
    size_t fr = 0, tot = 0;
    cudaMemGetInfo(&fr, &tot);
    size_t cap = (size_t)1 << 30;
    size_t half = (fr + st.ws_bytes) / 2;
    return half < cap ? half : cap;
}

const float *dn_cuda_ones(long n)
{
    if (n <= st.nones)
        return st.ones;
    long want = n < 4096 ? 4096 : n;
    float *host = malloc((size_t)want * sizeof(float));
    if (!host) {
        dn_cuda_fail("out of memory for a vector of %ld ones", want);
        return NULL;
    }
    for (long i = 0; i < want; i++)
        host[i] = 1.0f;
    char err[512];
    float *dev = NULL;
    if (dn_cuda_malloc((void **)&dev, (size_t)want * sizeof(float), err, sizeof err) ||
        cuda_upload(dev, host, (size_t)want * sizeof(float), err, sizeof err)) {
        keep(err);
        free(host);
        cuda_release(dev);
        return NULL;
    }
    free(host);
    cuda_release(st.ones);
    st.ones = dev;
    st.nones = want;
    return st.ones;
}

/* softmax in place through a copy: cuDNN's softmax calls are not documented in place */
static float *soft_tmp;
static size_t soft_cap;

static int softmax(const float *y, float *dy_or_y, long rows, long dim, int backward)
{
    size_t bytes = (size_t)rows * (size_t)dim * sizeof(float);
    if (!dn_cuda_grow((void **)&soft_tmp, &soft_cap, bytes) ||
        !dn_cuda_ok(cudaMemcpyAsync(soft_tmp, dy_or_y, bytes, cudaMemcpyDeviceToDevice,
                                    st.stream), "softmax"))
        return 0;
    cudnnTensorDescriptor_t d;
    if (!dn_cudnn_ok(cudnnCreateTensorDescriptor(&d), "softmax"))
        return 0;
    const float one = 1.0f, zero = 0.0f;
    int ok = dn_cudnn_ok(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT,
                                                    (int)rows, (int)dim, 1, 1), "softmax");
    if (ok && !backward)
        ok = dn_cudnn_ok(cudnnSoftmaxForward(st.dnn, CUDNN_SOFTMAX_ACCURATE,
                                             CUDNN_SOFTMAX_MODE_INSTANCE, &one, d, soft_tmp,
                                             &zero, d, dy_or_y), "softmax");
    else if (ok)
        ok = dn_cudnn_ok(cudnnSoftmaxBackward(st.dnn, CUDNN_SOFTMAX_ACCURATE,
                                              CUDNN_SOFTMAX_MODE_INSTANCE, &one, d, y, d,
                                              soft_tmp, &zero, d, dy_or_y), "softmax's gradient");
    cudnnDestroyTensorDescriptor(d);
    return ok;
}

void dn_cuda_bias_act(int act, float *y, const float *bias, long rows, long dim)
{
    if (bias || act != DN_ACT_LINEAR)
        dn_k_bias_act(y, bias, rows, dim, act == DN_ACT_SOFTMAX ? DN_ACT_LINEAR : act, st.stream);
    if (act == DN_ACT_SOFTMAX)
        softmax(NULL, y, rows, dim, 0);
}

void dn_cuda_act_backward(int act, const float *y, float *dy, long rows, long dim)
{
    if (act == DN_ACT_SOFTMAX)
        softmax(y, dy, rows, dim, 1);
    else if (act != DN_ACT_LINEAR)
        dn_k_act_backward(act, y, dy, rows * dim, st.stream);
}

static void cuda_act_backward(dn_activation a, const float *y, float *dy, long rows, long dim)
{
    dn_cuda_act_backward((int)a, y, dy, rows, dim);
}

void dn_cuda_colsum(const float *dz, long rows, long dim, float *db)
{
    const float *ones = dn_cuda_ones(rows);
    const float one = 1.0f, zero = 0.0f;
    if (ones)
        dn_cublas_ok(dn_cublas.sgemv(st.blas, CUBLAS_OP_N, (int)dim, (int)rows, &one, dz, (int)dim,
                                 ones, 1, &zero, db, 1), "a bias gradient");
}

/* per-row losses and accuracies come to the host and are summed there in row order */
static double *rows_dev;
static size_t rows_cap;
static double *rows_host;
static size_t rows_host_cap;

static int cuda_loss(dn_loss loss, dn_accuracy acc, const float *p, const float *y, long n,
                     long dim, int fused, float *grad, double *loss_out, double *acc_sum,
                     char *err, size_t errlen)
{
    size_t bytes = 2 * (size_t)n * sizeof(double);
    if (!dn_cuda_grow((void **)&rows_dev, &rows_cap, bytes))
        return cuda_sync(err, errlen);
    if (bytes > rows_host_cap) {
        double *h = realloc(rows_host, bytes);
        if (!h)
            return dn_seterr(err, errlen, "out of memory for the batch's losses");
        rows_host = h;
        rows_host_cap = bytes;
    }
    dn_k_loss((int)loss, (int)acc, fused, p, y, n, dim, grad, rows_dev, st.stream);
    if (!dn_cuda_ok(cudaGetLastError(), "the loss") ||
        cuda_download(rows_host, rows_dev, bytes, err, errlen))
        return cuda_sync(err, errlen);
    double sum = 0.0, hits = 0.0;
    for (long r = 0; r < n; r++) {
        sum += rows_host[r];
        hits += rows_host[n + r];
    }
    /* as dn_loss_eval: mse and binary CE average over every output, categorical over rows */
    *loss_out = loss == DN_LOSS_CATEGORICAL_CE ? sum / (double)n : sum / (double)(n * dim);
    *acc_sum = acc == DN_ACC_NONE ? 0.0 : hits;
    return DN_OK;
}

static int cuda_opt_prepare(const dn_optimizer *o, dn_param *p, char *err, size_t errlen)
{
    for (int s = 0; s < dn_optimizer_slots(o); s++) {
        if (p->dev_slot[s])
            continue;
        size_t bytes = (size_t)p->size * sizeof(float);
        if (dn_cuda_malloc((void **)&p->dev_slot[s], bytes, err, errlen))
            return DN_ERROR;
        cuda_zero(p->dev_slot[s], bytes);
    }
    return DN_OK;
}

static void cuda_opt_apply(const dn_optimizer *o, dn_param *p)
{
    float *w = p->dev_data;
    const float *g = p->dev_grad;
    switch (o->kind) {
    case DN_OPT_SGD:
        dn_k_sgd(w, g, o->momentum <= 0.0f ? NULL : p->dev_slot[0], p->size, o->lr, o->momentum,
                 o->nesterov, st.stream);
        break;
    case DN_OPT_RMSPROP:
        dn_k_rmsprop(w, g, p->dev_slot[0], p->size, o->lr, o->rho, o->epsilon, st.stream);
        break;
    case DN_OPT_ADAM: {
        /* the step's rate on the host, exactly as dn_optimizer_apply computes it */
        const double t = (double)o->iterations;
        const float lr_t = (float)(o->lr * sqrt(1.0 - pow(o->beta2, t)) / (1.0 - pow(o->beta1, t)));
        dn_k_adam(w, g, p->dev_slot[0], p->dev_slot[1], p->size, lr_t, o->beta1, o->beta2,
                  o->epsilon, st.stream);
        break;
    }
    }
}

static const dn_backend cuda_backend = {
    .name = "cuda",
    .on_device = 1,
    .kernels = 1,
    .alloc = cuda_alloc,
    .release = cuda_release,
    .upload = cuda_upload,
    .download = cuda_download,
    .copy = cuda_copy,
    .zero = cuda_zero,
    .act_backward = cuda_act_backward,
    .loss = cuda_loss,
    .opt_prepare = cuda_opt_prepare,
    .opt_apply = cuda_opt_apply,
    .sync = cuda_sync,
};

static void apply_mode(void)
{
    dn_cublas_ok(dn_cublas.set_math_mode(st.blas, st.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                    : CUBLAS_DEFAULT_MATH), "setting its math mode");
    st.mode_gen++;
}

#define CUBLAS_WS_BYTES ((size_t)32 << 20)

dn_cublas_api dn_cublas;

/* 1, or 0 with why filled */
static int load_cublas(char *why, size_t len)
{
    char name[64], path[128];
    snprintf(name, sizeof name, "libcublas.so.%d", CUBLAS_VER_MAJOR);
    void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        /* where the toolkit puts it when the loader's path does not list it */
        snprintf(path, sizeof path, "/usr/local/cuda/lib64/%s", name);
        h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    }
    if (!h) {
        snprintf(why, len, "cuBLAS could not be loaded (%s): %s", name, dlerror());
        return 0;
    }
    struct { void **slot; const char *sym; } want[] = {
        {(void **)&dn_cublas.create, "cublasCreate_v2"},
        {(void **)&dn_cublas.set_stream, "cublasSetStream_v2"},
        {(void **)&dn_cublas.set_workspace, "cublasSetWorkspace_v2"},
        {(void **)&dn_cublas.set_math_mode, "cublasSetMathMode"},
        {(void **)&dn_cublas.sgemm, "cublasSgemm_v2"},
        {(void **)&dn_cublas.sgemv, "cublasSgemv_v2"},
        {(void **)&dn_cublas.status_string, "cublasGetStatusString"},
        {(void **)&dn_cublas.status_name, "cublasGetStatusName"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!(*want[i].slot = dlsym(h, want[i].sym))) {
            snprintf(why, len, "%s lacks %s: a cuBLAS older than this build's CUDA %d", name,
                     want[i].sym, CUBLAS_VER_MAJOR);
            return 0;
        }
    return 1;
}

static void init(void)
{
    dn_gpu_info info;
    char why[256];
    if (dn_gpu_probe(&info, why, sizeof why) <= 0) {
        snprintf(init_why, sizeof init_why, "%s", why);
        return;
    }
    if (!load_cublas(init_why, sizeof init_why))
        return;
    cudaError_t e;
    cublasStatus_t b;
    cudnnStatus_t d;
    void *cublas_ws = NULL;
    if ((e = cudaSetDevice(0)) != cudaSuccess ||
        (e = cudaStreamCreateWithFlags(&st.stream, cudaStreamNonBlocking)) != cudaSuccess) {
        snprintf(init_why, sizeof init_why, "the GPU (%s) could not be set up: %s", info.name,
                 cudaGetErrorString(e));
        return;
    }
    if ((b = dn_cublas.create(&st.blas)) != CUBLAS_STATUS_SUCCESS ||
        (b = dn_cublas.set_stream(st.blas, st.stream)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(init_why, sizeof init_why, "cuBLAS could not start on %s: %s", info.name,
                 dn_cublas.status_string(b));
        return;
    }
    /* one stream and a workspace of our own: cuBLAS repeats its results bit for bit */
    if (cudaMalloc(&cublas_ws, CUBLAS_WS_BYTES) != cudaSuccess ||
        (b = dn_cublas.set_workspace(st.blas, cublas_ws, CUBLAS_WS_BYTES)) != CUBLAS_STATUS_SUCCESS) {
        cudaGetLastError();
        snprintf(init_why, sizeof init_why, "cuBLAS could not get its 32 MiB workspace on %s",
                 info.name);
        return;
    }
    if ((d = cudnnCreate(&st.dnn)) != CUDNN_STATUS_SUCCESS ||
        (d = cudnnSetStream(st.dnn, st.stream)) != CUDNN_STATUS_SUCCESS) {
        snprintf(init_why, sizeof init_why, "cuDNN could not start on %s: %s", info.name,
                 cudnnGetErrorString(d));
        return;
    }
    st.fast = 0;
    st.tf32 = info.cc_major >= 8;
    apply_mode();
    ready = 1;
}

const dn_backend *dn_backend_cuda(char *err, size_t errlen)
{
    pthread_once(&init_once, init);
    if (!ready) {
        dn_seterr(err, errlen, "%s", init_why);
        return NULL;
    }
    return &cuda_backend;
}

int dn_gpu_set_mode(int fast, int tf32, char *err, size_t errlen)
{
    if (!dn_backend_cuda(err, errlen))
        return DN_ERROR;
    if (st.fast != (fast != 0) || st.tf32 != (tf32 != 0)) {
        st.fast = fast != 0;
        st.tf32 = tf32 != 0;
        apply_mode();
    }
    return cuda_sync(err, errlen);
}

int dn_gpu_mode(int *fast, int *tf32)
{
    if (!ready)
        return 0;
    if (fast)
        *fast = st.fast;
    if (tf32)
        *tf32 = st.tf32;
    return 1;
}

int dn_gpu_memory(size_t *free_bytes, size_t *total_bytes)
{
    if (!ready)
        return 0;
    return cudaMemGetInfo(free_bytes, total_bytes) == cudaSuccess;
}
