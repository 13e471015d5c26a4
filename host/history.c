/* history.c — a training run's history as history.csv and as an SVG plot
 * of the train and validation curves, one panel per quantity.
 *
 * Design: the quantities are the loss and the model's metrics (the
 * comma-separated list nnc_fit_model.metrics gives), in that order, in both
 * files; validation columns and curves appear when some epoch has
 * validation numbers.  The SVG is plain SVG 1.1 with text, paths and
 * circles only, so any viewer or renderer shows it without scripts, fonts
 * or stylesheets.  Both files are written atomically.
 */
#include "fit_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the quantities shown: "loss" and the metrics nnc_rt_metrics has */
typedef struct quantity {
    char name[32];
    size_t len;
} quantity;

enum { MAX_QUANTITIES = 8 };   /* loss + the 7 fields of nnc_rt_metrics at most */

static int quantities(const char *metrics, quantity *q)
{
    const char *p = metrics, *name;
    size_t len;
    nnc_rt_metrics dummy;
    int n = 1, i;
    strcpy(q[0].name, "loss");
    q[0].len = 4;
    while ((p = fit_metric_next(p, &name, &len)) != NULL) {
        const float *f = fit_metric_field(&dummy, name, len);
        int dup = f == NULL || len >= sizeof q[0].name;
        for (i = 0; i < n && !dup; i++)
            dup = fit_metric_field(&dummy, q[i].name, q[i].len) == f;
        if (dup || n == MAX_QUANTITIES)
            continue;
        memcpy(q[n].name, name, len);
        q[n].name[len] = '\0';
        q[n].len = len;
        n++;
    }
    return n;
}

static double value_of(const nnc_rt_metrics *m, const quantity *q)
{
    return *fit_metric_field(m, q->name, q->len);
}

static int any_val(const nnc_fit_history *h)
{
    long i;
    for (i = 0; i < h->count; i++)
        if (h->epochs[i].has_val)
            return 1;
    return 0;
}

/* ---- history.csv ----------------------------------------------------------------- */

int nnc_fit_history_csv(const char *path, const nnc_fit_history *h, const char *metrics)
{
    quantity q[MAX_QUANTITIES];
    int nq = quantities(metrics, q), val = any_val(h), i;
    long e;
    char *tmp;
    FILE *f = fit_atomic_open(path, &tmp);

    if (f == NULL)
        return 1;
    fputs("epoch", f);
    for (i = 0; i < nq; i++)
        fprintf(f, ",%s", q[i].name);
    for (i = 0; val && i < nq; i++)
        fprintf(f, ",val_%s", q[i].name);
    fputs(",lr,seconds\n", f);
    for (e = 0; e < h->count; e++) {
        const nnc_fit_epoch *ep = &h->epochs[e];
        fprintf(f, "%ld", ep->epoch);
        for (i = 0; i < nq; i++)
            fprintf(f, ",%.9g", value_of(&ep->train, &q[i]));
        for (i = 0; val && i < nq; i++) {
            if (ep->has_val)
                fprintf(f, ",%.9g", value_of(&ep->val, &q[i]));
            else
                fputc(',', f);
        }
        fprintf(f, ",%.9g,%.3f\n", (double)ep->learning_rate, ep->seconds);
    }
    return fit_atomic_close(f, tmp, path, 1);
}

/* ---- the SVG plot ------------------------------------------------------------------ */

enum {
    PANEL_W = 520, PANEL_H = 330,            /* one panel */
    LEFT = 72, RIGHT = 24, TOP = 44, BOTTOM = 56,   /* its plot area's margins */
    HEADER = 40                              /* the whole figure's title */
};

/* a step of 1, 2 or 5 times a power of ten giving about `ticks` intervals */
static double nice_step(double range, int ticks)
{
    double raw = range / ticks, mag, norm;
    if (!(raw > 0) || !isfinite(raw))
        return 1;
    mag = pow(10, floor(log10(raw)));
    norm = raw / mag;
    return (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
}

typedef struct axis {
    double lo, hi, step;
} axis;

/* the value axis over the finite values in [lo, hi], widened to whole ticks */
static axis value_axis(double lo, double hi)
{
    axis a;
    if (!(lo <= hi)) {          /* no finite value at all */
        lo = 0;
        hi = 1;
    }
    if (hi - lo < 1e-12 * (fabs(hi) + fabs(lo)) || hi == lo) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    a.step = nice_step(hi - lo, 5);
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    return a;
}

static void tick_label(char *buf, size_t cap, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;
    snprintf(buf, cap, "%.6g", v);
}

/* one curve: a path through the finite points, broken at the others, and a dot on each */
typedef struct epochs_axis {
    long first, last;
} epochs_axis;

/* x of an epoch inside a panel's plot area (relative to the panel) */
static double epoch_x(const epochs_axis *xa, long epoch)
{
    double w = PANEL_W - LEFT - RIGHT;
    if (xa->last <= xa->first)
        return LEFT + w / 2;
    return LEFT + (double)(epoch - xa->first) / (double)(xa->last - xa->first) * w;
}

static void curve(FILE *f, const nnc_fit_history *h, const quantity *q, int val,
                  const epochs_axis *xa, double y0, double ys, const axis *ya,
                  const char *colour, const char *dash, double panel_x)
{
    long e;
    int pen = 0;
    fprintf(f, "  <path fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s d=\"", colour, dash);
    for (e = 0; e < h->count; e++) {
        const nnc_fit_epoch *ep = &h->epochs[e];
        double v;
        if (val && !ep->has_val) {
            pen = 0;
            continue;
        }
        v = value_of(val ? &ep->val : &ep->train, q);
        if (!isfinite(v)) {
            pen = 0;
            continue;
        }
        fprintf(f, "%s%.2f %.2f ", pen ? "L" : "M", panel_x + epoch_x(xa, ep->epoch),
                y0 - (v - ya->lo) * ys);
        pen = 1;
    }
    fputs("\"/>\n", f);
    if (h->count > 60)
        return;
    for (e = 0; e < h->count; e++) {
        const nnc_fit_epoch *ep = &h->epochs[e];
        double v;
        if (val && !ep->has_val)
            continue;
        v = value_of(val ? &ep->val : &ep->train, q);
        if (isfinite(v))
            fprintf(f, "  <circle cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\"/>\n",
                    panel_x + epoch_x(xa, ep->epoch), y0 - (v - ya->lo) * ys, colour);
    }
}

static void panel(FILE *f, const nnc_fit_history *h, const quantity *q, int val,
                  const epochs_axis *xa, double x, double y)
{
    const double w = PANEL_W - LEFT - RIGHT, ph = PANEL_H - TOP - BOTTOM;
    const double y0 = y + TOP + ph;       /* the bottom of the plot area */
    double lo = INFINITY, hi = -INFINITY, ys;
    long e, xstep;
    axis ya;
    char label[64];
    int i, nt;

    for (e = 0; e < h->count; e++) {
        const nnc_fit_epoch *ep = &h->epochs[e];
        double v = value_of(&ep->train, q);
        if (isfinite(v)) { lo = fmin(lo, v); hi = fmax(hi, v); }
        if (val && ep->has_val) {
            v = value_of(&ep->val, q);
            if (isfinite(v)) { lo = fmin(lo, v); hi = fmax(hi, v); }
        }
    }
    ya = value_axis(lo, hi);
    ys = ph / (ya.hi - ya.lo);

    fprintf(f, " <g>\n");
    fprintf(f, "  <rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#ffffff\" "
            "stroke=\"#cccccc\"/>\n", x + LEFT, y + TOP, w, ph);
    fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"16\" font-weight=\"bold\" "
            "text-anchor=\"middle\">%s</text>\n", x + LEFT + w / 2, y + 26.0, q->name);

    /* value axis: grid lines and labels */
    nt = (int)floor((ya.hi - ya.lo) / ya.step + 0.5);
    for (i = 0; i <= nt; i++) {
        double v = ya.lo + i * ya.step, ty = y0 - (v - ya.lo) * ys;
        tick_label(label, sizeof label, v, ya.step);
        fprintf(f, "  <line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#e5e5e5\"/>\n",
                x + LEFT, ty, x + LEFT + w, ty);
        fprintf(f, "  <line x1=\"%.1f\" y1=\"%.2f\" x2=\"%.1f\" y2=\"%.2f\" stroke=\"#000000\"/>\n",
                x + LEFT - 5, ty, x + LEFT, ty);
        fprintf(f, "  <text x=\"%.1f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
                x + LEFT - 8, ty + 4, label);
    }
    /* epoch axis: whole epochs */
    xstep = (long)nice_step((double)(xa->last - xa->first), 6);
    if (xstep < 1)
        xstep = 1;
    for (e = xa->first; e <= xa->last; e = e == xa->first ? (xa->first / xstep + 1) * xstep : e + xstep) {
        double tx = x + epoch_x(xa, e);
        if (e != xa->first && (double)(e - xa->first) < 0.4 * (double)xstep)
            continue;   /* too close to the first epoch's label */
        fprintf(f, "  <line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" stroke=\"#000000\"/>\n",
                tx, y0, tx, y0 + 5);
        fprintf(f, "  <text x=\"%.2f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%ld</text>\n",
                tx, y0 + 18, e);
    }
    fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000000\"/>\n",
            x + LEFT, y0, x + LEFT + w, y0);
    fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000000\"/>\n",
            x + LEFT, y + TOP, x + LEFT, y0);
    fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">epoch</text>\n",
            x + LEFT + w / 2, y0 + 38);
    fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 %.1f %.1f)\">%s</text>\n",
            x + 16, y + TOP + ph / 2, x + 16, y + TOP + ph / 2, q->name);

    curve(f, h, q, 0, xa, y0, ys, &ya, "#1f77b4", "", x);
    if (val)
        curve(f, h, q, 1, xa, y0, ys, &ya, "#ff7f0e", " stroke-dasharray=\"6 3\"", x);

    /* legend, right inside the plot area: at the top unless the curves end high */
    {
        double lx = x + LEFT + w - 118, ly = y + TOP + 8, late = 0;
        long from = h->count - (h->count + 2) / 3, cnt = 0;
        for (e = from; e < h->count; e++) {
            double v = value_of(&h->epochs[e].train, q);
            if (isfinite(v)) {
                late += (v - ya.lo) / (ya.hi - ya.lo);
                cnt++;
            }
        }
        if (cnt > 0 && late / (double)cnt > 0.5)
            ly = y0 - 8 - (val ? 44 : 24);
        fprintf(f, "  <rect x=\"%.1f\" y=\"%.1f\" width=\"110\" height=\"%d\" fill=\"#ffffff\" "
                "fill-opacity=\"0.85\" stroke=\"#999999\"/>\n", lx, ly, val ? 44 : 24);
        fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f77b4\" "
                "stroke-width=\"2\"/>\n", lx + 8, ly + 12, lx + 32, ly + 12);
        fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">train</text>\n", lx + 38, ly + 16);
        if (val) {
            fprintf(f, "  <line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ff7f0e\" "
                    "stroke-width=\"2\" stroke-dasharray=\"6 3\"/>\n", lx + 8, ly + 32, lx + 32, ly + 32);
            fprintf(f, "  <text x=\"%.1f\" y=\"%.1f\" font-size=\"12\">validation</text>\n",
                    lx + 38, ly + 36);
        }
    }
    fprintf(f, " </g>\n");
}

int nnc_fit_history_svg(const char *path, const nnc_fit_history *h, const char *metrics)
{
    quantity q[MAX_QUANTITIES];
    int nq = quantities(metrics, q), val = any_val(h), cols = nq > 1 ? 2 : 1, rows, i;
    int width, height;
    epochs_axis xa;
    char *tmp;
    FILE *f;

    rows = (nq + cols - 1) / cols;
    width = cols * PANEL_W;
    height = HEADER + rows * PANEL_H;
    xa.first = h->count > 0 ? h->epochs[0].epoch : 1;
    xa.last = h->count > 0 ? h->epochs[h->count - 1].epoch : 1;
    f = fit_atomic_open(path, &tmp);
    if (f == NULL)
        return 1;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n", width, height, width, height);
    fprintf(f, " <title>Training history: %ld epoch%s</title>\n", h->count, h->count == 1 ? "" : "s");
    fprintf(f, " <rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width, height);
    fprintf(f, " <text x=\"%d\" y=\"28\" font-size=\"20\" text-anchor=\"middle\">Training history "
            "(%ld epoch%s%s)</text>\n", width / 2, h->count, h->count == 1 ? "" : "s",
            h->stopped_early ? ", stopped early" : h->interrupted ? ", interrupted" : "");
    for (i = 0; i < nq; i++)
        panel(f, h, &q[i], val, &xa, (double)(i % cols) * PANEL_W, HEADER + (double)(i / cols) * PANEL_H);
    fputs("</svg>\n", f);
    return fit_atomic_close(f, tmp, path, 1);
}
