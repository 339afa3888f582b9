/* optimizer.h — SGD (momentum, Nesterov), RMSprop and Adam with Keras 2.3's update rules
 * and default hyper-parameters:
 *   SGD     lr 0.01, momentum 0, nesterov off: v = m*v - lr*g; w += v (nesterov: w += m*v - lr*g)
 *   RMSprop lr 0.001, rho 0.9, epsilon 1e-7:   a = rho*a + (1-rho)*g^2; w -= lr*g/(sqrt(a)+eps)
 *   Adam    lr 0.001, beta_1 0.9, beta_2 0.999, epsilon 1e-7:
 *           t += 1; lr_t = lr*sqrt(1-beta_2^t)/(1-beta_1^t); m = b1*m+(1-b1)*g;
 *           v = b2*v+(1-b2)*g^2; w -= lr_t*m/(sqrt(v)+eps)
 * Every field may change between any two steps (e.g. the learning rate). */
#ifndef DN_OPTIMIZER_H
#define DN_OPTIMIZER_H

#include <stddef.h>

#include "layer.h"

typedef enum dn_optimizer_kind { DN_OPT_SGD = 0, DN_OPT_RMSPROP, DN_OPT_ADAM } dn_optimizer_kind;

typedef struct dn_optimizer {
    dn_optimizer_kind kind;
    float lr;
    float momentum;      /* SGD */
    int nesterov;        /* SGD */
    float rho;           /* RMSprop */
    float beta1, beta2;  /* Adam */
    float epsilon;       /* RMSprop, Adam */
    long iterations;     /* steps taken (Adam's t) */
} dn_optimizer;

/* Keras 2.3 defaults for kind. */
void dn_optimizer_defaults(dn_optimizer *o, dn_optimizer_kind kind);
/* "SGD", "RMSprop", "Adam" (any case). 0 or -1 + err. */
int dn_optimizer_parse(const char *name, dn_optimizer_kind *out, char *err, size_t errlen);
const char *dn_optimizer_name(dn_optimizer_kind kind);
/* Checks ranges (lr >= 0, momentum/rho/betas in [0, 1), epsilon >= 0). 0 or -1 + err. */
int dn_optimizer_check(const dn_optimizer *o, char *err, size_t errlen);

/* how many state arrays (slots) o keeps per parameter: 0 to 2 */
int dn_optimizer_slots(const dn_optimizer *o);
/* Allocates p's state slots if missing (zeroed). 0 or -1 + err. */
int dn_optimizer_prepare(const dn_optimizer *o, dn_param *p, char *err, size_t errlen);
/* Updates p from p->grad; call after o->iterations was incremented for this step. */
void dn_optimizer_apply(const dn_optimizer *o, dn_param *p);

#endif
