/* ws_model.c — the workspace's models (ws_model.h): describe, summary, history. */
#include "ws_model.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dn_ws_model *dn_ws_model_new(dn_model *m, const char *arch)
{
    dn_ws_model *wm = calloc(1, sizeof *wm);
    if (!wm) {
        dn_model_free(m);
        return NULL;
    }
    wm->m = m;
    wm->preprocess = -1;
    snprintf(wm->arch, sizeof wm->arch, "%s", arch);
    return wm;
}

static void free_classes(dn_ws_model *wm)
{
    for (int k = 0; k < wm->nclasses; k++) free(wm->class_names[k]);
    free(wm->class_names);
    wm->class_names = NULL;
    wm->nclasses = 0;
}

void dn_ws_model_free(dn_ws_model *wm)
{
    if (!wm) return;
    dn_model_free(wm->m);
    free_classes(wm);
    free(wm->hist);
    free(wm);
}

int dn_ws_model_classes_from(dn_ws_model *wm, dn_dir_source *d)
{
    int n = dn_dir_source_num_classes(d);
    char **copy = calloc(n > 0 ? (size_t)n : 1, sizeof *copy);
    if (!copy) return -1;
    for (int k = 0; k < n; k++)
        if (!(copy[k] = strdup(dn_dir_source_class_name(d, k)))) {
            while (k--) free(copy[k]);
            free(copy);
            return -1;
        }
    free_classes(wm);
    wm->class_names = copy;
    wm->nclasses = n;
    return 0;
}

void dn_ws_model_new_run(dn_ws_model *wm)
{
    wm->nhist = 0;
    wm->fits = 0;
}

int dn_ws_model_add_epoch(dn_ws_model *wm, const dn_hist_row *row)
{
    if (wm->nhist == wm->caphist) {
        int cap = wm->caphist ? wm->caphist * 2 : 16;
        dn_hist_row *h = realloc(wm->hist, (size_t)cap * sizeof *h);
        if (!h) return -1;
        wm->hist = h;
        wm->caphist = cap;
    }
    wm->hist[wm->nhist++] = *row;
    return 0;
}

static void model_describe(const void *obj, char *buf, size_t len)
{
    const dn_ws_model *wm = obj;
    long tr, nt;
    dn_model_count_params(wm->m, &tr, &nt);
    char all[32], t[32];
    int n = dn_model_nlayers(wm->m);
    int k = snprintf(buf, len, "%s, %d layer%s, %s params", wm->arch, n, n == 1 ? "" : "s",
                     dn_grouped(tr + nt, all, sizeof all));
    if (nt && k >= 0 && (size_t)k < len)
        k += snprintf(buf + k, len - (size_t)k, " (%s trainable)", dn_grouped(tr, t, sizeof t));
    dn_model *m = wm->m;
    const dn_optimizer *o = dn_model_optimizer(m);
    if (o && k >= 0 && (size_t)k < len)
        k += snprintf(buf + k, len - (size_t)k, ", compiled (%s lr=%g, %s)",
                      dn_optimizer_name(o->kind), (double)o->lr, dn_loss_name(dn_model_loss(m)));
    if (wm->nhist && k >= 0 && (size_t)k < len)
        snprintf(buf + k, len - (size_t)k, ", trained %d epoch%s", wm->hist[wm->nhist - 1].epoch,
                 wm->hist[wm->nhist - 1].epoch == 1 ? "" : "s");
}

static void model_free(void *obj) { dn_ws_model_free(obj); }

static json_t *model_show(const void *obj)
{
    return dn_ws_model_summary(obj, NULL);
}

const dn_type dn_model_type = {
    .name = "model",
    .describe = model_describe,
    .free = model_free,
    .show = model_show,
};

dn_ws_model *dn_ws_model_get(const dn_workspace *ws, const char *name, char *err, size_t errlen)
{
    return dn_workspace_get_typed(ws, name, &dn_model_type, err, errlen);
}

/* ---------------------------------------------------------------- summary */

/* Keras 2's print_row: each field cut or padded to end at its column */
static void keras_row(dn_text *t, const char *const *fields, const int *ends, int n)
{
    int at = 0;
    for (int i = 0; i < n; i++) {
        int room = ends[i] - at, len = (int)strlen(fields[i]);
        if (len > room) len = room;
        dn_text_add(t, fields[i], (size_t)len);
        for (int k = len; k < room; k++) dn_text_add(t, " ", 1);
        at = ends[i];
    }
    while (t->n && t->s[t->n - 1] == ' ') t->s[--t->n] = 0;
    dn_text_adds(t, "\n");
}

static void rule(dn_text *t, char c, int width)
{
    for (int k = 0; k < width; k++) dn_text_add(t, &c, 1);
    dn_text_adds(t, "\n");
}

json_t *dn_ws_model_summary(const dn_ws_model *wm, const char *name)
{
    dn_model *m = wm->m;
    int n = dn_model_nlayers(m);
    dn_summary_row *rows = calloc(n > 0 ? (size_t)n : 1, sizeof *rows);
    if (!rows) return NULL;
    dn_model_summary(m, rows, n);
    int frozen = 0;
    for (int i = 0; i < n; i++) frozen |= !rows[i].trainable;
    /* Keras' Sequential layout (65 columns: 29, 55, 65), the first column widened where a
     * name would be cut; a Trainable column, as Keras 3's show_trainable, when some layer
     * is frozen: that is what fine-tuning changes */
    int first = 29;
    for (int i = 0; i < n; i++) {
        int w = (int)(strlen(rows[i].name) + strlen(rows[i].class_name)) + 4;
        if (w > first) first = w;
    }
    const int ends[4] = {first, first + 26, first + 38, first + 49};
    int ncol = frozen ? 4 : 3, width = frozen ? ends[3] : first + 36;
    dn_text plain = {0}, html = {0};
    char num[32], shape[64], total[32], tr[32], nt[32];
    long ntr, nnt;
    dn_model_count_params(m, &ntr, &nnt);
    int ishape[3], ind = dn_model_input_shape(m, ishape);
    dn_shape_str(shape, sizeof shape, ind, ishape);
    if (name) dn_text_addf(&plain, "Model: \"%s\" (%s, input %s)\n", name, wm->arch, shape);
    else dn_text_addf(&plain, "Model: %s, input %s\n", wm->arch, shape);
    rule(&plain, '_', width);
    const char *head[4] = {"Layer (type)", "Output Shape", "Param #", "Trainable"};
    keras_row(&plain, head, ends, ncol);
    rule(&plain, '=', width);
    dn_text_adds(&html, "<table class=\"deepnb-summary\">\n<caption style=\"text-align:left\">");
    if (name) {
        dn_text_adds(&html, "Model <b>");
        dn_text_add_html(&html, name);
        dn_text_adds(&html, "</b> (");
    } else {
        dn_text_adds(&html, "(");
    }
    dn_text_addf(&html, "%s, input %s)</caption>\n<thead><tr><th style=\"text-align:left\">Layer "
                 "(type)</th><th style=\"text-align:left\">Output Shape</th><th>Param #</th>%s"
                 "</tr></thead>\n<tbody>\n", wm->arch, shape, frozen ? "<th>Trainable</th>" : "");
    for (int i = 0; i < n; i++) {
        char layer[200];
        snprintf(layer, sizeof layer, "%s (%s)", rows[i].name, rows[i].class_name);
        dn_grouped(rows[i].params, num, sizeof num);
        const char *f[4] = {layer, rows[i].output_shape, num, rows[i].trainable ? "Y" : "N"};
        keras_row(&plain, f, ends, ncol);
        if (i + 1 < n) rule(&plain, '_', width);
        dn_text_adds(&html, "<tr><td style=\"text-align:left\">");
        dn_text_add_html(&html, rows[i].name);
        dn_text_addf(&html, " (%s)</td><td style=\"text-align:left\">%s</td><td>%s</td>",
                     rows[i].class_name, rows[i].output_shape, num);
        if (frozen) dn_text_addf(&html, "<td>%s</td>", rows[i].trainable ? "Y" : "N");
        dn_text_adds(&html, "</tr>\n");
    }
    free(rows);
    rule(&plain, '=', width);
    dn_grouped(ntr + nnt, total, sizeof total);
    dn_grouped(ntr, tr, sizeof tr);
    dn_grouped(nnt, nt, sizeof nt);
    dn_text_addf(&plain, "Total params: %s\nTrainable params: %s\nNon-trainable params: %s\n",
                 total, tr, nt);
    rule(&plain, '_', width);
    dn_text_addf(&html, "</tbody>\n<tfoot><tr><td colspan=\"%d\" style=\"text-align:left\">Total "
                 "params: %s<br>Trainable params: %s<br>Non-trainable params: %s</td></tr>"
                 "</tfoot>\n</table>\n", ncol, total, tr, nt);
    return dn_text_bundle(&plain, &html);
}

/* ---------------------------------------------------------------- history */

json_t *dn_ws_model_history(const dn_ws_model *wm, const char *name)
{
    if (!wm->nhist) return NULL;
    int acc = 0, val = 0, vacc = 0;
    for (int i = 0; i < wm->nhist; i++) {
        const dn_epoch_log *l = &wm->hist[i].log;
        acc |= l->train.has_acc;
        val |= l->has_val;
        vacc |= l->has_val && l->val.has_acc;
    }
    dn_text plain = {0}, html = {0};
    if (name) dn_text_addf(&plain, "History of %s\n", name);
    dn_text_addf(&plain, "%5s %4s %10s", "epoch", "fit", "loss");
    if (acc) dn_text_addf(&plain, " %8s", "acc");
    if (val) dn_text_addf(&plain, " %10s", "val_loss");
    if (vacc) dn_text_addf(&plain, " %8s", "val_acc");
    dn_text_addf(&plain, " %10s\n", "lr");
    dn_text_adds(&html, "<table class=\"deepnb-history\">\n");
    if (name) {
        dn_text_adds(&html, "<caption style=\"text-align:left\">History of <b>");
        dn_text_add_html(&html, name);
        dn_text_adds(&html, "</b></caption>\n");
    }
    dn_text_adds(&html, "<thead><tr><th>epoch</th><th>fit</th><th>loss</th>");
    if (acc) dn_text_adds(&html, "<th>acc</th>");
    if (val) dn_text_adds(&html, "<th>val_loss</th>");
    if (vacc) dn_text_adds(&html, "<th>val_acc</th>");
    dn_text_adds(&html, "<th>lr</th></tr></thead>\n<tbody>\n");
    for (int i = 0; i < wm->nhist; i++) {
        const dn_hist_row *r = &wm->hist[i];
        const dn_epoch_log *l = &r->log;
        dn_text_addf(&plain, "%5d %4d %10.4f", r->epoch, r->fit, l->train.loss);
        dn_text_addf(&html, "<tr><td>%d</td><td>%d</td><td>%.4f</td>", r->epoch, r->fit,
                     l->train.loss);
        if (acc) {
            dn_text_addf(&plain, " %8.4f", l->train.acc);
            dn_text_addf(&html, "<td>%.4f</td>", l->train.acc);
        }
        if (val) {
            if (l->has_val) {
                dn_text_addf(&plain, " %10.4f", l->val.loss);
                dn_text_addf(&html, "<td>%.4f</td>", l->val.loss);
            } else {
                dn_text_addf(&plain, " %10s", "-");
                dn_text_adds(&html, "<td>-</td>");
            }
        }
        if (vacc) {
            if (l->has_val && l->val.has_acc) {
                dn_text_addf(&plain, " %8.4f", l->val.acc);
                dn_text_addf(&html, "<td>%.4f</td>", l->val.acc);
            } else {
                dn_text_addf(&plain, " %8s", "-");
                dn_text_adds(&html, "<td>-</td>");
            }
        }
        dn_text_addf(&plain, " %10g\n", r->lr);
        dn_text_addf(&html, "<td>%g</td></tr>\n", r->lr);
    }
    dn_text_adds(&html, "</tbody>\n</table>\n");
    return dn_text_bundle(&plain, &html);
}
